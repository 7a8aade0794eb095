"""E-step and M-step against closed forms: K = 1, one-hot responsibilities, brute force."""

import numpy as np
import pytest
from scipy import stats

from emgmm import (
    COVARIANCE_TYPES,
    GaussianMixtureParams,
    e_step,
    fit_em,
    m_step,
    mixture_log_likelihood,
    reference_em_iteration,
)
from emgmm.init import one_hot


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_k1_em_equals_closed_form_ml_estimate(covariance_type, blobs):
    result = fit_em(blobs, 1, covariance_type=covariance_type, reg_covar=0.0, engine="reference")
    mean, cov = blobs.mean(axis=0), np.cov(blobs.T, bias=True)
    expected_cov = {
        "full": cov[None],
        "tied": cov,
        "diag": np.diag(cov)[None],
        "spherical": np.array([np.diag(cov).mean()]),
    }[covariance_type]
    assert result.converged and result.n_iter == 2  # one M-step reaches the optimum
    np.testing.assert_allclose(result.params.weights, [1.0])
    np.testing.assert_allclose(result.params.means[0], mean, rtol=1e-12)
    np.testing.assert_allclose(result.params.covariances, expected_cov, rtol=1e-10)
    expected_ll = stats.multivariate_normal(mean, result.params.full_covariances()[0]).logpdf(blobs).mean()
    assert result.log_likelihood_history[-1] == pytest.approx(expected_ll, rel=1e-12)


def test_one_hot_m_step_equals_per_cluster_mean_and_biased_covariance(blobs):
    labels = np.repeat([0, 1, 2], 100)
    resp = one_hot(labels, 3)
    covs = np.stack([np.cov(blobs[labels == k].T, bias=True) for k in range(3)])
    full = m_step(blobs, resp, "full", reg_covar=0.0)
    np.testing.assert_allclose(full.weights, [1 / 3] * 3, rtol=1e-12)
    np.testing.assert_allclose(full.means, [blobs[labels == k].mean(axis=0) for k in range(3)], rtol=1e-12)
    np.testing.assert_allclose(full.covariances, covs, rtol=1e-10)
    # tied pools the scatter with weights N_k / N; diag and spherical keep the diagonal / its mean.
    np.testing.assert_allclose(m_step(blobs, resp, "tied", 0.0).covariances, covs.mean(axis=0), rtol=1e-10)
    diagonals = np.diagonal(covs, axis1=1, axis2=2)
    np.testing.assert_allclose(m_step(blobs, resp, "diag", 0.0).covariances, diagonals, rtol=1e-10)
    np.testing.assert_allclose(m_step(blobs, resp, "spherical", 0.0).covariances, diagonals.mean(axis=1), rtol=1e-10)


def test_reg_covar_is_added_to_the_diagonal(blobs):
    resp = one_hot(np.repeat([0, 1, 2], 100), 3)
    plain, ridged = m_step(blobs, resp, "full", 0.0), m_step(blobs, resp, "full", 0.5)
    ridge = np.broadcast_to(0.5 * np.eye(2), (3, 2, 2))
    np.testing.assert_allclose(ridged.covariances - plain.covariances, ridge, atol=1e-12)


def test_uneven_one_hot_weights_are_cluster_fractions(blobs):
    labels = np.r_[np.zeros(50, int), np.ones(250, int)]
    params = m_step(blobs, one_hot(labels, 2), "diag", 1e-6)
    np.testing.assert_allclose(params.weights, [50 / 300, 250 / 300], rtol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_e_step_matches_brute_force_scipy(covariance_type, blobs):
    params = fit_em(blobs, 3, covariance_type=covariance_type, random_state=0, engine="reference").params
    densities = np.column_stack(
        [w * stats.multivariate_normal(m, c).pdf(blobs)
         for w, m, c in zip(params.weights, params.means, params.full_covariances())]
    )
    log_norm, log_resp = e_step(blobs, params)
    np.testing.assert_allclose(log_norm, np.log(densities.sum(axis=1)), rtol=1e-10)
    np.testing.assert_allclose(np.exp(log_resp), densities / densities.sum(axis=1, keepdims=True), atol=1e-12)
    assert mixture_log_likelihood(blobs, params) == pytest.approx(np.log(densities.sum(axis=1)).sum(), rel=1e-12)


def test_e_step_is_stable_far_from_every_component():
    params = GaussianMixtureParams(np.array([0.5, 0.5]), np.array([[0.0], [1.0]]), np.array([[[1e-4]], [[1e-4]]]))
    log_norm, log_resp = e_step(np.array([[1e3]]), params)  # every density underflows to 0
    assert np.isfinite(log_norm).all() and np.isfinite(log_resp).all()
    np.testing.assert_allclose(np.exp(log_resp), [[0.0, 1.0]], atol=1e-300)


@pytest.mark.filterwarnings("ignore::emgmm.ConvergenceWarning")
def test_reference_iteration_returns_likelihood_at_its_input(blobs):
    params = fit_em(blobs, 3, max_iter=2, random_state=1, engine="reference", tol=0.0).params
    mean_ll, nxt = reference_em_iteration(blobs, params, 1e-6)
    assert mean_ll == pytest.approx(mixture_log_likelihood(blobs, params) / blobs.shape[0], rel=1e-14)
    expected = m_step(blobs, np.exp(e_step(blobs, params)[1]), "full", 1e-6)
    np.testing.assert_array_equal(nxt.means, expected.means)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_m_step_has_no_cancellation_far_from_the_origin(covariance_type):
    """Centred sums, not E[x^2] - mu^2: unit variances survive an offset of 1e8."""
    rng = np.random.default_rng(0)
    X = 1e8 + rng.normal(size=(500, 2))
    params = m_step(X, np.ones((500, 1)), covariance_type, reg_covar=0.0)
    expected = np.cov((X - 1e8).T, bias=True)
    np.testing.assert_allclose(params.full_covariances()[0].diagonal(), {
        "full": expected.diagonal(), "tied": expected.diagonal(),
        "diag": expected.diagonal(), "spherical": np.full(2, expected.diagonal().mean()),
    }[covariance_type], rtol=1e-6)
    log_norm, _ = e_step(X, params)
    reference = stats.multivariate_normal(params.means[0] - 1e8, params.full_covariances()[0]).logpdf(X - 1e8)
    np.testing.assert_allclose(log_norm, reference, rtol=1e-6)
