"""The size of a run, estimated from its config without allocating anything.

:func:`estimate_run` adds up, per cell, what a replicate's worker holds at once (8 bytes per
float; the terms follow what :mod:`experiments.simulate.generate`, :mod:`emgmm` and
:mod:`bayes` allocate):

.. math::

    \\text{peak per worker} = B_0 + \\max_{\\text{cells}} \\big(\\text{data} + \\text{EM}
        + \\text{intervals} + \\text{MCMC} + \\text{selection}\\big),
    \\qquad \\text{data} \\approx 8 N (1 + 3D + D^2) + 8 K^2 (2 + 2D),

(the simulation draws each point through its component's Cholesky factor, an (N, D, D)
array, and evaluates the overlap of every ordered pair of components),
:math:`\\text{EM} \\approx 8 (12 N K + (\\text{max\\_iter} + 1) P_\\theta + n_\\text{init})`
with :math:`P_\\theta` the size of one parameter set (the recorded EM path),
:math:`\\text{MCMC} \\approx 8 S (P_\\text{draw} + N (1 + D))` for :math:`S` = draws x chains
posterior draws (the trace, the pointwise log-likelihood and the posterior predictive
draws), and the task list of the parent process, :data:`PARENT_BYTES_PER_TASK` per task.
A run needs ``parent + workers x peak per worker``; :func:`check_run_fits` refuses what
exceeds this machine's physical memory, naming the term that dominates.

A cell on a store too big for memory (:mod:`experiments.simulate.store_source`) is
estimated from the store's metadata (:func:`store_terms`): its blocks in flight and the
samples, never N rows.

The work: EM starts, PyMC fits and posterior draws over the whole run, and a lower bound on
the CPU time of one task (replicate or SBC simulation): its data's pair overlaps, its EM
starts and its posterior draws. A task is the unit a run saves and
resumes, so one whose lower bound exceeds :data:`MAX_TASK_SECONDS` is refused.
The estimates are orders of magnitude (README "Limits"), computed in milliseconds.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from emgmm.covariance_types import covariance_type as covariance_type_of
from emgmm.criteria import n_parameters
from emgmm.multistart import start_count
from experiments.config.checks import ConfigError
from experiments.config.methods import method_selected
from experiments.simulate.file_source import file_shape
from experiments.simulate.store_source import PICTURE_ROWS, check_store, is_store

FLOAT = 8  # bytes per float64 or int64
WORKER_BASE_BYTES = 400 * 2**20  # a worker: imports (279 MB) and numba-compiled EM kernels
COMPILED_MODEL_BYTES = 200 * 2**20  # a compiled PyMC model and its sampler state
# (N, K) arrays alive at once in a replicate: EM's E-step and fast-engine workspace, the
# aligned responsibilities, the metrics' log-densities (measured peak RSS: README "Limits")
RESPONSIBILITY_ARRAYS = 12
PARENT_BYTES_PER_TASK = 4096  # a task, its future and its results rows in the parent process
PAIR_BYTES = 400  # one ordered pair's overlap geometry (objects and arrays) besides 16 D bytes
LATENT_CHUNK_BYTES = 3 * FLOAT * 2**22  # bayes.latent: draws processed 2**22 numbers at a time
MIN_EM_START_SECONDS = 1e-3  # measured: 2.5 ms per k-means start and EM on 120 x 2 points
MIN_DRAW_SECONDS = 1e-4  # one NUTS draw is at least one gradient evaluation
MIN_PYMC_FIT_SECONDS = 0.3  # pm.sample set-up and the derived groups of a reused model
MAX_TASK_SECONDS = 24 * 3600  # a replicate or SBC simulation must be able to finish in a day


@dataclass(frozen=True)
class Term:
    """One part of a memory estimate: its bytes and the config keys that drive it."""

    what: str
    keys: tuple[str, ...]
    bytes: float


@dataclass(frozen=True)
class RunEstimate:
    """The size of a run.

    Attributes
    ----------
    n_cells, replicates, n_sbc : int
        Cells, replicates per cell and SBC simulations.
    em_starts : int
        EM starts over the run (fits x n_init, bootstrap refits and model selection included).
    pymc_fits, draws : int
        PyMC fits and posterior draws (tuning included) over the run.
    worker_terms : tuple of Term
        The parts of the largest task's peak memory (the worker's base included).
    parent_bytes : float
        The task list, futures and result rows held by the process that runs the sweep.
    task_seconds : float
        Lower bound on the CPU time of the longest task.
    task_key : str
        The config key of the largest part of that time.
    """

    n_cells: int
    replicates: int
    n_sbc: int
    em_starts: int
    pymc_fits: int
    draws: int
    worker_terms: tuple[Term, ...]
    parent_bytes: float
    task_seconds: float
    task_key: str

    @property
    def n_tasks(self) -> int:
        return self.n_cells * self.replicates + self.n_sbc

    @property
    def peak_per_worker(self) -> float:
        return sum(term.bytes for term in self.worker_terms)

    def required_bytes(self, workers: int = 1) -> float:
        """Memory of a run on ``workers`` worker processes (the parent included)."""
        return self.parent_bytes + workers * self.peak_per_worker

    def summary(self) -> str:
        """``12 cell(s) x 20 replicate(s), ~1.4 GB peak per worker, ...``."""
        sbc = f" + {self.n_sbc:,} SBC simulation(s)" if self.n_sbc else ""
        pymc = (f", ~{self.pymc_fits:,} PyMC fit(s) ({self.draws:,} draws)"
                if self.pymc_fits else "")
        return (f"{self.n_cells:,} cell(s) x {self.replicates:,} replicate(s){sbc}, "
                f"~{human_bytes(self.peak_per_worker)} peak per worker, "
                f"{self.em_starts:,} EM start(s){pymc}")


def human_bytes(n: float) -> str:
    """``1.4 GB``, ``631 MB``: decimal units."""
    for unit in ("B", "kB", "MB", "GB", "TB", "PB", "EB"):
        if abs(n) < 999.5 or unit == "EB":
            return f"{n:.1f} {unit}" if unit != "B" and n < 9.95 else f"{n:.0f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def runs_mcmc(config) -> bool:
    """Whether the run fits MCMC: ``[mcmc] enabled`` and not left out of ``[experiment]
    methods``."""
    return config.mcmc.enabled and method_selected(config, "mcmc")


def params_floats(k: int, d: int, covariance_type: str) -> int:
    """Floats in one parameter set: weights, means and covariances of the given type."""
    return k + k * d + math.prod(covariance_type_of(covariance_type).shape(k, d))


def free_parameters(k: int, d: int, covariance_type: str) -> int:
    """P: free parameters of the mixture (the size of the observed information matrix)."""
    return n_parameters(covariance_type, k, d)


def data_terms(n: int, d: int, k: int) -> list[Term]:
    """The simulated data set: points, labels and their temporaries; truth; pair overlaps."""
    points = FLOAT * n * (1 + 3 * d + d * d)  # labels, X, temporaries, chols[labels] (N, D, D)
    pairs = k * (k - 1) * (PAIR_BYTES + 2 * FLOAT * d) + 2 * FLOAT * k * k
    return [Term("simulated points (N x D x D)", ("data.n_samples", "data.n_features"), points),
            Term("true covariances (K x D x D)", ("data.n_features", "data.n_components"), 3 * FLOAT * k * d * d),
            Term("pairwise overlaps (K x K)", ("data.n_components",), pairs)]


def em_terms(n: int, d: int, k: int, em) -> list[Term]:
    """The EM stage: responsibilities, the recorded path, the list of starts, the intervals."""
    history = 0 if em.method == "map" else (em.max_iter + 1) * params_floats(k, d,
                                                                             em.covariance_type)
    terms = [Term("EM responsibilities (N x K)", ("data.n_samples", "data.n_components"),
                  RESPONSIBILITY_ARRAYS * FLOAT * n * k),
             Term("recorded EM path (max_iter x parameters)", ("em.max_iter", "data.n_features",
                                                                 "data.n_components"), FLOAT * history),
             Term("EM starts list", ("em.n_init",), FLOAT * em.n_init)]
    p = free_parameters(k, d, em.covariance_type)
    if "information" in em.interval_methods:
        terms.append(Term("observed information (N x P + P x P)", ("data.n_features", "data.n_samples"),
                          FLOAT * (2 * n * p + 3 * p * p)))
    if "bootstrap" in em.interval_methods:
        terms.append(Term("bootstrap refits", ("em.n_bootstrap",),
                          FLOAT * (n * d + em.n_bootstrap * p)))
    return terms


def posterior_bytes(n: int, d: int, k: int, draws: int, chains: int, *, predictive: bool,
                    explicit: bool = False) -> float:
    """A PyMC fit: the trace, log-likelihood, predictive draws, Z draws, graph temporaries."""
    s = draws * chains
    per_draw = 2 * k + 2 * k * d + k * d * (d + 1) // 2 + k * d * d + 16  # + sample stats
    per_draw += n * (1 + (d if predictive else 0) + (1 if explicit else 0))
    return FLOAT * (s * per_draw + 4 * n * k * d) + LATENT_CHUNK_BYTES + COMPILED_MODEL_BYTES


def mcmc_terms(n: int, d: int, k: int, config) -> list[Term]:
    """The MCMC stage and the PSIS-LOO fits of ``[selection]`` (all kept for az.compare)."""
    terms = []
    mcmc, selection = config.mcmc, config.selection
    if runs_mcmc(config):
        terms.append(Term("posterior draws (draws x chains x N)", ("mcmc.draws", "mcmc.chains", "data.n_samples"), posterior_bytes(
            n, d, k, mcmc.draws, mcmc.chains, predictive=True,
            explicit=mcmc.formulation == "explicit")))
    if selection.enabled and selection.loo and runs_mcmc(config):
        terms.append(Term("PSIS-LOO fits", ("selection.draws", "selection.k_values"), sum(
            posterior_bytes(n, d, kk, selection.draws, selection.chains, predictive=False)
            for kk in selection.k_values)))
    return terms


def selection_terms(n: int, d: int, config) -> list[Term]:
    if not config.selection.enabled:
        return []
    k = max(config.selection.k_values)
    return [Term("model selection EM fits", ("selection.k_values", "data.n_samples"), FLOAT * (
        3 * n * k + len(config.selection.k_values) * params_floats(k, d, "full")))]


def cell_shape(spec) -> tuple[int, int, int]:
    """(N, D, K) of a cell: a synthetic DataSpec's, or a data file's (read once, cached;
    a file that cannot be read is a ConfigError naming ``data.file``)."""
    if hasattr(spec, "n_samples"):
        return spec.n_samples, spec.n_features, spec.n_components
    try:
        return file_shape(spec)
    except ValueError as error:
        raise ConfigError("data.file", str(error).removeprefix("file: ")) from None


def cell_store(spec):
    """The :class:`~experiments.simulate.store_source.StoreShape` of a cell on a store too
    big for memory (from metadata), None for data in memory."""
    data_file = getattr(spec, "data_file", None)
    if data_file is None or not is_store(data_file.path):
        return None
    try:
        return check_store(data_file, spec.largest_k)
    except ValueError as error:
        raise ConfigError("data.file", str(error)) from None


def store_terms(store, k: int, config) -> list[Term]:
    """A replicate on a store: blocks in flight, the samples and the EM stage on them.

    Each of the process's threads holds one block and its E-step,
    :math:`8 B (2D + 12K)` bytes for B rows per block; the starts and the pictures use
    samples of :data:`emgmm.dask.summary.SAMPLE_ROWS` and
    :data:`~experiments.simulate.store_source.PICTURE_ROWS` rows; N itself costs nothing.
    """
    from emgmm.dask.summary import SAMPLE_ROWS  # the dask extra, only for a store

    d = store.n_features
    threads = os.cpu_count() or 1
    sampled = min(store.n_rows, SAMPLE_ROWS + PICTURE_ROWS)
    return [Term("worker process", ("--workers",), WORKER_BASE_BYTES),
            Term("store blocks being read (threads x block rows x (2D + 12K))", ("data.file",),
                 threads * FLOAT * store.block_rows * (2 * d + RESPONSIBILITY_ARRAYS * k)),
            Term("sampled rows", ("data.file",), 3 * FLOAT * sampled * d),
            *em_terms(sampled, d, k, config.em)]


def replicate_terms(spec, config) -> list[Term]:
    """Everything one replicate of a cell holds at its peak (stages stay alive together);
    for a store too big for memory, :func:`store_terms`."""
    store = cell_store(spec)
    if store is not None:
        return store_terms(store, spec.n_components, config)
    n, d, k = cell_shape(spec)
    return [Term("worker process", ("--workers",), WORKER_BASE_BYTES), *data_terms(n, d, k),
            *em_terms(n, d, k, config.em), *mcmc_terms(n, d, k, config),
            *selection_terms(n, d, config)]


def sbc_terms(sbc) -> list[Term]:
    n, d, k = sbc.n_samples, sbc.n_features, sbc.n_components
    return [Term("worker process", ("--workers",), WORKER_BASE_BYTES),
            Term("SBC posterior draws", ("sbc.draws", "sbc.chains", "sbc.n_samples"),
                 posterior_bytes(n, d, k, sbc.draws, sbc.chains, predictive=False))]


def cell_rows(spec) -> int:
    """N of a cell: a synthetic DataSpec's, a data file's or a store's (from metadata)."""
    store = cell_store(spec)
    return store.n_rows if store is not None else cell_shape(spec)[0]


