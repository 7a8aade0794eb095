"""The thread pool of the fast path: chunk ranges of a kernel spread over the available cores.

Kernels release the GIL, so plain Python threads run them in parallel. Each call hands out
more tasks than threads (dynamic load balancing: a thread slowed down by other load simply
takes fewer), and every kernel writes per-chunk results, so the split changes no number.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

# Chunks are handed to the threads in this many tasks per thread.
TASKS_PER_THREAD = 8


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the platform has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


_POOLS: dict[tuple[int, int], ThreadPoolExecutor] = {}


def _thread_pool(n_threads: int) -> ThreadPoolExecutor:
    # Keyed by process id too: a pool inherited through fork() has no live threads.
    key = (os.getpid(), n_threads)
    if key not in _POOLS:
        _POOLS[key] = ThreadPoolExecutor(max_workers=n_threads, thread_name_prefix="emgmm-fast")
    return _POOLS[key]


def _chunk_ranges(n_chunks: int, n_parts: int) -> list[tuple[int, int]]:
    edges = [part * n_chunks // n_parts for part in range(n_parts + 1)]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def run_over_chunks(run: Callable, n_chunks: int, n_threads: int | None) -> None:
    """``run((first_chunk, stop_chunk))`` over all chunks, on a pool of threads when there are
    several (more tasks than threads: a thread slowed down by other load simply takes fewer)."""
    n_threads = 1 if n_chunks == 1 else min(n_threads or available_cores(), n_chunks)
    if n_threads == 1:
        run((0, n_chunks))
        return
    tasks = _chunk_ranges(n_chunks, min(n_chunks, TASKS_PER_THREAD * n_threads))
    pool = _thread_pool(n_threads)
    for future in [pool.submit(run, task) for task in tasks]:
        future.result()
