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
from typing import Any

import numpy as np

from experiments.simulate.overlap import Overlap, mixture_overlap, scale_to_overlap, supremum_overlap

COVARIANCE_SHAPES = ("spherical", "diag", "full")
OVERLAP_KINDS = ("average", "max")
WEIGHT_FLOOR = 0.2  # every Dirichlet weight is at least WEIGHT_FLOOR / K
MAX_ATTEMPTS = 10  # fresh means and covariances tried when a target overlap is unreachable
OUTLIER_BOX_ENLARGEMENT = 0.1  # outlier box: data range widened by 10% (5% on each side)
OUTLIER_LABEL = -1


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, (float, np.floating))) and not isinstance(
        value, (bool, np.bool_)
    )


def _require(condition: bool, field: str, problem: str, value: Any) -> None:
    """Raise ``ValueError("field: problem, got value")`` unless ``condition``."""
    if not condition:
        raise ValueError(f"{field}: {problem}, got {value!r}")


@dataclass(frozen=True)
class DataSpec:
    """What to simulate: sizes, weights, covariance structure, overlap, misspecification.

    Attributes
    ----------
    n_samples : int
        Number of points N, outliers included; at least ``n_components`` points come from
        the mixture.
    n_features : int
        Dimension D >= 1.
    n_components : int
        Number of components K >= 1.
    weights : tuple of float or None
        Mixing weights (K positive values summing to 1). None: equal weights, or Dirichlet
        weights when ``imbalance`` is given.
    imbalance : float or None
        Concentration :math:`\\alpha > 0` of :math:`d \\sim \\mathrm{Dirichlet}(\\alpha 1_K)`;
        the weights are :math:`\\pi = f/K + (1 - f) d` with floor :math:`f = 0.2`. Small
        :math:`\\alpha` gives unequal weights. Exclusive with ``weights``.
    covariance_shape : {"spherical", "diag", "full"}
    shared_covariance : bool
        One covariance matrix for every component.
    max_eccentricity : float in [0, 1)
        Cap on MixSim's eccentricity :math:`e = \\sqrt{1 - \\lambda_{min}/\\lambda_{max}}`
        of each covariance (no effect on spherical ones).
    overlap : float in (0, 1)
        Target overlap :math:`\\omega^*` (unused with a single component, whose covariance
        is left unscaled and whose achieved overlap is reported as 0).
    overlap_kind : {"average", "max"}
        Whether the mean over pairs (BarOmega) or the largest pair (MaxOmega) hits it.
    student_t_df : float > 2 or None
        Degrees of freedom of multivariate Student-t components with the same location and
        scale matrix (covariance :math:`\\nu/(\\nu-2)\\,\\Sigma`); None or ``inf`` means
        Gaussian. The overlap is that of the Gaussian mixture with the same parameters.
    outlier_fraction : float in [0, 0.5)
        Fraction of the N points replaced by uniform outliers, labelled ``-1``.
    """

    n_samples: int
    n_features: int
    n_components: int
    weights: tuple[float, ...] | None = None
    imbalance: float | None = None
    covariance_shape: str = "full"
    shared_covariance: bool = False
    max_eccentricity: float = 0.9
    overlap: float = 0.01
    overlap_kind: str = "average"
    student_t_df: float | None = None
    outlier_fraction: float = 0.0

    def __post_init__(self) -> None:
        for name in ("n_samples", "n_features", "n_components"):
            _require(_is_int(getattr(self, name)), name, "must be an integer", getattr(self, name))
        _require(self.n_components >= 1, "n_components", "must be >= 1", self.n_components)
        _require(self.n_features >= 1, "n_features", "must be >= 1", self.n_features)
        self._check_reals()
        _require(0.0 <= self.outlier_fraction < 0.5, "outlier_fraction", "must be in [0, 0.5)",
                 self.outlier_fraction)
        outliers = f" plus {self.n_outliers} outliers" if self.n_outliers else ""
        _require(self.n_mixture_points >= self.n_components, "n_samples",
                 f"must be at least n_components = {self.n_components}{outliers}",
                 self.n_samples)
        _require(self.covariance_shape in COVARIANCE_SHAPES, "covariance_shape",
                 f"must be one of {', '.join(COVARIANCE_SHAPES)}", self.covariance_shape)
        _require(self.overlap_kind in OVERLAP_KINDS, "overlap_kind",
                 f"must be one of {', '.join(OVERLAP_KINDS)}", self.overlap_kind)
        _require(isinstance(self.shared_covariance, (bool, np.bool_)), "shared_covariance",
                 "must be true or false", self.shared_covariance)
        self._check_weights()

    def _check_reals(self) -> None:
        for name in ("max_eccentricity", "overlap", "outlier_fraction"):
            value = getattr(self, name)
            _require(_is_real(value) and math.isfinite(value), name, "must be a finite number",
                     value)
            object.__setattr__(self, name, float(value))
        _require(0.0 <= self.max_eccentricity < 1.0, "max_eccentricity", "must be in [0, 1)",
                 self.max_eccentricity)
        _require(0.0 < self.overlap < 1.0, "overlap", "must be in (0, 1)", self.overlap)
        df = self.student_t_df
        if df is not None:
            _require(_is_real(df) and df > 2.0, "student_t_df",
                     "must be a number > 2 (inf or omitted for Gaussian components)", df)
            object.__setattr__(self, "student_t_df", None if math.isinf(df) else float(df))
        if self.imbalance is not None:
            _require(_is_real(self.imbalance) and 0.0 < self.imbalance < math.inf, "imbalance",
                     "must be a positive number (Dirichlet concentration)", self.imbalance)
            object.__setattr__(self, "imbalance", float(self.imbalance))

    def _check_weights(self) -> None:
        if self.weights is None:
            return
        _require(self.imbalance is None, "weights", "give either weights or imbalance, not both",
                 self.weights)
        weights = self.weights
        _require(isinstance(weights, (tuple, list, np.ndarray)) and all(map(_is_real, weights)),
                 "weights", "must be a list of numbers", weights)
        _require(len(weights) == self.n_components, "weights",
                 f"must have n_components = {self.n_components} values", list(weights))
        _require(all(w > 0 for w in weights), "weights", "must all be positive", list(weights))
        _require(abs(sum(weights) - 1.0) < 1e-6, "weights", "must sum to 1", list(weights))
        total = float(sum(weights))
        object.__setattr__(self, "weights", tuple(float(w) / total for w in weights))

    @property
    def n_outliers(self) -> int:
        """Number of outliers, :math:`\\mathrm{round}(f N)`."""
        return int(round(self.outlier_fraction * self.n_samples))

    @property
    def n_mixture_points(self) -> int:
        """Number of points drawn from the mixture components."""
        return self.n_samples - self.n_outliers


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

    @property
    def is_outlier(self) -> np.ndarray:
        """Boolean mask of shape (n_samples,), true for outliers."""
        return self.labels == OUTLIER_LABEL

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


def eccentricity(covariance: np.ndarray) -> float:
    """MixSim's eccentricity :math:`\\sqrt{1 - \\lambda_{min}/\\lambda_{max}}`."""
    eigenvalues = np.linalg.eigvalsh(covariance)
    return math.sqrt(max(0.0, 1.0 - eigenvalues[0] / eigenvalues[-1]))


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
