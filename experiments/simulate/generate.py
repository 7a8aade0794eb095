"""Synthetic Gaussian (or Student-t) mixtures with known truth and controlled overlap.

The recipe follows MixSim (Melnykov, Chen and Maitra 2012): weights from a Dirichlet
distribution with a floor, means uniform in the unit hypercube, covariances from Wishart
draws with their eccentricity capped, then one scalar multiplying every covariance, chosen
so that the average (or maximum) pairwise overlap :math:`\\omega_{ij}` hits the target
(:mod:`experiments.simulate.overlap`). Points are drawn from the components, optionally from
multivariate Student-t components with the same location and scale, and optionally mixed
with uniform outliers labelled ``-1``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from experiments.run.rundir import OUTLIER_LABEL
from experiments.simulate.overlap import (
    Overlap,
    mixture_overlap,
    scale_to_overlap,
    supremum_overlap,
)
from experiments.simulate.spec import DataSpec

WEIGHT_FLOOR = 0.2  # every Dirichlet weight is at least WEIGHT_FLOOR / K
MAX_ATTEMPTS = 10  # fresh means and covariances tried when a target overlap is unreachable
OUTLIER_BOX_ENLARGEMENT = 0.1  # outlier box: data range widened by 10% (5% on each side)


@dataclass(frozen=True)
class MixtureTruth:
    """True parameters of a simulated mixture.

    Attributes
    ----------
    weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray of shape (n_components, n_features, n_features)
        Full matrices (scale matrices of Student-t components), already scaled.
    scale : float
        Factor that multiplied the drawn covariances to reach the target overlap.
    overlap : Overlap
        Achieved pairwise overlap (average, maximum, pairwise matrix, error estimate).
    attempts : int
        Draws of means and covariances needed (more than 1 when a draw could not reach
        the target).
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    scale: float
    overlap: Overlap
    attempts: int


@dataclass(frozen=True)
class SyntheticData:
    """A simulated data set and its truth.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features)
    labels : ndarray of shape (n_samples,)
        True component of each point; ``-1`` marks outliers.
    weights, means, covariances : ndarray
        True parameters, shapes (K,), (K, D), (K, D, D) (full matrices).
    achieved_overlap : Overlap
        ``.average``, ``.maximum`` and ``.pairwise`` overlap of the true parameters.
    overlap_error : float
        Absolute numerical error estimate of the overlap (quadrature, not Monte Carlo).
    scale : float
        Covariance scale found by the root search.
    spec : DataSpec
    """

    X: np.ndarray
    labels: np.ndarray
    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    achieved_overlap: Overlap
    overlap_error: float
    scale: float
    spec: DataSpec

    def as_arrays(self) -> dict[str, np.ndarray]:
        """The arrays saved in ``data.npz``: X, labels, weights, means, covariances."""
        return {"X": self.X, "labels": self.labels, "weights": self.weights,
                "means": self.means, "covariances": self.covariances}


# ---------------------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------------------


def mixing_weights(spec: DataSpec, rng: np.random.Generator) -> np.ndarray:
    """Weights: given, equal, or :math:`f/K + (1-f)\\,\\mathrm{Dirichlet}(\\alpha 1_K)`."""
    k = spec.n_components
    if spec.weights is not None:
        return np.array(spec.weights)
    if spec.imbalance is None:
        return np.full(k, 1.0 / k)
    draw = rng.dirichlet(np.full(k, spec.imbalance))
    return WEIGHT_FLOOR / k + (1.0 - WEIGHT_FLOOR) * draw


def cap_eccentricity(eigenvalues: np.ndarray, max_eccentricity: float) -> np.ndarray:
    """Shrink the spread of eigenvalues so that :math:`e \\le e_{max}` (MixSim's rule).

    .. math::

        \\lambda_l \\leftarrow \\lambda_{max}\\left(1 - e_{max}^2
            \\frac{\\lambda_{max} - \\lambda_l}{\\lambda_{max} - \\lambda_{min}}\\right)
        \\quad\\text{when}\\quad \\sqrt{1 - \\lambda_{min}/\\lambda_{max}} > e_{max},

    which sets :math:`\\lambda_{min} = \\lambda_{max}(1 - e_{max}^2)` and keeps the order.
    """
    largest, smallest = float(eigenvalues.max()), float(eigenvalues.min())
    if math.sqrt(1.0 - smallest / largest) <= max_eccentricity:
        return eigenvalues
    spread = (largest - eigenvalues) / (largest - smallest)
    return largest * (1.0 - max_eccentricity**2 * spread)


