"""Crash-safe (atomic) writes, provenance and the check of the output directory.

Every file of a run directory is written to a temporary file in the same directory and
then renamed over its final name (:func:`emgmm.atomic.atomic_path`, :func:`os.replace`),
which is atomic on POSIX and Windows: a reader (or a resumed run) sees either the old file,
the complete new one, or nothing, never a truncated file. The layout itself belongs to
:mod:`experiments.run.rundir`.
"""

from __future__ import annotations

import json
import platform
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import numpy as np

from emgmm.atomic import atomic_path

VERSIONED_PACKAGES = (
    "gmm-compare", "numpy", "scipy", "numba", "scikit-learn", "pymc", "pytensor", "arviz",
    "xarray", "pandas", "h5netcdf", "h5py", "rich", "dask", "distributed", "matplotlib",
)


# ---------------------------------------------------------------------------------------
# Atomic writes
# ---------------------------------------------------------------------------------------


def write_atomic(final: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(temporary_path)`` and rename the result to ``final`` atomically."""
    with atomic_path(final) as temporary:
        write(temporary)
    return Path(final)


def write_text_atomic(final: Path, text: str) -> Path:
    return write_atomic(final, lambda path: path.write_text(text, encoding="utf-8"))


def json_text(payload: dict) -> str:
    """``payload`` as indented JSON (numpy scalars and arrays as numbers and lists)."""
    return json.dumps(payload, indent=2, sort_keys=False, default=_json_default) + "\n"


def write_json_atomic(final: Path, payload: dict) -> Path:
    return write_text_atomic(final, json_text(payload))


def save_npz_atomic(final: Path, **arrays: np.ndarray) -> Path:
    def write(path: Path) -> None:
        with open(path, "wb") as handle:  # a file object: numpy adds no suffix
            np.savez(handle, **arrays)

    return write_atomic(final, write)


def save_datatree_atomic(final: Path, datatree) -> Path:
    """Save an ``xarray.DataTree`` as netCDF (h5netcdf engine)."""
    return write_atomic(final, lambda path: datatree.to_netcdf(path, engine="h5netcdf"))


def _json_default(value):
    # numpy scalars and arrays are not JSON-serialisable by default.
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------
# Provenance
# ---------------------------------------------------------------------------------------


def package_versions() -> dict:
    """Versions of Python, the platform and every package a run depends on."""
    packages = {}
    for name in VERSIONED_PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "packages": packages,
    }
