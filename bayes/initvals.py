"""Starting values of the chains: the EM solution mapped onto the model's free variables.

With ``init="em"`` every chain starts, without jitter, at the maximum-likelihood
estimate of :class:`emgmm.GaussianMixtureEM`. With jittered PyMC-style starts, one chain
of a well-separated 2-D K=3 problem regularly settled in a local mode (R-hat ~ 2); EM
starts removed that. The values are given in the constrained space, keyed by the model's
variable names (``pm.sample(initvals=...)`` applies the transforms), in the standardised
units of the free variables (:func:`bayes.priors.prior_data`): means
:math:`(\\mu - m) / s`, scales :math:`\\sigma / u`, Cholesky factors of
:math:`\\operatorname{diag}(u)^{-1} \\Sigma \\operatorname{diag}(u)^{-1}`.

With ``init="jitter"`` only the ordered ``means_first_std`` gets a start (evenly spaced data
quantiles, because the default start of an ordered vector has equal entries, which the
ordered transform maps to ``log 0``); the sampler then jitters every variable.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from emgmm import GaussianMixtureEM

from bayes.priors import ResolvedPriors, prior_data


def fit_em_solution(
    X: np.ndarray, n_components: int, covariance_type: str, random_seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maximum-likelihood (weights, means, covariances) in scikit-learn layouts."""
    em = GaussianMixtureEM(
        n_components,
        covariance_type=covariance_type,
        n_init=3,
        max_iter=500,
        random_state=random_seed,
    ).fit(X)
    return np.asarray(em.weights_), np.asarray(em.means_), np.asarray(em.covariances_)


def strictly_increasing(values: np.ndarray) -> np.ndarray:
    """Sorted values nudged apart so that ties do not map to ``log 0`` in the ordered transform."""
    values = np.sort(np.asarray(values, dtype=float))
    gap = 1e-6 * max(1.0, float(np.ptp(values)))
    for i in range(1, values.size):
        values[i] = max(values[i], values[i - 1] + gap)
    return values


def packed_lower_cholesky(covariance: np.ndarray) -> np.ndarray:
    """Row-major packed lower triangle of chol(covariance), LKJCholeskyCov's value layout."""
    chol = linalg.cholesky(covariance, lower=True)
    return chol[np.tril_indices(covariance.shape[0])]


def covariance_initvals(covariances: np.ndarray, covariance_type: str, unit: np.ndarray) -> dict:
    """Start values of the standardised covariance variables (see :mod:`bayes.covariances`).

    ``covariances`` is in the scikit-learn layout of ``covariance_type``, already in the
    components' final order; ``unit`` is the ``scale_unit`` data ((D,), or () spherical).
    """
    if covariance_type in ("full", "tied") and unit.size > 1:
        scaled = covariances / np.outer(unit, unit)
        if covariance_type == "tied":
            return {"chol_cov_std": packed_lower_cholesky(scaled)}
        return {f"chol_cov_std_{k}": packed_lower_cholesky(c) for k, c in enumerate(scaled)}
    if covariance_type == "full":  # D = 1: (K, 1, 1) variances
        variances = covariances[:, :, 0]
    elif covariance_type == "tied":  # D = 1: (1, 1)
        variances = covariances[0]
    else:  # diag (K, D) and spherical (K,) hold variances
        variances = covariances
    return {"scales_std": np.sqrt(variances) / unit}


def mean_initvals(means: np.ndarray, order_means: bool, loc: np.ndarray,
                  scale: np.ndarray) -> dict:
    """Start values of ``means_std`` or of ``means_first_std``/``means_rest_std`` (ordered)."""
    standardised = (means - loc) / scale
    if not order_means:
        return {"means_std": standardised}
    values = {"means_first_std": strictly_increasing(standardised[:, 0])}
    if means.shape[1] > 1:
        values["means_rest_std"] = standardised[:, 1:]
    return values


def em_initvals(
    X: np.ndarray,
    n_components: int,
    covariance_type: str,
    order_means: bool,
    random_seed: int,
    resolved: ResolvedPriors,
) -> dict[str, np.ndarray]:
    """Initial values of every free variable at the EM solution.

    Components are sorted by the first coordinate of their means so that the start
    satisfies the ordering constraint; tiny weights are floored at 1e-6 so that the
    simplex transform stays finite. ``resolved`` gives the standardised units.
    """
    weights, means, covariances = fit_em_solution(X, n_components, covariance_type, random_seed)
    data = prior_data(resolved)
    order = np.argsort(means[:, 0], kind="stable")
    weights = np.maximum(weights[order], 1e-6)
    covariances = covariances if covariance_type == "tied" else covariances[order]
    free_weights = {"weights": weights / weights.sum()} if n_components > 1 else {}
    return {
        **free_weights,
        **mean_initvals(means[order], order_means and n_components > 1, data["means_loc"],
                        data["means_scale"]),
        **covariance_initvals(covariances, covariance_type, data["scale_unit"]),
    }


def jitter_initvals(X: np.ndarray, n_components: int, order_means: bool,
                    resolved: ResolvedPriors) -> dict[str, np.ndarray]:
    """Minimal starts for jittered initialisation: ``means_first_std`` at data quantiles."""
    if not order_means or n_components == 1:
        return {}
    quantiles = (np.arange(n_components) + 0.5) / n_components
    first = (np.quantile(X[:, 0], quantiles) - resolved.means_loc[0]) / resolved.means_scale[0]
    return {"means_first_std": strictly_increasing(first)}
