"""One coordinate-ascent iteration of variational Bayes, and its lower bound.

:func:`vb_iteration` is the iteration function that the one EM loop
(:func:`emgmm.fit.run_em`) runs for variational Bayes (Bishop 2006, 10.2):

1. the update of :math:`q(Z)` (the "E-step", 10.46-10.49): responsibilities
   :math:`r_{ik} \\propto \\rho_{ik}` with
   :math:`\\log \\rho_{ik} = c_k - \\tfrac12 \\|(x_i - m_k) U_k\\|^2`
   (:func:`emgmm.variational.posterior.log_score_constants`), summed into the statistics of
   :mod:`emgmm.statistics`. The expected log-density differs from the plug-in one only in
   its constant :math:`c_k`, so the fast engine runs the numba kernels of EM on
   :math:`(m_k, U_k, c_k)` (:func:`emgmm.fast.statistics_from_kernel_arguments`);
2. the update of :math:`q(\\pi, \\mu, \\Lambda)` (the "M-step", 10.58-10.63):
   :func:`emgmm.variational.posterior.posterior_from_statistics`;
3. the lower bound at the new :math:`q` (:func:`lower_bound`).

The lower bound is scikit-learn's: the ELBO (10.70-10.77) evaluated right after the update
of :math:`q(\\pi, \\mu, \\Lambda)`, where most of its terms cancel, without the terms that
are constant in the iterations:

.. math::

    \\mathcal L = H[q(Z)] - \\sum_k \\log B(W_k, \\nu_k)
        - \\log C(\\alpha) - \\tfrac D2 \\sum_k \\log \\beta_k + \\text{const}

with :math:`H[q(Z)] = -\\sum_{ik} r_{ik} \\log r_{ik}`, :math:`B` the Wishart normaliser
(10.63) and :math:`C` the Dirichlet one (10.64; the sticks: :math:`\\prod_k 1/B(a_k, b_k)`).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import betaln, gammaln, logsumexp

from emgmm.covariance_types import covariance_type as covariance_type_of
from emgmm.densities import LOG_2PI, estimate_log_gaussian_prob
from emgmm.engines import fast_module
from emgmm.statistics import SufficientStatistics, statistics_from_responsibilities
from emgmm.variational.posterior import (
    VariationalPosterior,
    log_score_constants,
    posterior_from_statistics,
)
from emgmm.variational.prior import VariationalPrior

__all__ = [
    "elbo_offset",
    "expected_log_scores",
    "log_dirichlet_norm",
    "log_wishart_norm",
    "lower_bound",
    "scored_statistics",
    "vb_iteration",
]


def expected_log_scores(X: np.ndarray, posterior: VariationalPosterior) -> np.ndarray:
    """:math:`\\log \\rho_{ik} = E[\\log \\pi_k] + E[\\log \\mathcal N(x_i \\mid \\mu_k,
    \\Lambda_k^{-1})]` (Bishop 10.46), array of shape (n_samples, n_components), in numpy."""
    n_features = posterior.n_features
    kind = covariance_type_of(posterior.covariance_type)
    plug_in = estimate_log_gaussian_prob(X, posterior.means, posterior.precisions_cholesky,
                                         posterior.covariance_type)
    # The plug-in log-density holds -D/2 log 2 pi + log|U_k|; c_k holds them too.
    plug_in_constant = -0.5 * n_features * LOG_2PI + kind.log_det_precision_cholesky(
        posterior.precisions_cholesky, posterior.n_components, n_features)
    return plug_in + (log_score_constants(posterior) - plug_in_constant)


def _reference_scored_statistics(X, posterior) -> tuple[SufficientStatistics, float]:
    log_scores = expected_log_scores(X, posterior)
    log_norm = logsumexp(log_scores, axis=1)
    log_resp = log_scores - log_norm[:, None]
    resp = np.exp(log_resp)
    entropy = -float(np.sum(resp * log_resp))
    return statistics_from_responsibilities(X, resp, posterior.covariance_type), entropy


def kernel_arguments(posterior: VariationalPosterior) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(means, precisions, log_constants)`` of the numba kernels for the log-scores."""
    kind = covariance_type_of(posterior.covariance_type)
    precisions = fast_module().kernel_precisions(kind, posterior.precisions_cholesky, posterior.n_components,
                                   posterior.n_features)
    return np.ascontiguousarray(posterior.means), precisions, log_score_constants(posterior)


def _fast_scored_statistics(X, posterior, chunk_size=None) -> tuple[SufficientStatistics, float]:
    arguments = kernel_arguments(posterior)
    stats = fast_module().statistics_from_kernel_arguments(X, arguments,
                                                           posterior.covariance_type,
                                                           chunk_size=chunk_size)
    # H[q(Z)] = sum_i log sum_k rho_ik - sum_ik r_ik log rho_ik, and the last sum is
    # sum_k (N_k c_k - tr(P_k S_k) / 2) with S_k taken about m_k, the kernels' shift.
    _, precisions, constants = arguments
    if precisions.ndim == 3:
        whitened = np.einsum("kij,kia,kjb->kab", stats.second_moments, precisions, precisions)
        trace = np.einsum("kaa->", whitened)
    else:
        trace = float(np.sum(stats.second_moments * precisions**2))
    expected = float(stats.counts @ constants) - 0.5 * trace
    return stats, stats.log_likelihood - expected


