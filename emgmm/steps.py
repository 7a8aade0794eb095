"""The E-step, the M-step and one reference EM iteration, as pure functions.

Notation (Bishop 2006, section 9.2; Dempster, Laird and Rubin 1977): data ``x_i``
(i = 1..N), components k = 1..K with parameters ``theta = (pi_k, mu_k, Sigma_k)``, latent
labels ``z_i``, responsibilities ``gamma_ik = p(z_i = k | x_i, theta)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import logsumexp

from emgmm.densities import estimate_log_gaussian_prob
from emgmm.params import COVARIANCE_TYPES, GaussianMixtureParams

# Added to every N_k so that an empty component gives finite (if useless) estimates;
# the fit loop detects such components and re-seeds them.
EMPTY_COMPONENT_GUARD = 10.0 * np.finfo(float).eps


# --- E-step --------------------------------------------------------------------------------


def estimate_weighted_log_prob(X: np.ndarray, params: GaussianMixtureParams) -> np.ndarray:
    """``log pi_k + log N(x_i | mu_k, Sigma_k)``, array of shape (n_samples, n_components)."""
    log_gauss = estimate_log_gaussian_prob(
        X, params.means, params.precisions_cholesky, params.covariance_type
    )
    with np.errstate(divide="ignore"):  # a zero weight gives log 0 = -inf, which is exact
        return log_gauss + np.log(params.weights)


def e_step(X: np.ndarray, params: GaussianMixtureParams) -> tuple[np.ndarray, np.ndarray]:
    """E-step: per-sample log-likelihood and log-responsibilities.

    .. math::

        \\log p(x_i \\mid \\theta) = \\operatorname{logsumexp}_k
            \\left[\\log \\pi_k + \\log \\mathcal{N}(x_i \\mid \\mu_k, \\Sigma_k)\\right]

        \\log \\gamma_{ik} = \\log \\pi_k + \\log \\mathcal{N}(x_i \\mid \\mu_k, \\Sigma_k)
            - \\log p(x_i \\mid \\theta)

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    params : GaussianMixtureParams

    Returns
    -------
    log_norm : array of shape (n_samples,)
        ``log p(x_i | theta)``; its mean is the EM objective that ``tol`` is applied to.
    log_resp : array of shape (n_samples, n_components)
        ``log gamma_ik``; each row's exponentials sum to 1.
    """
    weighted = estimate_weighted_log_prob(X, params)
    # logsumexp subtracts the row maximum first, so no exp() can overflow or underflow to 0/0.
    log_norm = logsumexp(weighted, axis=1)
    return log_norm, weighted - log_norm[:, None]


def mixture_log_likelihood(X: np.ndarray, params: GaussianMixtureParams) -> float:
    """Total log-likelihood :math:`\\sum_i \\log \\sum_k \\pi_k \\mathcal{N}(x_i \\mid \\mu_k, \\Sigma_k)`."""
    return float(np.sum(logsumexp(estimate_weighted_log_prob(X, params), axis=1)))


# --- M-step: covariance estimators per type ------------------------------------------------


def _covariance_full(X, resp, nk, means, reg_covar):
    n_components, n_features = means.shape
    covariances = np.empty((n_components, n_features, n_features))
    for k in range(n_components):
        diff = X - means[k]
        covariances[k] = (resp[:, k] * diff.T) @ diff / nk[k]
        covariances[k].flat[:: n_features + 1] += reg_covar
    return covariances


def _covariance_tied(X, resp, nk, means, reg_covar):
    n_features = X.shape[1]
    covariance = np.zeros((n_features, n_features))
    # Sum of centred scatter matrices, not E[x x^T] - mu mu^T: no cancellation.
    for k in range(means.shape[0]):
        diff = X - means[k]
        covariance += (resp[:, k] * diff.T) @ diff
    covariance /= nk.sum()
    covariance.flat[:: n_features + 1] += reg_covar
    return covariance


def _covariance_diag(X, resp, nk, means, reg_covar):
    variances = np.empty_like(means)
    for k in range(means.shape[0]):
        variances[k] = resp[:, k] @ (X - means[k]) ** 2 / nk[k]
    return variances + reg_covar


def _covariance_spherical(X, resp, nk, means, reg_covar):
    return _covariance_diag(X, resp, nk, means, reg_covar).mean(axis=1)


_COVARIANCE_ESTIMATORS: dict[str, Callable] = {
    "full": _covariance_full,
    "tied": _covariance_tied,
    "diag": _covariance_diag,
    "spherical": _covariance_spherical,
}


def estimate_gaussian_parameters(
    X: np.ndarray, resp: np.ndarray, covariance_type: str, reg_covar: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Effective counts, means and covariances from responsibilities.

    .. math::

        N_k = \\sum_i \\gamma_{ik}, \\qquad
        \\mu_k = \\frac{1}{N_k} \\sum_i \\gamma_{ik} x_i, \\qquad
        \\Sigma_k = \\frac{1}{N_k} \\sum_i \\gamma_{ik} (x_i - \\mu_k)(x_i - \\mu_k)^T
            + \\varepsilon I

    with :math:`\\varepsilon` = ``reg_covar``. ``tied`` pools the scatter:
    :math:`\\Sigma = \\frac1N \\sum_k \\sum_i \\gamma_{ik} (x_i - \\mu_k)(x_i - \\mu_k)^T + \\varepsilon I`;
    ``diag`` keeps the diagonal of :math:`\\Sigma_k`, ``spherical`` its mean.

    Returns
    -------
    nk : array of shape (n_components,)
    means : array of shape (n_components, n_features)
    covariances : array in the layout of ``covariance_type``
    """
    if covariance_type not in _COVARIANCE_ESTIMATORS:
        raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}, got {covariance_type!r}")
    X = np.asarray(X, dtype=float)
    resp = np.asarray(resp, dtype=float)
    nk = resp.sum(axis=0) + EMPTY_COMPONENT_GUARD
    means = resp.T @ X / nk[:, None]
    covariances = _COVARIANCE_ESTIMATORS[covariance_type](X, resp, nk, means, reg_covar)
    return nk, means, covariances


