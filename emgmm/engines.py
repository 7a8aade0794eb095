"""The EM iteration engines: ``reference`` (numpy) and ``fast`` (numba, optional).

An engine is an iteration function ``(X, params, reg_covar) -> (mean log-likelihood at
params, next params)`` that the one loop, :func:`emgmm.fit.run_em`, runs; each engine
also has an E-step (:func:`engine_e_step`), the same numbers to rounding.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from emgmm.params import GaussianMixtureParams
from emgmm.steps import e_step, reference_em_iteration

ENGINES = ("auto", "reference", "fast")

EMIteration = Callable[[np.ndarray, GaussianMixtureParams, float], tuple[float, GaussianMixtureParams]]

__all__ = ["ENGINES", "EMIteration", "available_engines", "engine_e_step", "fast_module",
           "select_engine"]


def fast_module():
    """:mod:`emgmm.fast`, or None when it does not import (numba missing or broken): the one
    place that imports the fast path, so that a broken numba leaves the reference engine."""
    try:
        # Optional dependency (numba), imported only when the fast engine may be used.
        import emgmm.fast as fast
    except Exception:  # the reference engine remains
        return None
    return fast


def available_engines() -> dict[str, EMIteration]:
    """The iteration engines that can run here; ``fast`` only when ``emgmm.fast`` imports."""
    engines: dict[str, EMIteration] = {"reference": reference_em_iteration}
    fast = fast_module()
    if fast is not None:
        engines["fast"] = fast.fused_em_iteration
    return engines


def select_engine(engine: str, chunk_size: int | None = None) -> tuple[str, EMIteration]:
    """``(name, iteration function)`` for ``engine`` in {'auto', 'reference', 'fast'}."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    # The fast module (and numba) is imported only when it may be used.
    engines = {"reference": reference_em_iteration} if engine == "reference" else available_engines()
    name = ("fast" if "fast" in engines else "reference") if engine == "auto" else engine
    if name not in engines:
        raise ValueError("engine='fast' needs emgmm.fast (numba): install numba or use engine='reference'")
    iterate = engines[name]
    if name == "fast" and chunk_size is not None:
        iterate = functools.partial(iterate, chunk_size=chunk_size)
    return name, iterate


def engine_e_step(X: np.ndarray, params: GaussianMixtureParams,
                  engine: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """``(log_norm, log_resp)`` of :func:`emgmm.steps.e_step`, computed by the engine's E-step
    (:func:`emgmm.fast.fast_e_step` for ``fast``; the same numbers to rounding)."""
    name, _ = select_engine(engine)
    if name == "fast":
        return fast_module().fast_e_step(X, params)
    return e_step(X, params)
