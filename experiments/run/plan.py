"""Cells of an experiment and their seeds.

The cartesian product of the list-valued ``[data]`` keys makes the cells. Seeds come from
one tree of :class:`numpy.random.SeedSequence`:

.. code-block:: text

    SeedSequence(config seed).spawn(n_cells)[cell]
        .spawn(replicates)[replicate]
            .spawn(3) -> data, em, mcmc

so every (cell, replicate) has independent streams that depend only on the config seed,
the cell's index and the replicate number: never on the executor, the number of workers
or the order in which cells run.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from experiments.config import ConfigError, ExperimentConfig
from experiments.simulate.sources import DATA_SOURCES
from experiments.simulate.spec import DataSpec


@dataclass(frozen=True)
class ReplicateSeeds:
    """Integer seeds of one (cell, replicate), each from its own SeedSequence child.

    Attributes
    ----------
    cell_index, replicate : int
    data : int
        Seed of :func:`experiments.simulate.generate.simulate_mixture`.
    em : int
        ``random_state`` of the EM fit.
    mcmc : int
        ``random_seed`` of the MCMC run.
    """

    cell_index: int
    replicate: int
    data: int
    em: int
    mcmc: int

    def data_rng(self) -> np.random.Generator:
        """A fresh Generator for the data."""
        return np.random.default_rng(self.data)


@dataclass(frozen=True)
class Cell:
    """One point of the grid.

    Attributes
    ----------
    cell_id : str
        Stable, readable and filesystem-safe, e.g. ``c00-n_samples=200-overlap=0.01``.
    index : int
        Position in the plan (the last grid key varies fastest).
    grid_values : dict
        The varied ``[data]`` keys and their values in this cell (empty without a grid).
    data_spec : DataSpec or experiments.simulate.file_source.FileDataSpec
        What the config's data source loads (``config.data.source``).
    seeds : tuple of ReplicateSeeds
        One per replicate.
    """

    cell_id: str
    index: int
    grid_values: dict[str, Any]
    data_spec: DataSpec
    seeds: tuple[ReplicateSeeds, ...]


def _seed_int(sequence: np.random.SeedSequence) -> int:
    """A 32-bit integer seed (accepted by numpy, scikit-learn and PyMC)."""
    return int(sequence.generate_state(1, dtype=np.uint32)[0])


def replicate_seeds(seed: int, n_cells: int, cell_index: int, replicates: int
                    ) -> tuple[ReplicateSeeds, ...]:
    """Seeds of every replicate of one cell, from ``SeedSequence(seed)``.

    Pure: the result depends only on the arguments, so any worker can recompute it.
    """
    if not 0 <= cell_index < n_cells:
        raise ValueError(f"cell_index: must be in [0, {n_cells}), got {cell_index}")
    cell = np.random.SeedSequence(seed).spawn(n_cells)[cell_index]
    out = []
    for replicate, child in enumerate(cell.spawn(replicates)):
        data, em, mcmc = (_seed_int(s) for s in child.spawn(3))
        out.append(ReplicateSeeds(cell_index, replicate, data, em, mcmc))
    return tuple(out)


def _format_value(value: Any) -> str:
    """Compact text of a grid value for a cell id."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isinf(value):
            return "inf"
        compact = f"{value:g}"
        return compact if float(compact) == value else repr(value)  # never merge two values
    if isinstance(value, tuple):
        return "_".join(_format_value(v) for v in value)
    return str(value)


def cell_id(index: int, n_cells: int, grid_values: dict[str, Any]) -> str:
    """``c<index>-<key>=<value>-...``, restricted to ``[A-Za-z0-9._=+-]``."""
    width = max(2, len(str(n_cells - 1)))
    parts = [f"c{index:0{width}d}"] + [f"{k}={_format_value(v)}" for k, v in grid_values.items()]
    return re.sub(r"[^A-Za-z0-9._=+-]", "_", "-".join(parts))


def plan_cells(config: ExperimentConfig) -> tuple[Cell, ...]:
    """The cells of an experiment with their DataSpecs and per-replicate seeds."""
    cells = config.data.cells()
    n_cells = len(cells)
    return tuple(
        Cell(
            cell_id=cell_id(index, n_cells, values),
            index=index,
            grid_values=values,
            data_spec=spec,
            seeds=replicate_seeds(config.seed, n_cells, index, config.replicates),
        )
        for index, (values, spec) in enumerate(cells)
    )


