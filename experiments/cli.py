"""The ``gmm-compare`` command (also ``python -m experiments``).

::

    gmm-compare run [CONFIG] [--out DIR] [--executor serial|process|dask] [--workers N]
                    [--scheduler ADDRESS] [--quick]
    gmm-compare run --data FILE --components K|K1-K2 [--out DIR] ...
    gmm-compare validate CONFIG [--quick]
    gmm-compare configs
    gmm-compare report RUN_DIR

Exit status: 0 on success; 1 if a replicate or the report failed (the run directory is
complete otherwise); 2 on bad input (config, arguments, output directory, a run too large
for this machine), with one line on stderr and nothing written; 130 when interrupted by
SIGINT (Ctrl-C), 143 by SIGTERM, with the workers stopped and the finished replicates kept
(rerun the same command to resume).
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
from contextlib import nullcontext
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from experiments.config import (
    DEFAULT_CONFIG,
    ConfigError,
    bundled_configs,
    load_config,
    resolve_config_argument,
)
from experiments.config.budget import check_run_fits, estimate_run, runs_mcmc
from experiments.config.checks import check_path_length
from experiments.config.data_command import data_file_config
from experiments.config.requirements import check_requirements
from experiments.errors import one_line, quoted_input
from experiments.run.executors import EXECUTORS, check_scheduler
from experiments.run.plan import check_reachable
from experiments.run.rundir import OutputDirError, RunDirectory, check_output_dir
from experiments.run.spare import spare_core

if multiprocessing.parent_process() is not None:
    # A worker process (a pool's or a Dask nanny's, started with spawn or forkserver, imports
    # the parent's main module and so this one): load what the commands import when used
    # now, as this module did before validate was made light. Imported during the first
    # task instead, they kept a Dask worker busy when a SIGTERM closed the cluster (its
    # heartbeat error reached the terminal: test_interrupt SIGTERM-dask, 3 failures in 4).
    import pandas  # noqa: F401
    import experiments.report  # noqa: F401
    import experiments.report.flags  # noqa: F401
    import experiments.run.runner  # noqa: F401
    import bayes.sampling  # noqa: F401

PROG = "gmm-compare"
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
DEFAULT_RUNS_DIR = Path("runs")
MAX_WORKERS = 1024  # worker processes of a local pool or cluster
MAX_ADDRESS = 300  # characters of a scheduler address (a host name has at most 253)


def build_report(run_dir: Path, early=None) -> Path:
    """:func:`experiments.report.build_report`, imported when a report is built (``validate``
    and bad input do without the plotting libraries), on as many processes as there are
    cores (the command's main module is guarded, so workers can import it), with the
    sections ``early`` drew during the run."""
    from experiments.report import build_report as build

    return build(run_dir, processes=None, early=early)


@dataclass(frozen=True)
class Context:
    """What the commands share: the console, and the report builder (a seam for tests)."""

    console: Console
    build_report: Callable[..., Path] = build_report


class BadInput(Exception):
    """Bad command-line input: reported as one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (no usage block) and exit status 2."""

    def error(self, message: str):
        # each word of user input quoted in argparse's message: escaped, cut to 80 characters
        shown = " ".join(quoted_input(word) for word in message.split(" "))
        raise BadInput(f"{shown} (see {self.prog} --help)")


def worker_count(text: str) -> int:
    """``--workers``: ASCII digits only (``int`` would also take ``1_0`` or Arabic-Indic
    digits); the range is checked by :func:`run_options`."""
    stripped = text.strip()
    if not (stripped.isascii() and stripped.lstrip("-").isdigit()) or len(stripped) > 19:
        raise argparse.ArgumentTypeError(f"must be a whole number, got '{quoted_input(text)}'")
    return int(stripped)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="EM versus Bayesian MCMC on Gaussian mixtures.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = commands.add_parser("run", help="run an experiment config (default: quickstart)")
    run.add_argument("config", nargs="?", default=None,
                     help="a bundled config name or a TOML file (default: quickstart)")
    run.add_argument("--out", type=Path, default=None,
                     help="run directory (default: runs/<config name>; rerunning resumes)")
    run.add_argument("--executor", choices=sorted(EXECUTORS), default=None,
                     help="default: serial; process with 2 workers for --data with a range "
                          "of K")
    run.add_argument("--workers", type=worker_count, default=None,
                     help="worker processes for process/dask (default: 2)")
    run.add_argument("--scheduler", default=None,
                     help="address of a running Dask scheduler (with --executor dask)")
    run.add_argument("--quick", action="store_true",
                     help="apply the config's [quick] overrides (run name <name>-quick)")
    run.add_argument("--data", default=None, metavar="FILE",
                     help="fit a data file (CSV/TSV with a header, .npy, .npz, Parquet) "
                          "instead of a config; needs --components")
    run.add_argument("--components", default=None, metavar="K|K1-K2",
                     help="with --data: the number of components, or a range to choose it "
                          "by BIC, ICL and PSIS-LOO")

    validate = commands.add_parser("validate", help="check a config without running it")
    validate.add_argument("config", help="a bundled config name or a TOML file")
    validate.add_argument("--quick", action="store_true",
                          help="validate the variant with the [quick] overrides applied")

    commands.add_parser("configs", help="list the bundled configs")

    report = commands.add_parser("report", help="(re)build the HTML report of a run")
    report.add_argument("run_dir", type=Path)
    return parser


# ---------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------


def load(argument: str | None, quick: bool = False):
    """Resolve a config argument (bundled name or path) and validate it.

    With ``quick``, the config's ``[quick]`` overrides are applied first.

    Validation includes the size of the run on one worker (refused when it cannot fit this
    machine, :mod:`experiments.config.budget`) and drawing the cells' true parameters with
    the run's seeds, so an unreachable overlap target is bad input, reported before
    anything is written.
    """
    config = load_config(resolve_config_argument(argument), quick=quick)
    check_run_fits(estimate_run(config))  # before the sampler's import: a refusal is quick
    check_requirements(config)
    check_reachable(config)
    return config


def run_options(args: argparse.Namespace) -> tuple[int, str | None]:
    """Validated (workers, scheduler)."""
    workers = 2 if args.workers is None else args.workers
    if not 1 <= workers <= MAX_WORKERS:
        raise BadInput(f"--workers must be in [1, {MAX_WORKERS}], got {workers}")
    if args.scheduler is not None and args.executor != "dask":
        raise BadInput("--scheduler needs --executor dask")
    if args.scheduler is not None and (len(args.scheduler) > MAX_ADDRESS
                                       or not args.scheduler.isprintable()):
        raise BadInput(f"--scheduler must be an address such as tcp://10.0.0.5:8786, got "
                       f"'{quoted_input(args.scheduler)}'")
    if args.executor == "serial" and args.workers not in (None, 1):
        raise BadInput("--workers needs --executor process or dask")
    return (1 if args.executor == "serial" else workers), args.scheduler


def run_config(args: argparse.Namespace):
    """The config of ``run``: CONFIG (or the default), or ``--data FILE --components K``."""
    if args.data is None:
        if args.components is not None:
            raise BadInput("--components needs --data FILE")
        return load(args.config, args.quick)
    if args.config is not None or args.quick:
        raise BadInput("--data FILE runs without a config: leave out CONFIG and --quick")
    if args.components is None:
        raise BadInput("--data needs --components K (or a range K1-K2 to choose K)")
    config = data_file_config(args.data, args.components)
    try:
        check_reachable(config)
    except ConfigError as error:
        if "column" not in error.problem or "standardize" in error.problem:
            raise
        raise BadInput(f"{error}; to choose the columns (or a label column) write a config "
                       "with a [data] section, see README \"Your own data\"") from None
    return config


def default_executor(args: argparse.Namespace, config) -> str:
    """``--executor`` when not given: ``process`` for ``--data`` with several K (one cell
    per K, fitted two at a time; results are the same on every executor), else ``serial``."""
    several_cells = len(config.data.cells()) > 1
    return "process" if args.data is not None and several_cells else "serial"


def command_run(args: argparse.Namespace, context: Context) -> int:
    # the spare core's worker starts first: it imports while the config is read and checked
    with spare_core(args.executor) or nullcontext() as spare:
        config = run_config(args)
        if args.executor is None:
            args.executor = default_executor(args, config)
        workers, scheduler = run_options(args)
        check_run_fits(estimate_run(config), 1 if scheduler is not None else workers)
        if scheduler is not None:
            try:
                check_scheduler(scheduler)
            except ValueError as error:
                raise BadInput(str(error)) from None
        run_dir = args.out if args.out is not None else DEFAULT_RUNS_DIR / config.name
        check_path_length(run_dir, "--out", "output directory")
        check_output_dir(run_dir, config.to_toml())
        from experiments.report.early import early_sections

        # a serial run with a spare core compiles ahead and draws the report's detailed
        # sections as it goes
        early = early_sections(config, args.executor, spare)
        if early is None and spare is not None:
            spare.stop()
        with early or nullcontext():
            return finish_run(args, context, config, run_dir, workers, scheduler, early)


def finish_run(args: argparse.Namespace, context: Context, config, run_dir: Path,
               workers: int, scheduler: str | None, early) -> int:
    """Run ``config`` into ``run_dir``, report failures and build the report."""
    from experiments.run.runner import run_experiment  # the fitting libraries, for run only

    console = context.console
    outcome = run_experiment(config, run_dir, args.executor, workers, scheduler, console,
                             on_replicate_done=early.replicate_finished if early else None)
    status = EXIT_OK
    if outcome.n_failed:
        console.print(f"{outcome.n_failed} replicate(s) failed: see the error column of "
                      f"{RunDirectory(run_dir).results}; rerun the same command to retry them.")
        status = EXIT_FAILED
    if outcome.n_sbc_failed:
        console.print(f"{outcome.n_sbc_failed} SBC simulation(s) failed: see "
                      f"{RunDirectory(run_dir).sbc}; rerun the same command to retry them.")
        status = EXIT_FAILED
    print_failed_diagnostics(run_dir, config, console)
    if config.report.enabled:
        status = max(status, build_report_reporting_failure(run_dir, context, early))
    console.print(f"Results: {RunDirectory(run_dir).results}")
    return status


def print_failed_diagnostics(run_dir: Path, config, console: Console) -> None:
    """One line per cell whose sampler failed its diagnostics (R-hat, divergences, ESS;
    :func:`experiments.report.flags.diagnostics_verdict`): its posterior is poorly
    identified (e.g. more components than the data support) or the chains too short."""
    import pandas as pd

    from experiments.report.flags import diagnostics_verdict, ess_threshold

    path = RunDirectory(run_dir).results
    if not path.is_file():
        return
    verdicts = diagnostics_verdict(pd.read_csv(path), ess_threshold(config))
    for (cell, method), verdict in verdicts.items():
        if verdict != "ok":
            console.print(f"{cell} {method}: sampler diagnostics {verdict}: a poorly "
                          "identified posterior (more components than the data support?) or "
                          "too short chains; read its intervals and elpd with care",
                          soft_wrap=True)


def build_report_reporting_failure(run_dir: Path, context: Context, early=None) -> int:
    """Build the HTML report (with the sections ``early`` drew during the run); a failure
    is one line on stderr and exit status 1."""
    try:
        index = context.build_report(Path(run_dir), early=early)
    except Exception as error:  # noqa: BLE001 - one line, the results are already saved
        print(f"{PROG}: report failed: {one_line(error, with_type=False)}", file=sys.stderr)
        return EXIT_FAILED
    context.console.print(f"Report: {index}")
    return EXIT_OK


def command_validate(args: argparse.Namespace, context: Context) -> int:
    config = load_config(resolve_config_argument(args.config), quick=args.quick)
    estimate = estimate_run(config)
    check_run_fits(estimate)
    check_requirements(config)
    reachable = check_reachable(config)
    unchecked = reachable.total - reachable.checked
    note = (f"; overlap reachable in the {reachable.checked:,} replicate(s) checked, the other "
            f"{unchecked:,} are checked as their data are drawn" if unchecked else "")
    quick = " (--quick variant)" if args.quick else ""
    context.console.print(f"{config.source}{quick}: valid; {estimate.summary()}, MCMC "
                          f"{'on' if runs_mcmc(config) else 'off'}{note}", soft_wrap=True)
    return EXIT_OK


def command_configs(args: argparse.Namespace, context: Context) -> int:
    for name, path in bundled_configs().items():
        config = load_config(path)
        marker = " (default)" if name == DEFAULT_CONFIG else ""
        context.console.print(f"{name}{marker}: {config.experiment.description or path}")
    return EXIT_OK


def command_report(args: argparse.Namespace, context: Context) -> int:
    check_path_length(args.run_dir, "", "run directory")
    config = RunDirectory(args.run_dir).config
    if not config.is_file():
        raise BadInput(f"{args.run_dir} is not a run directory (no {config.name})")
    return build_report_reporting_failure(args.run_dir, context)


COMMANDS = {
    "run": command_run,
    "validate": command_validate,
    "configs": command_configs,
    "report": command_report,
}


BAD_INPUT = (BadInput, ConfigError, OutputDirError)


def main(argv: Sequence[str] | None = None, report_builder: Callable[[Path], Path] = build_report
         ) -> int:
    """Entry point of ``gmm-compare``; returns the exit status.

    ``report_builder`` builds the HTML report (:func:`experiments.report.build_report`).
    """
    # Redirected output (a log file, CI) gets a table wide enough to read, not 80 columns.
    context = Context(Console() if sys.stdout.isatty() else Console(width=150), report_builder)
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args, context)
    except BAD_INPUT as error:
        print(f"{PROG}: error: {one_line(error, with_type=False)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt as error:  # executors.Interrupted carries the signal
        name = str(error) or "SIGINT"
        print(f"{PROG}: interrupted by {name}; finished replicates are kept, rerun the same "
              "command to resume", file=sys.stderr)
        return getattr(error, "exit_status", EXIT_INTERRUPTED)
