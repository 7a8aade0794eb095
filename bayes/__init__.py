"""The Gaussian mixture as a PyMC 6 model: priors, model builders, sampling, variational
fits, latent labels.

The public names are loaded on first use (PEP 562 ``__getattr__``): ``import bayes`` and
its PyMC-free modules (``bayes.priors``, ``bayes.sbc``, ``bayes.relabel``) do not import
PyMC and PyTensor, about 1 s, so that reading a run (``gmm-compare report``, ``validate``,
the report's worker processes) does not pay for them.
"""

from __future__ import annotations

import importlib
import warnings
from typing import TYPE_CHECKING

warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS installation")

# public name -> module defining it
_EXPORTS = {
    "SBCResult": "bayes.sbc",
    "rank_histogram": "bayes.sbc",
    "rank_statistics": "bayes.sbc",
    "run_sbc": "bayes.sbc",
    "sbc_uniformity_test": "bayes.sbc",
    "run_bayes_sbc": "bayes.sbc_model",
    "Priors": "bayes.priors",
    "build_explicit_model": "bayes.model",
    "build_model": "bayes.model",
    "compile_model": "bayes.sampling",
    "compile_vi": "bayes.variational",
    "fit_vi": "bayes.variational",
    "membership_probabilities": "bayes.latent",
    "relabel_draws": "bayes.relabel",
    "sample": "bayes.sampling",
}
__all__ = [
    "Priors",
    "SBCResult",
    "build_explicit_model",
    "build_model",
    "compile_model",
    "compile_vi",
    "fit_vi",
    "membership_probabilities",
    "rank_histogram",
    "rank_statistics",
    "relabel_draws",
    "run_bayes_sbc",
    "run_sbc",
    "sample",
    "sbc_uniformity_test",
]

if TYPE_CHECKING:
    from bayes.latent import membership_probabilities
    from bayes.model import build_explicit_model, build_model
    from bayes.priors import Priors
    from bayes.relabel import relabel_draws
    from bayes.sampling import compile_model, sample
    from bayes.sbc import SBCResult, rank_histogram, rank_statistics, run_sbc, sbc_uniformity_test
    from bayes.sbc_model import run_bayes_sbc
    from bayes.variational import compile_vi, fit_vi


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'bayes' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups do not come here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
