"""What every variational method of the registry shares: options, stage, seed, alignment, row.

A variational method (``advi``, and any other that returns its approximate posterior as
draws in a DataTree shaped like :func:`bayes.sample`'s) fits the replicate with its own
seed (:func:`method_seed`), puts its components in the true order (:func:`align_to_truth`)
and measures its row with :func:`vi_columns`: the point-estimate metrics at the
approximate posterior mean, the coverage of its intervals and, when the replicate's MCMC
fit succeeded, the comparison with it (:mod:`experiments.measure.vi_compare`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from emgmm import GaussianMixtureParams
from experiments.measure import metrics, no_truth, vi_compare
from experiments.measure.free_parameters import posterior_mean_params


# the columns of no_truth.posterior_columns (data without truth)
NO_TRUTH_POSTERIOR_COLUMNS = ("heldout_lpd", "class_ari", "class_accuracy")


@dataclass(frozen=True)
class VIOptions:
    """A variational method's options as the replicate needs them.

    Attributes
    ----------
    covariance_type : str
        ``[mcmc] covariance_type`` (the model MCMC samples).
    fit : dict
        Keyword arguments of the fitting function (priors, ordering and the method's own).
    interval_prob : float
    """

    covariance_type: str
    fit: dict
    interval_prob: float


@dataclass(frozen=True)
class VIStage:
    """A replicate's approximate posterior with its components in the true order."""

    datatree: xr.DataTree
    order: np.ndarray
    runtime: float


def method_seed(seeds, name: str) -> int:
    """The replicate's seed for method ``name``: spawned from its MCMC seed and the name."""
    entropy = [int(seeds.mcmc), *name.encode()]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def reference_params(inputs) -> GaussianMixtureParams:
    """The parameters a replicate's approximate posterior is aligned to: the truth, or for
    data without truth (a data file) EM's estimate in its reference order, as MCMC is."""
    dataset = inputs.dataset
    return dataset.truth if dataset.has_truth else inputs.stages["em"].aligned_full


def align_to_truth(datatree: xr.DataTree, truth) -> tuple[xr.DataTree, np.ndarray, np.ndarray]:
    """Put the components of ``posterior`` and ``latent`` in the true order (or in the
    order of :func:`reference_params`).

    Returns the tree, the order (:func:`metrics.align_components` at the posterior mean)
    and the aligned MAP labels.
    """
    posterior = datatree["posterior"].to_dataset()
    order = metrics.align_components(truth, posterior_mean_params(posterior))
    datatree["posterior"] = xr.DataTree(metrics.permute_posterior(posterior, order))
    latent = datatree["latent"].to_dataset()
    labels = metrics.align_labels(latent["map_label"].values, order)
    datatree["latent"] = xr.DataTree(latent.assign(
        membership=(latent["membership"].dims, latent["membership"].values[:, order]),
        map_label=(latent["map_label"].dims, labels)))
    return datatree, order, labels


def vi_columns(dataset, datatree: xr.DataTree, labels: np.ndarray, mcmc_stage,
               options: VIOptions) -> dict:
    """The row of an aligned approximate posterior (the MCMC comparison if MCMC ran);
    without truth, the no-truth columns (:func:`no_truth.posterior_columns`)."""
    posterior = datatree["posterior"].to_dataset()
    if not dataset.has_truth:
        columns = no_truth.posterior_columns(dataset.arrays, datatree, labels)
    else:
        columns = {
            **metrics.point_estimate_metrics(dataset.X, dataset.labels, dataset.truth,
                                             posterior_mean_params(posterior), labels),
            "coverage": vi_compare.interval_coverage(datatree, dataset.truth,
                                                     options.covariance_type,
                                                     options.interval_prob),
        }
    if mcmc_stage is not None:
        columns.update(vi_compare.comparison_to_mcmc(datatree, mcmc_stage.datatree,
                                                     options.covariance_type))
    return columns