def model_shapes(config: ExperimentConfig) -> list[tuple[int, int]]:
    """The distinct (n_features, n_components) of the cells whose shape is known before
    their data are made (simulated data), in cell order."""
    shapes = [(spec.n_features, spec.n_components) for _, spec in config.data.cells()
              if hasattr(spec, "n_features")]
    return list(dict.fromkeys(shapes))


REACHABILITY_BUDGET_S = 0.75  # estimated seconds of overlap checks before a run (validate < 2 s)
PAIR_CHECK_S = 0.03  # one ordered pair's overlap at D <= 8, measured 13-36 ms
EIGEN_S_PER_D3 = 2e-9  # a D x D eigendecomposition or SVD, per D^3
CHECK_OVERHEAD_S = 1e-3  # seeds, generator and the draw of weights and means


def seeds_of(seed: int, cell_index: int, replicate: int) -> ReplicateSeeds:
    """The seeds of one (cell, replicate) without spawning the others.

    ``SeedSequence(seed).spawn(n)[c].spawn(r)[i]`` is ``SeedSequence(seed, spawn_key=(c, i))``,
    so this equals :func:`replicate_seeds` ``(...)[replicate]``.
    """
    child = np.random.SeedSequence(seed, spawn_key=(cell_index, replicate))
    data, em, mcmc = (_seed_int(s) for s in child.spawn(3))
    return ReplicateSeeds(cell_index, replicate, data, em, mcmc)


def reachability_seconds(spec: DataSpec) -> float:
    """Estimated seconds of one replicate's reachability check: the covariance draws (one
    eigendecomposition each) and the K(K-1) ordered pairs' overlaps."""
    k, d = spec.n_components, spec.n_features
    eigen = EIGEN_S_PER_D3 * d**3
    draws = (1 if spec.shared_covariance else k) * eigen
    return CHECK_OVERHEAD_S + draws + (k * (k - 1) * (PAIR_CHECK_S + eigen) if k > 1 else 0.0)


@dataclass(frozen=True)
class Reachability:
    """How many (cell, replicate) pairs :func:`check_reachable` checked, of how many."""

    checked: int
    total: int


def check_reachable(config: ExperimentConfig, budget_s: float = REACHABILITY_BUDGET_S
                    ) -> Reachability:
    """Check the data of the (cell, replicate) pairs with the data source's cheap check.

    A data file is read and checked once (every cell and replicate reads the same file).
    Synthetic data: repeats the first step of data generation (the synthetic source's check,
    :func:`experiments.simulate.generate.draw_reachable_geometry`) with the seeds the run will
    use. It costs about one overlap evaluation per (cell, replicate), so it checks the first
    replicate of every cell, then the second of every cell, and so on while the estimated
    time (:func:`reachability_seconds`) stays within ``budget_s``; a cell whose single check
    would exceed the budget is left to the run. A replicate left unchecked whose target
    turns out unreachable fails when its data are drawn (its error is recorded, the others
    run).

    Raises
    ------
    ConfigError
        ``data.overlap: ... (cell <id>, replicate <r>)`` when the target cannot be reached;
        ``data.file: ...`` for a bad data file.
    """
    source = DATA_SOURCES[config.data.source]
    cells = config.data.cells()
    n_cells = len(cells)
    total = n_cells * config.replicates
    if source.name != "synthetic":
        _check_data(source, cells[0][1], seeds_of(config.seed, 0, 0), "")
        return Reachability(total, total)
    costs = [reachability_seconds(spec) for _, spec in cells]
    spent, checked = 0.0, 0
    for replicate in range(config.replicates):
        affordable = [i for i, cost in enumerate(costs) if spent + cost <= budget_s]
        if not affordable:
            break
        for index in affordable:
            if spent + costs[index] > budget_s:
                continue
            spent += costs[index]
            checked += 1
            values, spec = cells[index]
            where = f" (cell {cell_id(index, n_cells, values)}, replicate {replicate})"
            _check_data(source, spec, seeds_of(config.seed, index, replicate), where)
    return Reachability(checked, total)


def _check_data(source, spec, seeds: ReplicateSeeds, where: str) -> None:
    try:
        source.check(spec, seeds.data_rng())
    except ValueError as error:
        key, _, problem = str(error).partition(": ")
        raise ConfigError(f"data.{key}", problem + where) from None
