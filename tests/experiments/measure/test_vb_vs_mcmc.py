"""Variational Bayes against the MCMC posterior on the well-separated quickstart data.

The quickstart's ``mcmc.nc`` (2 chains x 1000 draws of the PyMC mixture, components in the
true order) is the reference: with a weak prior on the means, as the PyMC model's, VB's
posterior means of the component means must lie within 0.2 posterior sd of MCMC's (its q
is narrower, so its sds are only required not to exceed MCMC's by much)."""

from __future__ import annotations

import numpy as np
import pytest

from emgmm import BayesianGaussianMixtureVB
from emgmm.alignment import matching_order


@pytest.mark.slow
def test_vb_means_match_the_posterior_within_a_fifth_of_its_sd(quickstart_run):
    import experiments

    rep = experiments.load_run(quickstart_run).replicates[0]
    with rep.open_posterior() as tree:
        draws = tree["posterior"]["means"].values.reshape(-1, 3, 2)
    mcmc_mean, mcmc_sd = draws.mean(axis=0), draws.std(axis=0)
    vb = BayesianGaussianMixtureVB(3, tol=1e-8, max_iter=1000, random_state=0,
                                   weight_concentration_prior_type="dirichlet_distribution",
                                   weight_concentration_prior=1.0,
                                   # a weak prior on the means, as the PyMC model's: the
                                   # default kappa = 1 shrinks each mean towards the data's
                                   # mean by 1 / (N_k + 1), 0.3 posterior sd here
                                   mean_precision_prior=1e-3).fit(rep.X)
    cost = ((mcmc_mean[:, None, :] - vb.means_[None, :, :]) ** 2).sum(axis=-1)
    order = matching_order(cost)
    distance = np.abs(vb.means_[order] - mcmc_mean) / mcmc_sd
    assert distance.max() < 0.2, distance
    vb_draws = vb.to_datatree(4000, random_state=1)["posterior"]["means"].values
    vb_sd = vb_draws.reshape(-1, 3, 2).std(axis=0)[order]
    assert np.all(vb_sd < 1.5 * mcmc_sd)
