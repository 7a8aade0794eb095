"""Comparison metrics: alignment to the truth, per-method and EM-vs-MCMC metrics.

Everything here is pure: arrays (and an ``xarray`` posterior) in, floats out. Mixtures
are :class:`emgmm.GaussianMixtureParams` with any covariance layout; distances and errors
always use the full (K, D, D) matrices.

Label switching is resolved once per fit, against the truth: the estimated components
are matched to the true ones by the Hungarian algorithm
(:func:`scipy.optimize.linear_sum_assignment`) on the squared Mahalanobis distance between
means,

.. math::

    C_{kj} = (\\hat\\mu_j - \\mu_k)^T \\Sigma_k^{-1} (\\hat\\mu_j - \\mu_k)
             + \\epsilon \\, |\\hat\\pi_j - \\pi_k|,

where the small weight term only breaks ties between components with equal means.
"""

from __future__ import annotations

import arviz as az
import numpy as np
import xarray as xr
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.metrics import accuracy_score, adjusted_rand_score

from emgmm import GaussianMixtureParams
from emgmm.alignment import matching_order
from experiments.measure.free_parameters import params_free_vector, posterior_free_draws
from experiments.run.rundir import OUTLIER_LABEL

WEIGHT_TIE_BREAK = 1e-6


__all__ = [
    "align_components",
    "align_labels",
    "em_mcmc_agreement",
    "interval_coverage",
    "interval_metrics",
    "label_agreement",
    "mcmc_metrics",
    "mixture_mean_log_likelihood",
    "parameter_errors",
    "permute_posterior",
    "point_estimate_metrics",
    "sampling_diagnostics",
]


# ---------------------------------------------------------------------------------------
# Alignment of estimated components to the true ones
# ---------------------------------------------------------------------------------------


def component_cost_matrix(
    truth: GaussianMixtureParams, estimate: GaussianMixtureParams
) -> np.ndarray:
    """Cost of matching true component ``k`` (rows) with estimated component ``j`` (columns).

    Returns
    -------
    ndarray of shape (n_components, n_components)
        Squared Mahalanobis distance of the estimated mean from the true mean under the
        true covariance, plus ``1e-6`` times the absolute weight difference.
    """
    _check_same_shape(truth, estimate)
    differences = estimate.means[None, :, :] - truth.means[:, None, :]  # (K_true, K_est, D)
    precisions = np.linalg.inv(truth.full_covariances())
    mahalanobis = np.einsum("kjd,kde,kje->kj", differences, precisions, differences)
    weight_gap = np.abs(truth.weights[:, None] - estimate.weights[None, :])
    return mahalanobis + WEIGHT_TIE_BREAK * weight_gap


def align_components(truth: GaussianMixtureParams, estimate: GaussianMixtureParams) -> np.ndarray:
    """Permutation that puts the estimated components in the true order.

    Returns
    -------
    order : ndarray of shape (n_components,)
        ``order[k]`` is the estimated component matched to true component ``k``, so that
        ``estimate.permuted(order)`` is aligned with ``truth``.
    """
    return matching_order(component_cost_matrix(truth, estimate))


