"""Small data sets shared by the emgmm tests."""

import numpy as np
import pytest


def three_blobs(seed: int = 0, n_per: int = 100) -> np.ndarray:
    """Three well-separated 2-D clusters (means (0,0), (6,0), (0,7))."""
    rng = np.random.default_rng(seed)
    return np.vstack(
        [
            rng.normal(size=(n_per, 2)) + [0.0, 0.0],
            rng.normal(size=(n_per, 2)) @ np.array([[1.0, 0.4], [0.0, 0.8]]) + [6.0, 0.0],
            0.6 * rng.normal(size=(n_per, 2)) + [0.0, 7.0],
        ]
    )


@pytest.fixture
def blobs() -> np.ndarray:
    return three_blobs()


@pytest.fixture
def make_blobs():
    """The three-blob generator, for tests that need several seeds."""
    return three_blobs
