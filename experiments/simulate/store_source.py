"""Data larger than memory: a Zarr store or a directory of Parquet files, as a Dask array.

``[data] file`` naming a directory (or a path ending in ``.zarr``) is a *store*: it is
opened with :func:`emgmm.dask.open_zarr` or :func:`emgmm.dask.open_parquet`, never loaded,
and EM fits it with one pass over the blocks per iteration (:mod:`emgmm.dask`). Its shape
and dtype come from metadata only (Zarr's, the Parquet footers), so validating a config
and estimating its memory read no data.

What is kept in memory for the report is a uniform sample of at most
:data:`PICTURE_ROWS` rows, drawn with the replicate's data seed,

.. math:: \\text{rows} = \\text{sorted}(\\text{a uniform draw of } \\min(N, m)
          \\text{ of } 0..N-1 \\text{ without replacement}),

saved as ``data.npz``'s ``X`` (the EM pictures show it); the metrics are computed on all
rows. A store carries no labels and no held-out rows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from emgmm._validation import check_magnitudes
from experiments.run.rundir import OUTLIER_LABEL, DataArrays
from experiments.simulate.data_files import (
    PARQUET_SUFFIXES,
    DataFileError,
    DataFileSpec,
    minimum_rows,
    quoted,
)
from experiments.simulate.dataset import Dataset

STORE_SUFFIXES = (".zarr",)
ZARR_MARKERS = (".zarray", ".zgroup", "zarr.json")  # metadata files of Zarr v2 and v3
PICTURE_ROWS = 2000  # rows of a store kept in data.npz for the report's pictures
STORE_HINT = ("rescale the store's columns before fitting, e.g. to unit standard deviation "
              "(`standardize` does not apply to stores)")

__all__ = ["PICTURE_ROWS", "StoreShape", "is_store", "load_store", "open_store", "store_kind",
           "store_shape"]


def _is_zarr(path: Path) -> bool:
    return path.suffix.lower() in STORE_SUFFIXES or any((path / m).exists() for m in ZARR_MARKERS)


def _holds_parquet(path: Path) -> bool:
    return any(name.lower().endswith(PARQUET_SUFFIXES)
               for _, _, names in os.walk(path) for name in names)


def is_store(path) -> bool:
    """Whether ``[data] file`` names a store rather than a file read into memory: a
    ``.zarr`` path, a directory with Zarr metadata, or a directory holding Parquet files
    (any other directory is refused by the file reader)."""
    path = Path(path)
    return _is_zarr(path) or (path.is_dir() and _holds_parquet(path))


def store_kind(path) -> str:
    """``"zarr"`` or ``"parquet"`` (of a path for which :func:`is_store` holds)."""
    return "zarr" if _is_zarr(Path(path)) else "parquet"


@dataclass(frozen=True)
class StoreShape:
    """What a store's metadata says.

    Attributes
    ----------
    n_rows, n_features : int
    dtype : numpy.dtype
        The dtype of the columns used (after their common promotion).
    feature_names : tuple of str
        Parquet column names; ``"0" .. "D-1"`` for a Zarr array (as for ``.npy`` files).
    columns : tuple or None
        The columns to use (Zarr: integer indices; Parquet: names); None: all.
    component : str or None
        The array's name inside a Zarr group (None: the store is the array).
    block_rows : int
        Rows of the largest block (Zarr chunk, Parquet row group): what a task reads.
    largest : tuple of float or None
        Each used column's largest absolute value, from the Parquet row groups' statistics
        (None for Zarr, or when a row group has no statistics).
    """

    n_rows: int
    n_features: int
    dtype: np.dtype
    feature_names: tuple[str, ...]
    columns: tuple | None
    component: str | None = None
    block_rows: int = 0
    largest: tuple[float, ...] | None = None


def _zarr_array(path: Path, component: str | None):
    import zarr  # the dask extra, imported only for a Zarr store

    try:
        node = zarr.open(str(path), mode="r")
    except Exception as error:  # noqa: BLE001 - zarr raises several kinds for a non-store
        raise DataFileError(f"data file {quoted(path)} is not a Zarr store "
                            f"({type(error).__name__}); write it with zarr or dask.array.to_zarr"
                            ) from None
    if isinstance(node, zarr.Array):
        return node, None
    names = sorted(name for name, _ in node.arrays())
    if component is None and len(names) == 1:
        component = names[0]
    if component not in names:
        what = f"no array {quoted(component)}" if component else "several arrays"
        raise DataFileError(f"Zarr group {quoted(path.name)} has {what}; set `array` to one of "
                            f"{quoted(', '.join(names) or 'none')}")
    return node[component], component


def _chosen(names: list[str], columns, path: Path) -> list[int]:
    """Positions of ``columns`` (names, or 0-based indices) among ``names``."""
    if columns is None:
        return list(range(len(names)))
    chosen = []
    for key in columns:
        if isinstance(key, int) and key < len(names):
            chosen.append(key)
        elif str(key) in names:
            chosen.append(names.index(str(key)))
        else:
            raise DataFileError(f"data file {quoted(path.name)} has no column {quoted(key)}; "
                                f"it has {len(names)} column(s): {quoted(', '.join(names))}")
    return chosen


def _zarr_shape(spec: DataFileSpec) -> StoreShape:
    array, component = _zarr_array(spec.path, spec.array)
    if array.ndim != 2:
        raise DataFileError(f"data file {quoted(spec.path.name)} holds an array of {array.ndim} "
                            "dimensions; save a 2-D array (rows x features)")
    if array.dtype.kind not in "biuf":
        raise DataFileError(f"data file {quoted(spec.path.name)} holds {array.dtype} values; "
                            "save a numeric array")
    names = [str(j) for j in range(array.shape[1])]
    chosen = _chosen(names, spec.columns, spec.path)
    return StoreShape(int(array.shape[0]), len(chosen), np.dtype(array.dtype),
                      tuple(names[j] for j in chosen),
                      None if spec.columns is None else tuple(chosen), component,
                      int(array.chunks[0]))


def _parquet_shape(spec: DataFileSpec) -> StoreShape:
    # the dask extra (pyarrow, dask), imported only for a Parquet store
    import pyarrow.parquet as pq

    from emgmm.dask.sources import parquet_row_groups

    try:
        groups = parquet_row_groups(spec.path)
        schema = pq.ParquetFile(groups[0][0]).schema_arrow if groups else None
    except Exception as error:  # noqa: BLE001 - pyarrow's errors for a non-Parquet file
        raise DataFileError(f"directory {quoted(spec.path)} holds a file that is not Parquet "
                            f"({type(error).__name__}); keep only Parquet files in it") from None
    n_rows = sum(rows for _, _, rows in groups)
    if schema is None or n_rows == 0:
        raise DataFileError(f"directory {quoted(spec.path)} holds no Parquet rows; point `file` "
                            "at a Zarr store or a directory of Parquet files")
    names = list(schema.names)
    chosen = [names[j] for j in _chosen(names, spec.columns, spec.path)]
    dtypes = [np.dtype(schema.field(name).type.to_pandas_dtype()) for name in chosen]
    for name, dtype in zip(chosen, dtypes):
        if dtype.kind not in "biuf":
            raise DataFileError(f"column {quoted(name)} of {quoted(spec.path.name)} is not "
                                "numeric; list the feature columns in `columns`")
    return StoreShape(n_rows, len(chosen), np.result_type(*dtypes), tuple(chosen), tuple(chosen),
                      block_rows=max(rows for _, _, rows in groups),
                      largest=_parquet_magnitudes(groups, chosen))


def _parquet_magnitudes(groups: list, chosen: list[str]) -> tuple[float, ...] | None:
    """Each column's largest absolute value from the row groups' min/max statistics (the
    files' footers, no data read); None when a row group lacks them."""
    import pyarrow.parquet as pq

    largest = np.zeros(len(chosen))
    for file in dict.fromkeys(file for file, _, _ in groups):
        metadata = pq.ParquetFile(file).metadata
        for index in range(metadata.num_row_groups):
            group = metadata.row_group(index)
            position = {group.column(j).path_in_schema: j for j in range(group.num_columns)}
            for k, name in enumerate(chosen):
                statistics = group.column(position[name]).statistics
                if statistics is None or not statistics.has_min_max:
                    return None
                largest[k] = max(largest[k], abs(float(statistics.min)),
                                 abs(float(statistics.max)))
    return tuple(largest.tolist())


@lru_cache(maxsize=8)
def store_shape(spec: DataFileSpec) -> StoreShape:
    """The store's :class:`StoreShape`, from metadata (cached per process).

    Raises
    ------
    DataFileError
        One line: missing store, not a store, wrong number of dimensions, non-numeric
        values, unknown column, no rows.
    """
    if not os.path.exists(spec.path):
        raise DataFileError(f"data store {quoted(spec.path)} does not exist; check the path "
                            "(relative paths are relative to the config file)")
    reader = _zarr_shape if store_kind(spec.path) == "zarr" else _parquet_shape
    return reader(spec)


@lru_cache(maxsize=8)
def open_store(spec: DataFileSpec):
    """The store as a ``dask.array.Array`` of shape (n_rows, n_features), nothing read."""
    from emgmm.dask import open_parquet, open_zarr  # the dask extra, only for a store

    shape = store_shape(spec)
    if store_kind(spec.path) == "parquet":
        return open_parquet(spec.path, list(shape.feature_names))
    X = open_zarr(spec.path, component=shape.component)
    return X if shape.columns is None else X[:, list(shape.columns)]


def check_store(spec: DataFileSpec, max_components: int) -> StoreShape:
    """The store's shape, after refusing one with fewer rows than the largest K needs, or
    (Parquet, from its statistics) values whose squares overflow or vanish in float64. A
    Zarr store's scale is checked by EM's first pass over it."""
    shape = store_shape(spec)
    needed = minimum_rows(max_components, shape.n_features)
    if shape.n_rows < needed:
        raise DataFileError(f"data store {quoted(spec.path.name)} has {shape.n_rows} rows, fewer "
                            f"than the {needed} that {max_components} component(s) in "
                            f"{shape.n_features} dimension(s) need")
    if shape.largest is not None:
        try:
            check_magnitudes(np.array(shape.largest), shape.n_rows * shape.n_features,
                             f"data store {quoted(spec.path.name)}", hint=STORE_HINT,
                             columns=[quoted(name) for name in shape.feature_names])
        except ValueError as error:
            raise DataFileError(str(error)) from None
    return shape


def picture_rows(n_rows: int, rng: np.random.Generator, m: int = PICTURE_ROWS) -> np.ndarray:
    """Sorted indices of a uniform sample of ``min(n_rows, m)`` rows (module docstring)."""
    return np.sort(rng.choice(n_rows, size=min(n_rows, m), replace=False))


def load_store(spec: DataFileSpec, n_components: int, max_components: int,
               rng: np.random.Generator) -> Dataset:
    """The replicate's data set: the store as a Dask array, and the sample of its rows."""
    shape = check_store(spec, max_components)
    X = open_store(spec)
    sample = np.asarray(X[picture_rows(shape.n_rows, rng)].compute(), dtype=np.float64)
    arrays = DataArrays(
        X=sample, labels=np.full(len(sample), OUTLIER_LABEL, dtype=np.int64),
        weights=np.empty(0), means=np.empty((0, shape.n_features)),
        covariances=np.empty((0, shape.n_features, shape.n_features)),
        feature_names=np.array(shape.feature_names, dtype=str))
    return Dataset(arrays=arrays, truth=None, n_components=n_components, columns={},
                   out_of_core=X)
