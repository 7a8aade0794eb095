"""The ``vb`` method: coordinate-ascent variational Bayes (``emgmm.BayesianGaussianMixtureVB``,
Bishop 10.2) of a replicate, aligned to the truth, against MCMC; on a data file aligned
to EM's estimate, with the no-truth columns (``no_truth.posterior_columns``).

Opt-in (``[experiment] methods = [..., "vb"]``), configured by ``[vb]``
(:class:`experiments.config.methods.VBSettings`) with ``[em]``'s covariance type and starts.
The approximate posterior q(pi, mu, Lambda) is drawn into ``vb.nc`` (names and dims of
``bayes.sample``'s tree, ``posterior`` and ``latent`` in the true order, the lower bound
per iteration in ``variational``); its row has the point-estimate metrics at the draws'
mean, the coverage of their central intervals, the final lower bound, the number of
components that kept a weight above ``[vb] weight_threshold`` and, when MCMC ran, the
comparison with it (:mod:`experiments.measure.vi_compare`). With ``truncation`` above the
cell's K, VB may prune: the row then holds the pruning and the bound only (the parameter
metrics need one estimated component per true one).
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import xarray as xr

from emgmm import BayesianGaussianMixtureVB
from experiments.config.methods import method_selected
from experiments.measure.base import Method, MethodResult, ReplicateInput
from experiments.measure.metrics import POINT_ESTIMATE_COLUMNS
from experiments.measure.vi_compare import COLUMNS as COMPARISON_COLUMNS
from experiments.measure.warm_up import warm_up_once
from experiments.measure.vi_method import (
    VIOptions,
    NO_TRUTH_POSTERIOR_COLUMNS,
    VIStage,
    align_to_truth,
    method_seed,
    reference_params,
    vi_columns,
)
from experiments.run.files import save_datatree_atomic

NAME = "vb"
COLUMNS = (*POINT_ESTIMATE_COLUMNS, "runtime_s", "compile_s", "coverage", *COMPARISON_COLUMNS,
           "elbo_final", "n_effective_components", "n_iter", "converged",
           *NO_TRUTH_POSTERIOR_COLUMNS)


def vb_options(config, progressbar: bool = False) -> VIOptions | None:
    """:class:`VIOptions` from ``[vb]`` and ``[em]``; None unless ``vb`` is listed."""
    if not method_selected(config, NAME):
        return None
    settings = config.method_sections[NAME]
    fit = {"weight_concentration_prior_type": settings.weight_concentration_prior_type,
           "weight_concentration": settings.weight_concentration,
           "truncation": settings.truncation, "tol": settings.tol,
           "max_iter": settings.max_iter, "n_init": settings.n_init,
           "init_params": config.em.init_params, "reg_covar": config.em.reg_covar,
           "draws": settings.draws, "weight_threshold": settings.weight_threshold}
    return VIOptions(config.em.covariance_type, fit, config.metrics.interval_prob)


def fit_vb_model(X: np.ndarray, n_components: int, covariance_type: str, fit: dict,
                 seed: int) -> BayesianGaussianMixtureVB:
    """The variational fit with ``truncation`` components (the cell's K when 0)."""
    truncation = fit["truncation"] or n_components
    model = BayesianGaussianMixtureVB(
        truncation, covariance_type=covariance_type,
        weight_concentration_prior_type=fit["weight_concentration_prior_type"],
        weight_concentration_prior=fit["weight_concentration"], tol=fit["tol"],
        max_iter=fit["max_iter"], n_init=fit["n_init"], init_params=fit["init_params"],
        reg_covar=fit["reg_covar"], weight_threshold=fit["weight_threshold"],
        random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return model.fit(X)


def warm_up_vb(options: VIOptions) -> float:
    """Compile VB's numba kernels with a tiny fit and a few draws, once per process and
    (covariance type, init); its seconds (:mod:`experiments.measure.warm_up`)."""
    small = {**options.fit, "max_iter": 3, "n_init": 1, "truncation": 0}

    def fit_and_draw(X: np.ndarray) -> None:
        model = fit_vb_model(X, 2, options.covariance_type, small, 0)
        model.to_datatree(2, random_state=0, X=X)

    key = (NAME, options.covariance_type, str(options.fit["init_params"]))
    return warm_up_once(key, fit_and_draw, 2, 2)


def run_vb(inputs: ReplicateInput, options: VIOptions) -> MethodResult:
    """Fit, draw, align, save ``vb.nc`` and measure the ``vb`` row (its kernels compiled
    beforehand, outside ``runtime_s``)."""
    dataset, fit = inputs.dataset, options.fit
    seed = method_seed(inputs.seeds, NAME)
    compile_time = warm_up_vb(options)
    start = time.perf_counter()
    model = fit_vb_model(dataset.X, dataset.n_components, options.covariance_type, fit, seed)
    runtime = time.perf_counter() - start
    datatree = model.to_datatree(fit["draws"], random_state=seed, X=dataset.X)
    datatree.attrs.update(weight_threshold=float(fit["weight_threshold"]),
                          n_components_fitted=int(model.n_components))
    datatree["variational"] = xr.DataTree(xr.Dataset(
        {"lower_bound": (("iteration",), np.asarray(model.lower_bounds_, dtype=float))}))
    columns = {"runtime_s": runtime, "compile_s": compile_time,
               "elbo_final": float(model.lower_bound_),
               "n_effective_components": int(model.n_effective_components_),
               "n_iter": int(model.n_iter_), "converged": bool(model.converged_)}
    order = np.arange(model.n_components)
    if model.n_components == dataset.n_components:
        datatree, order, labels = align_to_truth(datatree, reference_params(inputs))
        columns |= vi_columns(dataset, datatree, labels, inputs.stages.get("mcmc"), options)
    save_datatree_atomic(inputs.files.posterior(NAME), datatree)
    return MethodResult(columns, VIStage(datatree, order, runtime),
                        tuple(int(i) for i in order))


VB = Method(NAME, NAME, vb_options, run_vb, COLUMNS, requires=("em",),
            report="experiments.report.vb_figures:vb_section", warm_up=warm_up_vb)
