"""The ``em`` method: the hand-written EM (or MAP-EM) fit of a replicate, aligned to the truth.

Saves ``em_fit.npz`` (:class:`experiments.run.rundir.EMFitArrays`) and ``em_model.npz``
(:func:`emgmm.save_model`); its row has the point-estimate metrics, ``n_iter``,
``converged`` and, with ``[em] intervals``, the coverage of EM's intervals.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, replace

import numpy as np

from emgmm import GaussianMixtureEM, GaussianMixtureParams
from emgmm.fit import EMResult, fit_em
from emgmm.io import save_model
from emgmm.map_prior import ConjugatePrior, default_conjugate_prior
from emgmm.steps import e_step
from experiments.measure import metrics, no_truth
from experiments.measure.base import Method, MethodResult, ReplicateInput
from experiments.measure.calibration import em_interval_columns
from experiments.measure.em_store import run_em_store
from experiments.measure.warm_up import warm_up_once
from experiments.run.files import save_npz_atomic
from experiments.run.rundir import EMFitArrays

SNAPSHOT_ITERATIONS = (0, 1, 2, 5, 20)
MAP_MAX_TOL = 1e-6  # MAP-EM from k-means can creep for its first iterations: cap the tolerance
MAP_REFIT_TOL = 1e-8
MAP_REFIT_MAX_ITER = 500
COLUMNS = (*metrics.POINT_ESTIMATE_COLUMNS, "runtime_s", "compile_s", "n_iter", "converged",
           "coverage_bootstrap", "coverage_information", "heldout_lpd", "bic", "icl",
           "class_ari", "class_accuracy")


@dataclass(frozen=True)
class EMOptions:
    """The ``[em]`` section as the replicate needs it.

    Attributes
    ----------
    estimator : {'ml', 'map'}
    covariance_type : str
    fit : dict
        Keyword arguments of :func:`emgmm.fit_em` (tol, reg_covar, max_iter, n_init,
        init_params).
    intervals : tuple of str
        EM interval methods whose coverage is measured: ``bootstrap``, ``information``.
    n_bootstrap : int
    interval_prob : float
        Probability of the intervals (``[metrics] interval_prob``).
    """

    estimator: str
    covariance_type: str
    fit: dict
    intervals: tuple[str, ...]
    n_bootstrap: int
    interval_prob: float


@dataclass(frozen=True)
class EMStage:
    """A replicate's EM fit with its components in the true order.

    Attributes
    ----------
    result : emgmm.fit.EMResult
        The fit as returned (components in the fitted order).
    order : array of shape (n_components,)
        Fitted component ``order[k]`` is true component ``k``.
    aligned : emgmm.GaussianMixtureParams
        The estimate in the true order (the fitted covariance type).
    runtime : float
        Wall-clock seconds of the fit (numba kernels already compiled).
    compile_time : float
        Seconds of the warm-up fit that compiled the kernels in this process before the
        timed one (:func:`warm_up_kernels`; 0 when they were already compiled).
    responsibilities : array of shape (n_samples, n_components)
    labels : array of shape (n_samples,)
        MAP labels in the true order.
    """

    result: EMResult
    order: np.ndarray
    aligned: GaussianMixtureParams
    runtime: float
    responsibilities: np.ndarray
    labels: np.ndarray
    compile_time: float = 0.0

    @property
    def aligned_full(self) -> GaussianMixtureParams:
        return as_full(self.aligned)


def em_options(config, progressbar: bool = False) -> EMOptions:
    """:class:`EMOptions` from the validated config (EM always runs)."""
    em = config.em
    return EMOptions(
        estimator=em.method, covariance_type=em.covariance_type,
        fit={"tol": em.tol, "reg_covar": em.reg_covar, "max_iter": em.max_iter,
             "n_init": em.n_init, "init_params": em.init_params},
        intervals=em.interval_methods, n_bootstrap=em.n_bootstrap,
        interval_prob=config.metrics.interval_prob)


def as_full(params: GaussianMixtureParams) -> GaussianMixtureParams:
    return GaussianMixtureParams(params.weights, params.means, params.full_covariances(), "full")


def snapshot_indices(n_iter: int) -> list[int]:
    """Iterations 0, 1, 2, 5, 20 that exist, and the last one (``n_iter``)."""
    return sorted({i for i in SNAPSHOT_ITERATIONS if i < n_iter} | {n_iter})


def map_prior(X: np.ndarray, n_components: int, covariance_type: str) -> ConjugatePrior:
    """The documented conjugate prior of a replicate, fixed from its data once.

    :func:`emgmm.map_prior.default_conjugate_prior` (mclust's ``priorControl()``):
    Dirichlet(1) weights, Normal-inverse-Wishart with mean = column means, kappa = 0.01,
    nu = D + 2, Psi = Cov(X) / K^(2/D); README "Uncertainty and calibration" maps it to the
    ``bayes`` priors. Bootstrap refits and the polishing before the information intervals
    climb the same objective.
    """
    return default_conjugate_prior(X, n_components, covariance_type)


def fit_estimate(X: np.ndarray, n_components: int, options: EMOptions, seed: int) -> EMResult:
    """The ``[em]`` fit: maximum likelihood, or MAP-EM (``method = "map"``) in the one EM loop.

    MAP-EM runs one start and records no path (``em_fit.npz`` holds its final estimate);
    its ``log_likelihood_history`` is the per-sample MAP objective. Its tolerance is
    ``min(tol, MAP_MAX_TOL)``: with ``tol = 1e-3`` MAP-EM stopped after 3 iterations with
    merged components on a 2-D, K = 2 data set where ML EM at the same tolerance found both.
    """
    fit = options.fit
    if options.estimator == "map":
        return fit_em(X, n_components, prior=map_prior(X, n_components, options.covariance_type),
                      covariance_type=options.covariance_type, init_params=fit["init_params"],
                      random_state=seed, tol=min(fit["tol"], MAP_MAX_TOL),
                      max_iter=fit["max_iter"], reg_covar=fit["reg_covar"])
    return fit_em(X, n_components, covariance_type=options.covariance_type, random_state=seed,
                  record_params=True, **fit)


def map_refit(prior: ConjugatePrior):
    """``(X, start) -> mode``: MAP-EM from ``start`` under ``prior`` (bootstrap, polishing)."""

    def refit(X: np.ndarray, start: GaussianMixtureParams) -> GaussianMixtureParams:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a resample that stops at max_iter is still a refit
            return fit_em(X, start.n_components, prior=prior,
                          covariance_type=start.covariance_type, start=start,
                          tol=MAP_REFIT_TOL, max_iter=MAP_REFIT_MAX_ITER, reg_covar=0.0).params

    return refit


def warm_up_kernels(n_components: int, n_features: int, options: EMOptions) -> float:
    """Compile this EM's numba kernels with a tiny fit, once per process and (estimator,
    covariance type, init); its seconds (:func:`experiments.measure.warm_up.warm_up_once`:
    without it ``runtime_s`` would time the compiler)."""
    small = replace(options, fit={**options.fit, "max_iter": 3, "n_init": 1})
    key = ("em", options.estimator, options.covariance_type, str(options.fit["init_params"]))
    return warm_up_once(key, lambda X: fit_estimate(X, n_components, small, 0),
                        n_components, n_features)


def fit_stage(X: np.ndarray, truth: GaussianMixtureParams | None, n_components: int,
              options: EMOptions, seed: int) -> EMStage:
    """Fit EM (or MAP-EM), align it to the truth (without truth: sort the components by
    their first mean coordinate), compute responsibilities and labels.

    The kernels are compiled by :func:`warm_up_kernels` first, outside the timed fit.
    """
    compile_time = warm_up_kernels(n_components, X.shape[1], options)
    start = time.perf_counter()
    result = fit_estimate(X, n_components, options, seed)
    runtime = time.perf_counter() - start
    order = (no_truth.reference_order(result.params) if truth is None
             else metrics.align_components(truth, as_full(result.params)))
    aligned = result.params.permuted(order)
    _, log_resp = e_step(X, aligned)
    responsibilities = np.exp(log_resp)
    return EMStage(result, order, aligned, runtime, responsibilities,
                   responsibilities.argmax(axis=1), compile_time)


def fit_arrays(stage: EMStage) -> EMFitArrays:
    """``em_fit.npz``: responsibilities, labels, history and the aligned snapshots."""
    result, order = stage.result, stage.order
    history = result.params_history
    iterations = [i for i in snapshot_indices(result.n_iter) if i < len(history)]
    if not history:  # no recorded path (MAP-EM): the final estimate only
        history, iterations = {result.n_iter: result.params}, [result.n_iter]
    snapshots = [as_full(history[i].permuted(order)) for i in iterations]
    return EMFitArrays(
        responsibilities=stage.responsibilities,
        map_labels=stage.labels,
        log_likelihood_history=np.asarray(result.log_likelihood_history, dtype=float),
        snapshot_iterations=np.asarray(iterations, dtype=int),
        snapshot_weights=np.stack([s.weights for s in snapshots]),
        snapshot_means=np.stack([s.means for s in snapshots]),
        snapshot_covariances=np.stack([s.covariances for s in snapshots]),
    )


def save_em_model(path, stage: EMStage, options: EMOptions, seed: int) -> None:
    """Save the aligned fit as a fitted :class:`emgmm.GaussianMixtureEM` (emgmm.save_model).

    The estimator carries the run's EM settings and the real fit record (iterations,
    convergence, log-likelihood history) with the components in the true order.
    """
    model = GaussianMixtureEM.from_result(
        replace(stage.result, params=stage.aligned, params_history=()),
        random_state=seed, **options.fit)
    save_model(path, model)  # atomic (temporary file + os.replace) in emgmm.io


def interval_columns(X: np.ndarray, truth: GaussianMixtureParams, stage: EMStage,
                     options: EMOptions, seed: int, n_components: int) -> dict:
    """``coverage_bootstrap`` / ``coverage_information``; a failed method becomes a warning."""
    refit = None
    if options.estimator == "map" and options.intervals:
        refit = map_refit(map_prior(X, n_components, options.covariance_type))
    columns, notes = em_interval_columns(
        X, stage.aligned, truth, options.intervals, level=options.interval_prob,
        n_bootstrap=options.n_bootstrap, em_seed=seed,
        reg_covar=options.fit["reg_covar"], refit=refit)
    for note in notes:
        warnings.warn(note, stacklevel=1)
    return columns


def run_em(inputs: ReplicateInput, options: EMOptions) -> MethodResult:
    """Fit, save ``em_fit.npz`` and ``em_model.npz``, and measure the ``em`` row."""
    dataset, seed = inputs.dataset, inputs.seeds.em
    if not dataset.in_memory:  # a store too big for memory: EM by passes over its blocks
        return run_em_store(inputs, options)
    n_components = dataset.n_components
    stage = fit_stage(dataset.X, dataset.truth, n_components, options, seed)
    save_npz_atomic(inputs.files.em_fit, **fit_arrays(stage).as_dict())
    save_em_model(inputs.files.em_model, stage, options, seed)
    if not dataset.has_truth:  # a data file: metrics that need no truth
        quality = no_truth.em_columns(dataset.arrays, stage.aligned, stage.labels)
    else:
        quality = metrics.point_estimate_metrics(dataset.X, dataset.labels, dataset.truth,
                                                 stage.aligned_full, stage.labels)
    columns = {
        **quality,
        "runtime_s": stage.runtime,
        "compile_s": stage.compile_time,
        "n_iter": int(stage.result.n_iter),
        "converged": bool(stage.result.converged),
    }
    if dataset.has_truth:
        columns |= interval_columns(dataset.X, dataset.truth, stage, options, seed,
                                    n_components)
    return MethodResult(columns, stage, tuple(int(i) for i in stage.order))


EM = Method("em", "em", em_options, run_em, COLUMNS,
            report="experiments.report.method_sections:em_section")
