"""The variational posterior q(pi, mu, Lambda) and its update from the sufficient statistics.

With the statistics of :mod:`emgmm.statistics` under responsibilities :math:`r_{ik}`
(:math:`N_k` with the empty-component guard, :math:`\\bar x_k`, and the covariance
:math:`S_k = C_k / N_k + \\varepsilon I` of the maximum-likelihood M-step,
:func:`emgmm.statistics.params_from_statistics`), the optimal factor
:math:`q(\\pi, \\mu, \\Lambda)` given :math:`q(Z)` is (Bishop 2006, 10.58-10.63; weights
10.58, or the stick-breaking update of Blei and Jordan 2006):

.. math::

    \\alpha_k = \\alpha_0 + N_k \\quad\\text{or}\\quad
    (a_k, b_k) = (1 + N_k,\\; \\gamma_k + \\textstyle\\sum_{j>k} N_j), \\qquad
    \\beta_k = \\beta_0 + N_k, \\qquad
    m_k = \\frac{\\beta_0 \\mu_0 + N_k \\bar x_k}{\\beta_k},

    \\nu_k = \\nu_0 + N_k, \\qquad
    W_k^{-1} = \\Psi + N_k S_k + \\frac{\\beta_0 N_k}{\\beta_0 + N_k}
              (\\bar x_k - \\mu_0)(\\bar x_k - \\mu_0)^T .

The other covariance types follow scikit-learn's ``BayesianGaussianMixture``: ``diag`` the
diagonal of the full update, ``spherical`` its mean over the features (with
:math:`\\nu_k = \\nu_0 + N_k`), ``tied`` the average over the components of the
per-component terms (:math:`\\nu = \\nu_0 + \\sum_k N_k / K`). As scikit-learn does, the
state stores the normalised :math:`W_k^{-1} / \\nu_k` as ``covariances`` (the covariance at
the expected precision :math:`E[\\Lambda_k] = \\nu_k W_k`), its precision factor, and
scikit-learn's names.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma

from emgmm.covariance_types import covariance_type as covariance_type_of
from emgmm.densities import LOG_2PI
from emgmm.engines import fast_module
from emgmm.map_prior import freeze_fields, shrinkage_scatter
from emgmm.params import GaussianMixtureParams
from emgmm.statistics import SufficientStatistics, params_from_statistics
from emgmm.variational.prior import VariationalPrior

__all__ = [
    "VariationalPosterior",
    "expected_log_det_precision",
    "expected_log_weights",
    "log_score_constants",
    "mean_weights",
    "posterior_from_estimate",
    "posterior_from_statistics",
]


@dataclass(frozen=True)
class VariationalPosterior:
    """The factor :math:`q(\\pi)\\, q(\\mu, \\Lambda)` of the variational posterior.

    Attributes
    ----------
    weight_concentration : ndarray of shape (n_components,) or (2, n_components)
        Dirichlet :math:`\\alpha_k`, or the Beta parameters :math:`(a_k, b_k)` of the sticks.
    mean_precision : ndarray of shape (n_components,)
        :math:`\\beta_k`.
    means : ndarray of shape (n_components, n_features)
        :math:`m_k`.
    degrees_of_freedom : ndarray of shape (n_components,), or () for tied
        :math:`\\nu_k`.
    covariances : ndarray, covariance-type layout
        :math:`W_k^{-1}/\\nu_k`.
    precisions_cholesky : ndarray, covariance-type layout
        Cholesky factor of :math:`\\nu_k W_k` (:meth:`CovarianceType.precision_cholesky`).
    covariance_type : str
    weights_prior_type : str
    """

    weight_concentration: np.ndarray
    mean_precision: np.ndarray
    means: np.ndarray
    degrees_of_freedom: np.ndarray
    covariances: np.ndarray
    precisions_cholesky: np.ndarray
    covariance_type: str
    weights_prior_type: str

    def __post_init__(self) -> None:
        freeze_fields(self, **{name: np.asarray(getattr(self, name), dtype=float) for name in (
            "weight_concentration", "mean_precision", "means", "degrees_of_freedom", "covariances",
            "precisions_cholesky")})

    @property
    def n_components(self) -> int:
        return self.means.shape[0]

    @property
    def n_features(self) -> int:
        return self.means.shape[1]

    @property
    def weights(self) -> np.ndarray:
        """:func:`mean_weights`, scikit-learn's ``weights_``."""
        return mean_weights(self.weight_concentration, self.weights_prior_type)

    @property
    def params(self) -> GaussianMixtureParams:
        """The point estimate ``(weights_, means_, covariances_)`` as a mixture."""
        return GaussianMixtureParams(self.weights, self.means, self.covariances, self.covariance_type)


