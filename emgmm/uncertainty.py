"""Standard errors and intervals for EM estimates: observed information and bootstrap.

Two estimates of the sampling variability of the maximum-likelihood estimate
:math:`\\hat\\theta = (\\hat w, \\hat\\mu, \\hat\\Sigma)`:

- :func:`information_standard_errors`: the inverse observed information
  :math:`I(\\hat\\theta)^{-1}` on the unconstrained parameterisation of
  :mod:`emgmm._information` (log-ratio weights, means, log-Cholesky covariances), carried to
  weights, means and covariance entries by the delta method,

  .. math:: \\operatorname{Cov}[g(\\hat\\theta)] \\approx J\\, I(\\hat\\theta)^{-1} J^T,
            \\qquad J = \\partial g / \\partial \\theta,

  with Wald intervals :math:`\\hat g \\pm z_{(1+\\text{level})/2}\\, \\text{se}` (on the
  natural scale, so a weight's interval can leave [0, 1] when the weight is near 0 or 1).
- :func:`bootstrap_standard_errors`: nonparametric bootstrap (Efron and Tibshirani 1993):
  refit on B resamples of the rows, each from :math:`\\hat\\theta`, align each refit to the
  original labels by the Hungarian matching of the means, and take the standard deviation
  and the percentile interval of the B aligned replicates (mclust's ``MclustBootstrap``).

Both return :class:`ParameterUncertainty`. Labels are only identified up to permutation:
compare against a truth already aligned to the estimate's component order.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
from scipy import linalg, stats

from emgmm.alignment import matching_order
from emgmm._information import (
    natural_vector,
    observed_information,
    outer_product_information,
    pack,
    unpack,
)
from emgmm.fit import fit_em
from emgmm.params import GaussianMixtureParams

__all__ = [
    "ParameterUncertainty",
    "align_to_reference",
    "bootstrap_standard_errors",
    "information_standard_errors",
]

PARAMETER_NAMES = ("weights", "means", "covariances")


@dataclass(frozen=True)
class ParameterUncertainty:
    """Standard errors and intervals of a mixture estimate, per parameter array.

    Attributes
    ----------
    estimate : GaussianMixtureParams
        The estimate the uncertainty refers to (component order of the intervals).
    method : str
        ``'bootstrap'``, ``'observed_information'`` or ``'outer_product'``.
    level : float
        Nominal coverage of the intervals, e.g. 0.9.
    standard_errors : dict of str to ndarray
        ``weights`` (K,), ``means`` (K, D), ``covariances`` (layout of the type).
    intervals : dict of str to ndarray
        Same keys; arrays of shape (2, ...) holding the lower and upper bounds.
    replicates : dict of str to ndarray
        Bootstrap only: the aligned refits, shapes (B, ...); empty otherwise.
    n_failed : int
        Bootstrap only: resamples whose refit failed (degenerate covariance) and were dropped.
    """

    estimate: GaussianMixtureParams
    method: str
    level: float
    standard_errors: dict[str, np.ndarray]
    intervals: dict[str, np.ndarray]
    replicates: dict[str, np.ndarray] = field(default_factory=dict)
    n_failed: int = 0

    def __post_init__(self) -> None:
        for name in ("standard_errors", "intervals", "replicates"):
            arrays = {key: np.array(value, dtype=float)
                      for key, value in getattr(self, name).items()}
            for value in arrays.values():
                value.setflags(write=False)
            object.__setattr__(self, name, MappingProxyType(arrays))

    def covers(self, truth: GaussianMixtureParams) -> dict[str, np.ndarray]:
        """Whether each true value lies inside its interval (boolean arrays per parameter).

        ``truth`` must be in the component order of ``estimate``.
        """
        if truth.covariance_type != self.estimate.covariance_type or \
                truth.means.shape != self.estimate.means.shape:
            raise ValueError("truth must have the estimate's covariance type, K and D")
        return {
            name: (self.intervals[name][0] <= value) & (value <= self.intervals[name][1])
            for name, value in _arrays(truth).items()
        }


def _arrays(params: GaussianMixtureParams) -> dict[str, np.ndarray]:
    return {name: np.asarray(getattr(params, name)) for name in PARAMETER_NAMES}


def _split_natural(vector: np.ndarray, params: GaussianMixtureParams) -> dict[str, np.ndarray]:
    """Cut a vector laid out as :func:`natural_vector` back into the parameter arrays."""
    out, start = {}, 0
    for name, value in _arrays(params).items():
        out[name] = vector[start: start + value.size].reshape(value.shape)
        start += value.size
    return out


def _check_level(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), e.g. 0.9, got {level}")
    return float(level)


# --------------------------------------------------------------------------- information


def _standardised(X: np.ndarray, params: GaussianMixtureParams):
    """Data and estimate in units of the overall data scale (well-scaled finite differences)."""
    centre, scale = X.mean(axis=0), float(np.sqrt(np.mean(X.var(axis=0)))) or 1.0
    variance_factor = 1.0 / scale**2
    return (X - centre) / scale, GaussianMixtureParams(
        params.weights, (params.means - centre) / scale, params.covariances * variance_factor,
        params.covariance_type,
    ), centre, scale


def _natural_jacobian(theta: np.ndarray, params: GaussianMixtureParams, centre: np.ndarray,
                      scale: float, step: float = 1e-6) -> np.ndarray:
    """Jacobian of θ (standardised, unconstrained) -> natural parameters in data units."""
    shape = (params.n_components, params.n_features, params.covariance_type)

    def natural(t):
        p = unpack(t, *shape)
        return np.concatenate([p.weights, (p.means * scale + centre).ravel(),
                               (p.covariances * scale**2).ravel()])

    columns = []
    for j in range(theta.size):
        offset = np.zeros_like(theta)
        offset[j] = step
        columns.append((natural(theta + offset) - natural(theta - offset)) / (2.0 * step))
    return np.stack(columns, axis=1)


_INFORMATION: dict[str, Callable[[np.ndarray, GaussianMixtureParams], np.ndarray]] = {
    "observed_information": observed_information,
    "outer_product": outer_product_information,
}


def information_standard_errors(
    X: np.ndarray,
    params: GaussianMixtureParams,
    *,
    level: float = 0.9,
    method: str = "observed_information",
) -> ParameterUncertainty:
    """Standard errors from the inverse information matrix, by the delta method.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        The data the estimate was fitted to.
    params : GaussianMixtureParams
        The maximum-likelihood estimate (a converged EM fit: the observed information is
        only meaningful at a maximum).
    level : float
        Coverage of the Wald intervals.
    method : {'observed_information', 'outer_product'}
        Observed information (numerical Hessian of the analytic score), or the empirical
        outer product of per-observation scores (asymptotically equal at the MLE).

    Returns
    -------
    ParameterUncertainty

    Raises
    ------
    ValueError
        If the information matrix is not positive definite (not at a maximum, or an empty
        or duplicated component makes parameters unidentified).
    """
    level = _check_level(level)
    if method not in _INFORMATION:
        raise ValueError(f"method must be one of {tuple(_INFORMATION)}, got {method!r}")
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != params.n_features:
        raise ValueError(f"X must have shape (n_samples, {params.n_features}), got {X.shape}")
    if np.any(params.weights <= 0):
        raise ValueError("a component has weight 0: drop it (fewer components) before "
                         "computing standard errors")
    X_std, params_std, centre, scale = _standardised(X, params)
    information = _INFORMATION[method](X_std, params_std)
    try:
        chol = linalg.cholesky(information, lower=True)
    except linalg.LinAlgError:
        raise ValueError(
            "the information matrix is not positive definite: refit to convergence (smaller "
            "tol) or use fewer components; otherwise use bootstrap_standard_errors"
        ) from None
    jacobian = _natural_jacobian(pack(params_std), params_std, centre, scale)
    # J I^{-1} J^T = (L^{-1} J^T)^T (L^{-1} J^T) with I = L L^T: no explicit inverse.
    half = linalg.solve_triangular(chol, jacobian.T, lower=True)
    se = _split_natural(np.sqrt(np.sum(half**2, axis=0)), params)
    z = stats.norm.ppf(0.5 + level / 2.0)
    estimate = _arrays(params)
    intervals = {name: np.stack([estimate[name] - z * se[name], estimate[name] + z * se[name]])
                 for name in PARAMETER_NAMES}
    return ParameterUncertainty(params, method, level, se, intervals)


# --------------------------------------------------------------------------- bootstrap


def align_to_reference(params: GaussianMixtureParams,
                       reference: GaussianMixtureParams) -> GaussianMixtureParams:
    """Permute components of ``params`` to best match ``reference`` (Hungarian matching).

    The cost of matching reference component k with component j is the squared Mahalanobis
    distance of the means under the reference covariance,
    :math:`(\\mu_j - \\hat\\mu_k)^T \\hat\\Sigma_k^{-1} (\\mu_j - \\hat\\mu_k)`, minimised
    over permutations by :func:`scipy.optimize.linear_sum_assignment`.
    """
    precisions_cholesky = reference.precisions_cholesky
    cost = np.empty((reference.n_components, params.n_components))
    for k in range(reference.n_components):
        diff = params.means - reference.means[k]
        if reference.kind.matrix:
            upper = reference.kind.stack(precisions_cholesky)[0 if reference.kind.shared else k]
            cost[k] = np.sum((diff @ upper) ** 2, axis=1)
        else:
            cost[k] = np.sum((diff * precisions_cholesky[k]) ** 2, axis=1)
    return params.permuted(matching_order(cost))


def _default_refit(X: np.ndarray, start: GaussianMixtureParams) -> GaussianMixtureParams:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a resample that stops at max_iter is still a refit
        return fit_em(X, start.n_components, covariance_type=start.covariance_type,
                      start=start, tol=1e-6, max_iter=500).params


def bootstrap_standard_errors(
    X: np.ndarray,
    params: GaussianMixtureParams,
    *,
    n_bootstrap: int = 200,
    level: float = 0.9,
    refit: Callable[[np.ndarray, GaussianMixtureParams], GaussianMixtureParams] | None = None,
    rng: np.random.Generator | int | None = None,
) -> ParameterUncertainty:
    """Nonparametric bootstrap standard errors and percentile intervals.

    For b = 1..B: draw N rows of ``X`` with replacement, refit starting from ``params``,
    align the refit to ``params`` (:func:`align_to_reference`). Then

    .. math:: \\text{se} = \\operatorname{sd}_b(\\hat\\theta^{*b}), \\qquad
              \\text{interval} = [q_{(1-\\text{level})/2}, q_{(1+\\text{level})/2}]
              \\text{ of } \\hat\\theta^{*b}.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    params : GaussianMixtureParams
        The estimate on ``X``.
    n_bootstrap : int
        B, at least 2 (a few hundred for stable percentile intervals).
    level : float
    refit : callable ``(X_resampled, start) -> GaussianMixtureParams``, optional
        Default: :func:`emgmm.fit.fit_em` from ``start`` (tol 1e-6 per sample, max_iter 500);
        pass e.g. a MAP-EM refit to bootstrap that estimator instead.
    rng : Generator or int seed

    Returns
    -------
    ParameterUncertainty
        With the aligned refits in ``replicates`` and dropped refits counted in ``n_failed``.
    """
    level = _check_level(level)
    if not isinstance(n_bootstrap, (int, np.integer)) or n_bootstrap < 2:
        raise ValueError(f"n_bootstrap must be an integer >= 2, got {n_bootstrap!r}")
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != params.n_features:
        raise ValueError(f"X must have shape (n_samples, {params.n_features}), got {X.shape}")
    refit = _default_refit if refit is None else refit
    rng = np.random.default_rng(rng)
    replicates, n_failed = [], 0
    for _ in range(n_bootstrap):
        rows = rng.integers(0, X.shape[0], size=X.shape[0])
        try:
            fitted = refit(X[rows], params)
        except ValueError:  # a degenerate covariance on this resample: drop it, count it
            n_failed += 1
            continue
        replicates.append(natural_vector(align_to_reference(fitted, params)))
    if len(replicates) < max(2, n_bootstrap // 2):
        raise ValueError(
            f"{n_failed} of {n_bootstrap} bootstrap refits failed: the model is too flexible "
            "for these data (fewer components, a simpler covariance type, or MAP-EM)"
        )
    stacked = np.stack(replicates)
    se = _split_natural(stacked.std(axis=0, ddof=1), params)
    lower, upper = np.quantile(stacked, [0.5 - level / 2.0, 0.5 + level / 2.0], axis=0)
    lower, upper = _split_natural(lower, params), _split_natural(upper, params)
    intervals = {name: np.stack([lower[name], upper[name]]) for name in PARAMETER_NAMES}
    draws = {name: np.stack([_split_natural(row, params)[name] for row in stacked])
             for name in PARAMETER_NAMES}
    return ParameterUncertainty(params, "bootstrap", level, se, intervals, draws, n_failed)