def align_labels(labels: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Relabel estimated labels into the true order given by :func:`align_components`."""
    labels = np.asarray(labels)
    new_index_of_old = np.argsort(order)  # estimated j becomes the k with order[k] == j
    return np.where(labels < 0, labels, new_index_of_old[np.clip(labels, 0, None)])


def permute_posterior(posterior: xr.Dataset, order: np.ndarray, dim: str = "component") -> xr.Dataset:
    """Reorder the ``component`` dimension of every variable of a posterior group."""
    return posterior.isel({dim: np.asarray(order)}).assign_coords(
        {dim: np.arange(len(order))}
    )


def _check_same_shape(truth: GaussianMixtureParams, estimate: GaussianMixtureParams) -> None:
    if truth.means.shape != estimate.means.shape:
        raise ValueError(
            f"estimate has means of shape {estimate.means.shape} but the truth has "
            f"{truth.means.shape}: fit the true number of components to compare them"
        )


# ---------------------------------------------------------------------------------------
# Point-estimate metrics (EM estimate, posterior mean)
# ---------------------------------------------------------------------------------------


def mixture_mean_log_likelihood(X: np.ndarray, params: GaussianMixtureParams) -> float:
    """Mean per-sample log-likelihood of a Gaussian mixture.

    .. math::

        \\bar\\ell = \\frac{1}{N} \\sum_i \\log \\sum_k \\pi_k \\, N(x_i \\mid \\mu_k, \\Sigma_k)

    computed with :mod:`scipy.stats` densities, independently of ``emgmm``.
    """
    covariances = params.full_covariances()
    log_weighted = np.column_stack(
        [
            np.log(params.weights[k])
            + multivariate_normal(params.means[k], covariances[k], allow_singular=False).logpdf(X)
            for k in range(params.n_components)
        ]
    )
    return float(np.mean(logsumexp(log_weighted, axis=1)))


def parameter_errors(truth: GaussianMixtureParams, aligned: GaussianMixtureParams) -> dict:
    """Errors of aligned estimates against the truth.

    .. math::

        e_\\pi = \\frac1K \\sum_k |\\hat\\pi_k - \\pi_k|, \\quad
        e_\\mu = \\frac1K \\sum_k \\lVert \\hat\\mu_k - \\mu_k \\rVert_2, \\quad
        e_\\Sigma = \\frac1K \\sum_k
            \\frac{\\lVert \\hat\\Sigma_k - \\Sigma_k \\rVert_F}{\\lVert \\Sigma_k \\rVert_F}
    """
    _check_same_shape(truth, aligned)
    true_cov, est_cov = truth.full_covariances(), aligned.full_covariances()
    cov_gap = np.linalg.norm(est_cov - true_cov, axis=(1, 2)) / np.linalg.norm(true_cov, axis=(1, 2))
    return {
        "weights_error": float(np.mean(np.abs(aligned.weights - truth.weights))),
        "means_error": float(np.mean(np.linalg.norm(aligned.means - truth.means, axis=1))),
        "covariances_error": float(np.mean(cov_gap)),
    }


def label_agreement(true_labels: np.ndarray, labels: np.ndarray) -> dict:
    """ARI and accuracy of aligned labels against the true labels, outliers (-1) ignored.

    ARI is :func:`sklearn.metrics.adjusted_rand_score` (invariant to relabelling);
    accuracy is :func:`sklearn.metrics.accuracy_score` and assumes aligned labels.
    """
    true_labels, labels = np.asarray(true_labels), np.asarray(labels)
    if true_labels.shape != labels.shape:
        raise ValueError(f"labels have shape {labels.shape}, true labels {true_labels.shape}")
    inliers = true_labels != OUTLIER_LABEL
    if not np.any(inliers):
        raise ValueError("every observation is an outlier (label -1): no labels to compare")
    return {
        "ari": float(adjusted_rand_score(true_labels[inliers], labels[inliers])),
        "accuracy": float(accuracy_score(true_labels[inliers], labels[inliers])),
    }


# the keys of point_estimate_metrics: the results.csv columns of every method with a truth
POINT_ESTIMATE_COLUMNS = ("log_likelihood", "weights_error", "means_error",
                          "covariances_error", "ari", "accuracy")


def point_estimate_metrics(
    X: np.ndarray,
    true_labels: np.ndarray,
    truth: GaussianMixtureParams,
    aligned: GaussianMixtureParams,
    aligned_labels: np.ndarray,
) -> dict:
    """Log-likelihood, parameter errors and label agreement of one aligned estimate."""
    return {
        "log_likelihood": mixture_mean_log_likelihood(X, aligned),
        **parameter_errors(truth, aligned),
        **label_agreement(true_labels, aligned_labels),
    }


# ---------------------------------------------------------------------------------------
# MCMC diagnostics and interval metrics
# ---------------------------------------------------------------------------------------


def _varying(draws: np.ndarray) -> np.ndarray:
    # Constant columns (e.g. the weight when K = 1) have undefined R-hat: leave them out.
    return draws[..., np.ptp(draws.reshape(-1, draws.shape[-1]), axis=0) > 0]


def sampling_diagnostics(
    posterior: xr.Dataset, sample_stats: xr.Dataset, covariance_type: str
) -> dict:
    """Worst-case convergence diagnostics over the free parameters (ArviZ).

    Returns max rank-normalised split R-hat, min bulk and tail ESS and the number of
    divergent transitions.
    """
    draws = _varying(posterior_free_draws(posterior, covariance_type))
    if draws.shape[-1] == 0:
        raise ValueError("the posterior has no varying parameter: nothing to diagnose")
    free = xr.Dataset({"theta": (("chain", "draw", "parameter"), draws)})
    diverging = sample_stats["diverging"].values if "diverging" in sample_stats else np.zeros(1)
    return {
        "max_rhat": float(np.max(_arviz_diagnostic(free, "rhat"))),
        "min_ess_bulk": float(np.min(_arviz_diagnostic(free, "ess", method="bulk"))),
        "min_ess_tail": float(np.min(_arviz_diagnostic(free, "ess", method="tail"))),
        "divergences": int(np.sum(diverging)),
    }


def _arviz_diagnostic(free: xr.Dataset, name: str, **kwargs) -> np.ndarray:
    """``arviz.rhat`` or ``arviz.ess`` of every parameter of ``free["theta"]``."""
    return np.asarray(getattr(az, name)(free, **kwargs)["theta"].values)


def central_intervals(draws: np.ndarray, prob: float) -> tuple[np.ndarray, np.ndarray]:
    """Equal-tailed intervals, arrays of shape (n_parameters,), from (chain, draw, P) draws."""
    if not 0.0 < prob < 1.0:
        raise ValueError(f"interval probability must be in (0, 1), got {prob}")
    flat = draws.reshape(-1, draws.shape[-1])
    lower, upper = np.quantile(flat, [(1.0 - prob) / 2.0, (1.0 + prob) / 2.0], axis=0)
    return lower, upper


def interval_coverage(draws: np.ndarray, values: np.ndarray, prob: float) -> float:
    """Fraction of ``values`` (P,) inside their central ``prob`` intervals of ``draws``
    (chain, draw, P): the ``coverage`` of MCMC's and of every approximate posterior's row."""
    lower, upper = central_intervals(draws, prob)
    return float(np.mean((lower <= values) & (values <= upper)))


def interval_metrics(
    draws: np.ndarray,
    truth: np.ndarray | None,
    em_estimate: np.ndarray,
    prob: float,
) -> dict:
    """Coverage of the truth and of EM by central posterior intervals, and EM's distance.

    Parameters
    ----------
    draws : array of shape (chain, draw, n_parameters)
    truth, em_estimate : arrays of shape (n_parameters,)
        ``truth`` None (data without truth): no ``coverage``.
    prob : float
        Probability of the equal-tailed intervals (``[metrics] interval_prob``).

    Returns
    -------
    dict
        ``coverage`` (fraction of true parameters inside their interval),
        ``em_in_interval`` (fraction of EM estimates inside), ``em_distance_sd_mean`` and
        ``em_distance_sd_max``: :math:`|\\bar\\theta_j - \\hat\\theta^{EM}_j| / sd_j` over
        parameters with positive posterior sd.
    """
    em_in_interval = interval_coverage(draws, em_estimate, prob)
    flat = draws.reshape(-1, draws.shape[-1])
    sd = flat.std(axis=0, ddof=1)
    distance = np.abs(flat.mean(axis=0) - em_estimate)[sd > 0] / sd[sd > 0]
    if distance.size == 0:
        raise ValueError("the posterior has no varying parameter: no interval to compare")
    coverage = {} if truth is None else {"coverage": interval_coverage(draws, truth, prob)}
    return {
        **coverage,
        "em_in_interval": em_in_interval,
        "em_distance_sd_mean": float(np.mean(distance)),
        "em_distance_sd_max": float(np.max(distance)),
    }


def mcmc_metrics(
    posterior: xr.Dataset,
    sample_stats: xr.Dataset,
    truth: GaussianMixtureParams | None,
    em_aligned: GaussianMixtureParams,
    covariance_type: str,
    sampling_time: float,
    prob: float,
) -> dict:
    """MCMC-only metrics: diagnostics, ESS per second and the interval metrics.

    ``posterior`` must already be aligned to the true component order.

    Returns
    -------
    dict
        :func:`sampling_diagnostics`, ``ess_per_second`` (min bulk ESS / sampling time in
        seconds) and :func:`interval_metrics`.
    """
    diagnostics = sampling_diagnostics(posterior, sample_stats, covariance_type)
    intervals = interval_metrics(
        posterior_free_draws(posterior, covariance_type),
        None if truth is None else params_free_vector(truth, covariance_type),
        params_free_vector(em_aligned, covariance_type),
        prob,
    )
    ess_per_second = diagnostics["min_ess_bulk"] / max(float(sampling_time), 1e-9)
    return {**diagnostics, "ess_per_second": ess_per_second, **intervals}


# ---------------------------------------------------------------------------------------
# EM versus MCMC memberships
# ---------------------------------------------------------------------------------------


def em_mcmc_agreement(
    em_responsibilities: np.ndarray,
    em_labels: np.ndarray,
    membership: np.ndarray,
    mcmc_labels: np.ndarray,
) -> dict:
    """Agreement between EM and posterior memberships (both aligned to the truth).

    .. math::

        \\mathrm{MAD} = \\frac{1}{N K} \\sum_{i,k} |r_{ik} - P(z_i = k \\mid X)|

    Returns ``em_mcmc_ari`` and ``em_mcmc_accuracy`` of EM MAP labels against posterior
    MAP labels and ``responsibility_mad``.
    """
    em_responsibilities, membership = np.asarray(em_responsibilities), np.asarray(membership)
    if em_responsibilities.shape != membership.shape:
        raise ValueError(
            f"EM responsibilities have shape {em_responsibilities.shape}, posterior "
            f"memberships {membership.shape}"
        )
    em_labels, mcmc_labels = np.asarray(em_labels), np.asarray(mcmc_labels)
    return {
        "em_mcmc_ari": float(adjusted_rand_score(em_labels, mcmc_labels)),
        "em_mcmc_accuracy": float(accuracy_score(em_labels, mcmc_labels)),
        "responsibility_mad": float(np.mean(np.abs(em_responsibilities - membership))),
    }
