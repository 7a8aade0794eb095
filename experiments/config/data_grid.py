"""The synthetic ``[data]`` section: fixed :class:`~experiments.simulate.spec.DataSpec`
fields and grid axes, one cell per combination (``[data] file`` is
:mod:`experiments.config.data_file`)."""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import MISSING, dataclass, fields
from typing import Any

from experiments.config.checks import (
    ConfigError,
    boolean,
    check_cell_count,
    choice,
    grid_values,
    integer,
    list_of,
    listify,
    positive,
    real,
    reject_unknown,
    show,
    table,
)
from experiments.config.study import check_k_values
from experiments.simulate.spec import COVARIANCE_SHAPES, OVERLAP_KINDS, DataSpec

_DATASPEC_DEFAULTS = {f.name: f.default for f in fields(DataSpec) if f.default is not MISSING}

_DATA = {
    "n_samples": integer(1), "n_features": integer(1), "n_components": integer(1),
    "weights": list_of(positive()), "imbalance": positive(),
    "covariance_shape": choice(COVARIANCE_SHAPES), "shared_covariance": boolean,
    "max_eccentricity": real(0.0, 1.0, high_open=True),
    "overlap": real(0.0, 1.0, low_open=True, high_open=True),
    "overlap_kind": choice(OVERLAP_KINDS),
    "student_t_df": real(2.0, math.inf, low_open=True, allow_inf=True),
    "outlier_fraction": real(0.0, 0.5, high_open=True),
}
_DATA_REQUIRED = ("n_samples", "n_features", "n_components")


@dataclass(frozen=True)
class DataGrid:
    """The ``[data]`` section: fixed DataSpec fields and the grid axes.

    Attributes
    ----------
    fixed : dict
        DataSpec field -> value, for the keys given as a single value (or defaulted).
    grid : dict
        DataSpec field -> tuple of values, for the keys given as lists, in DataSpec field
        order (so the cells do not depend on the order of keys in the file).
    """

    fixed: dict[str, Any]
    grid: dict[str, tuple[Any, ...]]

    source = "synthetic"  # key of experiments.simulate.sources.DATA_SOURCES

    def as_table(self) -> dict[str, Any]:
        data = {key: listify(self.grid.get(key, self.fixed.get(key))) for key in _DATA}
        return {k: v for k, v in data.items() if v is not None}

    def cell_config(self, config, values: dict):
        return config  # no [data] key changes a method's settings

    def with_k_values(self, k_values: tuple[int, ...]) -> DataGrid:
        check_k_values(k_values, min(spec.n_samples for _, spec in self.cells()))
        return self

    def cells(self) -> list[tuple[dict[str, Any], DataSpec]]:
        """(grid values, DataSpec) of every cell, the last axis varying fastest.

        Raises ConfigError naming the key and the cell when a combination is invalid.
        """
        return list(self._cells)

    @functools.cached_property
    def _cells(self) -> tuple[tuple[dict[str, Any], DataSpec], ...]:
        out = []
        for combo in itertools.product(*self.grid.values()):
            values = dict(zip(self.grid, combo))
            try:
                out.append((values, DataSpec(**self.fixed, **values)))
            except ValueError as error:
                key, _, problem = str(error).partition(": ")
                cell = ", ".join(f"{k}={show(v)}" for k, v in values.items())
                raise ConfigError(f"data.{key}", problem + (f" (cell {cell})" if cell else "")
                                  ) from None
        return tuple(out)



def data_grid(raw: Any) -> DataGrid:
    """The checked ``[data]`` table of a synthetic experiment (every cell a valid DataSpec)."""
    raw = table(raw, "data")
    reject_unknown(raw, _DATA, "data")
    for key in _DATA_REQUIRED:
        if key not in raw:
            raise ConfigError(f"data.{key}", "required key missing")
    fixed, grid = {}, {}
    for key, check in _DATA.items():  # DataSpec field order, whatever the order in the file
        if key not in raw:
            fixed[key] = _DATASPEC_DEFAULTS[key]
            continue
        value, path = raw[key], f"data.{key}"
        is_grid = isinstance(value, list) and (key != "weights" or
                                              any(isinstance(v, list) for v in value))
        if not is_grid:
            fixed[key] = check(value, path)
            continue
        grid[key] = grid_values(value, check, path)
    check_cell_count(grid)
    data = DataGrid(fixed=fixed, grid=grid)
    data.cells()  # every combination must make a valid DataSpec
    return data