def mean_weights(weight_concentration: np.ndarray, weights_prior_type: str) -> np.ndarray:
    """:math:`E_q[\\pi_k]`: :math:`\\alpha_k / \\sum_j \\alpha_j`, or for the sticks
    :math:`E[v_k] \\prod_{j<k} E[1 - v_j]` renormalised to sum to one (scikit-learn)."""
    if weights_prior_type == "dirichlet_process":
        a, b = weight_concentration
        stick = b / (a + b)
        weights = a / (a + b) * np.hstack((1.0, np.cumprod(stick[:-1])))
        return weights / weights.sum()
    return weight_concentration / weight_concentration.sum()


def expected_log_weights(weight_concentration: np.ndarray, weights_prior_type: str) -> np.ndarray:
    """:math:`E_q[\\log \\pi_k] = \\psi(\\alpha_k) - \\psi(\\sum_j \\alpha_j)` (Bishop 10.66), or
    :math:`E[\\log v_k] + \\sum_{j<k} E[\\log(1 - v_j)]` for the sticks."""
    if weights_prior_type == "dirichlet_process":
        a, b = weight_concentration
        digamma_sum = digamma(a + b)
        return digamma(a) - digamma_sum + np.hstack((0.0, np.cumsum(digamma(b) - digamma_sum)[:-1]))
    return digamma(weight_concentration) - digamma(weight_concentration.sum())


def expected_log_det_precision(degrees_of_freedom: np.ndarray, n_features: int) -> np.ndarray:
    """:math:`E[\\log|\\Lambda_k|] - \\log|W_k| = \\sum_{d=1}^{D} \\psi(\\tfrac{\\nu_k + 1 - d}{2})
    + D \\log 2` (Bishop 10.65 without :math:`\\log|W_k|`; scikit-learn uses it for every type)."""
    halves = 0.5 * (np.asarray(degrees_of_freedom)[..., None] - np.arange(n_features))
    return n_features * np.log(2.0) + digamma(halves).sum(axis=-1)


def log_score_constants(posterior: VariationalPosterior) -> np.ndarray:
    """:math:`c_k` with :math:`\\log \\rho_{ik} = c_k - \\tfrac12 \\|(x_i - m_k) U_k\\|^2`, the
    E-step log-scores (Bishop 10.46 with 10.64-10.66), :math:`U_k` the stored precision factor:

    .. math::

        c_k = E[\\log \\pi_k] - \\tfrac D2 \\log 2\\pi + \\tfrac12 \\log|\\nu_k W_k|
              - \\tfrac D2 \\log \\nu_k + \\tfrac12 \\left(E[\\log|\\Lambda_k|] - \\log|W_k|
              - D / \\beta_k\\right)

    (:math:`\\nu_k (x - m_k)^T W_k (x - m_k) = \\|(x - m_k) U_k\\|^2`, 10.64).
    """
    kind = covariance_type_of(posterior.covariance_type)
    n_components, n_features = posterior.n_components, posterior.n_features
    half_log_det = kind.log_det_precision_cholesky(posterior.precisions_cholesky, n_components, n_features)
    log_lambda = expected_log_det_precision(posterior.degrees_of_freedom, n_features)
    return (expected_log_weights(posterior.weight_concentration, posterior.weights_prior_type)
            - 0.5 * n_features * LOG_2PI + half_log_det
            - 0.5 * n_features * np.log(posterior.degrees_of_freedom)
            + 0.5 * (log_lambda - n_features / posterior.mean_precision))