def fit_starts(config, n_rows: int) -> int:
    """EM starts of one EM fit of ``config`` on ``n_rows`` rows (``init_params = "auto"``
    adds search starts on small data: :func:`emgmm.multistart.start_count`)."""
    em = config.em
    return 1 if em.method == "map" else start_count(n_rows, em.init_params, em.n_init)


def replicate_seconds(config) -> dict[str, float]:
    """Lower bound on one replicate's CPU time, by the config key that drives each part
    (EM starts on the cell with the fewest rows, where ``"auto"`` runs the most)."""
    em, mcmc, selection = config.em, config.mcmc, config.selection
    starts = fit_starts(config, min(cell_rows(spec) for _, spec in config.data.cells()))
    parts = {"em.n_init": starts * MIN_EM_START_SECONDS}
    if "bootstrap" in em.interval_methods:
        parts["em.n_bootstrap"] = em.n_bootstrap * MIN_EM_START_SECONDS
    if runs_mcmc(config):
        parts["mcmc.draws"] = (MIN_PYMC_FIT_SECONDS
                               + mcmc.chains * (mcmc.draws + mcmc.tune) * MIN_DRAW_SECONDS)
    if selection.enabled:
        n_k = len(selection.k_values)
        parts["em.n_init"] += n_k * starts * MIN_EM_START_SECONDS
        if selection.loo and runs_mcmc(config):
            parts["selection.draws"] = n_k * (MIN_PYMC_FIT_SECONDS + selection.chains * (
                selection.draws + selection.tune) * MIN_DRAW_SECONDS)
    return parts


