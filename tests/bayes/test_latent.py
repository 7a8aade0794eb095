"""Memberships, pointwise log-likelihood and predictive draws against scipy (no sampling)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import stats

import bayes
from bayes import latent
from bayes.latent import membership_and_log_likelihood
from bayes.predictive import posterior_predictive_draws


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


def scipy_joint(X, weights, means, covariances) -> np.ndarray:
    return np.column_stack([
        np.log(w) + stats.multivariate_normal(m, c).logpdf(X)
        for w, m, c in zip(weights, means, covariances, strict=True)
    ])


@pytest.mark.parametrize("n_features", [1, 3])
def test_membership_and_log_likelihood_match_a_scipy_loop(n_features):
    rng = np.random.default_rng(0)
    posterior = random_posterior(rng, n_features=n_features)
    X = rng.normal(scale=3.0, size=(40, n_features))
    membership, log_likelihood = membership_and_log_likelihood(X, posterior)
    expected_membership = np.zeros((40, 3))
    for c in range(2):
        for d in range(7):
            joint = scipy_joint(X, *(posterior[v].values[c, d]
                                      for v in ("weights", "means", "covariances")))
            norm = np.logaddexp.reduce(joint, axis=1)
            np.testing.assert_allclose(log_likelihood[c, d], norm, rtol=1e-10)
            expected_membership += np.exp(joint - norm[:, None]) / 14
    np.testing.assert_allclose(membership, expected_membership, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(membership.sum(axis=1), 1.0)


def test_chunking_over_draws_does_not_change_results(monkeypatch):
    rng = np.random.default_rng(1)
    posterior = random_posterior(rng, draws=25)
    X = rng.normal(size=(30, 2))
    whole = membership_and_log_likelihood(X, posterior)
    monkeypatch.setattr(latent, "CHUNK_ELEMENTS", 3 * 30 * 2 * 4)  # 4 draws per chunk
    assert len(latent.draw_chunks(50, 30, 3, 2)) == 13
    chunked = membership_and_log_likelihood(X, posterior)
    for a, b in zip(whole, chunked, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_public_membership_accepts_a_datatree():
    rng = np.random.default_rng(2)
    posterior = random_posterior(rng)
    X = rng.normal(size=(10, 2))
    tree = xr.DataTree.from_dict({"posterior": posterior})
    np.testing.assert_allclose(bayes.membership_probabilities(X, tree),
                               bayes.membership_probabilities(X, posterior))


def test_posterior_predictive_draws_have_the_mixture_moments():
    rng = np.random.default_rng(3)
    posterior = random_posterior(rng, chains=1, draws=1)
    draws = posterior_predictive_draws(posterior, 200_000, np.random.default_rng(4))
    assert draws.shape == (1, 1, 200_000, 2)
    w = posterior["weights"].values[0, 0]
    mu = posterior["means"].values[0, 0]
    cov = posterior["covariances"].values[0, 0]
    mixture_mean = w @ mu
    centred = mu - mixture_mean
    mixture_cov = np.einsum("k,kij->ij", w, cov) + np.einsum("k,ki,kj->ij", w, centred, centred)
    sample = draws[0, 0]
    scale = np.sqrt(np.diag(mixture_cov))
    np.testing.assert_allclose(sample.mean(axis=0), mixture_mean, atol=0.02 * scale.max())
    np.testing.assert_allclose(np.cov(sample.T), mixture_cov, atol=0.03 * mixture_cov.max())


def test_posterior_predictive_is_reproducible_from_the_generator():
    posterior = random_posterior(np.random.default_rng(5))
    a = posterior_predictive_draws(posterior, 50, np.random.default_rng(6))
    b = posterior_predictive_draws(posterior, 50, np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
