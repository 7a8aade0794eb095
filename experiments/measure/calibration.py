"""EM's interval coverage of the true parameters, per replicate (``[em] intervals``).

For each interval method (``bootstrap``, ``information``; :mod:`emgmm.uncertainty`) the
coverage of a replicate is the fraction of the true free parameters inside EM's central
intervals of probability ``metrics.interval_prob``,

.. math::

    \\text{coverage} = \\frac{1}{P} \\sum_{p=1}^{P}
        \\mathbb 1\\left[\\ell_p \\le \\theta^{\\text{true}}_p \\le u_p\\right],

over the same free parameters as the posterior's ``coverage`` (weights, means, the lower
triangle of full and tied covariances, the diagonal otherwise;
:func:`experiments.measure.free_parameters.free_parameters`), with EM's components
already aligned to the truth. The observed information is only meaningful at a maximum, so the intervals are
computed at EM's estimate refined to a tight tolerance (a few more EM iterations from the
fitted solution, :data:`POLISH_TOL`). The bootstrap's generator is a ``SeedSequence``
child of the replicate's EM seed, so the numbers do not depend on the executor.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from emgmm import GaussianMixtureParams
from emgmm.covariance_types import covariance_type as covariance_type_of
from emgmm.fit import fit_em
from emgmm.uncertainty import bootstrap_standard_errors, information_standard_errors
from experiments.measure.free_parameters import free_parameters

POLISH_TOL = 1e-8
POLISH_MAX_ITER = 2000


def full_layout(values: np.ndarray, covariance_type: str, n_components: int) -> np.ndarray:
    """Covariance-like arrays of any layout as (K, D, D) matrices.

    ``full`` (K, D, D) is returned as is, ``tied`` (D, D) repeated K times, ``diag`` (K, D)
    as diagonal matrices (``spherical`` needs D: see :func:`interval_free_bounds`).
    """
    values = np.asarray(values, dtype=float)
    layouts: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "full": lambda v: v,
        "tied": lambda v: np.broadcast_to(v, (n_components, *v.shape)),
        "diag": lambda v: v[:, :, None] * np.eye(v.shape[1]),
    }
    return layouts[covariance_type](values)


def interval_free_bounds(intervals, covariance_type: str, n_features: int
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of the free parameters from ``ParameterUncertainty.intervals``."""
    bounds = []
    for side in (0, 1):
        weights = np.asarray(intervals["weights"][side])
        covariances = np.asarray(intervals["covariances"][side])
        if covariance_type_of(covariance_type).isotropic:  # one variance per component
            covariances = covariances[:, None, None] * np.eye(n_features)
        else:
            covariances = full_layout(covariances, covariance_type, weights.size)
        bounds.append(free_parameters(weights, intervals["means"][side], covariances,
                                      covariance_type))
    return bounds[0], bounds[1]


def coverage_of_truth(uncertainty, truth: GaussianMixtureParams, covariance_type: str) -> float:
    """Fraction of the true free parameters inside the intervals (truth aligned, full)."""
    lower, upper = interval_free_bounds(uncertainty.intervals, covariance_type,
                                        truth.means.shape[1])
    true_values = free_parameters(truth.weights, truth.means, truth.full_covariances(),
                                  covariance_type)
    return float(np.mean((lower <= true_values) & (true_values <= upper)))


def polished_estimate(X: np.ndarray, estimate: GaussianMixtureParams, reg_covar: float
                      ) -> GaussianMixtureParams:
    """EM's estimate iterated to :data:`POLISH_TOL` from itself (component order kept)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # stopping at POLISH_MAX_ITER still gives an estimate
        return fit_em(X, estimate.n_components, covariance_type=estimate.covariance_type,
                      start=estimate, tol=POLISH_TOL, max_iter=POLISH_MAX_ITER,
                      reg_covar=reg_covar).params


def bootstrap_generator(em_seed: int) -> np.random.Generator:
    """The bootstrap's generator: a SeedSequence child of the replicate's EM seed."""
    return np.random.default_rng(np.random.SeedSequence(em_seed).spawn(1)[0])


def em_interval_columns(
    X: np.ndarray,
    estimate: GaussianMixtureParams,
    truth: GaussianMixtureParams,
    methods: tuple[str, ...],
    *,
    level: float,
    n_bootstrap: int,
    em_seed: int,
    reg_covar: float = 1e-6,
    refit: Callable[[np.ndarray, GaussianMixtureParams], GaussianMixtureParams] | None = None,
) -> tuple[dict[str, float], list[str]]:
    """``coverage_<method>`` columns of the em row, and one-line notes of failed methods.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    estimate : GaussianMixtureParams
        EM's estimate with its components in the true order.
    truth : GaussianMixtureParams
        The true mixture (full covariances).
    methods : tuple of {'bootstrap', 'information'}
    level : float
        Probability of the central intervals.
    n_bootstrap : int
    em_seed : int
        The replicate's EM seed (the bootstrap draws from a child of it).
    reg_covar : float
    refit : callable ``(X, start) -> GaussianMixtureParams``, optional
        The estimator being bootstrapped and polished (default: ML EM via ``fit_em``; MAP-EM
        passes :func:`experiments.measure.em.map_refit`).

    Returns
    -------
    columns : dict
        ``coverage_bootstrap`` and/or ``coverage_information`` in [0, 1]; a method that
        cannot be computed (e.g. a singular information matrix) is left out.
    notes : list of str
        ``"<method> intervals: <reason>"`` for each method left out.
    """
    if not methods:
        return {}, []
    estimate = (polished_estimate(X, estimate, reg_covar) if refit is None
                else refit(X, estimate))
    compute = {
        "information": lambda: information_standard_errors(X, estimate, level=level),
        "bootstrap": lambda: bootstrap_standard_errors(
            X, estimate, n_bootstrap=n_bootstrap, level=level, refit=refit,
            rng=bootstrap_generator(em_seed)),
    }
    columns, notes = {}, []
    for method in methods:
        try:
            uncertainty = compute[method]()
        except ValueError as error:  # recorded; the replicate's other results stand
            notes.append(f"{method} intervals: {str(error).splitlines()[0]}")
            continue
        columns[f"coverage_{method}"] = coverage_of_truth(uncertainty, truth,
                                                          estimate.covariance_type)
    return columns, notes
