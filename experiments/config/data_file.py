"""The ``[data]`` section of an experiment on a data file: ``file = "path"`` and its options.

A ``[data]`` table with a ``file`` key reads the user's table (the ``file`` data source,
:mod:`experiments.simulate.file_source`) instead of simulating. ``file`` is relative to the
config file's folder (to the working directory for a config given as a dict) and is
written to the resolved config as an absolute path, so that ``RUN_DIR/config.toml``
repeats the run from anywhere. The file is only read, never written.

Grid axes: ``n_components`` may be a list (one cell per K), and so may the model keys
``covariance_type`` (EM and MCMC), ``sampler``, ``scale_prior`` and
``weights_concentration`` (``[mcmc.priors]``): these exist in ``[data]`` only as lists, a
sweep over one file; a single value belongs in ``[em]`` / ``[mcmc]``.

A ``file`` that is a directory or a ``.zarr`` path is a store too big for memory
(:mod:`experiments.simulate.store_source`): it is fitted by EM only (``[experiment]
methods = ["em"]``), its keys are ``columns`` (Parquet names or 0-based indices),
``array`` (the array of a Zarr group) and the grid keys, and the keys that need the rows in
memory (labels, held-out rows, standardisation, dropping rows) are refused.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from emgmm.covariance_types import COVARIANCE_TYPES
from experiments.config.checks import (
    ConfigError,
    check_cell_count,
    check_path_length,
    choice,
    fail,
    grid_values,
    integer,
    list_of,
    positive,
    real,
    reject_unknown,
    show,
    table,
    text,
)
from experiments.config.study import SAMPLERS, SCALE_PRIORS
from experiments.simulate.data_files import (
    DEFAULT_MAX_ROWS,
    MISSING,
    STANDARDIZE,
    DataFileSpec,
    quoted,
)
from experiments.simulate.file_source import FileDataSpec
from experiments.simulate.store_source import is_store, store_kind

MODEL_KEYS = ("covariance_type", "sampler", "scale_prior", "weights_concentration")
GRID_KEYS = ("n_components", *MODEL_KEYS)  # cell order: the last one varies fastest
DEFAULTS = {"columns": None, "label_column": None, "standardize": "none", "missing": "error",
            "max_rows": DEFAULT_MAX_ROWS, "array": None, "test_fraction": 0.0}


def column_key(value: Any, path: str) -> str | int:
    """A column given by header name or by 0-based index."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise fail(path, "must be a column name or a 0-based column index", value)


def file_name(value: Any, path: str) -> str:
    value = text(value, path)
    if not value.strip() or "\x00" in value:
        raise fail(path, "must name a data file", value)
    return value


FILE_KEYS = {
    "file": file_name,
    "columns": list_of(column_key),
    "label_column": column_key,
    "standardize": choice(STANDARDIZE),
    "missing": choice(MISSING),
    "max_rows": integer(1),
    "array": text,
    "test_fraction": real(0.0, 1.0, high_open=True),
    "n_components": integer(1),
    "covariance_type": choice(COVARIANCE_TYPES),
    "sampler": choice(SAMPLERS),
    "scale_prior": choice(SCALE_PRIORS),
    "weights_concentration": positive(),
}


def resolve_file(name: str, source: str) -> str:
    """``name`` relative to the config file's folder, as an absolute, normalised path.

    Symbolic links are left as they are (the reader refuses a loop with its own message).
    """
    config = Path(source)
    base = config.parent if source.endswith(".toml") else Path.cwd()
    return os.path.abspath(base / name)


