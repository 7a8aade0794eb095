"""The Gaussian mixture as a PyMC 6 model: priors, model builders, sampling, latent labels."""

from bayes.latent import membership_probabilities
from bayes.model import build_explicit_model, build_model
from bayes.priors import Priors
from bayes.relabel import relabel_draws
from bayes.sampling import sample
from bayes.sbc import SBCResult, rank_histogram, rank_statistics, run_sbc, sbc_uniformity_test
from bayes.sbc_model import run_bayes_sbc

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
    "membership_probabilities",
    "relabel_draws",
    "sample",
]
