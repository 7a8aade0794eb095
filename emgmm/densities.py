"""Gaussian log-densities through Cholesky factors, and the ML estimate of one Gaussian.

No explicit inverse or determinant is ever formed. With a covariance ``Sigma = L L^T``
(``L`` lower triangular) the Mahalanobis term is ``||L^{-1}(x - mu)||^2`` (a triangular
solve) and ``log det Sigma = 2 sum_j log L_jj``. The mixture code stores the Cholesky
factor ``U`` of the *precision* instead (:func:`emgmm.params.compute_precision_cholesky`),
for which

.. math::

    \\log \\mathcal{N}(x \\mid \\mu_k, \\Sigma_k)
      = -\\tfrac12 \\left(D \\log 2\\pi + \\lVert (x - \\mu_k) U_k \\rVert^2\\right)
        + \\sum_j \\log (U_k)_{jj}.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from emgmm.covariance_types import CovarianceType
from emgmm.covariance_types import covariance_type as covariance_type_of

LOG_2PI = np.log(2.0 * np.pi)


def log_normal_pdf(x: np.ndarray, mean: float, variance: float) -> np.ndarray:
    """Univariate Gaussian log-density.

    .. math:: \\log \\mathcal{N}(x \\mid \\mu, \\sigma^2)
              = -\\tfrac12 \\left(\\log 2\\pi + \\log \\sigma^2 + (x - \\mu)^2 / \\sigma^2\\right)

    Parameters
    ----------
    x : array_like
        Points, any shape.
    mean, variance : float
        Mean and (positive) variance.
    """
    if not variance > 0:
        raise ValueError(f"variance must be positive, got {variance}")
    x = np.asarray(x, dtype=float)
    return -0.5 * (LOG_2PI + np.log(variance) + (x - mean) ** 2 / variance)


def log_multivariate_normal_pdf(X: np.ndarray, mean: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    """Multivariate Gaussian log-density of each row of ``X`` via the Cholesky factor of Sigma.

    .. math:: \\log \\mathcal{N}(x \\mid \\mu, \\Sigma) = -\\tfrac12 \\left(D \\log 2\\pi
              + 2 \\sum_j \\log L_{jj} + \\lVert L^{-1} (x - \\mu) \\rVert^2 \\right),
              \\quad \\Sigma = L L^T

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    mean : array of shape (n_features,)
    covariance : array of shape (n_features, n_features), positive definite

    Returns
    -------
    array of shape (n_samples,)
    """
    X = np.atleast_2d(np.asarray(X, dtype=float))
    try:
        chol = linalg.cholesky(np.asarray(covariance, dtype=float), lower=True)
    except linalg.LinAlgError:
        raise ValueError("covariance is not positive definite: add a small ridge to it") from None
    # Whitened residuals z = L^{-1} (x - mu) by one triangular solve for all rows.
    whitened = linalg.solve_triangular(chol, (X - mean).T, lower=True)
    log_det = 2.0 * np.sum(np.log(np.diag(chol)))
    return -0.5 * (X.shape[1] * LOG_2PI + log_det + np.sum(whitened**2, axis=0))


def gaussian_ml_estimate(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood mean and (biased) covariance of one Gaussian.

    .. math:: \\hat\\mu = \\frac1N \\sum_i x_i, \\qquad
              \\hat\\Sigma = \\frac1N \\sum_i (x_i - \\hat\\mu)(x_i - \\hat\\mu)^T

    This is EM with K = 1 in closed form (every responsibility equals 1).

    Returns
    -------
    mean : array of shape (n_features,)
    covariance : array of shape (n_features, n_features)
    """
    X = np.atleast_2d(np.asarray(X, dtype=float))
    mean = X.mean(axis=0)
    centered = X - mean
    return mean, centered.T @ centered / X.shape[0]


# --- log N(x_i | mu_k, Sigma_k) for any covariance type


def _squared_norms(rows: np.ndarray) -> np.ndarray:
    # Row-wise |y|^2 in one pass, without the (N, D) temporary of y ** 2.
    return np.einsum("ij,ij->i", rows, rows)


def _squared_mahalanobis(X: np.ndarray, means: np.ndarray, prec_chol: np.ndarray,
                         kind: CovarianceType) -> np.ndarray:
    """:math:`\\lVert (x_i - \\mu_k) U_k \\rVert^2`, array of shape (n_samples, n_components)."""
    out = np.empty((X.shape[0], means.shape[0]))
    if kind.matrix:
        factors = kind.stack(prec_chol)
        for k, mu in enumerate(means):
            # y = (x - mu) U, so |y|^2 is the Mahalanobis distance; no inverse needed.
            out[:, k] = _squared_norms((X - mu) @ factors[0 if kind.shared else k])
    elif kind.isotropic:  # one scale per component
        for k, (mu, scale) in enumerate(zip(means, prec_chol)):
            out[:, k] = _squared_norms(X - mu) * scale**2
    else:
        for k, (mu, scale) in enumerate(zip(means, prec_chol)):
            # Residuals are formed before squaring: no E[x^2] - mu^2 cancellation.
            out[:, k] = _squared_norms((X - mu) * scale)
    return out


def estimate_log_gaussian_prob(
    X: np.ndarray, means: np.ndarray, precisions_cholesky: np.ndarray, covariance_type: str
) -> np.ndarray:
    """``log N(x_i | mu_k, Sigma_k)`` for every sample i and component k.

    .. math:: \\log \\mathcal{N}(x_i \\mid \\mu_k, \\Sigma_k)
              = -\\tfrac12 \\left(D \\log 2\\pi + \\lVert (x_i - \\mu_k) U_k \\rVert^2\\right)
              + \\sum_j \\log (U_k)_{jj}, \\qquad U_k U_k^T = \\Sigma_k^{-1}

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    means : array of shape (n_components, n_features)
    precisions_cholesky : array
        Cholesky factors of the precisions in the layout of ``covariance_type``:
        (K, D, D), (D, D), (K, D) or (K,).
    covariance_type : {'full', 'tied', 'diag', 'spherical'}

    Returns
    -------
    array of shape (n_samples, n_components)
    """
    kind = covariance_type_of(covariance_type)
    X = np.asarray(X, dtype=float)
    means = np.asarray(means, dtype=float)
    prec_chol = np.asarray(precisions_cholesky, dtype=float)
    squared = _squared_mahalanobis(X, means, prec_chol, kind)
    log_det = kind.log_det_precision_cholesky(prec_chol, means.shape[0], X.shape[1])
    # -0.5 log det(Sigma) becomes + sum log diag(U).
    return -0.5 * (X.shape[1] * LOG_2PI + squared) + log_det
