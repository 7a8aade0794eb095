"""Posterior predictive draws (bayes.predictive): mixture moments and reproducibility."""

from __future__ import annotations

import numpy as np

from bayes.predictive import posterior_predictive_draws
from tests.bayes.conftest import random_posterior


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