def scored_statistics(X: np.ndarray, posterior: VariationalPosterior, engine: str = "fast",
                      chunk_size: int | None = None) -> tuple[SufficientStatistics, float]:
    """The update of :math:`q(Z)`: the statistics of its responsibilities and its entropy
    :math:`H[q(Z)] = -\\sum_{ik} r_{ik} \\log r_{ik}`, by ``engine`` ('fast' or 'reference')."""
    if engine == "fast":
        return _fast_scored_statistics(X, posterior, chunk_size)
    return _reference_scored_statistics(X, posterior)


def log_wishart_norm(degrees_of_freedom, log_det_precision_factor, n_features: int) -> np.ndarray:
    """:math:`\\log B(W, \\nu)` of the Wishart (Bishop B.79) without its :math:`\\log \\pi`
    term, from :math:`\\tfrac12 \\log|W|` = ``log_det_precision_factor``:

    .. math:: -\\nu \\tfrac12 \\log|W| - \\tfrac{\\nu D}{2} \\log 2
              - \\sum_{d=1}^{D} \\log\\Gamma(\\tfrac{\\nu + 1 - d}{2})
    """
    halves = 0.5 * (np.asarray(degrees_of_freedom)[..., None] - np.arange(n_features))
    return -(degrees_of_freedom * log_det_precision_factor
             + degrees_of_freedom * n_features * 0.5 * math.log(2.0) + gammaln(halves).sum(axis=-1))


def log_dirichlet_norm(weight_concentration: np.ndarray, weights_prior_type: str) -> float:
    """:math:`\\log C(\\alpha) = \\log\\Gamma(\\sum_k \\alpha_k) - \\sum_k \\log\\Gamma(\\alpha_k)`
    (Bishop B.23), or :math:`-\\sum_k \\log B(a_k, b_k)` for the sticks."""
    if weights_prior_type == "dirichlet_process":
        return -float(np.sum(betaln(*weight_concentration)))
    return float(gammaln(weight_concentration.sum()) - gammaln(weight_concentration).sum())


def lower_bound(entropy: float, posterior: VariationalPosterior) -> float:
    """scikit-learn's lower bound (module docstring) at ``posterior``, given :math:`H[q(Z)]`."""
    kind = covariance_type_of(posterior.covariance_type)
    n_components, n_features = posterior.n_components, posterior.n_features
    dof = posterior.degrees_of_freedom
    # 1/2 log|W_k| = log|U_k| - D/2 log nu_k for the stored factor U_k of nu_k W_k.
    half_log_det_w = kind.log_det_precision_cholesky(
        posterior.precisions_cholesky, n_components, n_features) - 0.5 * n_features * np.log(dof)
    log_wishart = float(np.sum(log_wishart_norm(dof, half_log_det_w, n_features)))
    return (entropy - log_wishart
            - log_dirichlet_norm(posterior.weight_concentration, posterior.weights_prior_type)
            - 0.5 * n_features * float(np.sum(np.log(posterior.mean_precision))))


def elbo_offset(prior: VariationalPrior, n_samples: int) -> float:
    """The constant that :func:`lower_bound` leaves out of the ELBO (Bishop 10.70), which
    for ``full`` covariances is ``lower_bound + elbo_offset`` right after an update of
    :math:`q(\\pi, \\mu, \\Lambda)` (exactly so at ``reg_covar = 0``):

    .. math::

        \\log C(\\alpha_0) + K \\log B(W_0, \\nu_0) + \\tfrac{KD}{2} \\log \\beta_0
        - \\tfrac{ND}{2} \\log 2\\pi + \\tfrac{K D (D - 1)}{4} \\log \\pi

    (the last term is the :math:`\\log \\pi` that :func:`log_wishart_norm` omits; the
    sticks: :math:`\\sum_k \\log \\gamma_k` for :math:`\\log C(\\alpha_0)`).
    """
    kind = covariance_type_of(prior.covariance_type)
    n_components, n_features = prior.n_components, prior.n_features
    # 1/2 log|W_0| with W_0^{-1} = scale (full matrix, or its diagonal / one value).
    scale = kind.to_full(np.broadcast_to(prior.scale, kind.shape(1, n_features)), 1, n_features)[0]
    half_log_det_w0 = -0.5 * np.linalg.slogdet(scale)[1]
    log_pi = 0.25 * n_features * (n_features - 1) * math.log(math.pi)
    prior_wishart = float(log_wishart_norm(prior.dof, half_log_det_w0, n_features)) - log_pi
    alpha = prior.weights_concentration
    if prior.weights_prior_type == "dirichlet_process":
        log_weight_norm = float(np.sum(np.log(alpha)))  # -log B(1, gamma) = log gamma
    else:
        log_weight_norm = log_dirichlet_norm(alpha, prior.weights_prior_type)
    return (log_weight_norm + n_components * prior_wishart
            + 0.5 * n_components * n_features * math.log(prior.shrinkage)
            - 0.5 * n_samples * n_features * LOG_2PI + n_components * log_pi)


def vb_iteration(X: np.ndarray, posterior: VariationalPosterior, reg_covar: float, *,
                 prior: VariationalPrior, engine: str = "fast",
                 chunk_size: int | None = None) -> tuple[float, VariationalPosterior]:
    """One iteration: :math:`q(Z)` from ``posterior``, then :math:`q(\\pi, \\mu, \\Lambda)`.

    Returns
    -------
    lower_bound : float
        :func:`lower_bound` (a total over the samples, not a mean) at the *new* posterior.
    next_posterior : VariationalPosterior
    """
    stats, entropy = scored_statistics(X, posterior, engine, chunk_size)
    updated = posterior_from_statistics(stats, prior, reg_covar)
    return lower_bound(entropy, updated), updated
