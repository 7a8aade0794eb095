"""The Gaussian mixture as a PyMC 6 model: priors, model builders, sampling, latent labels."""

from bayes.latent import membership_probabilities
from bayes.model import build_explicit_model, build_model
from bayes.priors import Priors
from bayes.relabel import relabel_draws
from bayes.sampling import sample

__all__ = [
    "Priors",
    "build_explicit_model",
    "build_model",
    "membership_probabilities",
    "relabel_draws",
    "sample",
]
