"""Read a run directory's saved artifacts (never refit) for the report.

The layout and the payload classes are :mod:`experiments.run.rundir`'s; ``config.toml`` is
read through the config parser (:func:`experiments.config.load_config`), so the report sees
the same resolved settings as the run. Missing optional pieces (no MCMC, a failed cell, no
summary.csv) are recorded as notes, so that the report still renders what exists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd
import xarray as xr

from emgmm.io import load_model
from experiments.config import ConfigError, ExperimentConfig, load_config
from experiments.run.rundir import (
    DataArrays,
    EMFitArrays,
    ReplicateFiles,
    ReplicateRecord,
    RunDirectory,
)


@dataclass(frozen=True)
class Replicate:
    """Artifacts of one cell x replicate, each read when first used; ``notes`` say what is
    missing and why.

    Attributes
    ----------
    record : ReplicateRecord or None
        ``metrics.json`` (None when the replicate did not finish).
    mcmc_path : Path or None
        ``mcmc.nc`` when it exists.
    record_notes : tuple of str
        Why ``record`` is None.
    mcmc_note : str or None
        Why ``mcmc_path`` is None (MCMC not run, or its error).
    """

    cell_id: str
    replicate: int
    path: Path
    record: ReplicateRecord | None
    mcmc_path: Path | None
    record_notes: tuple[str, ...] = ()
    mcmc_note: str | None = None

    @cached_property
    def _arrays(self) -> tuple[DataArrays | None, EMFitArrays | None, tuple[str, ...]]:
        """``data.npz`` and ``em_fit.npz``, read on first use, with notes on what failed."""
        files, notes = ReplicateFiles(self.path), []
        truth = _load_npz(files.data, DataArrays, notes)
        em = _load_npz(files.em_fit, EMFitArrays, notes)
        return truth, em, tuple(notes)

    @property
    def truth(self) -> DataArrays | None:
        """``data.npz``: the data with the truth it was drawn from (None when missing)."""
        return self._arrays[0]

    @property
    def em(self) -> EMFitArrays | None:
        """``em_fit.npz``: EM's history and responsibilities (None when missing)."""
        return self._arrays[1]

    @property
    def notes(self) -> tuple[str, ...]:
        """Everything missing or unreadable (reads ``data.npz`` and ``em_fit.npz``)."""
        return (*self.record_notes, *self._arrays[2],
                *([self.mcmc_note] if self.mcmc_note else []))

    @property
    def rows(self) -> tuple[dict, ...]:
        """This replicate's rows of results.csv (from metrics.json)."""
        return self.record.rows if self.record is not None else ()

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.record.warnings if self.record is not None else ()

    @property
    def X(self):
        """The replicate's data matrix (None when ``data.npz`` is missing)."""
        return self.truth.X if self.truth is not None else None

    def em_model(self):
        """The fitted EM estimator (``em_model.npz``, :func:`emgmm.io.load_model`), read now."""
        return load_model(ReplicateFiles(self.path).em_model)

    def open_posterior(self, method: str = "mcmc"):
        """A method's posterior DataTree, opened lazily: ``with rep.open_posterior() as
        tree: ...``. ``mcmc.nc`` by default (its ``em`` group holds the EM estimate for
        ``az.add_lines``); ``"advi"``, ``"vb"``: the approximate posterior's draws."""
        if method != "mcmc":
            path = ReplicateFiles(self.path).posterior(method)
            if not path.exists():
                raise ValueError(f"{self.path} has no {method} posterior ({path.name}): "
                                 "the method was not run or failed")
            return open_mcmc(path)
        if self.mcmc_path is None:
            raise ValueError(f"{self.path} has no posterior: {self.mcmc_note}")
        return open_mcmc(self.mcmc_path)

    @property
    def anchor(self) -> str:
        """HTML id of this replicate's section."""
        safe = "".join(ch if ch.isalnum() else "-" for ch in self.cell_id)
        return f"cell-{safe}-rep-{self.replicate}"


@dataclass(frozen=True)
class Run:
    """A run directory: resolved config, versions, tables and every replicate found."""

    path: Path
    config: ExperimentConfig
    versions: dict
    results: pd.DataFrame | None
    summary: pd.DataFrame | None
    replicates: tuple[Replicate, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def files(self) -> RunDirectory:
        return RunDirectory(self.path)

    def replicate(self, cell_id: str, replicate: int = 0) -> Replicate:
        """The replicate ``replicate`` of cell ``cell_id`` (ValueError naming the cells)."""
        for rep in self.replicates:
            if rep.cell_id == cell_id and rep.replicate == replicate:
                return rep
        cells = sorted({rep.cell_id for rep in self.replicates})
        raise ValueError(f"no replicate {replicate} of cell {cell_id!r} in {self.path}: "
                         f"cells are {', '.join(cells[:10])}{' ...' if len(cells) > 10 else ''}")

    @property
    def grid_axes(self) -> tuple[str, ...]:
        """The grid axes: the ``[data]`` keys given as lists (columns of results.csv)."""
        return tuple(self.config.data.grid)


def load_run(run_dir: Path) -> Run:
    """Read every artifact of ``run_dir``; raise ValueError if it is not a run directory."""
    files = RunDirectory(run_dir)
    if not files.path.is_dir():
        raise ValueError(f"run directory {files.path} does not exist: pass the --out of a run")
    if not files.config.is_file():
        raise ValueError(f"{files.path} is not a run directory (no {files.config.name}): "
                         "pass the directory written by `gmm-compare run`")
    try:
        config = load_config(files.config)
    except ConfigError as error:
        raise ValueError(f"{files.config} is not a valid config: {error}") from None
    notes = []
    versions = _read_json(files.versions, notes)
    results = _read_csv(files.results, notes)
    summary = _read_csv(files.summary, notes)
    replicates = tuple(load_replicate(rep) for rep in files.replicates())
    return Run(files.path, config, versions, results, summary, replicates, tuple(notes))


def load_replicate(files: ReplicateFiles) -> Replicate:
    """One ``rep-<r>`` directory: ``metrics.json`` now, the arrays when first used; absent
    files become notes, not errors."""
    notes = []
    record = None
    if not files.metrics.exists():
        notes.append(f"{files.metrics.name} is missing: the replicate did not finish")
    else:
        try:
            record = ReplicateRecord.read(files.metrics)
        except ValueError as error:
            notes.append(f"{files.metrics.name} could not be read ({error})")
    mcmc_path, mcmc_note = files.mcmc, None
    if not mcmc_path.exists():
        row = record.row("mcmc") if record is not None else None
        reason = row.get("error") if row is not None else None
        mcmc_note = f"MCMC {'failed: ' + reason if reason else 'was not run for this cell'}"
        mcmc_path = None
    return Replicate(files.cell_id, files.replicate, files.path, record, mcmc_path,
                     tuple(notes), mcmc_note)


def open_mcmc(path: Path):
    """Open a saved MCMC DataTree (netCDF, h5netcdf engine) lazily; close it after use
    (``with open_mcmc(path) as tree: ...``) so only the arrays drawn are read."""
    return xr.open_datatree(path, engine="h5netcdf")


def _load_npz(path: Path, payload: type, notes: list[str]):
    if not path.exists():
        notes.append(f"{path.name} is missing")
        return None
    try:
        return payload.load(path)
    except (KeyError, ValueError, OSError) as error:
        notes.append(f"{path.name} could not be read ({error})")
        return None


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
