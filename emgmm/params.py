"""Parameters of a Gaussian mixture and their Cholesky-factor representations.

Covariance layouts follow scikit-learn:

============  ==================  =========================================
type          ``covariances``     meaning
============  ==================  =========================================
``full``      (K, D, D)           one full covariance matrix per component
``tied``      (D, D)              one full covariance matrix shared by all
``diag``      (K, D)              per-component diagonal variances
``spherical`` (K,)                per-component single variance
============  ==================  =========================================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

from emgmm.covariance_types import COVARIANCE_TYPES



def covariance_shape(covariance_type: str, n_components: int, n_features: int) -> tuple[int, ...]:
    """Shape of the ``covariances`` array for a covariance type."""
    shapes = {
        "full": (n_components, n_features, n_features),
        "tied": (n_features, n_features),
        "diag": (n_components, n_features),
        "spherical": (n_components,),
    }
    if covariance_type not in shapes:
        raise ValueError(
            f"covariance_type must be one of {COVARIANCE_TYPES}, got {covariance_type!r}"
        )
    return shapes[covariance_type]


def _cholesky_lower(matrix: np.ndarray, what: str) -> np.ndarray:
    try:
        return linalg.cholesky(matrix, lower=True)
    except linalg.LinAlgError:
        raise ValueError(
            f"{what} is not positive definite: increase reg_covar, lower the number of "
            "components, or scale the input data"
        ) from None


def compute_precision_cholesky(covariances: np.ndarray, covariance_type: str) -> np.ndarray:
    """Cholesky factor ``U`` of each precision matrix, with ``U U^T = Sigma^{-1}``.

    For a covariance ``Sigma = L L^T`` (``L`` lower triangular) the factor is
    ``U = L^{-T}``, upper triangular, obtained by a triangular solve, never an explicit
    inverse of ``Sigma``. Then ``(x - mu)^T Sigma^{-1} (x - mu) = ||(x - mu) U||^2`` and
    ``-0.5 log det Sigma = sum log diag(U)``.

    Parameters
    ----------
    covariances : ndarray
        Covariances in the layout of ``covariance_type``.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}

    Returns
    -------
    ndarray
        Same layout as ``covariances``: (K, D, D), (D, D), (K, D) or (K,).
    """
    covariances = np.asarray(covariances, dtype=float)
    if covariance_type == "full":
        out = np.empty_like(covariances)
        for k, cov in enumerate(covariances):
            chol = _cholesky_lower(cov, f"covariance of component {k}")
            out[k] = linalg.solve_triangular(chol, np.eye(cov.shape[0]), lower=True).T
        return out
    if covariance_type == "tied":
        chol = _cholesky_lower(covariances, "tied covariance")
        return linalg.solve_triangular(chol, np.eye(covariances.shape[0]), lower=True).T
    if covariance_type in ("diag", "spherical"):
        if np.any(covariances <= 0.0):
            raise ValueError(
                f"{covariance_type} variances must be positive: increase reg_covar or "
                "lower the number of components"
            )
        return 1.0 / np.sqrt(covariances)
    raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}, got {covariance_type!r}")


def covariances_from_precision_cholesky(
    precisions_cholesky: np.ndarray, covariance_type: str
) -> np.ndarray:
    """Invert :func:`compute_precision_cholesky`: ``Sigma = (U U^T)^{-1}``."""
    prec_chol = np.asarray(precisions_cholesky, dtype=float)
    if covariance_type == "full":
        return np.stack([_covariance_from_upper(u) for u in prec_chol])
    if covariance_type == "tied":
        return _covariance_from_upper(prec_chol)
    if covariance_type in ("diag", "spherical"):
        return 1.0 / prec_chol**2
    raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}, got {covariance_type!r}")


def _covariance_from_upper(upper: np.ndarray) -> np.ndarray:
    # Sigma = (U U^T)^{-1} = U^{-T} U^{-1}; U^{-1} by a triangular solve.
    inv_upper = linalg.solve_triangular(upper, np.eye(upper.shape[0]), lower=False)
    return inv_upper.T @ inv_upper


def full_covariances(
    covariances: np.ndarray, covariance_type: str, n_components: int, n_features: int
) -> np.ndarray:
    """Expand covariances of any type to full matrices of shape (K, D, D)."""
    covariances = np.asarray(covariances, dtype=float)
    expanders = {
        "full": lambda c: c.copy(),
        "tied": lambda c: np.repeat(c[None], n_components, axis=0),
        "diag": lambda c: c[:, :, None] * np.eye(n_features),
        "spherical": lambda c: c[:, None, None] * np.eye(n_features),
    }
    if covariance_type not in expanders:
        raise ValueError(
            f"covariance_type must be one of {COVARIANCE_TYPES}, got {covariance_type!r}"
        )
    return expanders[covariance_type](covariances)


@dataclass(frozen=True)
class GaussianMixtureParams:
    """Parameters theta = (pi, mu, Sigma) of a K-component Gaussian mixture in D dimensions.

    Attributes
    ----------
    weights : ndarray of shape (n_components,)
        Mixing weights pi_k, positive, summing to 1.
    means : ndarray of shape (n_components, n_features)
        Component means mu_k.
    covariances : ndarray
        Covariances in the layout of ``covariance_type`` (see module docstring).
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    covariance_type: str = "full"

    def __post_init__(self) -> None:
        weights = np.asarray(self.weights, dtype=float)
        means = np.asarray(self.means, dtype=float)
        covariances = np.asarray(self.covariances, dtype=float)
        if weights.ndim != 1 or weights.size < 1:
            raise ValueError(f"weights must have shape (n_components,), got {weights.shape}")
        n_components = weights.size
        if means.ndim != 2 or means.shape[0] != n_components:
            raise ValueError(
                f"means must have shape ({n_components}, n_features), got {means.shape}"
            )
        expected = covariance_shape(self.covariance_type, n_components, means.shape[1])
        if covariances.shape != expected:
            raise ValueError(
                f"{self.covariance_type} covariances must have shape {expected}, "
                f"got {covariances.shape}"
            )
        for name, value in (("weights", weights), ("means", means), ("covariances", covariances)):
            if not np.all(np.isfinite(value)):
                raise ValueError(f"{name} contain NaN or infinity")
        if np.any(weights < 0) or not np.isclose(weights.sum(), 1.0, rtol=0, atol=1e-8):
            raise ValueError(f"weights must be non-negative and sum to 1, got sum {weights.sum()}")
        for name, value in (("weights", weights), ("means", means), ("covariances", covariances)):
            value.setflags(write=False)
            object.__setattr__(self, name, value)

    @property
    def n_components(self) -> int:
        return self.weights.shape[0]

    @property
    def n_features(self) -> int:
        return self.means.shape[1]

    @property
    def precisions_cholesky(self) -> np.ndarray:
        """Cholesky factors of the precisions (see :func:`compute_precision_cholesky`)."""
        return compute_precision_cholesky(self.covariances, self.covariance_type)

    def full_covariances(self) -> np.ndarray:
        """Covariances expanded to full matrices, shape (n_components, n_features, n_features)."""
        return full_covariances(
            self.covariances, self.covariance_type, self.n_components, self.n_features
        )

    def permuted(self, order: np.ndarray) -> "GaussianMixtureParams":
        """The same mixture with components reordered as ``order``."""
        order = np.asarray(order)
        covariances = self.covariances if self.covariance_type == "tied" else self.covariances[order]
        return GaussianMixtureParams(
            self.weights[order], self.means[order], covariances, self.covariance_type
        )
