"""The Gaussian mixture as a PyMC 6 model: priors, model builders, sampling, variational
fits, latent labels."""

import warnings

# PyTensor warns that its C backend found no BLAS; the models here compile with numba.
warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS installation")

from bayes.latent import membership_probabilities  # noqa: E402
from bayes.model import build_explicit_model, build_model  # noqa: E402
from bayes.priors import Priors  # noqa: E402
from bayes.relabel import relabel_draws  # noqa: E402
from bayes.sampling import sample  # noqa: E402
from bayes.sbc import SBCResult, rank_histogram, rank_statistics, run_sbc, sbc_uniformity_test  # noqa: E402
from bayes.sbc_model import run_bayes_sbc  # noqa: E402
from bayes.variational import fit_vi

__all__ = [
    "SBCResult",
    "rank_histogram",
    "rank_statistics",
    "run_bayes_sbc",
    "run_sbc",
    "sbc_uniformity_test",
    "Priors",
    "build_explicit_model",
    "build_model",
    "fit_vi",
    "membership_probabilities",
    "relabel_draws",
    "sample",
]
