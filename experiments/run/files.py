"""Run-directory layout and crash-safe (atomic) writes.

Every file of a run directory is written to a temporary file in the same directory and
then renamed over its final name with :func:`os.replace`, which is atomic on POSIX and
Windows: a reader (or a resumed run) sees either the old file, the complete new one, or
nothing, never a truncated file. ``metrics.json`` is written last in each replicate
directory; its presence marks the replicate finished.

Layout (docs/architecture.md)::

    RUN_DIR/config.toml, versions.json, results.csv, summary.csv
    RUN_DIR/cells/<cell_id>/rep-<r>/{data.npz, em_model.npz, em_fit.npz, mcmc.nc, metrics.json}
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import numpy as np

from emgmm.atomic import atomic_path

CONFIG_FILE = "config.toml"
VERSIONS_FILE = "versions.json"
RESULTS_FILE = "results.csv"
SUMMARY_FILE = "summary.csv"
METRICS_FILE = "metrics.json"
CELLS_DIR = "cells"

VERSIONED_PACKAGES = (
    "gmm-compare", "numpy", "scipy", "numba", "scikit-learn", "pymc", "pytensor", "arviz",
    "xarray", "pandas", "h5netcdf", "h5py", "rich", "dask", "distributed", "matplotlib",
)


class OutputDirError(ValueError):
    """The output directory cannot hold this run (not writable, a file, another run)."""


# ---------------------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------------------


def replicate_dir(run_dir: Path, cell_id: str, replicate: int) -> Path:
    """``RUN_DIR/cells/<cell_id>/rep-<r>``."""
    return Path(run_dir) / CELLS_DIR / cell_id / f"rep-{replicate}"


def metrics_path(run_dir: Path, cell_id: str, replicate: int) -> Path:
    return replicate_dir(run_dir, cell_id, replicate) / METRICS_FILE


def all_metrics_files(run_dir: Path) -> list[Path]:
    """Every ``metrics.json`` under ``RUN_DIR/cells``, sorted by path."""
    return sorted((Path(run_dir) / CELLS_DIR).glob(f"*/rep-*/{METRICS_FILE}"))


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


def write_json_atomic(final: Path, payload: dict) -> Path:
    text = json.dumps(payload, indent=2, sort_keys=False, default=_json_default) + "\n"
    return write_text_atomic(final, text)


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
# Provenance and the output directory
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


def _can_create_in(directory: Path) -> bool:
    """Whether a directory can really be created in ``directory`` (a probe removed at once).

    ``os.access`` says yes to root everywhere, also on read-only or virtual file systems.
    """
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".gmm-compare-probe-", dir=directory))
    except OSError:
        return False
    return True


def check_output_dir(run_dir: Path, config_text: str) -> None:
    """Raise :class:`OutputDirError` if ``run_dir`` cannot hold a run of this config.

    Nothing is created: the directory must either exist and be writable, or be creatable
    (its nearest existing ancestor is a writable directory). An existing run directory is
    accepted only if it holds the same resolved config (then the run resumes).
    """
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise OutputDirError(f"output path {run_dir} exists and is not a directory")
    ancestor = run_dir
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputDirError(f"cannot create output directory {run_dir}: {ancestor} is a file")
    if not os.access(ancestor, os.W_OK | os.X_OK) or not _can_create_in(ancestor):
        raise OutputDirError(f"output directory {run_dir} is not writable ({ancestor})")
    existing = run_dir / CONFIG_FILE
    if existing.is_file() and existing.read_text(encoding="utf-8") != config_text:
        raise OutputDirError(
            f"{run_dir} holds a run of a different config; pass another --out or remove it"
        )