def data_seconds(config) -> float:
    """Lower bound on drawing one replicate's synthetic data: the overlap of every ordered
    pair of components (:func:`experiments.run.plan.reachability_seconds`), largest cell."""
    from experiments.run.plan import reachability_seconds

    return max((reachability_seconds(spec) for _, spec in config.data.cells()
                if hasattr(spec, "overlap")), default=0.0)


def work_counts(config, cells: list, replicates: int) -> tuple[int, int, int]:
    """(EM starts, PyMC fits, posterior draws) over ``replicates`` replicates of ``cells``
    and the SBC."""
    em, mcmc, selection, sbc = config.em, config.mcmc, config.selection, config.sbc
    n_replicates = len(cells) * replicates
    per_fit = sum(fit_starts(config, cell_rows(spec)) for _, spec in cells) / len(cells)
    starts = per_fit + (em.n_bootstrap if "bootstrap" in em.interval_methods else 0)
    fits, draws = 0, 0
    if runs_mcmc(config):
        fits, draws = 1, mcmc.chains * (mcmc.draws + mcmc.tune)
    if selection.enabled:
        starts += len(selection.k_values) * per_fit
        if selection.loo and runs_mcmc(config):
            fits += len(selection.k_values)
            draws += len(selection.k_values) * selection.chains * (selection.draws + selection.tune)
    n_sbc = sbc.n_simulations if sbc.enabled else 0
    return (round(starts * n_replicates), fits * n_replicates + n_sbc,
            draws * n_replicates + n_sbc * sbc.chains * (sbc.draws + sbc.tune))