def _wishart_eigen(d: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues and eigenvectors of a Wishart(D + 1, I / (D + 1)) draw."""
    factor = rng.standard_normal((d + 1, d))
    return np.linalg.eigh(factor.T @ factor / (d + 1))


def _full(eigenvalues, vectors, rng) -> np.ndarray:
    covariance = (vectors * eigenvalues) @ vectors.T
    return 0.5 * (covariance + covariance.T)  # exactly symmetric despite rounding


def _diag(eigenvalues, vectors, rng) -> np.ndarray:
    return np.diag(rng.permutation(eigenvalues))


def _spherical(eigenvalues, vectors, rng) -> np.ndarray:
    return np.eye(len(eigenvalues)) * eigenvalues.mean()


_SHAPES = {"full": _full, "diag": _diag, "spherical": _spherical}


def draw_covariance(spec: DataSpec, rng: np.random.Generator) -> np.ndarray:
    """One (D, D) covariance of the requested shape, eccentricity capped, before scaling."""
    eigenvalues, vectors = _wishart_eigen(spec.n_features, rng)
    eigenvalues = cap_eccentricity(eigenvalues, spec.max_eccentricity)
    return _SHAPES[spec.covariance_shape](eigenvalues, vectors, rng)


def draw_covariances(spec: DataSpec, rng: np.random.Generator) -> np.ndarray:
    """K covariances (one repeated K times when shared), shape (K, D, D)."""
    count = 1 if spec.shared_covariance else spec.n_components
    drawn = np.stack([draw_covariance(spec, rng) for _ in range(count)])
    return np.repeat(drawn, spec.n_components // count, axis=0)


def draw_reachable_geometry(
    spec: DataSpec, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Weights, means and unscaled covariances that can reach the target overlap.

    Means are uniform in :math:`[0, 1]^D`. A draw whose overlap stays below the target
    however large the covariances (:func:`experiments.simulate.overlap.supremum_overlap`) is replaced
    by fresh means and covariances, up to ``MAX_ATTEMPTS`` draws, as MixSim does.

    Returns
    -------
    weights, means, covariances, attempts

    Raises
    ------
    ValueError
        ``overlap: ...`` when no draw could reach the target.
    """
    weights = mixing_weights(spec, rng)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        means = rng.uniform(size=(spec.n_components, spec.n_features))
        covariances = draw_covariances(spec, rng)
        if spec.n_components == 1:
            return weights, means, covariances, attempt
        reachable = supremum_overlap(means, covariances, weights, spec.overlap_kind)
        if reachable > spec.overlap:
            return weights, means, covariances, attempt
    raise ValueError(
        f"overlap: the target {spec.overlap_kind} overlap {spec.overlap} was not reachable in "
        f"{MAX_ATTEMPTS} draws of means and covariances (the last stays below "
        f"{reachable:.3g}); lower overlap or set shared_covariance = true"
    )


def draw_parameters(spec: DataSpec, rng: np.random.Generator) -> MixtureTruth:
    """True weights, means and covariances, scaled to the target overlap.

    :func:`draw_reachable_geometry`, then the scale from
    :func:`experiments.simulate.overlap.scale_to_overlap` (a single component is left unscaled).
    """
    weights, means, covariances, attempts = draw_reachable_geometry(spec, rng)
    scale = 1.0
    if spec.n_components > 1:
        scale = scale_to_overlap(means, covariances, weights, spec.overlap, spec.overlap_kind)
    covariances = covariances * scale
    overlap = mixture_overlap(weights, means, covariances)
    return MixtureTruth(weights, means, covariances, scale, overlap, attempts)


# ---------------------------------------------------------------------------------------
# Points
# ---------------------------------------------------------------------------------------


def sample_components(
    truth: MixtureTruth, n_points: int, student_t_df: float | None, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Labels :math:`z_n \\sim \\mathrm{Cat}(\\pi)` and points :math:`x_n = \\mu_{z_n} + L_{z_n} u_n`.

    :math:`u_n \\sim N(0, I)`, or :math:`u_n = g_n / \\sqrt{c_n/\\nu}` with
    :math:`c_n \\sim \\chi^2_\\nu` for Student-t components (scale :math:`L L^T = \\Sigma`).
    """
    labels = rng.choice(len(truth.weights), size=n_points, p=truth.weights)
    chols = np.linalg.cholesky(truth.covariances)
    standard = rng.standard_normal((n_points, truth.means.shape[1]))
    if student_t_df is not None:
        standard /= np.sqrt(rng.chisquare(student_t_df, size=n_points) / student_t_df)[:, None]
    points = truth.means[labels] + np.einsum("nij,nj->ni", chols[labels], standard)
    return points, labels


def uniform_outliers(points: np.ndarray, n_outliers: int, rng: np.random.Generator) -> np.ndarray:
    """Points uniform on the bounding box of ``points`` widened by 10% (5% on each side)."""
    low, high = points.min(axis=0), points.max(axis=0)
    margin = 0.5 * OUTLIER_BOX_ENLARGEMENT * (high - low)
    return rng.uniform(low - margin, high + margin, size=(n_outliers, points.shape[1]))


def simulate_mixture(spec: DataSpec, rng: np.random.Generator | int) -> SyntheticData:
    """Simulate a data set with known truth; the same ``rng`` seed gives the same data.

    Parameters
    ----------
    spec : DataSpec
    rng : numpy.random.Generator or int
        Source of randomness (an int is turned into ``numpy.random.default_rng(rng)``).

    Returns
    -------
    SyntheticData
        Rows in random order; outliers (if any) carry label ``-1``.
    """
    rng = np.random.default_rng(rng)
    truth = draw_parameters(spec, rng)
    points, labels = sample_components(truth, spec.n_mixture_points, spec.student_t_df, rng)
    if spec.n_outliers:
        outliers = uniform_outliers(points, spec.n_outliers, rng)
        points = np.concatenate([points, outliers])
        labels = np.concatenate([labels, np.full(spec.n_outliers, OUTLIER_LABEL)])
        order = rng.permutation(spec.n_samples)
        points, labels = points[order], labels[order]
    return SyntheticData(
        X=points, labels=labels.astype(np.int64), weights=truth.weights, means=truth.means,
        covariances=truth.covariances, achieved_overlap=truth.overlap,
        overlap_error=truth.overlap.error, scale=truth.scale, spec=spec,
    )