def precision_factors(kind, covariances: np.ndarray) -> np.ndarray:
    """:meth:`emgmm.covariance_types.CovarianceType.precision_cholesky`, by the numba code of
    :mod:`emgmm.fast` when it imports (LAPACK's per-call overhead dominates small problems)."""
    fast = fast_module()
    if fast is not None:
        return fast.precision_factors(kind, covariances)
    return kind.precision_cholesky(covariances)


def _weight_concentration(counts: np.ndarray, prior: VariationalPrior) -> np.ndarray:
    if prior.weights_prior_type == "dirichlet_process":
        # sum_{j > k} N_j for every k: the reversed cumulative sum, shifted by one.
        later = np.hstack((np.cumsum(counts[::-1])[-2::-1], 0.0))
        return np.stack((1.0 + counts, prior.weights_concentration + later))
    return prior.weights_concentration + counts


def _inverse_scale(counts, covariances, scatter, prior: VariationalPrior, kind):
    """:math:`W_k^{-1}` and :math:`\\nu_k` of the covariance type (module docstring)."""
    if kind.isotropic:
        scatter = scatter.mean(axis=1)
    per_component = counts.reshape((-1,) + (1,) * (scatter.ndim - 1)) * covariances + scatter
    if kind.shared:  # the average component: sum_k N_k S / K + sum_k B_k / K
        return prior.scale + per_component.mean(axis=0), prior.dof + counts.mean()
    return prior.scale + per_component, prior.dof + counts


def posterior_from_estimate(counts: np.ndarray, estimate: GaussianMixtureParams,
                            prior: VariationalPrior) -> VariationalPosterior:
    """The update of :math:`q(\\pi, \\mu, \\Lambda)` (module docstring) from the counts
    :math:`N_k` and the maximum-likelihood estimate :math:`(\\bar x_k, S_k)` they give."""
    kind = estimate.kind
    mean_precision = prior.shrinkage + counts
    means = (prior.shrinkage * prior.mean + counts[:, None] * estimate.means) / mean_precision[:, None]
    covariances = estimate.covariances
    if kind.shared:  # one S for all components, as each component's
        covariances = np.broadcast_to(covariances, (counts.size,) + covariances.shape)
    scatter = shrinkage_scatter(counts, estimate.means, prior.mean, prior.shrinkage, kind.matrix)
    inverse_scale, dof = _inverse_scale(counts, covariances, scatter, prior, kind)
    dof_shape = np.reshape(dof, np.shape(dof) + (1,) * (inverse_scale.ndim - np.ndim(dof)))
    normalised = inverse_scale / dof_shape
    return VariationalPosterior(
        weight_concentration=_weight_concentration(counts, prior),
        mean_precision=mean_precision,
        means=means,
        degrees_of_freedom=dof,
        covariances=normalised,
        precisions_cholesky=precision_factors(kind, normalised),
        covariance_type=estimate.covariance_type,
        weights_prior_type=prior.weights_prior_type,
    )


def posterior_from_statistics(stats: SufficientStatistics, prior: VariationalPrior,
                              reg_covar: float) -> VariationalPosterior:
    """:func:`posterior_from_estimate` from the sums of :mod:`emgmm.statistics` and their
    maximum-likelihood M-step (:func:`emgmm.statistics.params_from_statistics`), with the
    guarded counts :math:`N_k + 10\\epsilon`."""
    return posterior_from_estimate(stats.guarded_counts, params_from_statistics(stats, reg_covar), prior)
