"""A variational posterior against the MCMC reference: spread, marginal distance, coverage.

Pure functions of two posterior DataTrees (``posterior`` groups with ``weights``,
``means``, full ``covariances``), both already aligned to the true component order, so
that any approximate posterior given as draws (ADVI's, coordinate-ascent VB's) is compared
the same way. Parameters are the free scalars of
:func:`experiments.measure.free_parameters.free_parameters` (weights, means, the estimated covariance entries), grouped by kind. With
:math:`s_j` the posterior sd of parameter :math:`j` under the method and :math:`s_j^{M}`
under MCMC,

.. math::

    r_\\text{kind} = \\exp\\Big(\\frac{1}{|J|} \\sum_{j \\in J} \\log \\frac{s_j}{s^{M}_j}\\Big),
    \\qquad
    W = \\frac{1}{P} \\sum_{j} \\frac{W_1(q_j, p^{M}_j)}{s^{M}_j},

the geometric-mean sd ratio over the parameters :math:`J` of a kind (below 1: the
method understates the uncertainty) and the mean 1-D Wasserstein distance between the
method's and MCMC's marginals in MCMC sd units (:func:`scipy.stats.wasserstein_distance`
on the draws). Parameters with no MCMC spread (the weight of K = 1) are left out.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.stats import wasserstein_distance

from emgmm import GaussianMixtureParams
from experiments.measure import metrics
from experiments.measure.free_parameters import free_parameters, posterior_free_draws

PARAMETER_KINDS = ("weights", "means", "covariances")
SD_RATIO_COLUMNS = tuple(f"sd_ratio_{kind}" for kind in PARAMETER_KINDS)
DISTANCE_COLUMN = "wasserstein_sd_mean"
COLUMNS = (*SD_RATIO_COLUMNS, DISTANCE_COLUMN)


def posterior_of(tree: xr.DataTree | xr.Dataset) -> xr.Dataset:
    """The ``posterior`` Dataset of a DataTree (or the Dataset itself)."""
    return tree["posterior"].to_dataset() if isinstance(tree, xr.DataTree) else tree


def flat_draws(tree, covariance_type: str) -> np.ndarray:
    """Free-parameter draws, chains pooled: array of shape (n_draws, n_parameters)."""
    draws = posterior_free_draws(posterior_of(tree), covariance_type)
    return draws.reshape(-1, draws.shape[-1])


def parameter_kinds(tree, n_parameters: int) -> np.ndarray:
    """The kind (index into :data:`PARAMETER_KINDS`) of each free parameter.

    :func:`~experiments.measure.free_parameters.free_parameters` lays out K weights, K x D means,
    then the covariance entries.
    """
    means = posterior_of(tree)["means"]
    n_components, n_features = means.sizes["component"], means.sizes["dim"]
    kinds = np.full(n_parameters, 2)
    kinds[:n_components] = 0
    kinds[n_components:n_components * (1 + n_features)] = 1
    return kinds


def varying(draws: np.ndarray) -> np.ndarray:
    """Parameters whose draws are not all equal (the sd of equal floats may round above 0)."""
    return np.ptp(draws, axis=0) > 0


def sd_ratios(draws: np.ndarray, reference: np.ndarray, kinds: np.ndarray) -> dict:
    """Geometric-mean sd ratio per parameter kind (columns ``sd_ratio_<kind>``)."""
    sd, sd_ref = draws.std(axis=0, ddof=1), reference.std(axis=0, ddof=1)
    usable = varying(reference) & varying(draws)
    out = {}
    for index, column in enumerate(SD_RATIO_COLUMNS):
        chosen = usable & (kinds == index)
        if np.any(chosen):
            out[column] = float(np.exp(np.mean(np.log(sd[chosen] / sd_ref[chosen]))))
    return out


def wasserstein_sd_mean(draws: np.ndarray, reference: np.ndarray) -> float:
    """Mean over parameters of W1(method, MCMC marginal) / MCMC sd."""
    sd_ref = reference.std(axis=0, ddof=1)
    distances = [wasserstein_distance(draws[:, j], reference[:, j]) / sd_ref[j]
                 for j in np.flatnonzero(varying(reference))]
    if not distances:
        raise ValueError("the MCMC posterior has no varying parameter: nothing to compare")
    return float(np.mean(distances))


def comparison_to_mcmc(tree, mcmc_tree, covariance_type: str) -> dict:
    """sd ratios per kind and the mean Wasserstein distance of ``tree`` against MCMC."""
    draws, reference = flat_draws(tree, covariance_type), flat_draws(mcmc_tree, covariance_type)
    if draws.shape[1] != reference.shape[1]:
        raise ValueError(f"the posteriors have {draws.shape[1]} and {reference.shape[1]} "
                         "free parameters: compare fits of the same model")
    kinds = parameter_kinds(tree, draws.shape[1])
    return {**sd_ratios(draws, reference, kinds),
            DISTANCE_COLUMN: wasserstein_sd_mean(draws, reference)}


def interval_coverage(tree, truth: GaussianMixtureParams, covariance_type: str,
                      prob: float) -> float:
    """Fraction of true free parameters inside the method's central ``prob`` intervals
    (:func:`experiments.measure.metrics.interval_coverage`, MCMC's ``coverage``)."""
    draws = posterior_free_draws(posterior_of(tree), covariance_type)
    true = free_parameters(truth.weights, truth.means, truth.full_covariances(),
                                   covariance_type)
    return metrics.interval_coverage(draws, true, prob)
