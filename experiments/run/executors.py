"""Executors: run independent tasks serially, in a process pool, or on Dask distributed.

Every executor has the signature ``(function, tasks, workers, scheduler) -> iterator of
(task, outcome)`` in completion order, where ``outcome`` is ``function(task)`` or the
exception raised while running it (a crashed worker, a task that could not be sent). Tasks
carry their own seeds, so outcomes do not depend on the executor or the number of
workers; only the completion order does.

* ``serial``: in this process, in order.
* ``process``: :class:`concurrent.futures.ProcessPoolExecutor` with the ``forkserver``
  start method (``spawn`` where there is none): no fork of a process holding threads or
  compiled PyTensor state.
* ``dask``: a :class:`distributed.LocalCluster` (``n_workers=workers,
  threads_per_worker=1, processes=True``) or the scheduler at ``scheduler``. One thread
  per worker, so PyMC runs its chains sequentially inside a worker (no nested pools).

Interruption: within :func:`stop_on_signals`, SIGINT and SIGTERM raise :class:`Interrupted`
in the main thread. An executor closed by it (or by the caller closing its iterator)
stops its workers before returning: the process pool's workers are terminated (they ignore
SIGINT, so a Ctrl-C reaches them only through the parent), the Dask futures cancelled and
a local cluster closed. Finished tasks have written their records; a task cut short has
not (its temporary files are removed when the run resumes).
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from typing import Any

from threadpoolctl import threadpool_limits

from experiments.errors import one_line

Outcome = Any
Executor = Callable[[Callable, Sequence, int, str | None], Iterator[tuple[Any, Outcome]]]


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
WORKER_JOIN_S = 10.0  # seconds a terminated worker gets to exit before it is killed


class Interrupted(KeyboardInterrupt):
    """A run stopped by a signal; ``exit_status`` is 128 + the signal number (130, 143)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_status(self) -> int:
        return 128 + self.signum


_received: list[int] = []  # signals received inside stop_on_signals, first one first


def interrupted() -> bool:
    """True once SIGINT or SIGTERM arrived inside :func:`stop_on_signals` in this process."""
    return bool(_received)


