"""The core a serial run leaves free: one worker process, started first.

``gmm-compare`` starts it (:mod:`experiments.launch`) before it even imports the CLI, when
the command may be a serial run (:func:`may_run_serially`), so that the worker imports
PyMC, PyTensor and the method registry (:func:`import_fitting_libraries`) while the parent
imports the CLI and reads and checks the config. The worker then compiles ahead what the
run's Bayesian fits will compile (:meth:`SpareCore.compile_ahead`) and draws the report's
detailed sections as replicates finish (:mod:`experiments.report.early`). On empty compile
caches the chain it works through (imports, posterior kernels, ADVI's step) is what the
run's first ADVI fit waits for, so every second it starts earlier is a second off a cold
run.

When the run turns out to have no use for it (another executor, one core, nothing to
compile or draw), :meth:`SpareCore.stop` ends it at once. This module imports nothing
heavy: the launcher imports it before anything else.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

from experiments.run.executors import ignore_interrupts, process_context, stop_pool

# executors that start worker processes of their own
POOL_EXECUTORS = ("process", "dask")


def import_fitting_libraries() -> None:
    """The worker's first task: import what compiling ahead needs (the method registry,
    PyMC, PyTensor)."""
    import bayes.compiled  # noqa: F401
    import bayes.vi_compiled  # noqa: F401
    import experiments.run.tasks  # noqa: F401


def compile_run_ahead(config) -> None:
    """:func:`experiments.run.tasks.compile_ahead` of ``config`` (the worker's second task)."""
    from experiments.run.tasks import compile_ahead

    compile_ahead(config)


class SpareCore:
    """A one-worker process pool as a context manager (module docstring).

    Entering starts the worker (once). Leaving terminates it: by then the report has taken
    the sections it drew, and what is still running (importing, compiling ahead for fits
    that already compiled or never came) has no use. A compilation cut short is never
    loaded later: numba writes each cache file under a temporary name and renames it, and
    PyTensor removes a module directory whose key file is truncated or whose library is
    missing.
    """

    def __init__(self):
        self.pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> SpareCore:
        if self.pool is None:
            self.pool = ProcessPoolExecutor(max_workers=1, mp_context=process_context(),
                                            initializer=ignore_interrupts)
            self.pool.submit(import_fitting_libraries)  # starts the worker now
        return self

    def submit(self, function: Callable, *args: Any) -> Future | None:
        """``function(*args)`` on the worker; None when the worker is gone."""
        try:
            return self.pool.submit(function, *args)
        except (BrokenProcessPool, RuntimeError):
            return None

    def compile_ahead(self, config) -> None:
        """Compile ahead, on the worker, what the fits of ``config`` will compile."""
        self.submit(compile_run_ahead, config)

    def stop(self) -> None:
        """Cancel what is pending and terminate the worker."""
        if self.pool is not None:
            stop_pool(self.pool)

    def __exit__(self, *exc) -> None:
        self.stop()


def may_run_serially(argv: Sequence[str]) -> bool:
    """Whether ``gmm-compare argv`` may be a serial run on a machine with another core: a
    guess made before the CLI is imported (:func:`spare_core` decides once the arguments
    are parsed)."""
    if list(argv[:1]) != ["run"] or (os.cpu_count() or 1) < 2:
        return False
    for i, argument in enumerate(argv):
        if argument.startswith("--executor="):
            value = argument.split("=", 1)[1]
        elif argument == "--executor" and i + 1 < len(argv):
            value = argv[i + 1]
        else:
            continue
        if value in POOL_EXECUTORS:
            return False
    return True


def spare_core(executor: str | None, started: SpareCore | None = None) -> SpareCore | None:
    """The :class:`SpareCore` of a run on ``executor`` (None: not chosen yet): ``started``
    (the launcher's) or a new one when the run may be serial and the process has another
    core; else None, and ``started`` is stopped."""
    from emgmm.fast.threads import available_cores

    if executor in POOL_EXECUTORS or available_cores() < 2:
        if started is not None:
            started.stop()
        return None
    return started if started is not None else SpareCore()
