"""Pairwise overlap of Gaussian mixture components in the sense of MixSim.

The overlap of components :math:`i` and :math:`j` (Maitra and Melnykov 2010; Melnykov,
Chen and Maitra 2012) is the sum of the two misclassification probabilities

.. math::

    \\omega_{ij} = \\omega_{i|j} + \\omega_{j|i}, \\qquad
    \\omega_{j|i} = P\\left[\\pi_i \\phi(X; \\mu_i, \\Sigma_i)
                         < \\pi_j \\phi(X; \\mu_j, \\Sigma_j) \\mid X \\sim N(\\mu_i, \\Sigma_i)\\right].

Writing :math:`X = \\mu_i + L_i Z` with :math:`\\Sigma_i = L_i L_i^T`, :math:`Z \\sim N(0, I)`,
and :math:`L_i^T \\Sigma_j^{-1} L_i = V \\operatorname{diag}(\\lambda) V^T`,
:math:`m = V^T L_i^{-1} (\\mu_i - \\mu_j)`, :math:`W = V^T Z`, the event is

.. math::

    \\sum_l (\\lambda_l - 1) W_l^2 + 2 \\lambda_l m_l W_l + \\lambda_l m_l^2
    < 2 \\log(\\pi_j / \\pi_i) + \\log|\\Sigma_i| - \\log|\\Sigma_j|,

the CDF of a quadratic form in independent standard normals (a linear combination of
noncentral chi-square(1) variables plus a normal term), computed exactly up to quadrature
error by :func:`experiments.simulate.quadform.quadratic_form_cdf` (Imhof's inversion).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import linalg, optimize

from experiments.simulate.quadform import QuadraticForm, quadratic_form_cdf

OverlapKind = Literal["average", "max"]

_LARGEST_LOG_SCALE = 16 * math.log(10.0)  # covariances 1e16 times larger: means irrelevant


class UnreachableOverlapError(ValueError):
    """The target overlap exceeds what scaling the covariances can give.

    Attributes
    ----------
    kind : str
    target : float
    reachable : float
        Overlap at the largest scale tried (covariances :math:`10^{16}` times larger), which
        approximates the supremum over scales.
    """

    def __init__(self, kind: str, target: float, reachable: float):
        super().__init__(
            f"overlap: the target {kind} overlap {target} cannot be reached: with these "
            f"covariances it stays below {reachable:.3g} however large they are; lower the "
            "target or make the covariances equal"
        )
        self.kind, self.target, self.reachable = kind, target, reachable


@dataclass(frozen=True)
class Overlap:
    """Overlap of all component pairs of a mixture.

    Attributes
    ----------
    pairwise : ndarray of shape (n_components, n_components)
        :math:`\\omega_{ij}`, symmetric with a zero diagonal.
    misclassification : ndarray of shape (n_components, n_components)
        :math:`\\omega_{j|i}` in row ``i``, column ``j``.
    average : float
        Mean of :math:`\\omega_{ij}` over the :math:`K(K-1)/2` pairs (MixSim's BarOmega);
        0 for a single component.
    maximum : float
        Largest :math:`\\omega_{ij}` (MixSim's MaxOmega); 0 for a single component.
    error : float
        Largest absolute quadrature error estimate of any :math:`\\omega_{ij}`.
    """

    pairwise: np.ndarray
    misclassification: np.ndarray
    average: float
    maximum: float
    error: float

    def of_kind(self, kind: OverlapKind) -> float:
        """The summary named by ``kind`` ("average" or "max")."""
        return {"average": self.average, "max": self.maximum}[kind]


# ---------------------------------------------------------------------------------------
# Misclassification probabilities and overlap
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PairGeometry:
    """Scale-free pieces of :math:`\\omega_{j|i}`: with all covariances multiplied by
    :math:`s`, :math:`a` and the threshold are unchanged, :math:`b \\propto s^{-1/2}` and
    the constant :math:`\\sum \\lambda m^2 \\propto s^{-1}`."""

    a: np.ndarray
    b: np.ndarray
    constant: float
    threshold: float


def _pair_geometry(
    weight_i: float, mean_i: np.ndarray, chol_i: np.ndarray,
    weight_j: float, mean_j: np.ndarray, chol_j: np.ndarray,
) -> _PairGeometry:
    """Reduce :math:`\\omega_{j|i}` to :math:`P(\\sum a W^2 + b W + c < y)`."""
    # L_j^{-1} L_i: its Gram matrix L_i^T S_j^{-1} L_i has the eigenvalues lambda.
    whitened = linalg.solve_triangular(chol_j, chol_i, lower=True)
    _, singular, vt = np.linalg.svd(whitened)
    eigenvalues = singular**2
    shift = vt @ linalg.solve_triangular(chol_i, mean_i - mean_j, lower=True)
    log_det_i = 2.0 * np.sum(np.log(np.diag(chol_i)))
    log_det_j = 2.0 * np.sum(np.log(np.diag(chol_j)))
    return _PairGeometry(
        a=eigenvalues - 1.0,
        b=2.0 * eigenvalues * shift,
        constant=float(np.sum(eigenvalues * shift**2)),
        threshold=float(2.0 * math.log(weight_j / weight_i) + log_det_i - log_det_j),
    )


def _misclassification_at_scale(pair: _PairGeometry, scale: float) -> tuple[float, float]:
    """:math:`\\omega_{j|i}` when every covariance is multiplied by ``scale``."""
    form = QuadraticForm(a=pair.a, b=pair.b / math.sqrt(scale))
    return quadratic_form_cdf(form, pair.threshold - pair.constant / scale)


def _all_pairs(weights, means, covariances) -> dict[tuple[int, int], _PairGeometry]:
    """Geometry of every ordered pair ``(i, j)``, ``i != j``."""
    weights, means, covariances = _checked_mixture(weights, means, covariances)
    chols = [np.linalg.cholesky(c) for c in covariances]
    k = len(weights)
    return {
        (i, j): _pair_geometry(weights[i], means[i], chols[i], weights[j], means[j], chols[j])
        for i in range(k)
        for j in range(k)
        if i != j
    }


def _checked_mixture(weights, means, covariances):
    """Arrays of shapes (K,), (K, D), (K, D, D), or ValueError."""
    weights = np.asarray(weights, dtype=float)
    means = np.asarray(means, dtype=float)
    covariances = np.asarray(covariances, dtype=float)
    k = weights.shape[0] if weights.ndim == 1 else -1
    if means.ndim != 2 or means.shape[0] != k:
        raise ValueError(f"means: expected shape (K, D) with K = {k}, got {means.shape}")
    d = means.shape[1]
    if covariances.shape != (k, d, d):
        raise ValueError(f"covariances: expected shape {(k, d, d)}, got {covariances.shape}")
    if np.any(weights <= 0):
        raise ValueError("weights: every weight must be positive")
    return weights, means, covariances


def _overlap_from_pairs(pairs: dict[tuple[int, int], _PairGeometry], k: int, scale: float) -> Overlap:
    """Assemble :class:`Overlap` from the pair geometries at a covariance scale."""
    misclassification = np.zeros((k, k))
    error = 0.0
    for (i, j), pair in pairs.items():
        misclassification[i, j], pair_error = _misclassification_at_scale(pair, scale)
        error = max(error, pair_error)
    pairwise = misclassification + misclassification.T
    upper = pairwise[np.triu_indices(k, 1)]
    return Overlap(
        pairwise=pairwise,
        misclassification=misclassification,
        average=float(upper.mean()) if upper.size else 0.0,
        maximum=float(upper.max()) if upper.size else 0.0,
        error=2.0 * error,
    )


def misclassification_probability(
    weight_i: float, mean_i, covariance_i, weight_j: float, mean_j, covariance_j
) -> tuple[float, float]:
    """:math:`\\omega_{j|i}`: probability that a point of component ``i`` is assigned to ``j``.

    Returns the probability and its absolute quadrature error estimate.
    """
    pair = _pair_geometry(
        weight_i, np.asarray(mean_i, float), np.linalg.cholesky(covariance_i),
        weight_j, np.asarray(mean_j, float), np.linalg.cholesky(covariance_j),
    )
    return _misclassification_at_scale(pair, 1.0)


def mixture_overlap(weights, means, covariances) -> Overlap:
    """Pairwise overlap :math:`\\omega_{ij}` of a Gaussian mixture and its summaries.

    Parameters
    ----------
    weights : array of shape (n_components,)
    means : array of shape (n_components, n_features)
    covariances : array of shape (n_components, n_features, n_features)
        Full covariance matrices.
    """
    pairs = _all_pairs(weights, means, covariances)
    return _overlap_from_pairs(pairs, len(weights), 1.0)


def supremum_overlap(means, covariances, weights, kind: OverlapKind = "average") -> float:
    """The overlap as all covariances grow without bound (evaluated at :math:`10^{16}`).

    The means then no longer matter; targets at or above this value cannot be reached by
    scaling the covariances (:class:`UnreachableOverlapError`).
    """
    pairs = _all_pairs(weights, means, covariances)
    return _overlap_from_pairs(pairs, len(weights), math.exp(_LARGEST_LOG_SCALE)).of_kind(kind)


def scale_to_overlap(
    means, covariances, weights, target: float, kind: OverlapKind = "average"
) -> float:
    """Scalar :math:`s` such that covariances :math:`s \\Sigma_k` give the target overlap.

    The root of :math:`\\bar\\omega(s) - \\omega^*` (or :math:`\\check\\omega(s) - \\omega^*`
    for ``kind="max"``) is bracketed on :math:`\\log s` by stepping a factor 10 at a time,
    then found by Brent's method (bisection safeguarded by inverse quadratic steps).

    Raises
    ------
    ValueError
        If ``target`` is not in (0, 1), the mixture has fewer than two components, or the
        target cannot be reached: as :math:`s \\to \\infty` the overlap tends to that of
        components with equal means, which for unequal covariances can stay below target.
    """
    if kind not in ("average", "max"):
        raise ValueError(f"kind: must be 'average' or 'max', got {kind!r}")
    if not 0.0 < target < 1.0:
        raise ValueError(f"overlap: must be in (0, 1), got {target}")
    pairs = _all_pairs(weights, means, covariances)
    k = len(weights)
    if k < 2:
        raise ValueError("overlap: needs at least two components to be defined")

    def excess(log_scale: float) -> float:
        return _overlap_from_pairs(pairs, k, math.exp(log_scale)).of_kind(kind) - target

    low, high = _bracket(excess, kind, target)
    return math.exp(optimize.brentq(excess, low, high, xtol=1e-9, maxiter=200))


def _bracket(excess, kind: str, target: float) -> tuple[float, float]:
    """Points of ``log s`` one decade apart where the overlap is below and above target."""
    step = math.log(10.0)
    top = excess(_LARGEST_LOG_SCALE)
    if top <= 0.0:  # at 1e16 the means no longer matter: the supremum is (about) reached
        raise UnreachableOverlapError(kind, target, top + target)
    if excess(0.0) < 0.0:
        low, high = 0.0, step
        while high < _LARGEST_LOG_SCALE and excess(high) <= 0.0:
            low, high = high, high + step
        return low, min(high, _LARGEST_LOG_SCALE)
    low, high = -step, 0.0
    for _ in range(40):
        if excess(low) < 0.0:
            return low, high
        low, high = low - step, low
    raise ValueError(f"overlap: target {target} cannot be reached; the components have "
                     "(nearly) equal means")
