"""Memberships and pointwise log-likelihood against a scipy loop (no sampling)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import stats

import bayes
from bayes import latent
from bayes.latent import membership_and_log_likelihood
from tests.bayes.conftest import random_posterior


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
