"""Sufficient statistics of a Gaussian mixture and the M-step computed from them alone.

With responsibilities (or hard labels) :math:`\\gamma_{ik}` and a shift :math:`m_k` per
component (close to the component's mean: the means entering an EM iteration, or the
cluster means of a k-means start), the M-step needs only

.. math::

    N_k = \\sum_i \\gamma_{ik}, \\qquad
    s_k = \\sum_i \\gamma_{ik} (x_i - m_k), \\qquad
    S_k = \\sum_i \\gamma_{ik} (x_i - m_k)(x_i - m_k)^T .

With :math:`\\tilde N_k = N_k + 10\\,\\epsilon` (the empty-component guard of the
reference M-step), :math:`\\mu_k = (s_k + N_k m_k) / \\tilde N_k` and
:math:`\\delta_k = \\mu_k - m_k`, the centred scatter is

.. math::

    C_k = \\sum_i \\gamma_{ik} (x_i - \\mu_k)(x_i - \\mu_k)^T
        = S_k - \\delta_k s_k^T - s_k \\delta_k^T + N_k \\delta_k \\delta_k^T ,

and :math:`\\Sigma_k = C_k / \\tilde N_k + \\varepsilon I` (full), :math:`\\Sigma =
\\sum_k C_k / \\sum_k \\tilde N_k + \\varepsilon I` (tied), the diagonal of the full
estimate (diag) or its mean (spherical); :math:`\\pi_k = \\tilde N_k / \\sum_j \\tilde N_j`.
Shifting by :math:`m_k` keeps the sums small, so there is no cancellation of large raw
moments as in :math:`E[xx^T] - \\mu\\mu^T`. Used by the fused iteration of
:mod:`emgmm.fast`, by the reference M-step (:func:`statistics_from_responsibilities`, about
the new means) and by the hard-label starts of :mod:`emgmm.init`
(:func:`statistics_from_labels`); MAP-EM (:mod:`emgmm.map_em`) applies the prior's update
to the same statistics. This is the one M-step of emgmm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emgmm._chunks import CHUNK_ROWS, row_chunks
from emgmm.covariance_types import CovarianceType
from emgmm.covariance_types import covariance_type as covariance_type_of
from emgmm.params import GaussianMixtureParams

# Added to every N_k so that an empty component gives finite (if useless) estimates, as
# scikit-learn does; the fit loop detects such components and re-seeds them.
EMPTY_COMPONENT_GUARD = 10.0 * np.finfo(float).eps

__all__ = [
    "EMPTY_COMPONENT_GUARD",
    "SufficientStatistics",
    "centred_scatter",
    "cluster_means",
    "mixture_weights",
    "params_from_statistics",
    "statistics_from_labels",
    "statistics_from_responsibilities",
]


@dataclass(frozen=True)
class SufficientStatistics:
    """Sums over all samples that the M-step needs, taken about the shift ``m_k``.

    Attributes
    ----------
    log_likelihood : float
        :math:`\\sum_i \\log p(x_i \\mid \\theta)` at the parameters of the E-step (NaN when
        the statistics come from given responsibilities or labels).
    n_samples : int
    counts : array of shape (n_components,)
        :math:`N_k = \\sum_i \\gamma_{ik}` (without the empty-component guard).
    first_moments : array of shape (n_components, n_features)
        :math:`s_k = \\sum_i \\gamma_{ik} (x_i - m_k)`.
    second_moments : array of shape (n_components, n_features, n_features) or (n_components, n_features)
        :math:`S_k = \\sum_i \\gamma_{ik} (x_i - m_k)(x_i - m_k)^T` (symmetric), or only its
        diagonal for ``diag`` and ``spherical``.
    shift : array of shape (n_components, n_features)
        The shifts :math:`m_k`.
    covariance_type : str
    """

    log_likelihood: float
    n_samples: int
    counts: np.ndarray
    first_moments: np.ndarray
    second_moments: np.ndarray
    shift: np.ndarray
    covariance_type: str

    @property
    def guarded_counts(self) -> np.ndarray:
        """:math:`\\tilde N_k = N_k + 10\\epsilon`."""
        return self.counts + EMPTY_COMPONENT_GUARD

    @property
    def means(self) -> np.ndarray:
        """:math:`\\bar x_k = (s_k + N_k m_k) / \\tilde N_k`, array of shape (n_components, n_features)."""
        return (self.first_moments + self.counts[:, None] * self.shift) / self.guarded_counts[:, None]


# --- the sums ------------------------------------------------------------------------------


def _second_moment(kind: CovarianceType, weights: np.ndarray | None,
                   residuals: np.ndarray) -> np.ndarray:
    # sum_i w_i r_i r_i^T (matrix types) or its diagonal; weights None means all ones
    # (hard labels), summed without multiplying by ones so that BLAS sees the same operands.
    if weights is None:
        if kind.matrix:
            return residuals.T @ residuals
        return np.einsum("ij,ij->j", residuals, residuals)
    if kind.matrix:
        return (weights * residuals.T) @ residuals
    return weights @ residuals**2


def statistics_from_responsibilities(X: np.ndarray, resp: np.ndarray,
                                     covariance_type: str) -> SufficientStatistics:
    """The sums of responsibilities ``resp`` (N, K) about the new means
    :math:`m_k = \\sum_i \\gamma_{ik} x_i / \\tilde N_k` (so that :math:`s_k \\approx 0`)."""
    kind = covariance_type_of(covariance_type)
    X = np.asarray(X, dtype=float)
    resp = np.asarray(resp, dtype=float)
    counts = resp.sum(axis=0)
    shift = resp.T @ X / (counts + EMPTY_COMPONENT_GUARD)[:, None]
    first = np.empty_like(shift)
    second = []
    for k in range(shift.shape[0]):
        # Residuals are formed before the products: no E[x x^T] - mu mu^T cancellation.
        residuals = X - shift[k]
        first[k] = resp[:, k] @ residuals
        second.append(_second_moment(kind, resp[:, k], residuals))
    return SufficientStatistics(float("nan"), X.shape[0], counts, first, np.stack(second), shift,
                                covariance_type)


def cluster_means(X: np.ndarray, labels: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Mean of the rows of each label (labels 0..K-1; an empty label gives 0), (K, D)."""
    # One bincount per feature: a pass over a column instead of a boolean mask per cluster.
    sums = np.stack([np.bincount(labels, weights=column, minlength=counts.shape[0])
                     for column in X.T], axis=1)
    return sums / np.maximum(counts, 1)[:, None]


