"""Dask arrays of shape (n_samples, n_features) from files too big to load: Zarr, ``.npy``, Parquet.

The openers read nothing but metadata (Zarr's, the ``.npy`` header, the Parquet files'
footers); the blocks are read by the tasks of each pass, in the worker that runs
them, so a fit streams the files once per EM iteration.
"""

from __future__ import annotations

import os

import dask
import dask.array as da
import numpy as np

from emgmm.dask.dispatch import require

# Rows per block of an opened .npy file unless told otherwise (8 MB of float64 at 8 columns).
NPY_BLOCK_ROWS = 131_072

__all__ = ["NPY_BLOCK_ROWS", "open_npy", "open_parquet", "open_zarr", "parquet_row_groups"]


def _missing(path, what: str) -> FileNotFoundError:
    return FileNotFoundError(f"{what} {os.fspath(path)!r} does not exist: check the path")


def open_zarr(path, component: str | None = None) -> da.Array:
    """The Zarr array at ``path`` (``component``: the array's name inside a group), with
    the store's chunks as blocks."""
    require("zarr")
    if not os.path.exists(path):
        raise _missing(path, "Zarr store")
    return da.from_zarr(os.fspath(path), component=component)


def _npy_rows(path: str, start: int, stop: int) -> np.ndarray:
    # Memory-mapped in the task's own process: only these rows are read.
    return np.array(np.load(path, mmap_mode="r")[start:stop])


def open_npy(path, block_rows: int = NPY_BLOCK_ROWS) -> da.Array:
    """The 2-D array in the ``.npy`` file ``path``, memory-mapped, in blocks of ``block_rows``
    rows (each task maps the file and copies its rows; nothing is pickled but the path)."""
    if not os.path.exists(path):
        raise _missing(path, ".npy file")
    path = os.path.abspath(os.fspath(path))
    header = np.load(path, mmap_mode="r")
    if header.ndim != 2:
        raise ValueError(f"{path!r} holds a {header.ndim}-D array: a 2-D (n_samples, n_features) "
                         "array is needed")
    n_rows, n_features = header.shape
    read = dask.delayed(_npy_rows, pure=True)
    parts = [da.from_delayed(read(path, start, min(start + block_rows, n_rows)),
                             shape=(min(start + block_rows, n_rows) - start, n_features),
                             dtype=header.dtype)
             for start in range(0, n_rows, block_rows)]
    return da.concatenate(parts, axis=0)


def _parquet_rows(path: str, row_group: int, columns: tuple[str, ...] | None) -> np.ndarray:
    # Read in the task's own process: one row group of the requested columns.
    pq = require("pyarrow.parquet")
    table = pq.ParquetFile(path).read_row_group(row_group, columns=list(columns) if columns else None)
    return np.column_stack([column.to_numpy(zero_copy_only=False) for column in table.columns])


def parquet_row_groups(path) -> list[tuple[str, int, int]]:
    """``(file, row group, rows)`` of every row group of the Parquet file or directory
    ``path`` (files in sorted path order), from the files' footers only."""
    pq = require("pyarrow.parquet")
    if os.path.isdir(path):
        files = sorted(os.path.join(folder, name) for folder, _, names in os.walk(path)
                       for name in names if not name.startswith((".", "_")))
    else:
        files = [os.fspath(path)]
    groups = []
    for file in files:
        metadata = pq.ParquetFile(file).metadata
        groups += [(file, i, metadata.row_group(i).num_rows) for i in range(metadata.num_row_groups)]
    return groups


def open_parquet(path, columns: list[str] | None = None) -> da.Array:
    """The numeric ``columns`` (default: all) of the Parquet file or directory ``path``, one
    block per row group; the block sizes come from the files' footers, so opening reads no
    data (files whose names start with ``.`` or ``_``, such as ``_metadata``, are skipped)."""
    pq = require("pyarrow.parquet")
    if not os.path.exists(path):
        raise _missing(path, "Parquet file or directory")
    groups = [group for group in parquet_row_groups(path) if group[2] > 0]
    if not groups:
        raise ValueError(f"{os.fspath(path)!r} holds no Parquet rows: check the path")
    schema = pq.ParquetFile(groups[0][0]).schema_arrow
    names = list(columns) if columns is not None else schema.names
    dtype = np.result_type(*[schema.field(name).type.to_pandas_dtype() for name in names])
    read = dask.delayed(_parquet_rows, pure=True)
    parts = [da.from_delayed(read(os.path.abspath(file), i, tuple(names)), shape=(rows, len(names)),
                             dtype=dtype)
             for file, i, rows in groups]
    return da.concatenate(parts, axis=0)
