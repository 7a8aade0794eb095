"""Recognising a Dask array without importing Dask, and the estimator's dispatch to it."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable

DASK_EXTRA_HINT = "pip install gmm-compare[dask]"


def is_dask_array(X) -> bool:
    """Whether ``X`` is a ``dask.array.Array`` (by its type's module: Dask is not imported)."""
    kind = type(X)
    return kind.__name__ == "Array" and kind.__module__.split(".")[0] == "dask"


def require(module: str):
    """``module`` imported, or ImportError naming the extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        missing = getattr(error, "name", None) or module
        raise ImportError(f"EM on Dask arrays needs the package {missing!r}, which is not "
                          f"installed: {DASK_EXTRA_HINT}") from None


def dask_aware(method: Callable) -> Callable:
    """An estimator method that runs :mod:`emgmm.dask.estimator`'s function of the same name
    when its first argument is a Dask array."""

    @functools.wraps(method)
    def dispatched(self, X, *args, **kwargs):
        if is_dask_array(X):
            return getattr(require("emgmm.dask.estimator"), method.__name__)(self, X, *args, **kwargs)
        return method(self, X, *args, **kwargs)

    return dispatched
