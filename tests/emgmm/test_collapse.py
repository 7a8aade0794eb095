"""The collapse test of EM against a direct reading of its definition (numpy only)."""

import numpy as np
import pytest

from emgmm.collapse import MIN_EFFECTIVE_COUNT, collapsed_components
from emgmm.params import GaussianMixtureParams


def expected_collapsed(weights, covariances, n_samples, floor):
    """Components whose smallest squared Cholesky pivot is below ``floor`` (or that are not
    positive definite), or whose effective count is below MIN_EFFECTIVE_COUNT."""
    out = []
    for k, covariance in enumerate(covariances):
        try:
            pivot = np.min(np.diag(np.linalg.cholesky(covariance)) ** 2)
        except np.linalg.LinAlgError:
            pivot = -np.inf
        if not pivot >= floor or weights[k] * n_samples < MIN_EFFECTIVE_COUNT:
            out.append(k)
    return out


@pytest.mark.parametrize("case", ["healthy", "thin", "empty", "not_positive_definite", "both"])
def test_collapsed_components_match_the_definition(case):
    rng = np.random.default_rng(5)
    weights = np.array([0.3, 0.3, 0.4])
    covariances = np.stack([np.eye(2) * s for s in (1.0, 2.0, 0.5)])
    if case in ("thin", "both"):
        covariances[1] = np.array([[1.0, 1.0], [1.0, 1.0 + 1e-14]])
    if case in ("empty", "both"):
        weights = np.array([0.5, 0.5 - 1e-9, 1e-9])
    if case == "not_positive_definite":
        covariances[2] = np.array([[1.0, 2.0], [2.0, 1.0]])
    params = GaussianMixtureParams(weights, rng.normal(size=(3, 2)), covariances, "full")
    floor = 1e-10
    found = collapsed_components(params, 1000, floor)
    assert found.tolist() == expected_collapsed(weights, covariances, 1000, floor)
    assert (found.size == 0) == (case == "healthy")