def estimate_run(config) -> RunEstimate:
    """The size of ``config``'s run (a validated :class:`ExperimentConfig`), in milliseconds."""
    cells = config.data.cells()
    worst = max((replicate_terms(spec, config) for _, spec in cells),
                key=lambda terms: sum(t.bytes for t in terms))
    parts = replicate_seconds(config) | {"data.n_components": data_seconds(config)}
    n_sbc = config.sbc.n_simulations if config.sbc.enabled else 0
    if n_sbc:
        sbc = config.sbc
        sbc_worst = sbc_terms(sbc)
        if sum(t.bytes for t in sbc_worst) > sum(t.bytes for t in worst):
            worst = sbc_worst
        sbc_seconds = MIN_PYMC_FIT_SECONDS + sbc.chains * (sbc.draws + sbc.tune) * MIN_DRAW_SECONDS
        if sbc_seconds > sum(parts.values()):
            parts = {"sbc.draws": sbc_seconds}
    replicates = config.replicates
    starts, fits, draws = work_counts(config, cells, replicates)
    parent = PARENT_BYTES_PER_TASK * (len(cells) * replicates + n_sbc)
    return RunEstimate(len(cells), replicates, n_sbc, starts, fits, draws, tuple(worst),
                       parent, sum(parts.values()), max(parts, key=parts.get))


