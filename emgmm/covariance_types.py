"""The covariance types of a Gaussian mixture: the one place that lists them.

Each type is a :class:`CovarianceType` in ``_REGISTRY``; the rest of emgmm asks it for
what depends on the type (array shapes, parameter count, expansion to full matrices, the
Cholesky factor of the precision, the M-step covariance from a scatter, the MAP-EM update
under the conjugate prior, ...) through :func:`covariance_type` and never compares names.
Layouts follow scikit-learn:

============  ==================  ============================================  =========
type          ``covariances``     meaning                                       scatter
============  ==================  ============================================  =========
``full``      (K, D, D)           one full covariance matrix per component      matrices
``tied``      (D, D)              one full covariance matrix shared by all      matrices
``diag``      (K, D)              per-component diagonal variances              diagonals
``spherical`` (K,)                per-component single variance                 diagonals
============  ==================  ============================================  =========

"scatter" is what the M-step needs of :math:`C_k = \\sum_i \\gamma_{ik} (x_i - \\mu_k)
(x_i - \\mu_k)^T`: the matrices, or only their diagonals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import linalg

from emgmm.triangular import triangular_inverse


def _cholesky_lower(matrix: np.ndarray, what: str) -> np.ndarray:
    try:
        return linalg.cholesky(matrix, lower=True)
    except linalg.LinAlgError:
        raise ValueError(
            f"{what} is not positive definite: increase reg_covar, lower the number of "
            "components, or scale the input data"
        ) from None


def _precision_factor(covariance: np.ndarray, what: str) -> np.ndarray:
    # U = L^{-T} for Sigma = L L^T, from the triangular L: never an explicit inverse of Sigma.
    return triangular_inverse(_cholesky_lower(covariance, what), lower=True).T


def _covariance_from_upper(upper: np.ndarray) -> np.ndarray:
    # Sigma = (U U^T)^{-1} = U^{-T} U^{-1}, with U^{-1} of the triangular U.
    inv_upper = triangular_inverse(upper, lower=False)
    return inv_upper.T @ inv_upper


def _smallest_pivots(matrices: np.ndarray) -> np.ndarray:
    try:  # one batched factorisation when all are positive definite (EM's usual case)
        return np.min(np.diagonal(np.linalg.cholesky(matrices), axis1=1, axis2=2) ** 2, axis=1)
    except np.linalg.LinAlgError:
        pass
    # A failed Cholesky means not positive definite: report a pivot of -inf.
    pivots = np.empty(matrices.shape[0])
    for k, matrix in enumerate(matrices):
        try:
            pivots[k] = np.min(np.diag(np.linalg.cholesky(matrix)) ** 2)
        except np.linalg.LinAlgError:
            pivots[k] = -np.inf
    return pivots


def add_to_diagonal(matrices: np.ndarray, value: float) -> np.ndarray:
    """``matrices`` (..., D, D) with ``value`` added to every diagonal entry, in place."""
    size = matrices.shape[-1]
    if matrices.flags.c_contiguous:  # the diagonal as a strided view: no index arrays
        matrices.reshape(-1, size * size)[:, :: size + 1] += value
    else:
        matrices[..., np.arange(size), np.arange(size)] += value
    return matrices


@dataclass(frozen=True)
class CovarianceType:
    """Everything that depends on the covariance type.

    Attributes
    ----------
    name : str
    matrix : bool
        Covariances are full matrices (``full``, ``tied``), not variances.
    shared : bool
        One covariance for all components (``tied``).
    n_covariances : Callable (K) -> int
        Number of distinct covariances stored (K, or 1 when shared).
    component_shape : Callable (D) -> tuple
        Shape of one stored covariance: (D, D), (D,) or ().
    n_parameters : Callable (K, D) -> int
        Free covariance parameters.
    from_scatter : Callable (scatter, guarded_counts, reg_covar) -> covariances
        The maximum-likelihood M-step: :math:`\\Sigma_k = C_k / \\tilde N_k + \\varepsilon I`
        (``tied``: :math:`\\sum_k C_k / \\sum_k \\tilde N_k + \\varepsilon I`; ``diag``: the
        diagonal; ``spherical``: the mean of the diagonal), from ``scatter`` (K, D, D) or
        (K, D) as :attr:`matrix` says.
    map_from_scatter : Callable (scale, scatter, counts, D, K, dof) -> covariances
        The MAP-EM covariance update (mode of the conjugate posterior) from
        :math:`\\Psi` and the scatter :math:`S_k + B_k` (:mod:`emgmm.map_em`).
    prior_dof_offset : Callable (K, D) -> float
        :math:`c` in the MAP denominator :math:`\\nu + n + c`, and in the log-prior's
        :math:`-\\tfrac{\\nu + c}{2}\\log|\\Sigma|`; ``dof = -c`` is the flat limit.
    reseeded : Callable (variances (D,)) -> one component's covariance, or None when shared
    min_count : Callable (D) -> float
        Points a component needs to estimate its own covariance without the ridge: fewer
        make the fit degenerate (:mod:`emgmm.degenerate`).
    """

    name: str
    matrix: bool
    shared: bool
    from_scatter: Callable
    map_from_scatter: Callable
    prior_dof_offset: Callable[[int, int], float]
    n_parameters: Callable[[int, int], int]
    reseeded: Callable | None
    min_count: Callable[[int], float]

    # --- shapes -------------------------------------------------------------------------

    @property
    def isotropic(self) -> bool:
        """One variance per component (``spherical``)."""
        return self.name == "spherical"

    def n_covariances(self, n_components: int) -> int:
        return 1 if self.shared else n_components

    def component_shape(self, n_features: int) -> tuple[int, ...]:
        if self.matrix:
            return (n_features, n_features)
        return () if self.isotropic else (n_features,)

    def shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        """Shape of the ``covariances`` array."""
        leading = () if self.shared else (n_components,)
        return leading + self.component_shape(n_features)

    def stack(self, covariances: np.ndarray) -> np.ndarray:
        """Matrix types: the stored matrices as (n_covariances, D, D) (a view)."""
        return covariances[None] if self.shared else covariances

    def unstack(self, stacked: np.ndarray) -> np.ndarray:
        return stacked[0] if self.shared else stacked

    def per_feature(self, values: np.ndarray, n_features: int) -> np.ndarray:
        """Variance types: an array in the layout of the type (variances, or their precision
        factors) as (K, D) per-feature values (``spherical`` repeated over D)."""
        if self.isotropic:
            return np.repeat(values[:, None], n_features, axis=1)
        return values

    def to_full(self, covariances: np.ndarray, n_components: int, n_features: int) -> np.ndarray:
        """Covariances expanded to full matrices of shape (K, D, D) (a new array)."""
        covariances = np.asarray(covariances, dtype=float)
        if self.matrix:
            return np.repeat(covariances[None], n_components, axis=0) if self.shared else covariances.copy()
        return self.per_feature(covariances, n_features)[:, :, None] * np.eye(n_features)

    def from_full(self, matrix: np.ndarray) -> np.ndarray:
        """One (D, D) matrix in the layout of one covariance of this type (diagonal, mean)."""
        if self.matrix:
            return matrix
        diagonal = np.diag(matrix).copy()
        return np.asarray(np.mean(diagonal)) if self.isotropic else diagonal

    # --- precisions ---------------------------------------------------------------------

    def precision_cholesky(self, covariances: np.ndarray) -> np.ndarray:
        """Cholesky factor ``U`` of each precision, ``U U^T = Sigma^{-1}``, same layout.

        ``U = L^{-T}`` for ``Sigma = L L^T``; then ``(x - mu)^T Sigma^{-1} (x - mu) =
        ||(x - mu) U||^2`` and ``-0.5 log det Sigma = sum log diag(U)``.
        """
        covariances = np.asarray(covariances, dtype=float)
        if self.matrix:
            stacked = self.stack(covariances)
            what = ["tied covariance"] if self.shared else [
                f"covariance of component {k}" for k in range(stacked.shape[0])]
            return self.unstack(np.stack([_precision_factor(c, w) for c, w in zip(stacked, what)]))
        if np.any(covariances <= 0.0):
            raise ValueError(
                f"{self.name} variances must be positive: increase reg_covar or "
                "lower the number of components"
            )
        return 1.0 / np.sqrt(covariances)

    def covariances_from_precision_cholesky(self, precisions_cholesky: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`precision_cholesky`: ``Sigma = (U U^T)^{-1}``."""
        prec_chol = np.asarray(precisions_cholesky, dtype=float)
        if self.matrix:
            return self.unstack(np.stack([_covariance_from_upper(u) for u in self.stack(prec_chol)]))
        return 1.0 / prec_chol**2

    def precisions_from_cholesky(self, precisions_cholesky: np.ndarray) -> np.ndarray:
        """Precisions ``Sigma^{-1} = U U^T`` from the stored factor (no inverse)."""
        if self.matrix:
            stacked = self.stack(precisions_cholesky)
            return self.unstack(np.einsum("kij,klj->kil", stacked, stacked))
        return precisions_cholesky**2

    def covariances_from_precisions(self, precisions: np.ndarray) -> np.ndarray:
        """Covariances from precisions (scikit-learn's ``precisions_init`` layout)."""
        precisions = np.asarray(precisions, dtype=float)
        if not self.matrix:
            if np.any(precisions <= 0):
                raise ValueError(f"{self.name} precisions_init must be positive")
            return 1.0 / precisions
        try:
            factors = [linalg.cho_factor(p, lower=True) for p in self.stack(precisions)]
        except linalg.LinAlgError:
            raise ValueError("precisions_init must be symmetric positive definite") from None
        # Sigma = P^{-1} by two triangular solves against the identity with P's Cholesky factor.
        identity = np.eye(precisions.shape[-1])
        covariances = np.stack([linalg.cho_solve(factor, identity) for factor in factors])
        return self.unstack(0.5 * (covariances + np.swapaxes(covariances, -1, -2)))  # exact symmetry

    def log_det_precision_cholesky(self, precisions_cholesky: np.ndarray, n_components: int,
                                   n_features: int) -> np.ndarray:
        """:math:`\\sum_j \\log U_{k,jj} = -\\tfrac12 \\log\\det\\Sigma_k`, shape (K,)."""
        if self.matrix:
            per_matrix = np.log(np.diagonal(self.stack(precisions_cholesky), axis1=1, axis2=2)).sum(axis=1)
            return np.full(n_components, per_matrix[0]) if self.shared else per_matrix
        if self.isotropic:
            return n_features * np.log(precisions_cholesky)
        return np.log(precisions_cholesky).sum(axis=1)

    # --- collapse -----------------------------------------------------------------------

    def smallest_variances(self, covariances: np.ndarray) -> np.ndarray:
        """Smallest conditional variance (squared Cholesky pivot) per stored covariance."""
        if self.matrix:
            return _smallest_pivots(self.stack(covariances))
        return covariances if self.isotropic else np.min(covariances, axis=1)


