"""The Python entry points: run an experiment and read a finished run, from a notebook.

- :func:`run_config`, called as ``experiments.run(config, out=...)``: what ``gmm-compare
  run`` does, from Python: a config (bundled name, path, parsed TOML dict or
  :class:`~experiments.config.ExperimentConfig`) -> a run directory with results.csv and
  the report -> the loaded :class:`Run`.
- :func:`load_run`: a finished run directory -> :class:`Run` (results and summary as pandas
  DataFrames, the resolved config, and per replicate its data ``X``, ``em_model()`` and
  ``open_posterior()``, read on demand).

Bad input raises ValueError with one line (a bad config, an unreachable overlap target, an
output directory holding another run), before anything is written.
"""

from __future__ import annotations

import os
from pathlib import Path

from rich.console import Console

from experiments.config import (
    ExperimentConfig,
    load_config,
    parse_config,
    resolve_config_argument,
)
from experiments.config.budget import check_run_fits, estimate_run
from experiments.config.requirements import check_requirements
from experiments.report import build_report
from experiments.report.load import Replicate, Run, load_run
from experiments.run.executors import EXECUTORS
from experiments.run.plan import check_reachable
from experiments.run.rundir import check_output_dir
from experiments.run.runner import run_experiment

__all__ = ["Replicate", "Run", "load_run", "resolve_config", "run_config"]


def resolve_config(config: str | os.PathLike | dict | ExperimentConfig) -> ExperimentConfig:
    """A validated config from a bundled name, a TOML path, a parsed dict or a config.

    Validation includes drawing every cell's true parameters, as ``gmm-compare validate``.
    """
    if isinstance(config, ExperimentConfig):
        resolved = config
    elif isinstance(config, dict):
        resolved = parse_config(config)
    elif isinstance(config, str | os.PathLike):
        resolved = load_config(resolve_config_argument(os.fspath(config)))
    else:
        raise ValueError("config must be a bundled config name, a path to a TOML file, a dict "
                         f"or an ExperimentConfig, got {type(config).__name__}")
    check_requirements(resolved)
    check_run_fits(estimate_run(resolved))
    check_reachable(resolved)
    return resolved


def run_config(config: str | os.PathLike | dict | ExperimentConfig, out: str | os.PathLike, *,
               executor: str = "serial", workers: int = 1, report: bool = True,
               quiet: bool = True) -> Run:
    """Run an experiment into ``out`` (resuming a run of the same config there) and load it.

    Parameters
    ----------
    config : str, path, dict or ExperimentConfig
        A bundled config name (``"quickstart"``), a TOML file, the parsed TOML, or a config.
    out : path
        The run directory (created; an existing one must hold a run of the same config).
    executor : {'serial', 'process', 'dask'}
    workers : int
        Worker processes of ``process`` and ``dask``.
    report : bool
        Build the HTML report when the config enables it.
    quiet : bool
        Print nothing (the CLI's progress and tables otherwise).

    Returns
    -------
    Run
        :func:`load_run` of ``out``.
    """
    resolved = resolve_config(config)
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {', '.join(sorted(EXECUTORS))}, "
                         f"got {executor!r}")
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    check_run_fits(estimate_run(resolved), 1 if executor == "serial" else workers)
    run_dir = Path(out)
    check_output_dir(run_dir, resolved.to_toml())
    run_experiment(resolved, run_dir, executor, 1 if executor == "serial" else workers,
                   None, Console(quiet=quiet))
    if report and resolved.report.enabled:
        build_report(run_dir)
    return load_run(run_dir)