def physical_memory() -> int:
    """Bytes of physical memory of this machine (psutil if installed, else os.sysconf)."""
    try:
        import psutil  # optional: not a dependency
    except ImportError:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return int(psutil.virtual_memory().total)


# what to lower when a task's time is mostly posterior draws
LOWER = {f"{section}.draws": f"{section}.draws, {section}.tune or {section}.chains"
         for section in ("mcmc", "selection", "sbc")}


def check_run_fits(estimate: RunEstimate, workers: int = 1, memory: int | None = None) -> None:
    """Refuse a run that cannot fit this machine's memory or whose tasks cannot finish.

    Raises
    ------
    ConfigError
        Naming the config key of the largest term, the estimate and what to lower.
    """
    memory = physical_memory() if memory is None else memory
    needed = estimate.required_bytes(workers)
    if needed > memory:
        many = ("sbc.n_simulations" if estimate.n_sbc > estimate.n_tasks // 2
                else "experiment.replicates")
        parent = Term("task list", (many,), estimate.parent_bytes)
        largest = max([*estimate.worker_terms, parent], key=lambda term: term.bytes)
        per_worker = (f"{workers:,} worker(s) x ~{human_bytes(estimate.peak_per_worker)} + "
                      f"~{human_bytes(estimate.parent_bytes)} for the task list")
        raise ConfigError(largest.keys[0], f"the run needs ~{human_bytes(needed)} of memory "
                          f"({per_worker}; largest part: {largest.what}, "
                          f"~{human_bytes(largest.bytes)}), more than the "
                          f"{human_bytes(memory)} of this machine; lower "
                          f"{' or '.join(largest.keys)}")
    if estimate.task_seconds > MAX_TASK_SECONDS:
        raise ConfigError(estimate.task_key, f"one task of this run needs at least "
                          f"{estimate.task_seconds / 3600:,.0f} CPU-hours (drawing its data, its EM "
                          f"starts and posterior draws), more than the {MAX_TASK_SECONDS // 3600} h limit "
                          f"of a task (the unit a run saves and resumes); lower "
                          f"{LOWER.get(estimate.task_key, estimate.task_key)}")
