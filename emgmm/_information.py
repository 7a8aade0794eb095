"""Unconstrained parameterisation of a Gaussian mixture, its score and observed information.

The parameters are mapped to an unconstrained vector :math:`\\theta \\in \\mathbb R^P`:

- weights by the additive log-ratio :math:`\\eta_k = \\log(w_k / w_K)`, k < K
  (:math:`w = \\operatorname{softmax}(\\eta, 0)`);
- means as they are;
- covariances by the log-Cholesky map: :math:`\\Sigma = L L^T` with the strictly lower
  entries of :math:`L` free and :math:`\\log L_{jj}` on the diagonal (``full``: one per
  component, ``tied``: one); log-variances for ``diag`` and ``spherical``.

The score of observation i (the gradient of :math:`\\log p(x_i \\mid \\theta)`) is, with
responsibilities :math:`\\gamma_{ik}`, residuals :math:`r_{ik} = x_i - \\mu_k`,
:math:`u_{ik} = \\Sigma_k^{-1} r_{ik}` and
:math:`G_{ik} = \\tfrac12 (u_{ik} u_{ik}^T - \\Sigma_k^{-1})`
(the gradient of :math:`\\log \\mathcal N` in :math:`\\Sigma`):

.. math::

    \\frac{\\partial \\ell_i}{\\partial \\eta_j} = \\gamma_{ij} - w_j, \\qquad
    \\frac{\\partial \\ell_i}{\\partial \\mu_k} = \\gamma_{ik} u_{ik}, \\qquad
    \\frac{\\partial \\ell_i}{\\partial L_k} = \\operatorname{tril}(2 \\gamma_{ik} G_{ik} L_k)

(times :math:`L_{jj}` on the diagonal for the log). The observed information
:math:`I(\\hat\\theta) = -\\nabla^2 \\sum_i \\ell_i` is the central finite difference of the
analytic total score.
"""

from __future__ import annotations

import numpy as np

from emgmm.covariance_types import CovarianceType
from emgmm.covariance_types import covariance_type as covariance_type_of
from emgmm.params import GaussianMixtureParams
from emgmm.steps import e_step

# --------------------------------------------------------------------------- log-Cholesky


def log_cholesky(covariance: np.ndarray) -> np.ndarray:
    """Lower-triangle entries (row-major) of the Cholesky factor, log on the diagonal."""
    chol = np.linalg.cholesky(covariance)
    chol[np.diag_indices_from(chol)] = np.log(np.diag(chol))
    return chol[np.tril_indices_from(chol)]


def cholesky_from_log(vector: np.ndarray, n_features: int) -> np.ndarray:
    """Inverse of :func:`log_cholesky`, returning the lower Cholesky factor ``L``."""
    chol = np.zeros((n_features, n_features))
    chol[np.tril_indices(n_features)] = vector
    chol[np.diag_indices(n_features)] = np.exp(np.diag(chol))
    return chol


# --------------------------------------------------------------------------- pack / unpack


def _pack_covariances(params: GaussianMixtureParams) -> np.ndarray:
    kind = params.kind
    if kind.matrix:
        return np.concatenate([log_cholesky(c) for c in kind.stack(params.covariances)])
    return np.log(params.covariances).ravel()


def _unpack_covariances(vector: np.ndarray, kind: CovarianceType, n_components: int,
                        n_features: int) -> np.ndarray:
    if kind.matrix:
        chols = [cholesky_from_log(v, n_features) for v in vector.reshape(kind.n_covariances(n_components), -1)]
        return kind.unstack(np.stack([c @ c.T for c in chols]))
    return np.exp(vector).reshape(kind.shape(n_components, n_features))


def pack(params: GaussianMixtureParams) -> np.ndarray:
    """The unconstrained vector θ = (log-ratio weights, means, log-Cholesky covariances)."""
    log_ratio = np.log(params.weights[:-1]) - np.log(params.weights[-1])
    return np.concatenate([
        log_ratio, params.means.ravel(),
        _pack_covariances(params),
    ])


def unpack(theta: np.ndarray, n_components: int, n_features: int,
           covariance_type: str) -> GaussianMixtureParams:
    """Inverse of :func:`pack`."""
    n_means = n_components * n_features
    logits = np.append(theta[: n_components - 1], 0.0)
    # softmax with the maximum subtracted: no overflow for large log-ratios.
    weights = np.exp(logits - logits.max())
    means = theta[n_components - 1: n_components - 1 + n_means].reshape(n_components, n_features)
    covariances = _unpack_covariances(theta[n_components - 1 + n_means:],
                                      covariance_type_of(covariance_type), n_components, n_features)
    return GaussianMixtureParams(weights / weights.sum(), means, covariances, covariance_type)