@contextmanager
def stop_on_signals():
    """Within the block, SIGINT and SIGTERM raise :class:`Interrupted` (once; a second
    signal during the clean-up is only recorded). No-op outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        _received.append(signum)
        if len(_received) == 1:
            raise Interrupted(signum)

    previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
        _received.clear()


def raise_if_interrupted() -> None:
    """Raise :class:`Interrupted` if a stop signal arrived (code that swallows
    KeyboardInterrupt, such as PyMC's sequential sampler, returns normally)."""
    if _received:
        raise Interrupted(_received[0])


def ignore_interrupts() -> None:
    """Worker initializer: a terminal's Ctrl-C stops the run through the parent only."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def call_single_threaded(function: Callable, task: Any) -> Outcome:
    """Run one task with single-threaded BLAS, whatever the executor.

    Workers already share the cores, and OpenBLAS threads competing with them made small
    linear algebra far slower; the same BLAS threading everywhere also keeps every
    executor's floating-point results identical.
    """
    with threadpool_limits(1):
        return function(task)


def run_serial(
    function: Callable, tasks: Sequence, workers: int = 1, scheduler: str | None = None
) -> Iterator[tuple[Any, Outcome]]:
    """Run the tasks one after another in this process."""
    for task in tasks:
        try:
            yield task, call_single_threaded(function, task)
        except Exception as error:  # noqa: BLE001 - reported per task, the sweep goes on
            yield task, error


def process_context() -> multiprocessing.context.BaseContext:
    """``forkserver`` where available (Linux, macOS), else ``spawn``."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def run_process(
    function: Callable, tasks: Sequence, workers: int = 1, scheduler: str | None = None
) -> Iterator[tuple[Any, Outcome]]:
    """Run the tasks in a pool of ``workers`` fresh processes (terminated if interrupted)."""
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=process_context(),
                               initializer=ignore_interrupts)
    try:
        futures = {pool.submit(call_single_threaded, function, task): task for task in tasks}
        for future in as_completed(futures):
            yield futures[future], _result_or_error(future)
    except BaseException:  # Interrupted, or GeneratorExit when the caller stops early
        stop_pool(pool)
        raise
    pool.shutdown(wait=True)


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel the pending tasks and terminate the workers (SIGTERM, then SIGKILL)."""
    processes = list((pool._processes or {}).values())  # no public handle before 3.14
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(WORKER_JOIN_S)
        if process.is_alive():
            process.kill()
            process.join()


def run_dask(
    function: Callable, tasks: Sequence, workers: int = 1, scheduler: str | None = None
) -> Iterator[tuple[Any, Outcome]]:
    """Run the tasks on Dask: a new LocalCluster, or the cluster at ``scheduler``."""
    # imported here: 0.3 s that serial and process runs do not need
    from distributed import Client, LocalCluster
    from distributed import as_completed as dask_as_completed

    # the loggers are restored only after the cluster is closed (context managers exit in
    # reverse order)
    with _quiet_after_interruption("distributed") as quiet, \
            _dask_client(Client, LocalCluster, workers, scheduler) as client:
        # pure=False: identical-looking tasks are still separate computations.
        futures = {client.submit(call_single_threaded, function, task, pure=False): task
                   for task in tasks}
        by_key = {future.key: task for future, task in futures.items()}
        try:
            for future in dask_as_completed(list(futures)):
                yield by_key[future.key], _result_or_error(future)
        except BaseException:  # interrupted: nothing left running on the cluster
            quiet()
            client.cancel(list(futures))
            raise


@contextmanager
def _quiet_after_interruption(name: str):
    """Yield a function that mutes the ``name`` loggers until the block ends: the teardown
    of an interrupted cluster logs errors about the tasks it cancelled."""
    saved: dict[logging.Logger, int] = {}

    def quiet() -> None:
        loggers = [logging.getLogger(name)] + [
            logging.getLogger(other) for other in list(logging.root.manager.loggerDict)
            if other.startswith(f"{name}.")]
        for logger in loggers:
            saved.setdefault(logger, logger.level)
            logger.setLevel(logging.CRITICAL + 1)

    try:
        yield quiet
    finally:
        for logger, level in saved.items():
            logger.setLevel(level)


# Seconds to wait for a running Dask scheduler to answer.
SCHEDULER_TIMEOUT_S = 10.0


def check_scheduler(address: str) -> None:
    """Connect to the Dask scheduler at ``address`` and disconnect; one-line ValueError if that fails.

    Called before a run writes anything, so that a wrong address costs no half-made run
    directory.
    """
    from distributed import Client

    try:
        with Client(address, timeout=f"{SCHEDULER_TIMEOUT_S}s"):
            pass
    except (OSError, TimeoutError, ValueError, TypeError) as error:
        reason = one_line(error, with_type=False)
        raise ValueError(
            f"cannot reach the Dask scheduler at {address!r} within {SCHEDULER_TIMEOUT_S:g} s "
            f"({reason}): start it (`dask scheduler` and `dask worker ADDRESS`) or drop --scheduler"
        ) from None


class _dask_client:
    """Context manager owning a LocalCluster (closed on exit) or a remote Client."""

    def __init__(self, client_type, cluster_type, workers: int, scheduler: str | None):
        self._client_type, self._cluster_type = client_type, cluster_type
        self._workers, self._scheduler = workers, scheduler
        self._cluster = None
        self._client = None

    def __enter__(self):
        if self._scheduler is None:
            with warnings.catch_warnings():
                # the scheduler's HTTP server moves to a free port when 8787 is taken: no news
                # with the dashboard off
                warnings.filterwarnings("ignore", "Port .* is already in use", UserWarning)
                self._cluster = self._cluster_type(
                    n_workers=self._workers, threads_per_worker=1, processes=True,
                    dashboard_address=None, silence_logs=logging.ERROR,
                )
            self._client = self._client_type(self._cluster)
        else:
            self._client = self._client_type(self._scheduler, timeout="30s")
        return self._client

    def __exit__(self, *exc_info):
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        return False


def _result_or_error(future) -> Outcome:
    try:
        return future.result()
    except Exception as error:  # noqa: BLE001 - a crashed worker fails its task only
        return error


EXECUTORS: dict[str, Executor] = {
    "serial": run_serial,
    "process": run_process,
    "dask": run_dask,
}
