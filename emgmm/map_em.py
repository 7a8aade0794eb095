"""MAP-EM: EM for the posterior mode under conjugate priors (Fraley and Raftery 2007).

The priors are those of :mod:`emgmm.map_prior`. With the M-step statistics
:math:`N_k = \\sum_i \\gamma_{ik}`, :math:`\\bar x_k = \\sum_i \\gamma_{ik} x_i / N_k`,
:math:`S_k = \\sum_i \\gamma_{ik} (x_i - \\bar x_k)(x_i - \\bar x_k)^T` and
:math:`B_k = \\frac{\\kappa N_k}{\\kappa + N_k} (\\bar x_k - \\mu_0)(\\bar x_k - \\mu_0)^T`,
the M-step maximises :math:`Q(\\theta) + \\log p(\\theta)` in closed form:

.. math::

    w_k = \\frac{N_k + \\alpha_k - 1}{N + \\sum_j \\alpha_j - K}, \\qquad
    \\mu_k = \\frac{N_k \\bar x_k + \\kappa \\mu_0}{N_k + \\kappa}, \\qquad
    \\Sigma_k = \\frac{\\Psi + S_k + B_k}{\\nu + N_k + D + 2} \\;(\\texttt{full}),

    \\Sigma = \\frac{\\Psi + \\sum_k (S_k + B_k)}{\\nu + N + D + 1 + K} \\;(\\texttt{tied}),\\quad
    \\sigma^2_{kd} = \\frac{\\psi_d + (S_k + B_k)_{dd}}{\\nu + N_k + 3} \\;(\\texttt{diag}),\\quad
    \\sigma^2_k = \\frac{\\psi + \\operatorname{tr}(S_k + B_k)}{\\nu + N_k D + D + 2}
    \\;(\\texttt{spherical}).

The flat limit (:func:`flat_conjugate_prior`: :math:`\\alpha = 1`, :math:`\\kappa = 0`,
:math:`\\Psi = 0` and the ``dof`` that cancels the :math:`\\log|\\Sigma|` term: ``-(D+2)``,
``-(D+1+K)``, ``-3``, ``-(D+2)`` for full, tied, diag, spherical;
:meth:`emgmm.covariance_types.CovarianceType.prior_dof_offset`) makes
:math:`\\log p(\\theta)` constant and MAP-EM exactly maximum-likelihood EM.

The M-step is :func:`map_params_from_statistics`: the sums of
:mod:`emgmm.statistics` (the same as maximum-likelihood EM's) followed by the prior's
update; :func:`map_em_iteration` is the iteration function that the one EM loop,
:func:`emgmm.fit.fit_em` with ``prior=...``, runs.

References: Fraley and Raftery (2007), "Bayesian regularization for normal mixture estimation
and model-based clustering", J. Classification 24; mclust's ``priorControl``.
"""

from __future__ import annotations

import numpy as np

from emgmm.covariance_types import add_to_diagonal
from emgmm.covariance_types import covariance_type as covariance_type_of
from emgmm.map_prior import (
    ConjugatePrior,
    check_compatible,
    log_prior_density,
    shrinkage_scatter,
)
from emgmm.params import GaussianMixtureParams
from emgmm.statistics import (
    SufficientStatistics,
    centred_scatter,
    mixture_weights,
    statistics_from_responsibilities,
)
from emgmm.steps import e_step

__all__ = [
    "map_em_iteration",
    "map_m_step",
    "map_objective",
    "map_params_from_statistics",
]


def map_params_from_statistics(stats: SufficientStatistics, prior: ConjugatePrior,
                               reg_covar: float = 0.0) -> GaussianMixtureParams:
    """The MAP-EM M-step from the sufficient statistics: the closed-form maximiser of
    :math:`Q(\\theta) + \\log p(\\theta)` (equations in the module docstring).

    ``reg_covar`` (default 0) adds a ridge to every variance after the update, as in plain
    EM; with ``reg_covar > 0`` the objective is no longer guaranteed to increase.
    """
    kind = covariance_type_of(stats.covariance_type)
    n_components, n_features = stats.first_moments.shape
    check_compatible(stats.covariance_type, n_components, n_features, prior)
    nk = stats.guarded_counts
    xbar = stats.means
    kappa = prior.shrinkage
    means = (nk[:, None] * xbar + kappa * prior.mean) / (nk + kappa)[:, None]
    scatter = shrinkage_scatter(nk, xbar, prior.mean, kappa, kind.matrix)
    covariances = kind.map_from_scatter(
        prior.scale, centred_scatter(stats, xbar) + scatter, nk, n_features,
        n_components, prior.dof,
    )
    covariances = add_to_diagonal(covariances, reg_covar) if kind.matrix else covariances + reg_covar
    return GaussianMixtureParams(mixture_weights(nk, prior.weights_concentration), means,
                                 covariances, stats.covariance_type)


def map_m_step(
    X: np.ndarray, resp: np.ndarray, prior: ConjugatePrior, reg_covar: float = 0.0
) -> GaussianMixtureParams:
    """M-step of MAP-EM from responsibilities ``resp`` (N, K) (rows sum to 1):
    :func:`map_params_from_statistics` of
    :func:`emgmm.statistics.statistics_from_responsibilities`."""
    stats = statistics_from_responsibilities(X, resp, prior.covariance_type)
    return map_params_from_statistics(stats, prior, reg_covar)


def map_objective(X: np.ndarray, params: GaussianMixtureParams, prior: ConjugatePrior) -> float:
    """:math:`\\sum_i \\log p(x_i \\mid \\theta) + \\log p(\\theta)`, the function MAP-EM climbs."""
    log_norm, _ = e_step(X, params)
    return float(np.sum(log_norm)) + log_prior_density(params, prior)


def map_em_iteration(X: np.ndarray, params: GaussianMixtureParams, reg_covar: float, *,
                     prior: ConjugatePrior) -> tuple[float, GaussianMixtureParams]:
    """One MAP-EM iteration: an E-step at ``params`` followed by :func:`map_m_step`.

    Every iteration cannot decrease :math:`\\log p(X \\mid \\theta) + \\log p(\\theta)`
    when ``reg_covar = 0`` (Dempster, Laird and Rubin 1977, section 3; the M-step is exact).

    Returns
    -------
    objective : float
        :func:`map_objective` at the *input* ``params``, summed over samples (not a mean:
        the loop divides by N, see :mod:`emgmm.fit`).
    next_params : GaussianMixtureParams
    """
    log_norm, log_resp = e_step(X, params)
    objective = float(np.sum(log_norm)) + log_prior_density(params, prior)
    # exp() only here, on log-responsibilities already normalised in log space.
    return objective, map_m_step(X, np.exp(log_resp), prior, reg_covar)
