"""Variational Bayes for Gaussian mixtures (Bishop 2006, 10.2), run by the one EM loop.

Modules: :mod:`~emgmm.variational.prior` (the conjugate prior, shared with MAP-EM),
:mod:`~emgmm.variational.posterior` (:math:`q(\\pi, \\mu, \\Lambda)` and its update),
:mod:`~emgmm.variational.iteration` (the iteration and its lower bound),
:mod:`~emgmm.variational.fit` (:func:`fit_vb`), :mod:`~emgmm.variational.estimator`
(:class:`BayesianGaussianMixtureVB`), :mod:`~emgmm.variational.draws` (the posterior as
an ``xarray.DataTree``).
"""

from emgmm.variational.estimator import WEIGHT_THRESHOLD, BayesianGaussianMixtureVB
from emgmm.variational.fit import fit_vb, posterior_from_responsibilities
from emgmm.variational.iteration import expected_log_scores, lower_bound, vb_iteration
from emgmm.variational.posterior import VariationalPosterior, posterior_from_statistics
from emgmm.variational.prior import (
    WEIGHT_PRIOR_TYPES,
    VariationalPrior,
    default_variational_prior,
)

__all__ = [
    "WEIGHT_PRIOR_TYPES",
    "WEIGHT_THRESHOLD",
    "BayesianGaussianMixtureVB",
    "VariationalPosterior",
    "VariationalPrior",
    "default_variational_prior",
    "expected_log_scores",
    "fit_vb",
    "lower_bound",
    "posterior_from_responsibilities",
    "posterior_from_statistics",
    "vb_iteration",
]
