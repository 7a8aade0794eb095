"""The ``file`` data source: a user's table (:mod:`experiments.simulate.data_files`), no truth.

A cell's spec is a :class:`FileDataSpec`: how to read the file, the number of components to
fit and the fraction of rows held out. Every replicate reads the same file (cached per
process, the file is only read); the held-out rows are drawn with the replicate's data seed,

.. math:: \\text{test rows} = \\text{the first } \\lceil f N \\rceil
          \\text{ of a uniform permutation of } 1..N,

so the split is reproducible and differs between replicates. The :class:`Dataset` has no
truth: its true parameters are empty and the metrics that need them are left empty.

A ``file`` that is a directory (or a ``.zarr`` path) is a store too big for memory, opened
as a Dask array by :mod:`experiments.simulate.store_source` instead of being read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from experiments.run.rundir import OUTLIER_LABEL, DataArrays
from experiments.simulate.data_files import (
    DataFileError,
    DataFileSpec,
    LoadedData,
    load_data_file,
    minimum_rows,
)
from experiments.simulate.dataset import Dataset, DataSource
from experiments.simulate.store_source import check_store, is_store, load_store


@dataclass(frozen=True)
class FileDataSpec:
    """One cell of a data-file experiment.

    Attributes
    ----------
    data_file : experiments.simulate.data_files.DataFileSpec
        The file (absolute path) and how to read it.
    n_components : int
        Components K fitted in this cell.
    test_fraction : float in [0, 1)
        Fraction of rows held out for the predictive density (0: none).
    max_components : int
        The largest K of the experiment (the row check uses it, so that every cell of a
        grid accepts or refuses the file alike).
    """

    data_file: DataFileSpec
    n_components: int
    test_fraction: float = 0.0
    max_components: int = 0

    @property
    def largest_k(self) -> int:
        return max(self.n_components, self.max_components)


@lru_cache(maxsize=8)
def read_once(spec: DataFileSpec, max_components: int) -> LoadedData:
    """:func:`~experiments.simulate.data_files.load_data_file`, once per process and spec.

    The arrays are made read-only so that no caller can change the shared copy.
    """
    loaded = load_data_file(spec, max_components)
    for array in (loaded.X, loaded.labels, loaded.location, loaded.scale):
        if array is not None:
            array.flags.writeable = False
    return loaded


def n_test_rows(n_rows: int, test_fraction: float) -> int:
    """:math:`\\lceil f N \\rceil` held-out rows (none for ``f = 0``)."""
    return math.ceil(test_fraction * n_rows) if test_fraction > 0 else 0


def split_rows(n_rows: int, test_fraction: float, rng: np.random.Generator
               ) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (train, test) row indices; no draw from ``rng`` without a test fraction."""
    n_test = n_test_rows(n_rows, test_fraction)
    if n_test == 0:
        return np.arange(n_rows), np.arange(0)
    permutation = rng.permutation(n_rows)
    return np.sort(permutation[n_test:]), np.sort(permutation[:n_test])


def file_shape(spec: FileDataSpec) -> tuple[int, int, int]:
    """(rows, columns, K) of the cell's data (read once and cached; ValueError
    ``"file: <problem>"`` when the file cannot be read)."""
    try:
        if is_store(spec.data_file.path):
            shape = check_store(spec.data_file, spec.largest_k)
            return shape.n_rows, shape.n_features, spec.n_components
        loaded = read_once(spec.data_file, spec.largest_k)
    except DataFileError as error:
        raise ValueError(f"file: {error}") from None
    n_rows, n_features = loaded.X.shape
    return n_rows, n_features, spec.n_components


def check_file(spec: FileDataSpec, rng: np.random.Generator | None = None) -> None:
    """Read and check the file; the training rows must still support the largest K.

    Raises
    ------
    ValueError
        ``"file: <problem>"`` (the config reports it as ``data.file: <problem>``).
    """
    if is_store(spec.data_file.path):  # metadata only; no test rows (the config refuses them)
        file_shape(spec)
        return
    try:
        loaded = read_once(spec.data_file, spec.largest_k)
    except DataFileError as error:
        raise ValueError(f"file: {error}") from None
    n_rows, n_features = loaded.X.shape
    n_train = n_rows - n_test_rows(n_rows, spec.test_fraction)
    needed = minimum_rows(spec.largest_k, n_features)
    if n_train < needed:
        raise ValueError(f"test_fraction: {spec.test_fraction:g} leaves {n_train} training "
                         f"rows of {n_rows}, fewer than the {needed} that {spec.largest_k} "
                         f"component(s) in {n_features} dimension(s) need; lower it")


def load_file(spec: FileDataSpec, rng: np.random.Generator) -> Dataset:
    """The replicate's data set: the file's rows split into training and held-out rows
    (a store: opened as a Dask array, :func:`~experiments.simulate.store_source.load_store`)."""
    if is_store(spec.data_file.path):
        return load_store(spec.data_file, spec.n_components, spec.largest_k, rng)
    check_file(spec)
    loaded = read_once(spec.data_file, spec.largest_k)
    n_rows, n_features = loaded.X.shape
    labels = (np.full(n_rows, OUTLIER_LABEL, dtype=np.int64) if loaded.labels is None
              else np.asarray(loaded.labels, dtype=np.int64))
    train, test = split_rows(n_rows, spec.test_fraction, rng)
    arrays = DataArrays(
        X=np.array(loaded.X[train]), labels=labels[train],
        weights=np.empty(0), means=np.empty((0, n_features)),
        covariances=np.empty((0, n_features, n_features)),
        X_test=np.array(loaded.X[test]), labels_test=labels[test],
        feature_names=np.array(loaded.feature_names, dtype=str),
        class_names=np.array(loaded.class_names, dtype=str))
    return Dataset(arrays=arrays, truth=None, n_components=spec.n_components, columns={})


FILE = DataSource("file", load_file, check_file)
