"""Detection and re-seeding of collapsed components.

A component has *collapsed* after an M-step when

* its effective count :math:`N_k = N \\pi_k` is below ``MIN_EFFECTIVE_COUNT`` (it explains
  essentially no observation), or
* its covariance is not positive definite, or has a conditional variance (squared
  Cholesky pivot) below ``VARIANCE_FLOOR`` times the smallest positive per-feature variance
  of X (it is shrinking onto a point or a line: the likelihood singularity of Gaussian
  mixtures).

The fit loop runs this check after every iteration, whatever the engine, and re-seeds each
collapsed component: its mean becomes a data row drawn uniformly (a typical point, not the
outlier it may have collapsed onto), its covariance the data's
per-feature variances divided by :math:`K^{2/D}` (mclust's default prior scale) plus
``reg_covar``, and its weight :math:`1/K` before renormalising all weights. The re-seeding is
recorded in ``EMResult.reseeded`` and announced with a :class:`CollapsedComponentWarning`.
A collapsed ``tied`` covariance cannot be re-seeded per component and raises ValueError.
"""

from __future__ import annotations

import numpy as np

from emgmm._chunks import feature_variances
from emgmm.params import GaussianMixtureParams

MIN_EFFECTIVE_COUNT = 1e-3
VARIANCE_FLOOR = 1e-12
NONE_COLLAPSED = np.flatnonzero(np.zeros(0, dtype=bool))  # the indices when none collapsed
NONE_COLLAPSED.setflags(write=False)


class CollapsedComponentWarning(UserWarning):
    """A mixture component collapsed during EM and was re-seeded."""


def variance_floor(X: np.ndarray, variances: np.ndarray | None = None) -> float:
    """Smallest acceptable component variance for data X (``variances``: its per-feature
    variances when already known, e.g. for data out of memory).

    ``VARIANCE_FLOOR`` times the smallest positive per-feature variance: a feature measured
    on a small scale beside one on a large scale (values near 1e-4 beside 1e4) is not taken
    for a collapse, which the mean variance would make of every component.
    """
    variances = feature_variances(X) if variances is None else np.asarray(variances)
    positive = variances[variances > 0]
    smallest = float(positive.min()) if positive.size else 0.0
    return VARIANCE_FLOOR * max(smallest, np.finfo(float).tiny)


def collapsed_components(params: GaussianMixtureParams, n_samples: int, floor: float) -> np.ndarray:
    """Indices of collapsed components (see the module docstring).

    Raises
    ------
    ValueError
        If the shared ``tied`` covariance is degenerate.
    """
    smallest = params.kind.smallest_variances(params.covariances)
    if params.kind.shared:
        if smallest[0] < floor:
            raise ValueError(
                "the tied covariance is not positive definite: increase reg_covar, lower "
                "n_components, or scale the input data"
            )
        degenerate = np.zeros(params.n_components, dtype=bool)
    else:
        # the usual case, decided by two minima (a NaN pivot fails the test and is found below)
        if smallest.min() >= floor and params.weights.min() * n_samples >= MIN_EFFECTIVE_COUNT:
            return NONE_COLLAPSED
        degenerate = ~(smallest >= floor)
    empty = params.weights * n_samples < MIN_EFFECTIVE_COUNT
    return np.flatnonzero(degenerate | empty)


def reseed_components(
    X: np.ndarray,
    params: GaussianMixtureParams,
    components: np.ndarray,
    reg_covar: float,
    rng: np.random.Generator,
    variances: np.ndarray | None = None,
) -> GaussianMixtureParams:
    """``params`` with ``components`` re-seeded as described in the module docstring
    (``variances``: the per-feature variances of X when already known)."""
    n_components, n_features = params.n_components, params.n_features
    weights = params.weights.copy()
    means = params.means.copy()
    covariances = params.covariances.copy()
    variances = feature_variances(X) if variances is None else variances
    variances = variances / n_components ** (2.0 / n_features) + reg_covar
    for k in components:
        # A uniformly drawn row is a typical point; distance-weighted (k-means++) draws
        # would favour the very outlier the component just collapsed onto.
        means[k] = X[rng.integers(X.shape[0])]
        weights[k] = 1.0 / n_components
        if params.kind.reseeded is not None:  # a shared covariance is left as it is
            covariances[k] = params.kind.reseeded(variances)
    return GaussianMixtureParams(weights / weights.sum(), means, covariances, params.covariance_type)