_REGISTRY: dict[str, CovarianceType] = {
    kind.name: kind
    for kind in (
        CovarianceType(
            name="full", matrix=True, shared=False,
            from_scatter=lambda scatter, nk, reg: add_to_diagonal(scatter / nk[:, None, None], reg),
            map_from_scatter=lambda psi, scatter, nk, d, k, nu:
                (psi + scatter) / (nu + nk + d + 2.0)[:, None, None],
            prior_dof_offset=lambda k, d: d + 2.0,
            n_parameters=lambda k, d: k * d * (d + 1) // 2,
            reseeded=np.diag,
            min_count=lambda d: d + 1.0,  # the scatter of fewer than D + 1 points is singular
        ),
        CovarianceType(
            name="tied", matrix=True, shared=True,
            from_scatter=lambda scatter, nk, reg: add_to_diagonal(scatter.sum(axis=0) / nk.sum(), reg),
            map_from_scatter=lambda psi, scatter, nk, d, k, nu:
                (psi + scatter.sum(axis=0)) / (nu + nk.sum() + d + 1.0 + k),
            prior_dof_offset=lambda k, d: d + 1.0 + k,
            n_parameters=lambda k, d: d * (d + 1) // 2,
            reseeded=None,  # the shared covariance is not re-seeded per component
            min_count=lambda d: 1.0,  # only the mean is the component's own
        ),
        CovarianceType(
            name="diag", matrix=False, shared=False,
            from_scatter=lambda scatter, nk, reg: scatter / nk[:, None] + reg,
            map_from_scatter=lambda psi, scatter, nk, d, k, nu: (psi + scatter) / (nu + nk + 3.0)[:, None],
            prior_dof_offset=lambda k, d: 3.0,
            n_parameters=lambda k, d: k * d,
            reseeded=lambda variances: variances,
            min_count=lambda d: 2.0,  # one point has no spread
        ),
        CovarianceType(
            name="spherical", matrix=False, shared=False,
            # the mean over features as np.mean computes it (sum, then divide), without its wrapper
            from_scatter=lambda scatter, nk, reg: (scatter / nk[:, None] + reg).sum(axis=1) / scatter.shape[1],
            map_from_scatter=lambda psi, scatter, nk, d, k, nu:
                (psi + scatter.sum(axis=1)) / (nu + nk * d + d + 2.0),
            prior_dof_offset=lambda k, d: d + 2.0,
            n_parameters=lambda k, d: k,
            reseeded=np.mean,
            min_count=lambda d: 2.0,
        ),
    )
}

COVARIANCE_TYPES = tuple(_REGISTRY)


def covariance_type(name: str) -> CovarianceType:
    """The :class:`CovarianceType` called ``name``; ValueError naming the valid ones."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}, got {name!r}") from None
