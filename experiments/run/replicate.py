"""One cell x replicate: simulate, fit EM, sample the posterior, align, measure, save.

:func:`run_replicate` is the unit of work every executor runs. It takes a picklable
:class:`ReplicateTask` that carries everything it needs (its own seed included), writes the
replicate's artifacts atomically (``metrics.json`` last) and returns the metrics payload.
It never raises for a failure of EM or MCMC: the error (one line) goes into the rows and
the sweep goes on.

Seeds: the task carries the plan's :class:`experiments.run.plan.ReplicateSeeds`, three integer
seeds from independent ``SeedSequence`` children for the data, EM and MCMC, so each stage's
randomness is independent of the others and of the executor.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from emgmm import GaussianMixtureParams
from experiments.measure import metrics
from experiments.run.files import (
    METRICS_FILE,
    replicate_dir,
    save_datatree_atomic,
    save_npz_atomic,
    write_json_atomic,
)

SNAPSHOT_ITERATIONS = (0, 1, 2, 5, 20)


@dataclass(frozen=True)
class ReplicateTask:
    """Everything one cell x replicate needs, picklable for process and Dask workers.

    Attributes
    ----------
    run_dir : str
    cell_id : str
    cell_index : int
        Position of the cell in the plan (orders results.csv).
    replicate : int
    parameters : dict
        The cell's grid values, copied into every row of results.csv.
    data_spec : experiments.simulate.generate.DataSpec
    seeds : experiments.run.plan.ReplicateSeeds
        Integer seeds ``data``, ``em`` and ``mcmc``.
    n_components : int
        Components fitted by both methods.
    em_covariance_type, mcmc_covariance_type : str
        Covariance types fitted by EM and by the Bayesian model.
    em_options : dict
        Keyword arguments of :func:`emgmm.fit_em` (tol, max_iter, n_init, ...).
    mcmc_options : dict or None
        Keyword arguments of :func:`bayes.sample`; None disables MCMC.
    interval_prob : float
        Probability of the central posterior intervals (and of EM's intervals).
    em_method : {'ml', 'map'}
        Maximum likelihood (:func:`emgmm.fit_em`) or MAP-EM (:mod:`experiments.measure.map_fit`).
    em_intervals : tuple of str
        EM interval methods whose coverage is measured: ``bootstrap``, ``information``.
    n_bootstrap : int
        Bootstrap resamples per replicate.
    selection : dict or None
        Keyword arguments of :func:`experiments.measure.selection.selection_columns`; None: off.
    progressbar : bool
        Show PyMC's progress bar (serial runs only).
    """

    run_dir: str
    cell_id: str
    cell_index: int
    replicate: int
    parameters: dict
    data_spec: object
    seeds: object
    n_components: int
    em_covariance_type: str = "full"
    mcmc_covariance_type: str = "full"
    em_options: dict = field(default_factory=dict)
    mcmc_options: dict | None = None
    interval_prob: float = metrics.DEFAULT_INTERVAL_PROB
    em_method: str = "ml"
    em_intervals: tuple[str, ...] = ()
    n_bootstrap: int = 200
    selection: dict | None = None
    progressbar: bool = False


def achieved_overlap(data) -> float:
    """Achieved overlap of the kind the data spec targets (average or maximum)."""
    overlap = data.achieved_overlap
    return float(overlap.maximum if data.spec.overlap_kind == "max" else overlap.average)


def one_line(error: BaseException) -> str:
    """``ErrorType: first line of the message``."""
    message = str(error).strip().splitlines()
    return f"{type(error).__name__}: {message[0]}" if message else type(error).__name__


def snapshot_indices(n_iter: int) -> list[int]:
    """Iterations 0, 1, 2, 5, 20 that exist, and the last one (``n_iter``)."""
    return sorted({i for i in SNAPSHOT_ITERATIONS if i < n_iter} | {n_iter})


# ---------------------------------------------------------------------------------------
# Stages
# ---------------------------------------------------------------------------------------


def simulate(task: ReplicateTask, rng: np.random.Generator):
    from experiments.simulate.generate import simulate_mixture

    data = simulate_mixture(task.data_spec, rng)
    truth = GaussianMixtureParams(data.weights, data.means, data.covariances, "full")
    return data, truth


def fit_em_stage(task: ReplicateTask, X: np.ndarray, truth) -> dict:
    """Fit EM, align it to the truth, and return the aligned pieces and its runtime."""
    from emgmm.fit import fit_em
    from emgmm.steps import e_step
    from experiments.measure.map_fit import map_fit

    fitters = {"ml": fit_em, "map": map_fit}
    start = time.perf_counter()
    result = fitters[task.em_method](
        X, task.n_components, covariance_type=task.em_covariance_type,
        random_state=task.seeds.em,
        record_params=True, **task.em_options,
    )
    runtime = time.perf_counter() - start
    order = metrics.align_components(truth, _as_full(result.params))
    aligned = result.params.permuted(order)
    _, log_resp = e_step(X, aligned)
    responsibilities = np.exp(log_resp)
    return {
        "result": result, "order": order, "aligned": aligned, "runtime": runtime,
        "responsibilities": responsibilities, "labels": responsibilities.argmax(axis=1),
    }


def _as_full(params: GaussianMixtureParams) -> GaussianMixtureParams:
    return GaussianMixtureParams(params.weights, params.means, params.full_covariances(), "full")


def em_fit_arrays(em: dict) -> dict:
    """Arrays of ``em_fit.npz``: responsibilities, labels, history and aligned snapshots."""
    result, order = em["result"], em["order"]
    history = result.params_history
    iterations = [i for i in snapshot_indices(result.n_iter) if i < len(history)]
    if not history:  # no recorded path (MAP-EM): the final estimate only
        history, iterations = {result.n_iter: result.params}, [result.n_iter]
    snapshots = [_as_full(history[i].permuted(order)) for i in iterations]
    return {
        "responsibilities": em["responsibilities"],
        "map_labels": em["labels"],
        "log_likelihood_history": np.asarray(result.log_likelihood_history, dtype=float),
        "snapshot_iterations": np.asarray(iterations, dtype=int),
        "snapshot_weights": np.stack([s.weights for s in snapshots]),
        "snapshot_means": np.stack([s.means for s in snapshots]),
        "snapshot_covariances": np.stack([s.covariances for s in snapshots]),
    }


def save_em_model(path: Path, task: ReplicateTask, aligned: GaussianMixtureParams, result) -> None:
    """Save the aligned fit as a fitted :class:`emgmm.GaussianMixtureEM` (emgmm.save_model).

    The estimator carries the run's EM settings and the real fit record (iterations,
    convergence, log-likelihood history) with the components in the true order.
    """
    from emgmm import GaussianMixtureEM
    from emgmm.io import save_model

    model = GaussianMixtureEM.from_result(
        replace(result, params=aligned, params_history=()),
        random_state=task.seeds.em, **task.em_options,
    )
    save_model(path, model)  # atomic (temporary file + os.replace) in emgmm.io


def relabel_to_em(datatree, em_means: np.ndarray):
    """Relabel unordered draws to the EM solution; the fraction of draws that were switched.

    Used when the ordering constraint is off (``order_means = false``): each draw is
    matched to the EM means by the Hungarian algorithm (:func:`bayes.relabel_draws`). A
    draw counts as switched when its permutation differs from the most frequent one.
    """
    from bayes.relabel import relabel_draws, relabelling_permutations

    means = datatree["posterior"]["means"].values
    permutations = relabelling_permutations(means.reshape(-1, *means.shape[2:]), em_means)
    _, inverse, counts = np.unique(permutations, axis=0, return_inverse=True,
                                   return_counts=True)
    switched = float(np.mean(inverse.ravel() != np.argmax(counts)))
    return relabel_draws(datatree, em_means), switched


def mcmc_stage(task: ReplicateTask, X: np.ndarray, truth, em_means: np.ndarray) -> dict:
    """Sample the posterior and align its components (and memberships) to the truth.

    With ``order_means`` off, the draws are first relabelled to the EM solution
    (``em_means``, already in the true order).
    """
    import xarray as xr

    from bayes import sample

    start = time.perf_counter()
    datatree = sample(
        X, task.n_components, task.mcmc_covariance_type, random_seed=task.seeds.mcmc, cores=1,
        progressbar=task.progressbar, **task.mcmc_options,
    )
    runtime = time.perf_counter() - start
    switched = None
    if not task.mcmc_options.get("order_means", True):
        datatree, switched = relabel_to_em(datatree, em_means)
    posterior = datatree["posterior"].to_dataset()
    order = metrics.align_components(truth, metrics.posterior_mean_params(posterior))
    datatree["posterior"] = xr.DataTree(metrics.permute_posterior(posterior, order))
    latent = datatree["latent"].to_dataset()
    membership = latent["membership"].values[:, order]
    labels = metrics.align_labels(latent["map_label"].values, order)
    latent = latent.assign(
        membership=(latent["membership"].dims, membership),
        map_label=(latent["map_label"].dims, labels),
    )
    datatree["latent"] = xr.DataTree(latent)
    return {"datatree": datatree, "order": order, "runtime": runtime,
            "sampling_time": float(datatree.attrs.get("sampling_time", runtime)),
            "membership": membership, "labels": labels, "switched": switched}


# ---------------------------------------------------------------------------------------
# The replicate
# ---------------------------------------------------------------------------------------


def run_replicate(task: ReplicateTask) -> dict:
    """Run one cell x replicate, write its artifacts, return its ``metrics.json`` payload."""
    out = replicate_dir(Path(task.run_dir), task.cell_id, task.replicate)
    base = {"cell_id": task.cell_id, "replicate": task.replicate, **task.parameters}
    payload = {
        "cell_id": task.cell_id, "cell_index": task.cell_index, "replicate": task.replicate,
        "seeds": {"data": task.seeds.data, "em": task.seeds.em, "mcmc": task.seeds.mcmc},
        "rows": [], "permutations": {}, "warnings": [], "error": None,
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # PyTensor's note about its C backend's BLAS concerns no result of the run.
        warnings.filterwarnings("ignore", message=".*could not link to a BLAS installation")
        try:
            data, truth = simulate(task, np.random.default_rng(task.seeds.data))
            save_npz_atomic(out / "data.npz", **data.as_arrays())
            shared = {"achieved_overlap": achieved_overlap(data),
                      "log_likelihood_truth": metrics.mixture_mean_log_likelihood(data.X, truth)}
            em = fit_em_stage(task, data.X, truth)
            save_npz_atomic(out / "em_fit.npz", **em_fit_arrays(em))
            save_em_model(out / "em_model.npz", task, em["aligned"], em["result"])
            payload["permutations"]["em"] = em["order"].tolist()
            payload["rows"].append({**base, "method": "em", **shared, **em_row(data, truth, em),
                                    **_em_interval_columns(task, data.X, truth, em)})
        except Exception as error:  # noqa: BLE001 - recorded, the sweep goes on
            payload["error"] = one_line(error)
            methods = ("em",) if task.mcmc_options is None else ("em", "mcmc")
            payload["rows"] = [{**base, "method": m, "error": payload["error"]}
                               for m in methods]
            em = None
        if em is not None and task.mcmc_options is not None:
            payload["rows"].append({**base, "method": "mcmc", **shared,
                                    **_mcmc_row(task, data, truth, em, out, payload)})
        if em is not None and task.selection is not None:
            payload["rows"].append({**base, "method": "selection", **shared,
                                    **_selection_row(task, data, payload)})
    payload["warnings"] = sorted({one_line(w.message) for w in caught})
    write_json_atomic(out / METRICS_FILE, payload)
    return payload


def em_row(data, truth, em: dict) -> dict:
    result = em["result"]
    return {
        **metrics.point_estimate_metrics(data.X, data.labels, truth, _as_full(em["aligned"]),
                                         em["labels"]),
        "runtime_s": em["runtime"],
        "n_iter": int(result.n_iter),
        "converged": bool(result.converged),
    }


def _em_interval_columns(task: ReplicateTask, X: np.ndarray, truth, em: dict) -> dict:
    """``coverage_bootstrap`` / ``coverage_information``; a failed method becomes a warning."""
    from experiments.measure.calibration import em_interval_columns
    from experiments.measure.map_fit import map_prior, map_refit

    refit = None
    if task.em_method == "map" and task.em_intervals:
        refit = map_refit(map_prior(X, task.n_components, task.em_covariance_type))
    columns, notes = em_interval_columns(
        X, em["aligned"], truth, task.em_intervals, level=task.interval_prob,
        n_bootstrap=task.n_bootstrap, em_seed=task.seeds.em,
        reg_covar=task.em_options.get("reg_covar", 1e-6), refit=refit)
    for note in notes:
        warnings.warn(note, stacklevel=1)
    return columns


def _selection_row(task: ReplicateTask, data, payload: dict) -> dict:
    """K chosen by BIC, ICL (and PSIS-LOO); a failure is recorded on this row only."""
    from experiments.measure.selection import selection_columns

    try:
        return selection_columns(data.X, data.spec.n_components, seed=task.seeds.mcmc,
                                 covariance_type=task.em_covariance_type,
                                 em_options=task.em_options, **task.selection)
    except Exception as error:  # noqa: BLE001 - EM and MCMC results stand
        payload["error"] = payload["error"] or one_line(error)
        return {"error": one_line(error)}


def _relabelling_columns(switched: float | None) -> dict:
    if switched is None:  # ordering constraint on: nothing relabelled
        return {}
    return {"label_switching_repaired": switched > 0, "relabelled_fraction": switched}


def _mcmc_row(task, data, truth, em, out: Path, payload: dict) -> dict:
    try:
        mcmc = mcmc_stage(task, data.X, truth, em["aligned"].means)
        save_datatree_atomic(out / "mcmc.nc", mcmc["datatree"])
        payload["permutations"]["mcmc"] = mcmc["order"].tolist()
        datatree = mcmc["datatree"]
        posterior = datatree["posterior"].to_dataset()
        return {
            **metrics.point_estimate_metrics(
                data.X, data.labels, truth, metrics.posterior_mean_params(posterior),
                mcmc["labels"]),
            "runtime_s": mcmc["runtime"],
            **metrics.mcmc_metrics(
                posterior, datatree["sample_stats"].to_dataset(), truth, _as_full(em["aligned"]),
                task.mcmc_covariance_type, mcmc["sampling_time"], task.interval_prob),
            **metrics.em_mcmc_agreement(em["responsibilities"], em["labels"],
                                        mcmc["membership"], mcmc["labels"]),
            **_relabelling_columns(mcmc["switched"]),
        }
    except Exception as error:  # noqa: BLE001 - EM results stand; MCMC failure recorded
        payload["error"] = one_line(error)
        return {"error": payload["error"]}
