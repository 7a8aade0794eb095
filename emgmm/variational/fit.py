"""``fit_vb``: variational Bayes for a Gaussian mixture, run by the one EM loop.

Each start is a variational posterior: the update of :math:`q(\\pi, \\mu, \\Lambda)`
(:func:`emgmm.variational.posterior.posterior_from_estimate`) from initial
responsibilities, either given (``resp_init``, e.g. another implementation's) or those of
an EM start (:func:`emgmm.init.initial_params`: its maximum-likelihood M-step gives
:math:`N_k = \\pi_k N`, :math:`\\bar x_k` and :math:`S_k`). :func:`emgmm.fit.run_em` then
iterates :func:`emgmm.variational.iteration.vb_iteration` with scikit-learn's convergence
rule on the total lower bound, :math:`|\\mathcal L_t - \\mathcal L_{t-1}| < \\mathrm{tol}`.
The lower bound never decreases in exact arithmetic (each update maximises it in one
factor); a drop beyond rounding is recorded in ``EMResult.decreases`` and warned about
(:func:`emgmm.fit_warnings.warn_about_fit`).
"""

from __future__ import annotations

import functools

import numpy as np

from emgmm._validation import (
    as_generator,
    check_data,
    check_data_for_fit,
    check_fit_settings,
)
from emgmm.engines import select_engine
from emgmm.fit import EMResult, run_em
from emgmm.fit_warnings import warn_about_fit
from emgmm.init import initial_params
from emgmm.multistart import start_methods
from emgmm.statistics import EMPTY_COMPONENT_GUARD, statistics_from_responsibilities
from emgmm.variational.iteration import vb_iteration
from emgmm.variational.posterior import (
    VariationalPosterior,
    posterior_from_estimate,
    posterior_from_statistics,
)
from emgmm.variational.prior import VariationalPrior, default_variational_prior

__all__ = ["fit_vb", "posterior_from_responsibilities"]


def posterior_from_responsibilities(X: np.ndarray, resp: np.ndarray, prior: VariationalPrior,
                                    reg_covar: float) -> VariationalPosterior:
    """The update of :math:`q(\\pi, \\mu, \\Lambda)` from responsibilities ``resp`` (N, K)."""
    resp = np.asarray(resp, dtype=float)
    expected = (X.shape[0], prior.n_components)
    if resp.shape != expected or not np.all(np.isfinite(resp)) or np.any(resp < 0):
        raise ValueError(f"resp_init must be a finite non-negative array of shape {expected}, "
                         f"got shape {resp.shape}")
    stats = statistics_from_responsibilities(X, resp, prior.covariance_type)
    return posterior_from_statistics(stats, prior, reg_covar)


def _initial_posterior(X, prior, reg_covar, method, rng, given) -> VariationalPosterior:
    weights_init, means_init, precisions_init = given
    estimate = initial_params(X, prior.n_components, prior.covariance_type, reg_covar, method, rng,
                              weights_init=weights_init, means_init=means_init,
                              precisions_init=precisions_init)
    # The M-step's weights are N_k / sum_j N_j with the guarded counts.
    counts = estimate.weights * (X.shape[0] + prior.n_components * EMPTY_COMPONENT_GUARD)
    return posterior_from_estimate(counts, estimate, prior)


def _check_prior(prior: VariationalPrior, n_components: int, n_features: int,
                 covariance_type: str) -> None:
    if not isinstance(prior, VariationalPrior):
        raise TypeError(f"prior must be a VariationalPrior, got {type(prior).__name__}")
    if (prior.n_components, prior.n_features, prior.covariance_type) != (
            n_components, n_features, covariance_type):
        raise ValueError(
            f"prior is for K={prior.n_components}, D={prior.n_features}, {prior.covariance_type!r}; "
            f"the model has K={n_components}, D={n_features}, {covariance_type!r}")


def fit_vb(
    X: np.ndarray,
    n_components: int,
    *,
    covariance_type: str = "full",
    prior: VariationalPrior | None = None,
    tol: float = 1e-3,
    reg_covar: float = 1e-6,
    max_iter: int = 100,
    n_init: int = 1,
    init_params: str = "kmeans",
    resp_init: np.ndarray | None = None,
    weights_init=None,
    means_init=None,
    precisions_init=None,
    start: VariationalPosterior | None = None,
    previous_lower_bound: float = -np.inf,
    random_state=None,
    engine: str = "auto",
    chunk_size: int | None = None,
    record_params: bool = False,
    verbose: int = 0,
) -> EMResult:
    """Variational Bayes for a Gaussian mixture (Bishop 2006, 10.2); the best of ``n_init``
    starts by final lower bound.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    n_components : int
        K, the truncation: components the data do not support end with small weights.
    prior : VariationalPrior, optional
        Default :func:`emgmm.variational.prior.default_variational_prior` (scikit-learn's).
    tol : float
        Stop when the total lower bound changes by less (scikit-learn's rule and default).
    resp_init : array of shape (n_samples, n_components), optional
        Initial responsibilities of the one start (instead of ``init_params``).
    weights_init, means_init, precisions_init : array, optional
        Replace the EM start's estimates (:func:`emgmm.init.initial_params`).
    start : VariationalPosterior, optional
        Warm start (one start; ``previous_lower_bound`` seeds the convergence test).
    engine : {'auto', 'reference', 'fast'}
        The update of :math:`q(Z)` in numpy or with the numba kernels.

    Returns
    -------
    EMResult
        ``params`` is the :class:`VariationalPosterior`, ``log_likelihood_history`` the
        total lower bound after every iteration and ``lower_bound`` its last value.
    """
    X = check_data(X, min_samples=2)
    check_fit_settings(n_components=n_components, covariance_type=covariance_type, tol=tol,
                       reg_covar=reg_covar, max_iter=max_iter, n_init=n_init,
                       init_params=init_params)
    check_data_for_fit(X, n_components, reg_covar)
    if prior is None:
        prior = default_variational_prior(X, n_components, covariance_type)
    _check_prior(prior, n_components, X.shape[1], covariance_type)
    if start is not None and (start.n_components, start.n_features, start.covariance_type,
                              start.weights_prior_type) != (n_components, X.shape[1], covariance_type,
                                                            prior.weights_prior_type):
        raise ValueError("start does not match the fit (K, D, covariance type or weight prior type): "
                         "pass a posterior fitted with the same settings")
    engine_name = select_engine(engine, chunk_size)[0]
    iterate = functools.partial(vb_iteration, prior=prior, engine=engine_name, chunk_size=chunk_size)
    rng = as_generator(random_state)
    given = (weights_init, means_init, precisions_init)
    single = start is not None or resp_init is not None
    methods = start_methods(X, init_params, 1 if single else n_init, given=given + (None,))
    best: EMResult | None = None
    for init_index, method in enumerate(methods):
        if start is not None:
            first = start
        elif resp_init is not None:
            first = posterior_from_responsibilities(X, resp_init, prior, reg_covar)
        else:
            first = _initial_posterior(X, prior, reg_covar, method, rng, given)
        result = run_em(X, first, iterate, tol=tol, reg_covar=reg_covar, max_iter=max_iter, rng=rng,
                        record_params=record_params, previous_lower_bound=previous_lower_bound,
                        engine_name=engine_name, init_index=init_index, verbose=verbose)
        if best is None or result.objective > best.objective:
            best = result
    warn_about_fit(best, max_iter, tol, reg_covar, method="variational Bayes", objective="lower bound")
    return best
