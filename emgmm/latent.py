"""The latent labels Z made explicit: responsibilities, MAP labels, draws, Q and H.

With :math:`z_i \\in \\{1..K\\}` and :math:`p(z_i = k) = \\pi_k`, the complete-data
log-likelihood is :math:`\\log p(X, Z \\mid \\theta) = \\sum_i [\\log \\pi_{z_i} +
\\log \\mathcal{N}(x_i \\mid \\mu_{z_i}, \\Sigma_{z_i})]`. For any responsibilities
:math:`\\gamma` (a distribution over Z per row),

.. math::

    \\log p(X \\mid \\theta) = Q(\\theta, \\gamma) + H(\\gamma)
        + \\sum_i \\mathrm{KL}(\\gamma_i \\,\\|\\, p(z_i \\mid x_i, \\theta)),

so at the E-step's :math:`\\gamma = p(Z \\mid X, \\theta)` the KL term vanishes and
log-lik = Q + H exactly (Bishop 2006, eq. 9.70-9.72).
"""

from __future__ import annotations

import numpy as np

from emgmm.init import one_hot
from emgmm.params import GaussianMixtureParams
from emgmm.steps import e_step, estimate_weighted_log_prob


def responsibilities(X: np.ndarray, params: GaussianMixtureParams) -> np.ndarray:
    """:math:`\\gamma_{ik} = p(z_i = k \\mid x_i, \\theta)`, shape (n_samples, n_components)."""
    return np.exp(e_step(X, params)[1])


def map_labels(resp: np.ndarray) -> np.ndarray:
    """MAP labels :math:`\\hat z_i = \\arg\\max_k \\gamma_{ik}`, shape (n_samples,)."""
    return np.argmax(resp, axis=1)


def sample_latent(resp: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw :math:`z_i \\sim \\mathrm{Categorical}(\\gamma_i)` independently per row.

    Inverse-CDF sampling: one uniform per row compared with the row's cumulative sums
    (:func:`labels_at_uniforms`).

    Returns
    -------
    array of shape (n_samples,) with values in 0..K-1
    """
    resp = np.asarray(resp, dtype=float)
    return labels_at_uniforms(resp, rng.uniform(size=resp.shape[0]))


def labels_at_uniforms(resp: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """The inverse CDF of each row's Categorical(:math:`\\gamma_i`) at :math:`u_i \\in [0, 1)`.

    .. math:: z_i = \\#\\{k : C_{ik} \\le u_i C_{iK}\\}, \\quad
              C_{ik} = \\sum_{l \\le k} \\gamma_{il}
    """
    cumulative = np.cumsum(resp, axis=1)
    labels = np.sum(cumulative <= uniforms[:, None] * cumulative[:, -1:], axis=1)
    # Guard against u landing on the (rounded) upper end of the last bin.
    return np.minimum(labels, resp.shape[1] - 1)


def complete_data_log_likelihood(X: np.ndarray, labels: np.ndarray, params: GaussianMixtureParams) -> float:
    """Complete-data log-likelihood for given labels Z.

    .. math:: \\log p(X, Z \\mid \\theta)
              = \\sum_i \\left[\\log \\pi_{z_i} + \\log \\mathcal{N}(x_i \\mid \\mu_{z_i}, \\Sigma_{z_i})\\right]
    """
    labels = np.asarray(labels)
    if labels.shape != (X.shape[0],) or labels.min() < 0 or labels.max() >= params.n_components:
        raise ValueError(f"labels must be integers in 0..{params.n_components - 1}, one per row of X")
    weighted = estimate_weighted_log_prob(X, params)
    return float(np.sum(weighted[np.arange(X.shape[0]), labels]))


def expected_complete_log_likelihood(
    X: np.ndarray, params: GaussianMixtureParams, resp: np.ndarray
) -> float:
    """The EM auxiliary function :math:`Q(\\theta, \\gamma) = \\sum_i \\sum_k \\gamma_{ik}
    [\\log \\pi_k + \\log \\mathcal{N}(x_i \\mid \\mu_k, \\Sigma_k)]`.

    Equals the mean of :func:`complete_data_log_likelihood` over Z drawn from ``resp``.
    """
    weighted = estimate_weighted_log_prob(X, params)
    # 0 * log 0 counts as 0 (an impossible label contributes nothing).
    return float(np.sum(np.where(resp > 0, resp * weighted, 0.0)))


def responsibility_entropy(resp: np.ndarray) -> float:
    """:math:`H(\\gamma) = -\\sum_i \\sum_k \\gamma_{ik} \\log \\gamma_{ik}` (with 0 log 0 = 0)."""
    resp = np.asarray(resp, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(-np.sum(np.where(resp > 0, resp * np.log(resp), 0.0)))


def log_likelihood_decomposition(X: np.ndarray, params: GaussianMixtureParams) -> tuple[float, float, float]:
    """``(log p(X | theta), Q(theta, gamma), H(gamma))`` at the posterior responsibilities.

    The first equals the sum of the other two up to rounding (module docstring).
    """
    log_norm, log_resp = e_step(X, params)
    resp = np.exp(log_resp)
    return (
        float(np.sum(log_norm)),
        expected_complete_log_likelihood(X, params, resp),
        responsibility_entropy(resp),
    )


__all__ = [
    "complete_data_log_likelihood",
    "expected_complete_log_likelihood",
    "labels_at_uniforms",
    "log_likelihood_decomposition",
    "map_labels",
    "one_hot",
    "responsibilities",
    "responsibility_entropy",
    "sample_latent",
]
