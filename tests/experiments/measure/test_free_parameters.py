"""Free scalar parameters of a mixture and of posterior draws, on arrays whose entries are known."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.measure.free_parameters import (
    free_parameters,
    posterior_free_draws,
    posterior_mean_params,
)
from tests.experiments.measure.test_metrics import TRUTH, draws_around_truth


@pytest.mark.parametrize(
    ("covariance_type", "n_cov_entries"), [("full", 3), ("tied", 3), ("diag", 2), ("spherical", 2)]
)
def test_free_parameters_selects_estimated_covariance_entries(covariance_type, n_cov_entries):
    vector = free_parameters(
        TRUTH.weights, TRUTH.means, TRUTH.covariances, covariance_type
    )
    assert vector.shape == (3 + 3 * 2 + 3 * n_cov_entries,)
    np.testing.assert_array_equal(vector[:3], TRUTH.weights)
    np.testing.assert_array_equal(vector[3:9], TRUTH.means.ravel())
    np.testing.assert_array_equal(vector[9:9 + n_cov_entries], TRUTH.covariances[0][
        np.tril_indices(2) if n_cov_entries == 3 else np.diag_indices(2)])


def test_free_parameters_keeps_leading_axes():
    rng = np.random.default_rng(3)
    post = draws_around_truth(rng, n_chains=2, n_draws=5)
    draws = posterior_free_draws(post, "full")
    assert draws.shape == (2, 5, 3 + 6 + 9)
    np.testing.assert_array_equal(draws[1, 4, 3:9], post["means"].values[1, 4].ravel())


def test_posterior_mean_params():
    rng = np.random.default_rng(4)
    post = draws_around_truth(rng)
    mean = posterior_mean_params(post)
    np.testing.assert_allclose(mean.means, post["means"].values.mean(axis=(0, 1)))
    assert mean.weights.sum() == pytest.approx(1.0)
