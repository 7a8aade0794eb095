"""The ``mcmc`` method: the PyMC posterior of a replicate, aligned to the truth, against EM.

Saves ``mcmc.nc`` (the DataTree with ``posterior`` and ``latent`` in the true component
order, and an ``em`` group holding the EM estimate in the same order and names:
:mod:`emgmm.datatree`); its row has the point-estimate metrics at the posterior mean, the sampler
diagnostics, the coverage of the posterior intervals and the agreement with EM (it reads
the ``em`` stage).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import xarray as xr

import bayes
from bayes.priors import Priors
from bayes.relabel import relabel_draws, relabelling_permutations
from emgmm.datatree import point_estimate_dataset
from emgmm.fast.threads import available_cores
from experiments.measure import metrics, no_truth
from experiments.measure.base import Method, MethodResult, ReplicateInput
from experiments.measure.free_parameters import posterior_mean_params
from experiments.run.files import save_datatree_atomic
from experiments.run.plan import model_shapes

COLUMNS = (*metrics.POINT_ESTIMATE_COLUMNS, "runtime_s", "compile_s", "sampling_s", "max_rhat",
           "min_ess_bulk", "min_ess_tail", "divergences",
           "ess_per_second", "coverage", "label_switching_repaired", "relabelled_fraction",
           "em_in_interval", "em_distance_sd_mean", "em_distance_sd_max", "em_mcmc_ari",
           "em_mcmc_accuracy", "responsibility_mad", "heldout_lpd", "elpd_loo", "elpd_loo_se",
           "pareto_k_max", "pareto_k_bad", "class_ari", "class_accuracy")


@dataclass(frozen=True)
class MCMCOptions:
    """The ``[mcmc]`` section as the replicate needs it.

    Attributes
    ----------
    covariance_type : str
    sample : dict
        Keyword arguments of :func:`bayes.sample` (priors, sampler, draws, tune, chains,
        init, target_accept, formulation, order_means).
    interval_prob : float
        Probability of the central posterior intervals.
    progressbar : bool
        Show PyMC's progress bar (serial runs only).
    cores : int
        Chains run in parallel processes (one per chain, up to the cores this process may
        use) or one after the other (``1``). Serial runs sample the marginalized model's
        chains with PyMC in parallel: the run's own process is the only one using the
        cores, and the draws are identical either way (a chain's draws depend on its seed
        only). Inside process and Dask workers, which already share the cores, and for
        the other samplers and the explicit formulation, ``1``.
    """

    covariance_type: str
    sample: dict
    interval_prob: float
    progressbar: bool = False
    cores: int = 1


@dataclass(frozen=True)
class MCMCStage:
    """A replicate's posterior with its components in the true order.

    Attributes
    ----------
    datatree : xarray.DataTree
        As saved in ``mcmc.nc``.
    order : array of shape (n_components,)
    runtime : float
        Seconds of the whole :func:`bayes.sample` call (compilation included).
    compile_time : float
        Seconds of building and compiling the model (near 0 when the process's compiled
        model of this shape was reused).
    sampling_time : float
        Seconds of sampling only.
    membership : array of shape (n_samples, n_components)
        Posterior membership probabilities, true order.
    labels : array of shape (n_samples,)
        Posterior MAP labels, true order.
    switched : float or None
        Fraction of draws relabelled to EM (None with the ordering constraint on).
    """

    datatree: xr.DataTree
    order: np.ndarray
    runtime: float
    compile_time: float
    sampling_time: float
    membership: np.ndarray
    labels: np.ndarray
    switched: float | None


def sample_options(config) -> dict:
    """Keyword arguments of :func:`bayes.sample` from ``[mcmc]``."""
    mcmc = config.mcmc
    return {"priors": Priors(**mcmc.priors.as_kwargs()), "sampler": mcmc.sampler,
            "draws": mcmc.draws, "tune": mcmc.tune, "chains": mcmc.chains, "init": mcmc.init,
            "target_accept": mcmc.target_accept, "formulation": mcmc.formulation,
            "order_means": mcmc.order_means}


def mcmc_options(config, progressbar: bool = False) -> MCMCOptions | None:
    """:class:`MCMCOptions`; None when ``[mcmc] enabled = false``."""
    if not config.mcmc.enabled:
        return None
    sample = sample_options(config)
    # progress bars are shown exactly in serial runs (the run's process has the cores)
    parallel = progressbar and sample["sampler"] == "pymc" and (
        sample["formulation"] == "marginalized")
    # PyMC's own default (cores=None) halves the CPU count: sequential on 2 cores
    cores = min(sample["chains"], available_cores()) if parallel else 1
    return MCMCOptions(config.mcmc.covariance_type, sample, config.metrics.interval_prob,
                       progressbar, cores)


def relabel_to_em(datatree, em_means: np.ndarray):
    """Relabel unordered draws to the EM solution; the fraction of draws that were switched.

    Used when the ordering constraint is off (``order_means = false``): each draw is
    matched to the EM means by the Hungarian algorithm (:func:`bayes.relabel_draws`). A
    draw counts as switched when its permutation differs from the most frequent one.
    """
    means = datatree["posterior"]["means"].values
    permutations = relabelling_permutations(means.reshape(-1, *means.shape[2:]), em_means)
    _, inverse, counts = np.unique(permutations, axis=0, return_inverse=True,
                                   return_counts=True)
    switched = float(np.mean(inverse.ravel() != np.argmax(counts)))
    return relabel_draws(datatree, em_means), switched


def sample_stage(X: np.ndarray, truth, n_components: int, em_means: np.ndarray,
                 options: MCMCOptions, seed: int) -> MCMCStage:
    """Sample the posterior and align its components (and memberships) to the truth.

    ``truth`` is the reference the components are matched to: the true mixture, or EM's
    aligned fit for data without truth. With ``order_means`` off, the draws are first relabelled to the EM solution
    (``em_means``, already in the true order).
    """
    start = time.perf_counter()
    datatree = bayes.sample(X, n_components, options.covariance_type, random_seed=seed,
                      cores=options.cores, progressbar=options.progressbar, **options.sample)
    runtime = time.perf_counter() - start
    switched = None
    if not options.sample.get("order_means", True):
        datatree, switched = relabel_to_em(datatree, em_means)
    posterior = datatree["posterior"].to_dataset()
    order = metrics.align_components(truth, posterior_mean_params(posterior))
    datatree["posterior"] = xr.DataTree(metrics.permute_posterior(posterior, order))
    latent = datatree["latent"].to_dataset()
    membership = latent["membership"].values[:, order]
    labels = metrics.align_labels(latent["map_label"].values, order)
    latent = latent.assign(
        membership=(latent["membership"].dims, membership),
        map_label=(latent["map_label"].dims, labels),
    )
    datatree["latent"] = xr.DataTree(latent)
    return MCMCStage(datatree, order, runtime, float(datatree.attrs["compile_time"]),
                     float(datatree.attrs["sampling_time"]), membership, labels, switched)


def _relabelling_columns(switched: float | None) -> dict:
    if switched is None:  # ordering constraint on: nothing relabelled
        return {}
    return {"label_switching_repaired": switched > 0, "relabelled_fraction": switched}


def run_mcmc(inputs: ReplicateInput, options: MCMCOptions) -> MethodResult:
    """Sample, save ``mcmc.nc`` and measure the ``mcmc`` row (against the EM stage)."""
    dataset, em = inputs.dataset, inputs.stages["em"]
    reference = dataset.truth if dataset.has_truth else em.aligned_full
    stage = sample_stage(dataset.X, reference, dataset.n_components, em.aligned.means,
                         options, inputs.seeds.mcmc)
    # the EM estimate beside the posterior, for ArviZ reference lines (az.add_lines)
    stage.datatree["em"] = xr.DataTree(point_estimate_dataset(em.aligned))
    save_datatree_atomic(inputs.files.mcmc, stage.datatree)
    posterior = stage.datatree["posterior"].to_dataset()
    if not dataset.has_truth:  # a data file: metrics that need no truth
        quality = no_truth.mcmc_columns(dataset.arrays, stage.datatree, stage.labels)
    else:
        quality = metrics.point_estimate_metrics(
            dataset.X, dataset.labels, dataset.truth, posterior_mean_params(posterior),
            stage.labels)
    columns = {
        **quality,
        "runtime_s": stage.runtime,
        "compile_s": stage.compile_time,
        "sampling_s": stage.sampling_time,
        **metrics.mcmc_metrics(
            posterior, stage.datatree["sample_stats"].to_dataset(), dataset.truth,
            em.aligned_full, options.covariance_type, stage.sampling_time,
            options.interval_prob),
        **metrics.em_mcmc_agreement(em.responsibilities, em.labels, stage.membership,
                                    stage.labels),
        **_relabelling_columns(stage.switched),
    }
    return MethodResult(columns, stage, tuple(int(i) for i in stage.order))


def compile_mcmc_ahead(config) -> None:
    """Compile the samplers' models of ``config``'s model shapes (:func:`bayes.compile_model`)."""
    if not config.mcmc.enabled:
        return
    sample = sample_options(config)
    for n_features, n_components in model_shapes(config):
        bayes.compile_model(n_features, n_components, config.mcmc.covariance_type,
                            sample["priors"], sampler=sample["sampler"],
                            formulation=sample["formulation"],
                            order_means=sample["order_means"])


MCMC = Method("mcmc", "mcmc", mcmc_options, run_mcmc, COLUMNS, requires=("em",),
              report="experiments.report.method_sections:mcmc_section",
              compile_ahead=compile_mcmc_ahead)
