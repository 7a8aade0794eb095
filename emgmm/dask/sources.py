"""Dask arrays of shape (n_samples, n_features) from files too big to load: Zarr, ``.npy``, Parquet.

The Zarr and ``.npy`` openers read nothing but metadata, the Parquet opener counts the rows
of each partition; the blocks are read by the tasks of each pass, in the worker that runs
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

__all__ = ["NPY_BLOCK_ROWS", "open_npy", "open_parquet", "open_zarr"]


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


def open_parquet(path, columns: list[str] | None = None) -> da.Array:
    """The numeric ``columns`` (default: all) of the Parquet file or directory ``path``, one
    block per partition of ``dask.dataframe.read_parquet``; the row count of every block is
    computed when the file is opened (the fit needs known block sizes)."""
    require("pyarrow")
    dd = require("dask.dataframe")
    if not os.path.exists(path):
        raise _missing(path, "Parquet file or directory")
    frame = dd.read_parquet(os.fspath(path), columns=columns)
    return frame.to_dask_array(lengths=True)
