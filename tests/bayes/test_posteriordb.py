"""posteriordb ``low_dim_gauss_mix`` with the reference model's priors, against an
independent importance-sampling reference (tests/bayes/reference_posterior.py)."""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest

import bayes
from tests.bayes.reference_posterior import reference_moments

REFERENCE_PRIORS = bayes.Priors(
    weights_concentration=5.0,  # Dirichlet(5, 5): theta ~ Beta(5, 5)
    means_loc=0.0,
    means_scale=2.0,  # mu ~ Normal(0, 2), ordered
    scale_prior="halfnormal",
    scale_param=2.0,  # sigma ~ HalfNormal(2)
)


@pytest.fixture(scope="module")
def posteriordb_fit(posteriordb_y):
    return bayes.sample(posteriordb_y[:, None], 2, "spherical", REFERENCE_PRIORS, draws=1000,
                        tune=1000, chains=2, cores=1, random_seed=20, posterior_predictive=False)


def pymc_summary(tree):
    """(mu_1, mu_2, sigma_1, sigma_2, theta): posterior means and MCSEs of the PyMC run."""
    post = tree["posterior"]
    values = {
        "mu": post["means"].isel(dim=0),
        "sigma": post["scales"],
        "theta": post["weights"].isel(component=0),
    }
    means = np.concatenate([values["mu"].mean(("chain", "draw")).values,
                            values["sigma"].mean(("chain", "draw")).values,
                            [float(values["theta"].mean())]])
    mcse = az.mcse(post.to_dataset(), var_names=["means", "scales", "weights"])
    mcses = np.concatenate([mcse["means"].values[:, 0], mcse["scales"].values,
                            [float(mcse["weights"].values[0])]])
    return means, mcses


@pytest.mark.slow
def test_converges_without_divergences(posteriordb_fit):
    rhat = az.rhat(posteriordb_fit, var_names=["means", "scales", "weights"])
    assert max(float(rhat[v].max()) for v in rhat.data_vars) < 1.01
    assert int(posteriordb_fit["sample_stats"]["diverging"].sum()) == 0


@pytest.mark.slow
def test_posterior_means_agree_with_the_independent_reference(posteriordb_fit, posteriordb_y):
    reference_mean, reference_sd, reference_ess = reference_moments(posteriordb_y, 20_000)
    assert reference_ess > 5_000  # the importance sampler is trustworthy here
    mean, mcse = pymc_summary(posteriordb_fit)
    tolerance = 4.0 * np.sqrt(mcse**2 + reference_sd**2 / reference_ess)
    np.testing.assert_array_less(np.abs(mean - reference_mean), tolerance)
    # and the tolerance is a small fraction of the posterior spread
    assert np.all(tolerance < 0.25 * reference_sd)