def statistics_from_labels(X: np.ndarray, labels: np.ndarray, n_components: int,
                           covariance_type: str, chunk_rows: int = CHUNK_ROWS) -> SufficientStatistics:
    """The sums of one-hot responsibilities, without forming them: over the rows of each
    label, about the label's mean, ``chunk_rows`` rows at a time (no (N, K) or (N, D)
    temporary)."""
    kind = covariance_type_of(covariance_type)
    counts = np.bincount(labels, minlength=n_components)
    shift = cluster_means(X, labels, counts)
    n_features = X.shape[1]
    first = np.zeros((n_components, n_features))
    second = np.zeros((n_components, n_features) + ((n_features,) if kind.matrix else ()))
    for rows in row_chunks(X.shape[0], chunk_rows):
        block, block_labels = X[rows], labels[rows]
        for k in np.unique(block_labels):
            residuals = block[block_labels == k] - shift[k]
            first[k] += residuals.sum(axis=0)
            second[k] += _second_moment(kind, None, residuals)
    return SufficientStatistics(float("nan"), X.shape[0], counts.astype(float), first, second,
                                shift, covariance_type)


# --- the M-step ----------------------------------------------------------------------------


def centred_scatter(stats: SufficientStatistics, means: np.ndarray) -> np.ndarray:
    """:math:`C_k = S_k - \\delta_k s_k^T - s_k \\delta_k^T + N_k \\delta_k \\delta_k^T`,
    :math:`\\delta_k = \\mu_k - m_k` (matrices, or their diagonals), about ``means``."""
    s, n, delta = stats.first_moments, stats.counts, means - stats.shift
    if stats.second_moments.ndim == 3:
        cross = delta[:, :, None] * s[:, None, :]
        return (stats.second_moments - cross - cross.swapaxes(1, 2)
                + n[:, None, None] * delta[:, :, None] * delta[:, None, :])
    return stats.second_moments - 2.0 * delta * s + n[:, None] * delta**2


def mixture_weights(guarded_counts: np.ndarray, weights_concentration=1.0) -> np.ndarray:
    """The weights update: the mode of :math:`\\pi \\mid N \\sim \\operatorname{Dirichlet}(N + \\alpha)`,

    .. math:: \\pi_k = \\frac{\\tilde N_k + \\alpha_k - 1}{\\sum_j (\\tilde N_j + \\alpha_j - 1)},

    which is :math:`\\pi_k = \\tilde N_k / N` for maximum likelihood (:math:`\\alpha = 1`).
    """
    unnormalised = guarded_counts + (np.asarray(weights_concentration, dtype=float) - 1.0)
    return unnormalised / unnormalised.sum()


def params_from_statistics(stats: SufficientStatistics, reg_covar: float) -> GaussianMixtureParams:
    """The M-step from :class:`SufficientStatistics` (see the module docstring for the algebra).

    .. math::

        \\tilde N_k = N_k + 10\\epsilon, \\quad \\pi_k = \\frac{\\tilde N_k}{\\sum_j \\tilde N_j}, \\quad
        \\mu_k = \\frac{s_k + N_k m_k}{\\tilde N_k}, \\quad
        \\Sigma_k = \\frac{C_k}{\\tilde N_k} + \\varepsilon I

    (``tied``, ``diag``, ``spherical``: :meth:`emgmm.covariance_types.CovarianceType.from_scatter`).
    """
    guarded = stats.guarded_counts
    means = stats.means
    covariances = covariance_type_of(stats.covariance_type).from_scatter(
        centred_scatter(stats, means), guarded, reg_covar)
    return GaussianMixtureParams(mixture_weights(guarded), means, covariances, stats.covariance_type)
