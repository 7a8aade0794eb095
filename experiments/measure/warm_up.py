"""Numba kernels compiled before the fits that need them, once per process.

The kernels of ``emgmm`` are compiled on their first call (numba specialises on dtypes and
array ranks, not on N, D or K). A method that times its fit (``runtime_s``) therefore runs
a tiny fit of its own first (:func:`warm_up_once`): without it, the first replicate of
every process would time the compiler (1.1 s against a 0.014 s EM fit in a fresh worker).
The tiny fit has its own data and seed, so no result depends on it.

A serial run also calls every warm-up of its tasks before the first one
(:func:`experiments.run.tasks.warm_up`): while the spare core compiles the Bayesian models
ahead (:mod:`experiments.report.early`), the run's first replicate then compiles what its
later methods and the SBC simulations need, instead of compiling it when they start.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Hashable

import numpy as np

# keys of the warm-up fits this process has run
WARMED: set[Hashable] = set()


def tiny_mixture(n_components: int, n_features: int) -> np.ndarray:
    """``4 K (D + 1)`` rows of K well-separated unit Gaussians (seed 0)."""
    rng = np.random.default_rng(0)
    n_rows = 4 * n_components * (n_features + 1)
    return (rng.normal(size=(n_rows, n_features))
            + 8.0 * rng.integers(n_components, size=(n_rows, 1)))


def warm_up_once(key: Hashable, fit: Callable[[np.ndarray], object], n_components: int,
                 n_features: int) -> float:
    """Run ``fit`` on :func:`tiny_mixture` unless this process ran ``key`` already; its
    seconds (0 when skipped). Warnings of the tiny fit (it stops early by design) are
    silenced."""
    if key in WARMED:
        return 0.0
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit(tiny_mixture(n_components, n_features))
    WARMED.add(key)
    return time.perf_counter() - start
