"""The run directory: every path, the per-replicate payload and the results.csv columns.

The one owner of the layout written by ``gmm-compare run`` and read by ``gmm-compare
report`` (docs/architecture.md, "Run directory")::

    RUN_DIR/config.toml, versions.json, results.csv, summary.csv
    RUN_DIR/cells/<cell_id>/rep-<r>/{data.npz, em_model.npz, em_fit.npz, mcmc.nc, metrics.json}
    RUN_DIR/cells/<cell_id>/rep-<r>/{selection.csv, loo_compare.csv, selected_model.npz}
                                                                  (with [selection] enabled)
    RUN_DIR/cells/<cell_id>/rep-<r>/<method>.nc            (variational methods, e.g. advi)
    RUN_DIR/sbc/sim-<s>.json, sbc_ranks.csv, sbc_summary.csv      (with [sbc] enabled)
    RUN_DIR/report/index.html, report/figures/*.png

The writer (:mod:`experiments.run.replicate`, :mod:`experiments.run.tables`,
:mod:`experiments.measure`) and the report (:mod:`experiments.report.load`) both use the
names, the frozen payload classes (:class:`DataArrays` for ``data.npz``,
:class:`EMFitArrays` for ``em_fit.npz``, :class:`ReplicateRecord` for ``metrics.json``)
and :data:`RESULT_COLUMNS` (defined in :mod:`experiments.run.results_columns`).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path

import numpy as np

from experiments.run.files import json_text
from experiments.run.results_columns import (  # noqa: F401  (the results.csv part of the contract)
    ERROR_COLUMN,
    ID_COLUMNS,
    METRIC_COLUMNS,
    METRIC_COLUMNS_MEANING,
    NO_TRUTH_COLUMNS,
    RESULT_COLUMNS,
    SUMMARY_COUNT_COLUMNS,
    TIMING_COLUMNS,
)

CONFIG_FILE = "config.toml"
VERSIONS_FILE = "versions.json"
RESULTS_FILE = "results.csv"
SUMMARY_FILE = "summary.csv"
CELLS_DIR = "cells"
REPORT_DIR = "report"
REPORT_INDEX = "index.html"
FIGURES_DIR = "figures"
SBC_DIR = "sbc"
SBC_RANKS_FILE = "sbc_ranks.csv"
SBC_SUMMARY_FILE = "sbc_summary.csv"

DATA_FILE = "data.npz"
EM_MODEL_FILE = "em_model.npz"
EM_FIT_FILE = "em_fit.npz"
MCMC_FILE = "mcmc.nc"
METRICS_FILE = "metrics.json"
# [selection]: criteria of every (K, covariance type), the PSIS-LOO comparison, the chosen fit
SELECTION_TABLE_FILE = "selection.csv"
LOO_COMPARE_FILE = "loo_compare.csv"
SELECTED_MODEL_FILE = "selected_model.npz"

OUTLIER_LABEL = -1  # the true label of an outlier in data.npz


# ---------------------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------------------


def _file(*parts: str) -> property:
    return property(lambda self: self.path.joinpath(*parts), doc="``" + "/".join(parts) + "``")


@dataclass(frozen=True)
class ReplicateFiles:
    """The files of one ``cells/<cell_id>/rep-<r>`` directory."""

    path: Path

    data = _file(DATA_FILE)
    em_model = _file(EM_MODEL_FILE)
    em_fit = _file(EM_FIT_FILE)
    mcmc = _file(MCMC_FILE)
    metrics = _file(METRICS_FILE)
    selection_table = _file(SELECTION_TABLE_FILE)
    loo_compare = _file(LOO_COMPARE_FILE)
    selected_model = _file(SELECTED_MODEL_FILE)

    def posterior(self, method: str):
        """``<method>.nc``: the approximate posterior DataTree of a variational method."""
        return self.path / f"{method}.nc"

    @property
    def cell_id(self) -> str:
        return self.path.parent.name

    @property
    def replicate(self) -> int:
        suffix = self.path.name.removeprefix("rep-")
        return int(suffix) if suffix.isdigit() else 0


@dataclass(frozen=True)
class RunDirectory:
    """The paths of a run directory ``path``."""

    path: Path

    def __post_init__(self):
        object.__setattr__(self, "path", Path(self.path))

    config = _file(CONFIG_FILE)
    versions = _file(VERSIONS_FILE)
    results = _file(RESULTS_FILE)
    summary = _file(SUMMARY_FILE)
    cells = _file(CELLS_DIR)
    sbc = _file(SBC_DIR)
    sbc_ranks = _file(SBC_RANKS_FILE)
    sbc_summary = _file(SBC_SUMMARY_FILE)
    report = _file(REPORT_DIR)
    report_index = _file(REPORT_DIR, REPORT_INDEX)
    figures = _file(REPORT_DIR, FIGURES_DIR)

    def replicate(self, cell_id: str, replicate: int) -> ReplicateFiles:
        """``cells/<cell_id>/rep-<r>``."""
        return ReplicateFiles(self.cells / cell_id / f"rep-{replicate}")

    def sbc_simulation(self, simulation: int) -> Path:
        """``sbc/sim-<s>.json``."""
        return self.sbc / f"sim-{simulation:04d}.json"

    def replicates(self) -> list[ReplicateFiles]:
        """Every ``rep-<r>`` directory, by cell id then replicate number."""
        if not self.cells.is_dir():
            return []
        found = [ReplicateFiles(p) for p in self.cells.glob("*/rep-*") if p.is_dir()]
        return sorted(found, key=lambda files: (files.cell_id, files.replicate))

    def metrics_files(self) -> list[Path]:
        """Every ``metrics.json`` under ``cells/``, sorted by path."""
        return sorted(self.cells.glob(f"*/rep-*/{METRICS_FILE}"))


# ---------------------------------------------------------------------------------------
# The output directory
# ---------------------------------------------------------------------------------------


class OutputDirError(ValueError):
    """The output directory cannot hold this run (not writable, a file, another run)."""


def _can_create_in(directory: Path) -> bool:
    """Whether a directory can really be created in ``directory`` (a probe removed at once).

    ``os.access`` says yes to root everywhere, also on read-only or virtual file systems.
    """
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".gmm-compare-probe-", dir=directory))
    except OSError:
        return False
    return True


def check_output_dir(run_dir: Path, config_text: str) -> None:
    """Raise :class:`OutputDirError` if ``run_dir`` cannot hold a run of this config.

    Nothing is created: the directory must either exist and be writable, or be creatable
    (its nearest existing ancestor is a writable directory). An existing run directory is
    accepted only if it holds the same resolved config (then the run resumes).
    """
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise OutputDirError(f"output path {run_dir} exists and is not a directory")
    ancestor = run_dir
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputDirError(f"cannot create output directory {run_dir}: {ancestor} is a file")
    if not os.access(ancestor, os.W_OK | os.X_OK) or not _can_create_in(ancestor):
        raise OutputDirError(f"output directory {run_dir} is not writable ({ancestor})")
    existing = RunDirectory(run_dir).config
    if existing.is_file() and existing.read_text(encoding="utf-8") != config_text:
        raise OutputDirError(
            f"{run_dir} holds a run of a different config; pass another --out or remove it"
        )


# ---------------------------------------------------------------------------------------
# Per-replicate payload
# ---------------------------------------------------------------------------------------


class _NpzPayload:
    """An ``.npz`` file as a frozen dataclass whose fields are its arrays."""

    def as_dict(self) -> dict[str, np.ndarray]:
        """The arrays by name, as saved (``save_npz_atomic(path, **payload.as_dict())``);
        optional arrays (those with a default) only when they hold something."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if not _has_default(f) or np.size(getattr(self, f.name))}

    @classmethod
    def load(cls, path: Path):
        # Optional arrays (those with a default) may be absent from files of older runs.
        with np.load(path, allow_pickle=False) as arrays:
            return cls(**{f.name: arrays[f.name] for f in fields(cls)
                          if f.name in arrays.files or not _has_default(f)})


