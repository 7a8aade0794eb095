"""MAP-EM: EM for the posterior mode under conjugate priors (Fraley and Raftery 2007).

The priors are those of :mod:`emgmm.map_prior`. With the M-step statistics
:math:`N_k = \\sum_i \\gamma_{ik}`, :math:`\\bar x_k = \\sum_i \\gamma_{ik} x_i / N_k`,
:math:`S_k = \\sum_i \\gamma_{ik} (x_i - \\bar x_k)(x_i - \\bar x_k)^T` and
:math:`B_k = \\frac{\\kappa N_k}{\\kappa + N_k} (\\bar x_k - \\mu_0)(\\bar x_k - \\mu_0)^T`,
the M-step maximises :math:`Q(\\theta) + \\log p(\\theta)` in closed form:

.. math::

    w_k = \\frac{N_k + \\alpha_k - 1}{N + \\sum_j \\alpha_j - K}, \\qquad
    \\mu_k = \\frac{N_k \\bar x_k + \\kappa \\mu_0}{N_k + \\kappa}, \\qquad
    \\Sigma_k = \\frac{\\Psi + S_k + B_k}{\\nu + N_k + D + 2} \\;(\\texttt{full}),

    \\Sigma = \\frac{\\Psi + \\sum_k (S_k + B_k)}{\\nu + N + D + 1 + K} \\;(\\texttt{tied}),\\quad
    \\sigma^2_{kd} = \\frac{\\psi_d + (S_k + B_k)_{dd}}{\\nu + N_k + 3} \\;(\\texttt{diag}),\\quad
    \\sigma^2_k = \\frac{\\psi + \\operatorname{tr}(S_k + B_k)}{\\nu + N_k D + D + 2}
    \\;(\\texttt{spherical}).

The flat limit (:func:`flat_conjugate_prior`: :math:`\\alpha = 1`, :math:`\\kappa = 0`,
:math:`\\Psi = 0` and the ``dof`` that cancels the :math:`\\log|\\Sigma|` term: ``-(D+2)``,
``-(D+1+K)``, ``-3``, ``-(D+2)`` for full, tied, diag, spherical) makes
:math:`\\log p(\\theta)` constant and MAP-EM exactly maximum-likelihood EM.

References: Fraley and Raftery (2007), "Bayesian regularization for normal mixture estimation
and model-based clustering", J. Classification 24; mclust's ``priorControl``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from emgmm.init import initial_params
from emgmm.map_prior import (
    ConjugatePrior,
    check_compatible,
    default_conjugate_prior,
    flat_conjugate_prior,
    log_prior_density,
)
from emgmm.params import GaussianMixtureParams
from emgmm.steps import e_step

__all__ = [
    "ConjugatePrior",
    "MAPEMResult",
    "default_conjugate_prior",
    "fit_map_em",
    "flat_conjugate_prior",
    "log_prior_density",
    "map_m_step",
    "map_objective",
]

# --------------------------------------------------------------------------- M-step


def _scatter_full(X, resp, xbar, coef, offset):
    # S_k + B_k, centred at the weighted mean: no E[x x^T] - mu mu^T cancellation.
    out = np.empty((xbar.shape[0], X.shape[1], X.shape[1]))
    for k in range(xbar.shape[0]):
        diff = X - xbar[k]
        out[k] = (resp[:, k] * diff.T) @ diff + coef[k] * np.outer(offset[k], offset[k])
    return out


def _scatter_diag(X, resp, xbar, coef, offset):
    return np.stack([resp[:, k] @ (X - xbar[k]) ** 2 for k in range(xbar.shape[0])]) \
        + coef[:, None] * offset**2


_COVARIANCE_MODE: dict[str, Callable] = {
    # (scale, scatter statistics, N_k, D, K, dof) -> covariance mode
    "full": lambda psi, X, r, xb, c, o, nk, d, k, nu:
        (psi + _scatter_full(X, r, xb, c, o)) / (nu + nk + d + 2.0)[:, None, None],
    "tied": lambda psi, X, r, xb, c, o, nk, d, k, nu:
        (psi + _scatter_full(X, r, xb, c, o).sum(axis=0)) / (nu + nk.sum() + d + 1.0 + k),
    "diag": lambda psi, X, r, xb, c, o, nk, d, k, nu:
        (psi + _scatter_diag(X, r, xb, c, o)) / (nu + nk + 3.0)[:, None],
    "spherical": lambda psi, X, r, xb, c, o, nk, d, k, nu:
        (psi + _scatter_diag(X, r, xb, c, o).sum(axis=1)) / (nu + nk * d + d + 2.0),
}

# Added to every N_k so that an empty component gives finite estimates (as scikit-learn).
_EMPTY_COMPONENT_GUARD = 10.0 * np.finfo(float).eps


def map_m_step(
    X: np.ndarray, resp: np.ndarray, prior: ConjugatePrior, reg_covar: float = 0.0
) -> GaussianMixtureParams:
    """M-step of MAP-EM: the closed-form maximiser of :math:`Q(\\theta) + \\log p(\\theta)`.

    See the module docstring for the equations. ``reg_covar`` (default 0) adds a ridge to
    every variance after the update, as in plain EM; with ``reg_covar > 0`` the objective is
    no longer guaranteed to increase.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    resp : array of shape (n_samples, n_components)
        Responsibilities (rows sum to 1).
    prior : ConjugatePrior
    reg_covar : float

    Returns
    -------
    GaussianMixtureParams
    """
    n_components, n_features = resp.shape[1], X.shape[1]
    check_compatible(prior.covariance_type, n_components, n_features, prior)
    nk = resp.sum(axis=0) + _EMPTY_COMPONENT_GUARD
    xbar = resp.T @ X / nk[:, None]
    kappa = prior.shrinkage
    means = (nk[:, None] * xbar + kappa * prior.mean) / (nk + kappa)[:, None]
    coef, offset = kappa * nk / (kappa + nk), xbar - prior.mean
    covariances = _COVARIANCE_MODE[prior.covariance_type](
        prior.scale, X, resp, xbar, coef, offset, nk, n_features, n_components, prior.dof
    )
    if prior.covariance_type in ("full", "tied"):
        covariances[..., np.arange(n_features), np.arange(n_features)] += reg_covar
    else:
        covariances = covariances + reg_covar
    unnormalised = nk + prior.weights_concentration - 1.0
    return GaussianMixtureParams(
        unnormalised / unnormalised.sum(), means, covariances, prior.covariance_type
    )


# --------------------------------------------------------------------------- the loop


@dataclass(frozen=True)
class MAPEMResult:
    """Outcome of :func:`fit_map_em`.

    Attributes
    ----------
    params : GaussianMixtureParams
        The (local) posterior mode.
    objective_history : ndarray of shape (n_iter + 1,)
        :math:`\\log p(X \\mid \\theta_t) + \\log p(\\theta_t)` (total, not per sample; the
        log prior up to its constant) at the start and after every M-step.
    log_likelihood : float
        Total log-likelihood at ``params``.
    log_prior : float
        :func:`log_prior_density` at ``params``.
    n_iter : int
        Number of M-steps.
    converged : bool
        Whether the per-sample change of the objective fell below ``tol``.
    prior : ConjugatePrior
    """

    params: GaussianMixtureParams
    objective_history: np.ndarray
    log_likelihood: float
    log_prior: float
    n_iter: int
    converged: bool
    prior: ConjugatePrior


def map_objective(X: np.ndarray, params: GaussianMixtureParams, prior: ConjugatePrior) -> float:
    """:math:`\\sum_i \\log p(x_i \\mid \\theta) + \\log p(\\theta)`, the function MAP-EM climbs."""
    log_norm, _ = e_step(X, params)
    return float(np.sum(log_norm)) + log_prior_density(params, prior)


def fit_map_em(
    X: np.ndarray,
    n_components: int,
    prior: ConjugatePrior | None = None,
    *,
    covariance_type: str = "full",
    init: GaussianMixtureParams | None = None,
    init_params: str = "kmeans",
    random_state: np.random.Generator | int | None = None,
    tol: float = 1e-8,
    max_iter: int = 500,
    reg_covar: float = 0.0,
) -> MAPEMResult:
    """MAP-EM: alternate E-steps and :func:`map_m_step` until the objective stalls.

    Every iteration cannot decrease :math:`\\log p(X \\mid \\theta) + \\log p(\\theta)`
    (Dempster, Laird and Rubin 1977, section 3; the M-step is exact), when ``reg_covar = 0``.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    n_components : int
    prior : ConjugatePrior, optional
        Default :func:`default_conjugate_prior` (mclust-like).
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
    init : GaussianMixtureParams, optional
        Starting values; otherwise computed by ``init_params`` with ``random_state``
        (:func:`emgmm.init.initial_params`).
    tol : float
        Stop when the change of the objective per sample is below ``tol`` (0: run
        ``max_iter`` iterations).
    max_iter : int
    reg_covar : float

    Returns
    -------
    MAPEMResult
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[0] < n_components or not np.all(np.isfinite(X)):
        raise ValueError(
            f"X must be a finite array of shape (n_samples >= n_components={n_components}, "
            f"n_features), got shape {X.shape}"
        )
    if not (tol >= 0 and max_iter >= 0 and reg_covar >= 0):
        raise ValueError("tol, max_iter and reg_covar must be >= 0")
    if prior is None:
        prior = default_conjugate_prior(X, n_components, covariance_type)
    check_compatible(covariance_type, n_components, X.shape[1], prior)
    if init is None:
        init = initial_params(X, n_components, covariance_type, reg_covar, init_params,
                              np.random.default_rng(random_state))
    check_compatible(init.covariance_type, init.n_components, init.n_features, prior)
    params, converged, n_iter = init, False, 0
    log_norm, log_resp = e_step(X, params)
    history = [float(np.sum(log_norm)) + log_prior_density(params, prior)]
    while n_iter < max_iter and not converged:
        # exp() only here, on log-responsibilities already normalised in log space.
        params = map_m_step(X, np.exp(log_resp), prior, reg_covar)
        n_iter += 1
        log_norm, log_resp = e_step(X, params)
        history.append(float(np.sum(log_norm)) + log_prior_density(params, prior))
        converged = abs(history[-1] - history[-2]) < tol * X.shape[0]
    log_prior = log_prior_density(params, prior)
    return MAPEMResult(params, np.asarray(history), history[-1] - log_prior, log_prior,
                       n_iter, bool(converged), prior)
