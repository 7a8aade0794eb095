"""Explicit labels (Z ~ Categorical, NUTS + Gibbs) and marginalized Z give the same posterior."""

from __future__ import annotations

import numpy as np
import pytest

import bayes

PRIORS = bayes.Priors(weights_concentration=5.0, means_loc=0.0, means_scale=2.0, scale_param=2.0)
SETTINGS = {"draws": 1000, "tune": 500, "chains": 2, "cores": 1, "posterior_predictive": False}


@pytest.fixture(scope="module")
def small_problem() -> np.ndarray:
    rng = np.random.default_rng(7)
    labels = rng.random(60) < 0.4
    return np.where(labels, -2.5, 2.5)[:, None] + rng.normal(size=(60, 1))


@pytest.fixture(scope="module")
def both_fits(small_problem):
    return {
        formulation: bayes.sample(small_problem, 2, "spherical", PRIORS, formulation=formulation,
                                  random_seed=3, **SETTINGS)
        for formulation in ("explicit", "marginalized")
    }


@pytest.mark.slow
def test_explicit_and_marginalized_means_agree(both_fits):
    explicit, marginal = (both_fits[f]["posterior"] for f in ("explicit", "marginalized"))
    assert explicit["Z"].dims == ("chain", "draw", "obs")
    for name in ("weights", "means", "covariances", "scales"):
        sd = marginal[name].std(("chain", "draw")).values
        difference = np.abs(explicit[name].mean(("chain", "draw")).values
                            - marginal[name].mean(("chain", "draw")).values)
        np.testing.assert_array_less(difference, 0.2 * sd + 1e-12, err_msg=name)


@pytest.mark.slow
def test_explicit_labels_match_marginal_memberships(both_fits):
    z = both_fits["explicit"]["posterior"]["Z"].values
    frequency_of_second = z.reshape(-1, z.shape[-1]).mean(axis=0)
    membership = both_fits["marginalized"]["latent"]["membership"].values[:, 1]
    np.testing.assert_allclose(frequency_of_second, membership, atol=0.1)