def _has_default(f) -> bool:
    return f.default is not MISSING or f.default_factory is not MISSING


@dataclass(frozen=True)
class DataArrays(_NpzPayload):
    """``data.npz``: the data set and its truth.

    Attributes
    ----------
    X : array of shape (n_samples, n_features)
        The rows the methods fit (for a data file with ``test_fraction``: the training rows).
    labels : array of shape (n_samples,)
        True component of each point, ``-1`` for outliers; for a data file the known class
        of ``label_column`` (0 .. C-1), or ``-1`` everywhere without one.
    weights : array of shape (n_components,)
    means : array of shape (n_components, n_features)
    covariances : array of shape (n_components, n_features, n_features)
        The true parameters; empty (zero components) for data without truth.
    X_test : array of shape (n_test, n_features)
        Held-out rows of a data file (``[data] test_fraction``); empty otherwise.
    labels_test : array of shape (n_test,)
    feature_names, class_names : arrays of str
        A data file's column names and the classes of its label column (empty otherwise).
    """

    X: np.ndarray
    labels: np.ndarray
    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    X_test: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    labels_test: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    feature_names: np.ndarray = field(default_factory=lambda: np.array([], dtype=str))
    class_names: np.ndarray = field(default_factory=lambda: np.array([], dtype=str))

    @property
    def has_truth(self) -> bool:  # simulated data
        return self.weights.size > 0

    @property
    def has_labels(self) -> bool:  # a true component or a known class (not all -1)
        return bool(np.any(np.asarray(self.labels) != OUTLIER_LABEL))


