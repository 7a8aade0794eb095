"""Parameters of a Gaussian mixture and their Cholesky-factor representations.

Covariance layouts follow scikit-learn (table in :mod:`emgmm.covariance_types`):
(K, D, D) ``full``, (D, D) ``tied``, (K, D) ``diag``, (K,) ``spherical``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from emgmm.covariance_types import COVARIANCE_TYPES, CovarianceType
from emgmm.covariance_types import covariance_type as covariance_type_of

__all__ = [
    "COVARIANCE_TYPES",
    "GaussianMixtureParams",
    "compute_precision_cholesky",
    "covariance_shape",
    "covariances_from_precision_cholesky",
    "full_covariances",
]


def covariance_shape(covariance_type: str, n_components: int, n_features: int) -> tuple[int, ...]:
    """Shape of the ``covariances`` array for a covariance type."""
    return covariance_type_of(covariance_type).shape(n_components, n_features)


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
    return covariance_type_of(covariance_type).precision_cholesky(covariances)


def covariances_from_precision_cholesky(
    precisions_cholesky: np.ndarray, covariance_type: str
) -> np.ndarray:
    """Invert :func:`compute_precision_cholesky`: ``Sigma = (U U^T)^{-1}``."""
    return covariance_type_of(covariance_type).covariances_from_precision_cholesky(precisions_cholesky)


def full_covariances(
    covariances: np.ndarray, covariance_type: str, n_components: int, n_features: int
) -> np.ndarray:
    """Expand covariances of any type to full matrices of shape (K, D, D)."""
    return covariance_type_of(covariance_type).to_full(covariances, n_components, n_features)


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
        # One sum per array is finite exactly when every entry is, unless finite entries
        # overflow it: only then (or when some entry is not finite) look entry by entry.
        if not math.isfinite(weights.sum() + means.sum() + covariances.sum()):
            for name, value in (("weights", weights), ("means", means),
                                ("covariances", covariances)):
                if not np.all(np.isfinite(value)):
                    raise ValueError(f"{name} contain NaN or infinity")
        if weights.min() < 0 or not abs(weights.sum() - 1.0) <= 1e-8:
            raise ValueError(f"weights must be non-negative and sum to 1, got sum {weights.sum()}")
        for name, value in (("weights", weights), ("means", means), ("covariances", covariances)):
            value.setflags(write=False)
            object.__setattr__(self, name, value)

    @property
    def kind(self) -> CovarianceType:
        """The :class:`emgmm.covariance_types.CovarianceType` of ``covariance_type``."""
        return covariance_type_of(self.covariance_type)

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
        covariances = self.covariances if self.kind.shared else self.covariances[order]
        return GaussianMixtureParams(
            self.weights[order], self.means[order], covariances, self.covariance_type
        )
