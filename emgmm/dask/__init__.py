"""EM on Dask arrays: one pass over the blocks per iteration, statistics tree-reduced.

A ``dask.array.Array`` of shape (n_samples, n_features) given to
:class:`emgmm.GaussianMixtureEM` (``fit``, ``predict``, ``predict_proba``,
``score_samples``, ``score``, ``bic``, ``aic``, ``icl``) runs here. Every EM iteration is one
pass over the row blocks: each block computes the sufficient statistics of
:mod:`emgmm.statistics` with the numba kernels of :mod:`emgmm.fast` (about the current
means), the statistics are summed in a fixed tree (:mod:`emgmm.dask.blocks`), and the M-step
(:func:`emgmm.statistics.params_from_statistics`) runs on the client inside the one EM loop
(:func:`emgmm.fit.run_em`); MAP-EM (``fit_em_dask(..., prior=...)``) runs the MAP M-step
there instead. A scheduler lost in the middle of a fit raises :class:`SchedulerLostError`.
Modules:

- :mod:`emgmm.dask.dispatch`: recognising a Dask array without importing Dask;
- :mod:`emgmm.dask.blocks`: input checks, the blocks and the fixed-order tree reduction;
- :mod:`emgmm.dask.summary`: the first pass (finite check, moments, a seeded sample);
- :mod:`emgmm.dask.block_statistics`: per-block statistics (EM and hard labels), packed;
- :mod:`emgmm.dask.passes`: several EM runs sharing each pass over the data;
- :mod:`emgmm.dask.starts`: starts from the sample and k-means (Lloyd) passes;
- :mod:`emgmm.dask.fit`: :func:`fit_em_dask`, the counterpart of :func:`emgmm.fit.fit_em`;
- :mod:`emgmm.dask.estimator`: the estimator's methods on Dask arrays;
- :mod:`emgmm.dask.sources`: Dask arrays from Zarr, ``.npy`` and Parquet.

emgmm itself never imports Dask: this package's public names load their modules (and
Dask) on first use, and say which extra to install when Dask is missing.
"""

from __future__ import annotations

import importlib

from emgmm.dask.dispatch import DASK_EXTRA_HINT, is_dask_array, require

_PUBLIC = {
    "fit_em_dask": "emgmm.dask.fit",
    "open_zarr": "emgmm.dask.sources",
    "open_npy": "emgmm.dask.sources",
    "open_parquet": "emgmm.dask.sources",
    "likelihood_sums": "emgmm.dask.estimator",
    "SchedulerLostError": "emgmm.dask.blocks",
}

__all__ = [  # noqa: RUF022 (the module-level names, then the lazily loaded ones)
    "DASK_EXTRA_HINT", "is_dask_array", "require", "SchedulerLostError",
    "fit_em_dask", "likelihood_sums", "open_npy", "open_parquet", "open_zarr",
]


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'emgmm.dask' has no attribute {name!r}")
    require("dask.array")
    return getattr(importlib.import_module(_PUBLIC[name]), name)
