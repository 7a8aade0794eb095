"""What a data source gives a replicate (:class:`Dataset`) and what a source is
(:class:`DataSource`); the registry itself is :mod:`experiments.simulate.sources`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from emgmm import GaussianMixtureParams
from experiments.run.rundir import DataArrays


@dataclass(frozen=True)
class Dataset:
    """One replicate's data and, for simulated data, its truth.

    Attributes
    ----------
    arrays : experiments.run.rundir.DataArrays
        X (the rows the methods fit), labels (-1 = outlier or unknown), the true parameters
        (empty without truth) and the held-out rows, as saved in ``data.npz``.
    truth : emgmm.GaussianMixtureParams or None
        The true mixture (full covariances), the reference of every truth-based metric;
        None for data read from a file, whose metrics need no truth.
    n_components : int
        The number of components fitted (for simulated data the true one, ``k_true``).
    columns : dict
        Columns of results.csv that describe the data set (on every row of the replicate).
    out_of_core : dask.array.Array or None
        All rows of a store too big for memory (:mod:`experiments.simulate.store_source`),
        which EM fits by passes over its blocks; ``arrays.X`` then holds only a uniform
        sample of them, for the pictures. None for data in memory.
    """

    arrays: DataArrays
    truth: GaussianMixtureParams | None
    n_components: int
    columns: dict
    out_of_core: Any = None

    @property
    def X(self) -> np.ndarray:
        return self.arrays.X

    @property
    def labels(self) -> np.ndarray:
        return self.arrays.labels

    @property
    def has_truth(self) -> bool:
        return self.truth is not None

    @property
    def in_memory(self) -> bool:
        """Whether ``X`` holds every row (False for a store too big for memory)."""
        return self.out_of_core is None


@dataclass(frozen=True)
class DataSource:
    """A registered data source.

    Attributes
    ----------
    name : str
    load : callable ``(spec, rng) -> Dataset``
        The replicate's data set from the cell's spec and the replicate's data generator.
    check : callable ``(spec, rng) -> None``
        Cheap validation with the run's seeds (``gmm-compare validate``); raises
        ValueError ``"<key>: <problem>"``.
    """

    name: str
    load: Callable[[Any, np.random.Generator], Dataset]
    check: Callable[[Any, np.random.Generator], None]
