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

from collections.abc import Callable

import numpy as np

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


def n_covariance_parameters(covariance_type: str, n_components: int, n_features: int) -> int:
    """Free parameters of the covariances: K D(D+1)/2, D(D+1)/2, K D or K."""
    triangle = n_features * (n_features + 1) // 2
    return {"full": n_components * triangle, "tied": triangle,
            "diag": n_components * n_features, "spherical": n_components}[covariance_type]


# --------------------------------------------------------------------------- pack / unpack


_PACK_COVARIANCES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "full": lambda c: np.concatenate([log_cholesky(s) for s in c]),
    "tied": log_cholesky,
    "diag": lambda c: np.log(c).ravel(),
    "spherical": np.log,
}


def _unpack_full(vector, n_components, n_features):
    chols = [cholesky_from_log(v, n_features) for v in vector.reshape(n_components, -1)]
    return np.stack([c @ c.T for c in chols])


_UNPACK_COVARIANCES: dict[str, Callable] = {
    "full": _unpack_full,
    "tied": lambda v, k, d: (lambda c: c @ c.T)(cholesky_from_log(v, d)),
    "diag": lambda v, k, d: np.exp(v).reshape(k, d),
    "spherical": lambda v, k, d: np.exp(v),
}


def pack(params: GaussianMixtureParams) -> np.ndarray:
    """The unconstrained vector θ = (log-ratio weights, means, log-Cholesky covariances)."""
    log_ratio = np.log(params.weights[:-1]) - np.log(params.weights[-1])
    return np.concatenate([
        log_ratio, params.means.ravel(),
        np.atleast_1d(_PACK_COVARIANCES[params.covariance_type](params.covariances)),
    ])


def unpack(theta: np.ndarray, n_components: int, n_features: int,
           covariance_type: str) -> GaussianMixtureParams:
    """Inverse of :func:`pack`."""
    n_means = n_components * n_features
    logits = np.append(theta[: n_components - 1], 0.0)
    # softmax with the maximum subtracted: no overflow for large log-ratios.
    weights = np.exp(logits - logits.max())
    means = theta[n_components - 1: n_components - 1 + n_means].reshape(n_components, n_features)
    covariances = _UNPACK_COVARIANCES[covariance_type](
        theta[n_components - 1 + n_means:], n_components, n_features
    )
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
    kind = params.covariance_type
    if kind in ("full", "tied"):
        covariances = params.covariances if kind == "full" else params.covariances[None]
        chols = np.linalg.cholesky(covariances)
        precisions = np.linalg.inv(covariances)
        per_component = (precisions if kind == "full"
                         else np.repeat(precisions, params.n_components, 0))
        mean_scores = resp[:, :, None] * np.einsum("nkd,kde->nke", residuals, per_component)
        scorer = _covariance_scores_full if kind == "full" else _covariance_scores_tied
        cov_scores = scorer(resp, residuals, precisions, chols)
    else:
        variances = params.covariances if kind == "diag" else params.covariances[:, None]
        mean_scores = resp[:, :, None] * residuals / variances
        scorer = _covariance_scores_diag if kind == "diag" else _covariance_scores_spherical
        cov_scores = scorer(resp, residuals, variances if kind == "diag" else params.covariances)
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
