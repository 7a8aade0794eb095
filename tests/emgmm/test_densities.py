"""Gaussian log-densities against scipy.stats, and the single-Gaussian ML estimate."""

import numpy as np
import pytest
from scipy import stats

from emgmm import (
    COVARIANCE_TYPES,
    GaussianMixtureParams,
    estimate_log_gaussian_prob,
    gaussian_ml_estimate,
    log_multivariate_normal_pdf,
    log_normal_pdf,
)


def _random_spd(rng, n_features):
    factor = rng.normal(size=(n_features, n_features))
    return factor @ factor.T + 0.5 * np.eye(n_features)


def _random_covariances(rng, covariance_type, n_components, n_features):
    return {
        "full": np.stack([_random_spd(rng, n_features) for _ in range(n_components)]),
        "tied": _random_spd(rng, n_features),
        "diag": rng.uniform(0.2, 3.0, size=(n_components, n_features)),
        "spherical": rng.uniform(0.2, 3.0, size=n_components),
    }[covariance_type]


def test_univariate_log_density_matches_scipy():
    x = np.linspace(-5, 7, 41)
    np.testing.assert_allclose(log_normal_pdf(x, 1.3, 2.5), stats.norm(1.3, np.sqrt(2.5)).logpdf(x), rtol=1e-12)


def test_univariate_log_density_rejects_non_positive_variance():
    with pytest.raises(ValueError, match="variance must be positive"):
        log_normal_pdf([0.0], 0.0, 0.0)


@pytest.mark.parametrize("n_features", [1, 2, 5])
def test_multivariate_log_density_matches_scipy(n_features):
    rng = np.random.default_rng(n_features)
    mean, cov = rng.normal(size=n_features), _random_spd(rng, n_features)
    X = rng.normal(size=(30, n_features)) * 2
    expected = stats.multivariate_normal(mean, cov).logpdf(X)
    np.testing.assert_allclose(log_multivariate_normal_pdf(X, mean, cov), np.atleast_1d(expected), rtol=1e-10)


def test_multivariate_log_density_rejects_singular_covariance():
    with pytest.raises(ValueError, match="not positive definite"):
        log_multivariate_normal_pdf(np.zeros((2, 2)), np.zeros(2), np.ones((2, 2)))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_component_log_densities_match_scipy(covariance_type):
    rng = np.random.default_rng(7)
    n_components, n_features = 3, 4
    params = GaussianMixtureParams(
        np.full(n_components, 1 / n_components),
        rng.normal(size=(n_components, n_features)),
        _random_covariances(rng, covariance_type, n_components, n_features),
        covariance_type,
    )
    X = rng.normal(size=(25, n_features)) * 2
    got = estimate_log_gaussian_prob(X, params.means, params.precisions_cholesky, covariance_type)
    expected = np.column_stack(
        [stats.multivariate_normal(m, c).logpdf(X) for m, c in zip(params.means, params.full_covariances())]
    )
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_unknown_covariance_type_is_rejected():
    with pytest.raises(ValueError, match="covariance_type must be one of"):
        estimate_log_gaussian_prob(np.zeros((2, 1)), np.zeros((1, 1)), np.ones(1), "banded")


def test_single_gaussian_ml_estimate_is_mean_and_biased_covariance():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 3)) @ _random_spd(rng, 3)
    mean, cov = gaussian_ml_estimate(X)
    np.testing.assert_allclose(mean, X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(cov, np.cov(X.T, bias=True), rtol=1e-12)
