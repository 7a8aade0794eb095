"""Run a sweep: plan -> tasks -> executor -> metrics.json files -> results.csv, summary.csv.

:func:`run_experiment` is what ``gmm-compare run`` calls after the config and the output
directory have been validated:

1. write ``config.toml`` (the resolved config) and ``versions.json``;
2. build one :class:`~experiments.run.replicate.ReplicateTask` per cell x replicate, each with
   its own ``SeedSequence`` from the plan, and skip those whose ``metrics.json`` records a
   finished replicate (failed ones are retried);
3. run the rest on the chosen executor (:mod:`experiments.run.executors`) under a rich
   progress bar;
4. rebuild ``results.csv`` and ``summary.csv`` from every ``metrics.json`` and print the
   aggregated table.

With ``[sbc] enabled``, the SBC simulations (:mod:`experiments.measure.sbc`) are tasks of the
same executor pass, skipped when finished like the replicates, and ``sbc_ranks.csv`` and
``sbc_summary.csv`` are rebuilt at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from emgmm.atomic import leftover_temporaries
from experiments.errors import one_line
from experiments.measure.base import Method
from experiments.measure.methods import METHODS
from experiments.measure.sbc import (
    SBCTask,
    build_sbc_tasks,
    is_sbc_finished,
    run_sbc_simulation,
    sbc_failure_record,
    write_sbc_tables,
)
from experiments.run.executors import (
    EXECUTORS,
    interrupted,
    raise_if_interrupted,
    stop_on_signals,
)
from experiments.run.files import package_versions, write_json_atomic, write_text_atomic
from experiments.run.replicate import ReplicateTask, run_replicate
from experiments.run.rundir import ReplicateRecord, RunDirectory
from experiments.run.tables import console_table, write_tables
from experiments.run.tasks import build_tasks, warm_up


@dataclass(frozen=True)
class RunOutcome:
    """What a run did.

    Attributes
    ----------
    run_dir : Path
    n_tasks : int
        Cell x replicate pairs in the plan.
    n_skipped : int
        Finished replicates found on disk and not recomputed.
    n_failed : int
        Replicates whose metrics.json records an error after this run.
    results, summary : pandas.DataFrame
        The tables written to results.csv and summary.csv.
    sbc_summary : pandas.DataFrame or None
        The table written to sbc_summary.csv (None without ``[sbc] enabled``).
    n_sbc_failed : int
        SBC simulations whose record holds an error after this run.
    """

    run_dir: Path
    n_tasks: int
    n_skipped: int
    n_failed: int
    results: pd.DataFrame
    summary: pd.DataFrame
    sbc_summary: pd.DataFrame | None = None
    n_sbc_failed: int = 0


def is_finished(task: ReplicateTask) -> bool:
    """True if the replicate's metrics.json exists and records no error."""
    path = task.files.metrics
    if not path.is_file():
        return False
    try:
        return ReplicateRecord.read(path).finished
    except ValueError:  # unreadable: recompute (atomic writes make this unlikely)
        return False


def remove_leftover_temporaries(directory: Path) -> None:
    """Delete the temporary files a killed writer left in a replicate it reruns."""
    for path in leftover_temporaries(directory):
        path.unlink(missing_ok=True)


def record_replicate_failure(task: ReplicateTask, error: BaseException) -> ReplicateRecord:
    """Write the metrics.json of a replicate whose worker died before writing one."""
    record = task.failure_record(one_line(error))
    write_text_atomic(task.files.metrics, record.to_json())
    return record


# task type -> the function that runs it, and the record written when its worker crashed
TASK_RUNNERS = {ReplicateTask: run_replicate, SBCTask: run_sbc_simulation}
TASK_FAILURES = {ReplicateTask: record_replicate_failure, SBCTask: sbc_failure_record}


def task_record_path(task: ReplicateTask | SBCTask) -> Path:
    """The file whose presence marks the task finished (metrics.json, sim-<s>.json)."""
    return task.path if isinstance(task, SBCTask) else task.files.metrics


def run_task(task: ReplicateTask | SBCTask):
    """Run a replicate or an SBC simulation (the function every executor maps).

    A task during which the run was interrupted loses its record, even if it returned
    (PyMC's sequential sampler returns a shortened trace on KeyboardInterrupt).
    """
    outcome = TASK_RUNNERS[type(task)](task)
    if interrupted():
        task_record_path(task).unlink(missing_ok=True)
        raise_if_interrupted()
    return outcome


def task_label(task: ReplicateTask | SBCTask) -> str:
    if isinstance(task, SBCTask):
        return f"sbc sim-{task.simulation}"
    return f"{task.cell_id} rep-{task.replicate}"


def write_provenance(config, run_dir: Path) -> None:
    """config.toml (the resolved config) and versions.json."""
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(RunDirectory(run_dir).config, config.to_toml())
    write_json_atomic(RunDirectory(run_dir).versions, package_versions())


