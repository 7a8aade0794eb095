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
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from distributed import Client, LocalCluster
from distributed import as_completed as dask_as_completed
from threadpoolctl import threadpool_limits

from experiments.errors import one_line

Outcome = Any
Executor = Callable[[Callable, Sequence, int, str | None], Iterator[tuple[Any, Outcome]]]


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
    """Run the tasks in a pool of ``workers`` fresh processes."""
    with ProcessPoolExecutor(max_workers=workers, mp_context=process_context()) as pool:
        futures = {pool.submit(call_single_threaded, function, task): task for task in tasks}
        for future in as_completed(futures):
            yield futures[future], _result_or_error(future)


def run_dask(
    function: Callable, tasks: Sequence, workers: int = 1, scheduler: str | None = None
) -> Iterator[tuple[Any, Outcome]]:
    """Run the tasks on Dask: a new LocalCluster, or the cluster at ``scheduler``."""
    with _dask_client(Client, LocalCluster, workers, scheduler) as client:
        # pure=False: identical-looking tasks are still separate computations.
        futures = {client.submit(call_single_threaded, function, task, pure=False): task
                   for task in tasks}
        by_key = {future.key: task for future, task in futures.items()}
        for future in dask_as_completed(list(futures)):
            yield by_key[future.key], _result_or_error(future)


# Seconds to wait for a running Dask scheduler to answer.
SCHEDULER_TIMEOUT_S = 10.0


def check_scheduler(address: str) -> None:
    """Connect to the Dask scheduler at ``address`` and disconnect; one-line ValueError if that fails.

    Called before a run writes anything, so that a wrong address costs no half-made run
    directory.
    """
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
            self._cluster = self._cluster_type(
                n_workers=self._workers, threads_per_worker=1, processes=True,
                dashboard_address=None,
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
