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
:mod:`emgmm.fast` and by the hard-label starts of :mod:`emgmm.init`; needs numpy only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from emgmm.params import GaussianMixtureParams

# Same guard as the reference M-step: N_k + 10 eps keeps an empty component finite.
EMPTY_COMPONENT_GUARD = 10.0 * np.finfo(float).eps

__all__ = ["SufficientStatistics", "params_from_statistics"]


@dataclass(frozen=True)
class SufficientStatistics:
    """Sums over all samples that the M-step needs, taken about the shift ``m_k``.

    Attributes
    ----------
    log_likelihood : float
        :math:`\\sum_i \\log p(x_i \\mid \\theta)` at the parameters of the E-step.
    n_samples : int
    counts : array of shape (n_components,)
        :math:`N_k = \\sum_i \\gamma_{ik}` (without the empty-component guard).
    first_moments : array of shape (n_components, n_features)
        :math:`s_k = \\sum_i \\gamma_{ik} (x_i - m_k)`.
    second_moments : array of shape (n_components, n_features, n_features) or (n_components, n_features)
        :math:`S_k = \\sum_i \\gamma_{ik} (x_i - m_k)(x_i - m_k)^T` (symmetric), or only its
        diagonal for ``diag`` and ``spherical``.
    shift : array of shape (n_components, n_features)
        The means :math:`m_k` of the E-step.
    covariance_type : str
    """

    log_likelihood: float
    n_samples: int
    counts: np.ndarray
    first_moments: np.ndarray
    second_moments: np.ndarray
    shift: np.ndarray
    covariance_type: str


def _centred_scatter(stats: SufficientStatistics, delta: np.ndarray) -> np.ndarray:
    """:math:`C_k` (matrices) or its diagonal, from the sums about the shift."""
    s, n = stats.first_moments, stats.counts
    if stats.second_moments.ndim == 3:
        cross = delta[:, :, None] * s[:, None, :]
        return (stats.second_moments - cross - cross.swapaxes(1, 2)
                + n[:, None, None] * delta[:, :, None] * delta[:, None, :])
    return stats.second_moments - 2.0 * delta * s + n[:, None] * delta**2


def _add_to_diagonal(matrices: np.ndarray, value: float) -> np.ndarray:
    size = matrices.shape[-1]
    matrices[..., np.arange(size), np.arange(size)] += value
    return matrices


_COVARIANCES_FROM_SCATTER: dict[str, Callable] = {
    "full": lambda scatter, nk, reg: _add_to_diagonal(scatter / nk[:, None, None], reg),
    "tied": lambda scatter, nk, reg: _add_to_diagonal(scatter.sum(axis=0) / nk.sum(), reg),
    "diag": lambda scatter, nk, reg: scatter / nk[:, None] + reg,
    "spherical": lambda scatter, nk, reg: (scatter / nk[:, None] + reg).mean(axis=1),
}


def params_from_statistics(stats: SufficientStatistics, reg_covar: float) -> GaussianMixtureParams:
    """M-step from :class:`SufficientStatistics` (see the module docstring for the algebra).

    .. math::

        \\tilde N_k = N_k + 10\\epsilon, \\quad \\pi_k = \\frac{\\tilde N_k}{\\sum_j \\tilde N_j}, \\quad
        \\mu_k = \\frac{s_k + N_k m_k}{\\tilde N_k}, \\quad
        \\Sigma_k = \\frac{C_k}{\\tilde N_k} + \\varepsilon I
    """
    guarded = stats.counts + EMPTY_COMPONENT_GUARD
    means = (stats.first_moments + stats.counts[:, None] * stats.shift) / guarded[:, None]
    scatter = _centred_scatter(stats, means - stats.shift)
    covariances = _COVARIANCES_FROM_SCATTER[stats.covariance_type](scatter, guarded, reg_covar)
    return GaussianMixtureParams(guarded / guarded.sum(), means, covariances, stats.covariance_type)
