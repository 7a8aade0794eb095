"""What a synthetic data set is made of: :class:`DataSpec`, checked on construction.

Every problem raises ``ValueError("<field>: <problem>, got <value>")``; the config parser
turns it into a ConfigError naming ``data.<field>``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

COVARIANCE_SHAPES = ("spherical", "diag", "full")
OVERLAP_KINDS = ("average", "max")

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