def natural_vector(params: GaussianMixtureParams) -> np.ndarray:
    """Weights, means and covariance entries (in the layout of the type), concatenated."""
    return np.concatenate([params.weights, params.means.ravel(), params.covariances.ravel()])


# --------------------------------------------------------------------------- scores


def _covariance_scores_full(resp, residuals, precisions, chols):
    # d log N / d L = tril(2 G L) with 2 G L = u (L^T u)^T - P L, u = P r.
    n_samples, n_components, n_features = residuals.shape
    rows, cols = np.tril_indices(n_features)
    blocks = []
    for k in range(n_components):
        u = residuals[:, k] @ precisions[k]
        grad = u[:, :, None] * (u @ chols[k])[:, None, :] - precisions[k] @ chols[k]
        grad = resp[:, k, None, None] * grad
        grad[:, np.arange(n_features), np.arange(n_features)] *= np.diag(chols[k])
        blocks.append(grad[:, rows, cols])
    return np.concatenate(blocks, axis=1)


def _covariance_scores_tied(resp, residuals, precisions, chols):
    n_features = residuals.shape[2]
    u = residuals @ precisions[0]  # (N, K, D)
    weighted_outer = np.einsum("nk,nkd,nke->nde", resp, u, u)
    grad = (weighted_outer - precisions[0]) @ chols[0]
    grad[:, np.arange(n_features), np.arange(n_features)] *= np.diag(chols[0])
    return grad[:, *np.tril_indices(n_features)]


def _covariance_scores_diag(resp, residuals, variances):
    return (0.5 * resp[:, :, None] * (residuals**2 / variances - 1.0)).reshape(resp.shape[0], -1)


def _covariance_scores_spherical(resp, residuals, variances):
    n_features = residuals.shape[2]
    return 0.5 * resp * (np.sum(residuals**2, axis=2) / variances - n_features)


def observation_scores(X: np.ndarray, params: GaussianMixtureParams) -> np.ndarray:
    """Per-observation gradient of :math:`\\log p(x_i \\mid \\theta)` in :func:`pack` coordinates.

    Returns
    -------
    ndarray of shape (n_samples, n_parameters)
    """
    _, log_resp = e_step(X, params)
    resp = np.exp(log_resp)
    residuals = X[:, None, :] - params.means[None, :, :]  # (N, K, D)
    weight_scores = resp[:, :-1] - params.weights[:-1]
    kind = params.kind
    if kind.matrix:
        covariances = kind.stack(params.covariances)
        chols = np.linalg.cholesky(covariances)
        precisions = np.linalg.inv(covariances)
        per_component = np.repeat(precisions, params.n_components, 0) if kind.shared else precisions
        mean_scores = resp[:, :, None] * np.einsum("nkd,kde->nke", residuals, per_component)
        scorer = _covariance_scores_tied if kind.shared else _covariance_scores_full
        cov_scores = scorer(resp, residuals, precisions, chols)
    elif kind.isotropic:
        mean_scores = resp[:, :, None] * residuals / params.covariances[:, None]
        cov_scores = _covariance_scores_spherical(resp, residuals, params.covariances)
    else:
        mean_scores = resp[:, :, None] * residuals / params.covariances
        cov_scores = _covariance_scores_diag(resp, residuals, params.covariances)
    return np.concatenate(
        [weight_scores, mean_scores.reshape(X.shape[0], -1), cov_scores], axis=1
    )


def observed_information(X: np.ndarray, params: GaussianMixtureParams,
                         step: float = 1e-5) -> np.ndarray:
    """:math:`-\\nabla^2 \\sum_i \\log p(x_i \\mid \\theta)` in :func:`pack` coordinates.

    Central differences of the analytic total score, symmetrised:
    :math:`H_{\\cdot j} \\approx [s(\\theta + h e_j) - s(\\theta - h e_j)] / 2h`.

    Returns
    -------
    ndarray of shape (n_parameters, n_parameters)
    """
    theta = pack(params)
    shape = (params.n_components, params.n_features, params.covariance_type)
    columns = []
    for j in range(theta.size):
        offset = np.zeros_like(theta)
        offset[j] = step
        plus = observation_scores(X, unpack(theta + offset, *shape)).sum(axis=0)
        minus = observation_scores(X, unpack(theta - offset, *shape)).sum(axis=0)
        columns.append((plus - minus) / (2.0 * step))
    hessian = np.stack(columns, axis=1)
    return -0.5 * (hessian + hessian.T)


def outer_product_information(X: np.ndarray, params: GaussianMixtureParams) -> np.ndarray:
    """Empirical (outer-product-of-scores) information :math:`\\sum_i s_i s_i^T`."""
    scores = observation_scores(X, params)
    return scores.T @ scores
