"""Shared data and the few sampled fits of the bayes tests (each model shape compiles once)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import bayes
from bayes import compiled

POSTERIORDB_DATA = Path(__file__).resolve().parents[1] / "data" / "posteriordb" / "low_dim_gauss_mix.json"
SEPARATED_MEANS = np.array([[-4.0, 0.0], [0.0, 3.0], [4.0, -1.0]])
SEPARATED_CHOLESKY = np.array([[0.8, 0.0], [0.3, 0.6]])
SEPARATED_DRAWS = 1000


def make_separated_data(n_samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Three well-separated 2-D Gaussian clusters (same shape, weights 0.3/0.3/0.4)."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(3, size=n_samples, p=[0.3, 0.3, 0.4])
    X = SEPARATED_MEANS[labels] + rng.standard_normal((n_samples, 2)) @ SEPARATED_CHOLESKY.T
    return X, labels


def random_posterior(rng, chains=2, draws=7, n_components=3, n_features=2) -> xr.Dataset:
    """A posterior-shaped Dataset of random mixture parameters."""
    weights = rng.dirichlet(np.ones(n_components), size=(chains, draws))
    means = rng.normal(scale=3.0, size=(chains, draws, n_components, n_features))
    factors = rng.normal(size=(chains, draws, n_components, n_features, n_features))
    covariances = factors @ np.swapaxes(factors, -1, -2) + 0.5 * np.eye(n_features)
    return xr.Dataset({
        "weights": (("chain", "draw", "component"), weights),
        "means": (("chain", "draw", "component", "dim"), means),
        "covariances": (("chain", "draw", "component", "dim", "dim2"), covariances),
    })


@pytest.fixture(scope="session")
def separated_data() -> tuple[np.ndarray, np.ndarray]:
    return make_separated_data(300, seed=1)


@pytest.fixture(scope="session")
def separated_fit(separated_data):
    """The 2-D K=3 full-covariance posterior every sampled 2-D test reuses."""
    X, _ = separated_data
    return bayes.sample(X, 3, "full", draws=SEPARATED_DRAWS, tune=1000, chains=2, cores=1,
                        random_seed=11)


@pytest.fixture(scope="session")
def posteriordb_y() -> np.ndarray:
    if not POSTERIORDB_DATA.exists():
        pytest.fail(f"posteriordb data missing: {POSTERIORDB_DATA}")
    data = json.loads(POSTERIORDB_DATA.read_text())
    y = np.asarray(data["y"], dtype=float)
    assert y.shape == (data["N"],)
    return y


@pytest.fixture
def no_model(monkeypatch):
    """Fail the test if a model is built (and so compiled)."""
    def refuse(*args, **kwargs):
        raise AssertionError("the model must not be built for invalid input")

    monkeypatch.setattr(compiled, "MODEL_BUILDERS", {"marginalized": refuse,
                                                     "explicit": refuse})