def run_experiment(
    config,
    run_dir: Path,
    executor: str = "serial",
    workers: int = 1,
    scheduler: str | None = None,
    console: Console | None = None,
    *,
    methods: Mapping[str, Method] = METHODS,
    task_runner: Callable = run_task,
    on_replicate_done: Callable | None = None,
) -> RunOutcome:
    """Run every unfinished cell x replicate of ``config`` into ``run_dir``.

    Parameters
    ----------
    config : experiments.config.ExperimentConfig
        A validated config.
    run_dir : Path
        Validated beforehand (:func:`experiments.run.files.check_output_dir`).
    executor : {'serial', 'process', 'dask'}
    workers : int
        Worker processes for ``process`` and a local Dask cluster.
    scheduler : str, optional
        Address of a running Dask scheduler (``dask`` only).
    console : rich.console.Console, optional
    methods : mapping
        The method registry (:data:`experiments.measure.methods.METHODS`); tests pass a
        modified one.
    task_runner : callable
        The function the executor maps over the tasks (default :func:`run_task`).
    on_replicate_done : callable, optional
        Called with each replicate task that finished (its record saved), in the order they
        finish (``gmm-compare run``: :meth:`experiments.report.early.EarlySections.replicate_finished`).

    Returns
    -------
    RunOutcome

    Raises
    ------
    experiments.run.executors.Interrupted
        On SIGINT or SIGTERM, once the workers are stopped; every finished task's record is
        kept, and rerunning resumes.
    """
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {sorted(EXECUTORS)}, got {executor!r}")
    with stop_on_signals():
        return _run(config, Path(run_dir), executor, workers, scheduler,
                    console or Console(), methods, task_runner, on_replicate_done)


def _run(config, run_dir: Path, executor: str, workers: int, scheduler: str | None,
         console: Console, methods: Mapping[str, Method], task_runner: Callable,
         on_replicate_done: Callable | None = None) -> RunOutcome:
    """:func:`run_experiment` once its arguments are checked (SIGINT, SIGTERM: Interrupted)."""
    run_dir = Path(run_dir)
    write_provenance(config, run_dir)
    tasks = build_tasks(config, run_dir, progressbar=executor == "serial", methods=methods)
    sbc_tasks = build_sbc_tasks(config, run_dir)
    pending = [task for task in tasks if not is_finished(task)]
    for task in pending:  # a killed run may have left half-written temporary files
        remove_leftover_temporaries(task.files.path)
    pending_sbc = [task for task in sbc_tasks if not is_sbc_finished(task)]
    n_skipped = len(tasks) - len(pending)
    if n_skipped or len(pending_sbc) < len(sbc_tasks):
        sbc_note = (f" and {len(sbc_tasks) - len(pending_sbc)} finished SBC simulation(s) of "
                    f"{len(sbc_tasks)}" if sbc_tasks else "")
        console.print(
            f"Resuming {run_dir}: skipping {n_skipped} finished replicate(s) of {len(tasks)}"
            f"{sbc_note}; {len(pending) + len(pending_sbc)} to run."
        )
    if executor == "serial":  # compiled now, while the spare core compiles the models ahead
        warm_up(pending + pending_sbc)
    _execute(pending + pending_sbc, task_runner, executor, workers, scheduler, console,
             on_replicate_done)
    results, summary = write_tables(run_dir)
    console.print(console_table(summary, results, title=f"{run_dir}"))
    failed = results.loc[results["error"].astype(str) != "", ["cell_id", "replicate"]]
    n_failed = len(failed.drop_duplicates())
    sbc_summary, n_sbc_failed = None, 0
    if sbc_tasks:
        ranks, sbc_summary = write_sbc_tables(run_dir, config.sbc)
        n_sbc_failed = len(sbc_tasks) - len(ranks)
        console.print(f"SBC: {len(ranks)} of {len(sbc_tasks)} simulation(s); smallest "
                      f"uniformity p-value {sbc_summary['pvalue'].min():.3g}"
                      if len(sbc_summary) else f"SBC: {len(ranks)} simulation(s) finished")
    return RunOutcome(run_dir, len(tasks), n_skipped, n_failed, results, summary,
                      sbc_summary, n_sbc_failed)


def _execute(tasks: list, task_runner: Callable, executor: str, workers: int, scheduler,
             console, on_replicate_done: Callable | None = None) -> None:
    if not tasks:
        return
    columns = (
        TextColumn("[progress.description]{task.description}"), BarColumn(),
        MofNCompleteColumn(), TimeElapsedColumn(),
    )
    n_cells = len({task.cell_id for task in tasks if isinstance(task, ReplicateTask)})
    n_sbc = sum(isinstance(task, SBCTask) for task in tasks)
    label = f"{n_cells} cell(s), replicates" + (f" + {n_sbc} SBC simulation(s)" if n_sbc else "")
    with Progress(*columns, console=console, transient=False) as progress:
        bar = progress.add_task(label, total=len(tasks))
        # closed early (interrupted): the executor stops its workers before returning
        with closing(EXECUTORS[executor](task_runner, tasks, workers, scheduler)) as outcomes:
            for task, outcome in outcomes:
                if isinstance(outcome, BaseException):
                    TASK_FAILURES[type(task)](task, outcome)
                    progress.console.print(f"{task_label(task)}: {one_line(outcome)}")
                elif on_replicate_done is not None and isinstance(task, ReplicateTask):
                    on_replicate_done(task)
                progress.advance(bar)