def m_step(
    X: np.ndarray, resp: np.ndarray, covariance_type: str = "full", reg_covar: float = 1e-6
) -> GaussianMixtureParams:
    """M-step: the parameters maximising Q(theta) for fixed responsibilities.

    .. math::

        Q(\\theta) = \\sum_i \\sum_k \\gamma_{ik}
            \\left[\\log \\pi_k + \\log \\mathcal{N}(x_i \\mid \\mu_k, \\Sigma_k)\\right]

        \\pi_k = N_k / N, \\qquad \\mu_k, \\Sigma_k \\text{ as in }
        :func:`estimate_gaussian_parameters`

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    resp : array of shape (n_samples, n_components)
        Responsibilities gamma (not their logarithms); rows sum to 1.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
    reg_covar : float
        Non-negative ridge added to the diagonal of every covariance.

    Returns
    -------
    GaussianMixtureParams
        Positive definiteness is not checked here: the fit loop checks it and re-seeds
        collapsed components (:mod:`emgmm.collapse`).
    """
    nk, means, covariances = estimate_gaussian_parameters(X, resp, covariance_type, reg_covar)
    return GaussianMixtureParams(nk / nk.sum(), means, covariances, covariance_type)


def reference_em_iteration(
    X: np.ndarray, params: GaussianMixtureParams, reg_covar: float
) -> tuple[float, GaussianMixtureParams]:
    """One EM iteration: an E-step at ``params`` followed by an M-step.

    Returns
    -------
    mean_log_likelihood : float
        :math:`\\frac1N \\sum_i \\log p(x_i \\mid \\theta)` at the *input* ``params``
        (what scikit-learn records as ``lower_bounds_``).
    next_params : GaussianMixtureParams
    """
    log_norm, log_resp = e_step(X, params)
    # exp() only here, on log-responsibilities already normalised in log space.
    return float(np.mean(log_norm)), m_step(X, np.exp(log_resp), params.covariance_type, reg_covar)
