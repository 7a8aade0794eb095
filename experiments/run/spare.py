"""The core a serial run leaves free: one worker process, started first.

``gmm-compare run`` starts it (:func:`spare_core`) before it reads the config, so that the
worker imports PyMC and PyTensor (:func:`import_fitting_libraries`) while the parent reads
and checks the config; then the worker compiles ahead what the run's Bayesian fits will
compile (:func:`experiments.run.tasks.compile_ahead`) and draws the report's detailed
sections as replicates finish (:mod:`experiments.report.early`). On empty compile caches
the chain it works through (imports, posterior kernels, ADVI's step) is what the run's
first ADVI fit waits for: started here rather than after the config checks and the
report's imports, ``calibration --quick`` ran cold in 27.6 and 26.8 s instead of 29.1 and
28.1 s (interleaved runs; warm 17.2-18.2 s either way).

When the run turns out to have no use for it (another executor chosen by default, nothing
to compile or draw), :meth:`SpareCore.stop` ends it at once.
"""

from __future__ import annotations

from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

from emgmm.fast.threads import available_cores
from experiments.run.executors import ignore_interrupts, process_context, stop_pool


def import_fitting_libraries() -> None:
    """The worker's first task: import what compiling ahead needs (the method registry,
    PyMC, PyTensor)."""
    import bayes.compiled  # noqa: F401
    import bayes.vi_compiled  # noqa: F401
    import experiments.run.tasks  # noqa: F401


class SpareCore:
    """A one-worker process pool as a context manager (module docstring).

    Leaving the context terminates the worker: by then the report has taken the sections
    it drew, and what is still running (importing, compiling ahead for fits that already
    compiled or never came) has no use. A compilation cut short is never loaded later:
    numba writes each cache file under a temporary name and renames it, and PyTensor
    removes a module directory whose key file is truncated or whose library is missing.
    """

    def __init__(self):
        self.pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> SpareCore:
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

    def stop(self) -> None:
        """Cancel what is pending and terminate the worker."""
        if self.pool is not None:
            stop_pool(self.pool)

    def __exit__(self, *exc) -> None:
        self.stop()


def spare_core(executor: str | None) -> SpareCore | None:
    """A :class:`SpareCore` for a run on ``executor`` (None: not chosen yet) when it may run
    serially and the machine has another core; else None."""
    if executor not in (None, "serial") or available_cores() < 2:
        return None
    return SpareCore()
