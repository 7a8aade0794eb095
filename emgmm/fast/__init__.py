"""The numba fast path: the fused EM iteration and the E-step over row chunks.

Modules:

- :mod:`emgmm.fast.iteration`: the public functions (:func:`fused_em_iteration`,
  :func:`fast_e_step`, :func:`accumulate_statistics`), the kernel inputs of each covariance
  type (selected through :mod:`emgmm.covariance_types`) and the chunk bookkeeping;
- :mod:`emgmm.fast.workspace`: the work space, block transpose and floating-point flags
  shared by the kernels;
- :mod:`emgmm.fast.softmax`: the vectorised log-sum-exp of a block;
- :mod:`emgmm.fast.diag_kernel`, :mod:`emgmm.fast.full_kernel`: the type-specialised
  kernels (diag/spherical; full/tied);
- :mod:`emgmm.fast.threads`: the thread pool over chunk ranges.

Each kernel has its own chunk loop. One shared chunk loop taking the block function as a
first-class argument would defeat numba's on-disk cache (``cache=True``): with numba 0.68
such a function (and a closure over the block function too) is compiled again in every
fresh process (a cache miss and a new cache entry on each run; README, "EM speed"), while
the type-specialised loops load from the cache.
"""

from emgmm.fast.iteration import (
    accumulate_statistics,
    default_chunk_size,
    fast_e_step,
    fused_em_iteration,
    kernel_precisions,
    log_densities_from_kernel_arguments,
    precision_factors,
    precisions_cholesky,
    statistics_from_kernel_arguments,
)
from emgmm.statistics import SufficientStatistics, params_from_statistics

__all__ = [
    "SufficientStatistics",
    "accumulate_statistics",
    "default_chunk_size",
    "fast_e_step",
    "fused_em_iteration",
    "kernel_precisions",
    "log_densities_from_kernel_arguments",
    "params_from_statistics",
    "precision_factors",
    "precisions_cholesky",
    "statistics_from_kernel_arguments",
]