@dataclass(frozen=True)
class EMFitArrays(_NpzPayload):
    """``em_fit.npz``: the EM fit with its components in the true order.

    Attributes
    ----------
    responsibilities : array of shape (n_samples, n_components)
    map_labels : array of shape (n_samples,)
    log_likelihood_history : array of shape (n_iter + 1,)
        Mean per-sample log-likelihood (MAP-EM: objective) per iteration.
    snapshot_iterations : array of shape (n_snapshots,)
        Iterations 0, 1, 2, 5, 20 that exist and the last one; 0 is the start.
    snapshot_weights : array of shape (n_snapshots, n_components)
    snapshot_means : array of shape (n_snapshots, n_components, n_features)
    snapshot_covariances : array of shape (n_snapshots, n_components, n_features, n_features)
    """

    responsibilities: np.ndarray
    map_labels: np.ndarray
    log_likelihood_history: np.ndarray
    snapshot_iterations: np.ndarray
    snapshot_weights: np.ndarray
    snapshot_means: np.ndarray
    snapshot_covariances: np.ndarray

    @property
    def weights(self) -> np.ndarray:
        return self.snapshot_weights[-1]

    @property
    def means(self) -> np.ndarray:
        return self.snapshot_means[-1]

    @property
    def covariances(self) -> np.ndarray:
        return self.snapshot_covariances[-1]



@dataclass(frozen=True)
class ReplicateRecord:
    """``metrics.json``: one replicate's rows of results.csv and how they were made.

    Written last in the replicate directory: a record with ``error`` None marks the
    replicate finished.

    Attributes
    ----------
    cell_id : str
    cell_index : int
        Position of the cell in the plan (orders results.csv).
    replicate : int
    seeds : dict
        ``{"data": int, "em": int, "mcmc": int}``.
    rows : tuple of dict
        One row of results.csv per method (:data:`RESULT_COLUMNS` and the grid values).
    permutations : dict
        Method -> the order that maps its estimated components onto the true ones.
    warnings : tuple of str
        One-line warnings raised while the replicate ran, sorted.
    error : str or None
        The first failure (one line); None when every method succeeded.
    """

    cell_id: str
    cell_index: int
    replicate: int
    seeds: dict
    rows: tuple[dict, ...] = ()
    permutations: dict = None
    warnings: tuple[str, ...] = ()
    error: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "rows", tuple(self.rows))
        object.__setattr__(self, "warnings", tuple(self.warnings))
        object.__setattr__(self, "permutations", dict(self.permutations or {}))

    @property
    def finished(self) -> bool:
        return self.error is None

    def row(self, method: str) -> dict | None:
        """This replicate's row of ``method``, if any."""
        return next((row for row in self.rows if row.get("method") == method), None)

    def to_json(self) -> str:
        payload = {f.name: getattr(self, f.name) for f in fields(self)}
        return json_text(payload | {"rows": list(self.rows), "warnings": list(self.warnings)})

    @classmethod
    def from_json(cls, text: str) -> ReplicateRecord:
        """Parse a ``metrics.json``; ValueError when it is not one."""
        payload = json.loads(text)
        if not isinstance(payload, dict):
            raise ValueError("metrics.json does not hold an object")
        try:
            return cls(**{f.name: payload[f.name] for f in fields(cls)})
        except KeyError as error:
            raise ValueError(f"metrics.json has no {error.args[0]!r}") from None

    @classmethod
    def read(cls, path: Path) -> ReplicateRecord:
        return cls.from_json(Path(path).read_text(encoding="utf-8"))
