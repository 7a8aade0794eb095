"""Read a run directory's saved artifacts (never refit) for the report.

The layout is the one written by ``gmm-compare run`` (docs/architecture.md)::

    RUN_DIR/config.toml, versions.json, results.csv, summary.csv
    RUN_DIR/cells/<cell_id>/rep-<r>/{data.npz, em_fit.npz, em_model.npz, mcmc.nc, metrics.json}

Missing optional pieces (no MCMC, a failed cell, no summary.csv) are recorded as notes, so
that the report still renders what exists.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_MAX_DETAILED_CELLS = 6  # the config default of [report]


@dataclass(frozen=True)
class Truth:
    """True mixture of one replicate: ``X`` (N, D), labels (N,), weights (K,), means (K, D),
    covariances (K, D, D)."""

    X: np.ndarray
    labels: np.ndarray | None
    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray


@dataclass(frozen=True)
class EMFit:
    """Saved EM arrays of one replicate (``em_fit.npz``), aligned to the true order.

    ``snapshot_*`` hold the parameters at ``snapshot_iterations`` (0 = start); the last
    snapshot is the final EM estimate.
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
class Replicate:
    """Artifacts of one cell x replicate; ``notes`` say what is missing and why."""

    cell_id: str
    replicate: int
    path: Path
    truth: Truth | None
    em: EMFit | None
    metrics: dict
    mcmc_path: Path | None
    notes: tuple[str, ...] = ()

    @property
    def anchor(self) -> str:
        """HTML id of this replicate's section."""
        safe = "".join(ch if ch.isalnum() else "-" for ch in self.cell_id)
        return f"cell-{safe}-rep-{self.replicate}"


@dataclass(frozen=True)
class Run:
    """A run directory: resolved config, versions, tables and every replicate found."""

    path: Path
    config: dict
    versions: dict
    results: pd.DataFrame | None
    summary: pd.DataFrame | None
    replicates: tuple[Replicate, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def max_detailed_cells(self) -> int:
        report = self.config.get("report", {})
        return int(report.get("max_detailed_cells", DEFAULT_MAX_DETAILED_CELLS))


def load_run(run_dir: Path) -> Run:
    """Read every artifact of ``run_dir``; raise ValueError if it is not a run directory."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ValueError(f"run directory {run_dir} does not exist: pass the --out of a run")
    if not (run_dir / "config.toml").exists() and not (run_dir / "cells").is_dir():
        raise ValueError(
            f"{run_dir} is not a run directory (no config.toml, no cells/): "
            "pass the directory written by `gmm-compare run`"
        )
    notes = []
    config = _read_toml(run_dir / "config.toml", notes)
    versions = _read_json(run_dir / "versions.json", notes)
    results = _read_csv(run_dir / "results.csv", notes)
    summary = _read_csv(run_dir / "summary.csv", notes)
    replicates = tuple(load_replicate(path) for path in replicate_dirs(run_dir))
    return Run(run_dir, config, versions, results, summary, replicates, tuple(notes))


def replicate_dirs(run_dir: Path) -> list[Path]:
    """``cells/<cell_id>/rep-<r>`` directories, in cell order then replicate number."""
    cells = Path(run_dir) / "cells"
    if not cells.is_dir():
        return []
    found = [p for p in cells.glob("*/rep-*") if p.is_dir()]
    return sorted(found, key=lambda p: (p.parent.name, _replicate_number(p)))


def load_replicate(path: Path) -> Replicate:
    """Read one ``rep-<r>`` directory; absent files become notes, not errors."""
    notes = []
    metrics = _read_json(path / "metrics.json", notes)
    if not (path / "metrics.json").exists():
        notes.append("metrics.json is missing: the replicate did not finish")
    truth = _load_npz(path / "data.npz", _truth_from_npz, notes)
    em = _load_npz(path / "em_fit.npz", _em_from_npz, notes)
    mcmc_path = path / "mcmc.nc"
    if not mcmc_path.exists():
        reason = _mcmc_error(metrics)
        notes.append(f"MCMC {'failed: ' + reason if reason else 'was not run for this cell'}")
        mcmc_path = None
    return Replicate(path.parent.name, _replicate_number(path), path, truth, em, metrics,
                     mcmc_path, tuple(notes))


def open_mcmc(path: Path):
    """Open a saved MCMC DataTree (netCDF, h5netcdf engine) lazily; close it after use
    (``with open_mcmc(path) as tree: ...``) so only the arrays drawn are read."""
    import xarray as xr

    return xr.open_datatree(path, engine="h5netcdf")


def _mcmc_error(metrics: dict) -> str:
    for row in metric_rows(metrics):
        if str(row.get("method", "")).lower() in {"mcmc", "pymc", "bayes"}:
            error = row.get("error")
            if isinstance(error, str) and error:
                return error
    error = metrics.get("mcmc_error") or metrics.get("error")
    return error if isinstance(error, str) else ""


def metric_rows(metrics: dict) -> list[dict]:
    """A replicate's rows of results.csv as stored in its metrics.json (list of dicts)."""
    rows = metrics.get("rows", [])
    return [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []


def _truth_from_npz(arrays) -> Truth:
    labels = arrays["labels"] if "labels" in arrays else None
    return Truth(arrays["X"], labels, arrays["weights"], arrays["means"], arrays["covariances"])


def _em_from_npz(arrays) -> EMFit:
    return EMFit(**{name: arrays[name] for name in EMFit.__dataclass_fields__})


def _load_npz(path: Path, build, notes: list[str]):
    if not path.exists():
        notes.append(f"{path.name} is missing")
        return None
    try:
        with np.load(path, allow_pickle=False) as arrays:
            return build({name: arrays[name] for name in arrays.files})
    except (KeyError, ValueError, OSError) as error:
        notes.append(f"{path.name} could not be read ({error})")
        return None


def _read_toml(path: Path, notes: list[str]) -> dict:
    if not path.exists():
        notes.append(f"{path.name} is missing")
        return {}
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        notes.append(f"{path.name} could not be parsed ({error})")
        return {}


def _read_json(path: Path, notes: list[str]) -> dict:
    if not path.exists():
        return {}
    try:
        value = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        notes.append(f"{path.name} could not be parsed ({error})")
        return {}
    return value if isinstance(value, dict) else {"value": value}


def _read_csv(path: Path, notes: list[str]) -> pd.DataFrame | None:
    if not path.exists():
        notes.append(f"{path.name} is missing")
        return None
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        notes.append(f"{path.name} could not be read ({error})")
        return None


def _replicate_number(path: Path) -> int:
    suffix = path.name.removeprefix("rep-")
    return int(suffix) if suffix.isdigit() else 0
