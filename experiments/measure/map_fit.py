"""MAP-EM as the run's EM (``[em] method = "map"``), in the shape of an ML fit.

:func:`emgmm.map_em.fit_map_em` climbs :math:`\\log p(X \\mid \\theta) + \\log p(\\theta)`
under the documented conjugate prior (:func:`emgmm.map_prior.default_conjugate_prior`:
Dirichlet(1) weights, Normal-inverse-Wishart with mean = column means, kappa = 0.01,
nu = D + 2, Psi = Cov(X) / K^(2/D); README "Uncertainty and calibration" maps it to the
``bayes`` priors). The prior is fixed from the replicate's data once, so the bootstrap
refits (and the polishing before the information intervals) climb the same objective.
:func:`map_fit` returns an :class:`emgmm.fit.EMResult` so that the rest of the replicate
(alignment, saved model, metrics) is the same for both methods; its
``log_likelihood_history`` is the per-sample MAP objective.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from emgmm import GaussianMixtureParams
from emgmm.fit import EMResult
from emgmm.map_em import fit_map_em
from emgmm.map_prior import default_conjugate_prior

REFIT_TOL = 1e-8
REFIT_MAX_ITER = 500
MAX_TOL = 1e-6  # MAP-EM from k-means can creep for its first iterations: cap the tolerance


def map_prior(X: np.ndarray, n_components: int, covariance_type: str):
    """The documented conjugate prior of the replicate (fixed from its data)."""
    return default_conjugate_prior(X, n_components, covariance_type)


def map_fit(X: np.ndarray, n_components: int, *, covariance_type: str, random_state: int,
            tol: float, max_iter: int, reg_covar: float, init_params: str, **_ignored):
    """MAP-EM from ``init_params`` (one start) as an ``EMResult``.

    ``n_init`` is ignored (MAP-EM runs one start); ``lower_bound`` is the mean per-sample
    log-likelihood at the mode. The tolerance is ``min(tol, MAX_TOL)``: with the default
    ``tol = 1e-3`` MAP-EM stopped after 3 iterations with merged components on a 2-D,
    K = 2 data set where ML EM at the same tolerance found both.
    """
    result = fit_map_em(X, n_components, map_prior(X, n_components, covariance_type),
                        covariance_type=covariance_type, init_params=init_params,
                        random_state=random_state, tol=min(tol, MAX_TOL), max_iter=max_iter,
                        reg_covar=reg_covar)
    n_samples = X.shape[0]
    return EMResult(params=result.params,
                    log_likelihood_history=np.asarray(result.objective_history) / n_samples,
                    n_iter=int(result.n_iter), converged=bool(result.converged),
                    lower_bound=float(result.log_likelihood) / n_samples)


def map_refit(prior) -> Callable[[np.ndarray, GaussianMixtureParams], GaussianMixtureParams]:
    """``(X, start) -> mode``: MAP-EM from ``start`` under ``prior`` (bootstrap, polishing)."""
    def refit(X: np.ndarray, start: GaussianMixtureParams) -> GaussianMixtureParams:
        return fit_map_em(X, start.n_components, prior, covariance_type=start.covariance_type,
                          init=start, tol=REFIT_TOL, max_iter=REFIT_MAX_ITER).params

    return refit