@dataclass(frozen=True)
class FileDataGrid:
    """The ``[data]`` section of a data-file experiment.

    Attributes
    ----------
    fixed : dict
        Every file option (``file`` absolute) and ``n_components`` when it is one value.
    grid : dict
        Grid key -> tuple of values, in :data:`GRID_KEYS` order.
    max_components : int
        The largest K any fit of the run needs (grid and ``[selection] k_values``).
    """

    fixed: dict[str, Any]
    grid: dict[str, tuple[Any, ...]]
    max_components: int = 1

    source = "file"  # key of experiments.simulate.sources.DATA_SOURCES

    @property
    def data_file(self) -> DataFileSpec:
        f = self.fixed
        columns = tuple(f["columns"]) if f["columns"] is not None else None
        return DataFileSpec(Path(f["file"]), columns, f["label_column"], f["standardize"],
                            f["missing"], f["max_rows"], f["array"])

    def cells(self) -> list[tuple[dict[str, Any], FileDataSpec]]:
        """(grid values, FileDataSpec) of every cell, the last axis varying fastest."""
        out = []
        for combo in itertools.product(*self.grid.values()):
            values = dict(zip(self.grid, combo))
            k = values.get("n_components", self.fixed.get("n_components"))
            out.append((values, FileDataSpec(self.data_file, k, self.fixed["test_fraction"],
                                             self.max_components)))
        return out

    def cell_config(self, config, values: dict[str, Any]):
        """``config`` with this cell's model keys applied to ``[em]`` and ``[mcmc]``."""
        model = {key: values[key] for key in MODEL_KEYS if key in values}
        if not model:
            return config
        em, mcmc, priors = config.em, config.mcmc, config.mcmc.priors
        if "covariance_type" in model:
            em = replace(em, covariance_type=model["covariance_type"])
            mcmc = replace(mcmc, covariance_type=model["covariance_type"])
        if "sampler" in model:
            mcmc = replace(mcmc, sampler=model["sampler"])
        prior_keys = {k: model[k] for k in ("scale_prior", "weights_concentration") if k in model}
        mcmc = replace(mcmc, priors=replace(priors, **prior_keys))
        return replace(config, em=em, mcmc=mcmc)

    @property
    def is_store(self) -> bool:
        """Whether ``file`` is a store too big for memory, fitted by passes of EM."""
        return is_store(self.fixed["file"])

    def check_methods(self, config) -> None:
        """A store is fitted by maximum-likelihood EM only: refuse any other method."""
        if not self.is_store:
            return
        listed = config.experiment.methods
        if listed is None or tuple(listed) != ("em",):
            got = "not set (EM and MCMC)" if listed is None else f"{list(listed)}"
            todo = ('set methods = ["em"] in [experiment]' if config.source != "--data" else
                    'write a config with [data] file and [experiment] methods = ["em"] '
                    '(README "Data larger than memory")')
            raise ConfigError("experiment.methods", f"{got}: a store too big for memory is "
                              f"fitted by EM only (one pass over its blocks per iteration); {todo}")
        if config.em.method != "ml":
            raise ConfigError("em.method", f"{config.em.method!r}: a store too big for memory is "
                              'fitted by maximum likelihood; set method = "ml" in [em]')

    def with_k_values(self, k_values: tuple[int, ...]) -> FileDataGrid:
        """The grid with ``[selection] k_values`` counted in the rows the file must have."""
        return replace(self, max_components=max(self.max_components, *k_values))

    def as_table(self) -> dict[str, Any]:
        """The section as written to the resolved config (omitted options left out)."""
        values = {k: list(v) if isinstance(v, tuple) else v
                  for k, v in (self.fixed | self.grid).items()}
        return {k: values[k] for k in FILE_KEYS if values.get(k) is not None}


def names_store(path: str) -> bool:
    """:func:`~experiments.simulate.store_source.is_store`; a path the system cannot look
    up (a name longer than it allows) is a ConfigError naming ``data.file``."""
    try:
        return is_store(path)
    except OSError as error:
        raise ConfigError("data.file", f"data file {quoted(path)} cannot be looked up: "
                          f"{error.strerror}; check the path") from None


def file_data_grid(raw: Any, source: str) -> FileDataGrid:
    """Validate a ``[data]`` table that names a ``file``; every problem is one line."""
    raw = table(raw, "data")
    reject_unknown(raw, FILE_KEYS, "data")
    if "n_components" not in raw:
        raise ConfigError("data.n_components", "required key missing: the number of "
                          "components to fit (a list to sweep over K)")
    fixed = dict(DEFAULTS)
    grid: dict[str, tuple[Any, ...]] = {}
    for key, value in raw.items():
        path = f"data.{key}"
        if key in GRID_KEYS and isinstance(value, list):
            grid[key] = grid_values(value, FILE_KEYS[key], path)
        elif key in MODEL_KEYS:
            raise fail(path, f"in [data] only as a list of values to sweep; set one value "
                       f"in [{'em' if key == 'covariance_type' else 'mcmc'}]", value)
        else:
            fixed[key] = FILE_KEYS[key](value, path)
    fixed["file"] = resolve_file(fixed["file"], source)
    check_path_length(fixed["file"], "data.file", "data file")
    if names_store(fixed["file"]):
        check_store_keys(fixed)
        if fixed["array"] is not None and store_kind(fixed["file"]) != "zarr":
            raise fail("data.array", "applies to .npz files and Zarr stores only", fixed["array"])
    elif fixed["array"] is not None and not fixed["file"].lower().endswith(".npz"):
        raise fail("data.array", "applies to .npz files and Zarr stores only", fixed["array"])
    grid = {key: grid[key] for key in GRID_KEYS if key in grid}
    check_cell_count(grid)
    ks = grid.get("n_components", (fixed.get("n_components"),))
    return FileDataGrid(fixed=fixed, grid=grid, max_components=max(ks))



# key -> why a store too big for memory cannot have it (anything but its default)
NOT_FOR_STORES = {
    "label_column": "known classes are compared with labels held in memory",
    "standardize": "standardising rewrites the data; standardise the store itself",
    "missing": "rows with missing values cannot be dropped from a store; clean it first",
    "max_rows": "the row limit guards in-memory reads; a store is never loaded",
    "test_fraction": "held-out rows need the test set in memory; leave it 0, the fit is "
                     "judged by its log-likelihood, BIC and ICL",
}


def check_store_keys(fixed: dict[str, Any]) -> None:
    """Refuse the keys that need a store's rows in memory (one line, the key named)."""
    for key, why in NOT_FOR_STORES.items():
        if fixed[key] != DEFAULTS[key]:
            raise ConfigError(f"data.{key}", f"{show(fixed[key])} is not available for a store "
                              f"too big for memory: {why}")
