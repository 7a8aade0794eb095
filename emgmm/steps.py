"""The E-step, the M-step and one reference EM iteration, as pure functions.

Notation (Bishop 2006, section 9.2; Dempster, Laird and Rubin 1977): data ``x_i``
(i = 1..N), components k = 1..K with parameters ``theta = (pi_k, mu_k, Sigma_k)``, latent
labels ``z_i``, responsibilities ``gamma_ik = p(z_i = k | x_i, theta)``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from emgmm.densities import estimate_log_gaussian_prob
from emgmm.params import GaussianMixtureParams
from emgmm.statistics import params_from_statistics, statistics_from_responsibilities


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


# --- M-step ---------------------------------------------------------------------------------


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

    The sums go through :func:`emgmm.statistics.statistics_from_responsibilities` and the
    one M-step, :func:`emgmm.statistics.params_from_statistics`.

    Returns
    -------
    nk : array of shape (n_components,)
        With the empty-component guard :data:`emgmm.statistics.EMPTY_COMPONENT_GUARD`.
    means : array of shape (n_components, n_features)
    covariances : array in the layout of ``covariance_type``
    """
    stats = statistics_from_responsibilities(X, resp, covariance_type)
    params = params_from_statistics(stats, reg_covar)
    return stats.guarded_counts, params.means, params.covariances


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
    return params_from_statistics(statistics_from_responsibilities(X, resp, covariance_type), reg_covar)


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
