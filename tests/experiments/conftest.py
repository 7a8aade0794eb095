"""Tiny experiment configs for the runner and CLI tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from experiments.run.rundir import TIMING_COLUMNS

TINY_TOML = """\
[experiment]
name = "{name}"
seed = 11
replicates = {replicates}

[data]
n_samples = {n_samples}
n_features = 2
n_components = 2
overlap = {overlaps}

[em]
max_iter = 60
n_init = {n_init}

[mcmc]
enabled = false

[report]
enabled = false
"""


def write_config(directory: Path, name: str = "tiny", replicates: int = 2, n_samples: int = 120,
                 overlaps=(0.01, 0.05), n_init: int = 1) -> Path:
    """Write a tiny EM-only config (len(overlaps) cells x replicates) and return its path."""
    path = Path(directory) / f"{name}.toml"
    path.write_text(TINY_TOML.format(name=name, replicates=replicates, n_samples=n_samples,
                                     overlaps=list(overlaps), n_init=n_init))
    return path


@pytest.fixture
def tiny_config(tmp_path) -> Path:
    return write_config(tmp_path)


def results_without_timing(run_dir: Path) -> pd.DataFrame:
    """results.csv without the wall-clock columns (these differ between runs)."""
    results = pd.read_csv(Path(run_dir) / "results.csv")
    return results.drop(columns=[c for c in TIMING_COLUMNS if c in results])


def cli_command(*args: str) -> list[str]:
    """``python -m experiments ARGS`` with this interpreter."""
    return [sys.executable, "-m", "experiments", *args]


@pytest.fixture
def make_config():
    """The :func:`write_config` helper."""
    return write_config


@pytest.fixture
def strip_timing():
    """The :func:`results_without_timing` helper."""
    return results_without_timing


@pytest.fixture(scope="session")
def quickstart_run(tmp_path_factory) -> Path:
    """The bundled quickstart, run once per test session through the Python API."""
    from experiments.api import run_config

    return run_config("quickstart", out=tmp_path_factory.mktemp("quickstart") / "run").path


@pytest.fixture
def cli():
    """The :func:`cli_command` helper."""
    return cli_command
