"""vi_compare: sd ratios, Wasserstein distances and coverage on posteriors with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from emgmm import GaussianMixtureParams
from experiments.measure import metrics, vi_compare
from experiments.measure.free_parameters import posterior_mean_params
from tests.bayes.conftest import random_posterior

K, D = 3, 2


def reference(draws=4000, seed=0) -> xr.Dataset:
    return random_posterior(np.random.default_rng(seed), chains=2, draws=draws,
                            n_components=K, n_features=D)


def scaled(posterior: xr.Dataset, factor: float, shift_sd: float = 0.0) -> xr.Dataset:
    """Every variable shrunk by ``factor`` around its mean, then moved by ``shift_sd`` sds."""
    dims = ("chain", "draw")
    return posterior.map(lambda v: v.mean(dims) + factor * (v - v.mean(dims))
                         + shift_sd * v.std(dims, ddof=1))


def as_tree(posterior: xr.Dataset) -> xr.DataTree:
    return xr.DataTree.from_dict({"posterior": posterior})


def test_parameter_kinds_follow_the_free_parameter_layout():
    post = reference(draws=5)
    for covariance_type, n_cov in (("full", K * 3), ("diag", K * D), ("tied", K * 3)):
        n = vi_compare.flat_draws(post, covariance_type).shape[1]
        kinds = vi_compare.parameter_kinds(post, n)
        assert list(np.bincount(kinds)) == [K, K * D, n_cov]
        assert np.all(np.diff(kinds) >= 0)


def test_identical_posteriors_have_ratio_one_and_distance_zero():
    post = reference()
    columns = vi_compare.comparison_to_mcmc(as_tree(post), as_tree(post), "full")
    for column in vi_compare.SD_RATIO_COLUMNS:
        assert columns[column] == pytest.approx(1.0)
    assert columns["wasserstein_sd_mean"] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("factor", [0.5, 2.0])
def test_shrunk_posterior_has_that_sd_ratio_for_every_kind(factor):
    post = reference()
    columns = vi_compare.comparison_to_mcmc(as_tree(scaled(post, factor)), as_tree(post), "diag")
    for column in vi_compare.SD_RATIO_COLUMNS:
        assert columns[column] == pytest.approx(factor, rel=1e-9)


def test_wasserstein_in_sd_units_matches_the_gaussian_closed_form():
    """Gaussian marginals: W1(N(0, 1), N(1, 1)) = 1 and W1(N(0, 1), N(0, 1/4)) = 1/2 E|Z|."""
    rng = np.random.default_rng(3)
    mcmc = rng.standard_normal((200_000, 4))
    shifted = vi_compare.wasserstein_sd_mean(mcmc + mcmc.std(axis=0, ddof=1), mcmc)
    assert shifted == pytest.approx(1.0, rel=1e-9)
    halved = vi_compare.wasserstein_sd_mean(0.5 * rng.standard_normal((200_000, 4)), mcmc)
    assert halved == pytest.approx(0.5 * np.sqrt(2 / np.pi), abs=0.01)


def test_constant_parameters_are_left_out_and_all_constant_is_an_error():
    post = reference()
    fixed = post.assign(weights=post["weights"] * 0 + 1.0 / K)
    columns = vi_compare.comparison_to_mcmc(as_tree(scaled(fixed, 0.5)), as_tree(fixed), "full")
    assert "sd_ratio_weights" not in columns
    assert columns["sd_ratio_means"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="no varying parameter"):
        vi_compare.wasserstein_sd_mean(np.ones((10, 3)), np.ones((10, 3)))


def test_different_models_are_refused():
    post = reference(draws=5)
    other = random_posterior(np.random.default_rng(1), chains=1, draws=5, n_components=2)
    with pytest.raises(ValueError, match="same model"):
        vi_compare.comparison_to_mcmc(as_tree(other), as_tree(post), "full")


def test_coverage_counts_truth_inside_central_intervals():
    post = reference()
    mean = posterior_mean_params(post)
    inside = vi_compare.interval_coverage(as_tree(post), mean, "full", 0.9)
    assert inside == 1.0  # the mean of a unimodal spread sits inside its 90% interval
    free = vi_compare.flat_draws(post, "full")
    far = GaussianMixtureParams(mean.weights, mean.means + 100.0, mean.covariances, "full")
    n_means = K * D
    assert vi_compare.interval_coverage(as_tree(post), far, "full", 0.9) == pytest.approx(
        1 - n_means / free.shape[1])
