"""Degenerate fits: components the data cannot estimate.

The Gaussian-mixture likelihood is unbounded: a component that sits on one point, or on a
set of rows sharing a value in some direction (tied, rounded measurements), has a variance
of ``reg_covar`` in that direction and a log-density that grows without bound as
``reg_covar`` shrinks. EM converges to such fits easily, and BIC then prefers them, because
their likelihood is set by the regulariser, not by the data. mclust reports them as missing
(NA) and never chooses them; emgmm flags them the same way.

A fitted component :math:`k` is **degenerate** when either

1. **too few points**: its effective count :math:`N_k = N \\pi_k` is below the number of
   points needed to estimate its own covariance without the ridge
   (:meth:`emgmm.covariance_types.CovarianceType.min_count`): :math:`D + 1` for ``full``
   (the scatter of fewer than :math:`D + 1` points is singular), 2 for ``diag`` and
   ``spherical`` (one point has no spread), 1 for ``tied`` (only the mean and weight are
   the component's own; the covariance is estimated from all rows); or
2. **no spread in some direction**: an eigenvalue of its covariance (``full``, ``tied``: of
   the matrix; ``diag``: a variance; ``spherical``: the variance) is at most
   ``RIDGE_FACTOR`` :math:`= 10` times ``reg_covar``, i.e. the ridge makes up at least a
   tenth of the variance in that direction: the data gave (almost) no spread there, the
   rows the component explains are tied or lie on a lower-dimensional set, and its
   log-likelihood is an artefact of ``reg_covar``. With ``reg_covar = 0`` the threshold is
   the collapse floor of :mod:`emgmm.collapse` (such components are re-seeded during EM).

Why these two and not the re-seeding rule of :mod:`emgmm.collapse` (a variance below
:math:`10^{-12}` of the data's): that rule catches components shrinking towards a point
*during* EM, which then cannot continue; it cannot see a component held at
:math:`\\varepsilon = 10^{-6}` by the ridge, which is a fixed point of EM with a finite but
meaningless likelihood. Rule 1 is the classical identifiability condition of a Gaussian
component (Fraley and Raftery 2007 treat the same fits as "singular"); rule 2 catches
the tied-value fits rule 1 misses (14 rows of Old Faithful share a waiting time: a ``diag``
component on them has :math:`N_k = 14` but zero spread in that column). The factor 10 is
far from legitimate spreads on data of ordinary scale (variances of 1e-5 and above), and
close enough to the ridge to flag nothing whose variance the data determine; data on a
scale where real variances are near ``reg_covar`` should be rescaled (the warning says so).
"""

from __future__ import annotations

import numpy as np

from emgmm.params import GaussianMixtureParams

RIDGE_FACTOR = 10.0


class DegenerateFitWarning(UserWarning):
    """A fitted mixture has a degenerate component (see :mod:`emgmm.degenerate`)."""


def smallest_eigenvalues(params: GaussianMixtureParams) -> np.ndarray:
    """Smallest covariance eigenvalue of each component, shape (K,) (``tied``: the shared
    matrix's, repeated)."""
    kind = params.kind
    if kind.matrix:
        smallest = np.linalg.eigvalsh(kind.stack(params.covariances))[:, 0]
        return np.broadcast_to(smallest, (params.n_components,)).copy() if kind.shared else smallest
    per_feature = kind.per_feature(np.asarray(params.covariances, dtype=float), params.n_features)
    return per_feature.min(axis=1)


def degenerate_components(params: GaussianMixtureParams, n_samples: int, reg_covar: float,
                          floor: float = 0.0) -> list[tuple[int, str]]:
    """``(component, reason)`` for every degenerate component (the module docstring's rules).

    Parameters
    ----------
    params : GaussianMixtureParams
    n_samples : int
        N, the number of rows the mixture was fitted to.
    reg_covar : float
        The ridge added to the covariances' diagonal during the fit.
    floor : float
        Lower bound of the eigenvalue threshold (the collapse floor, for ``reg_covar = 0``).
    """
    counts = params.weights * n_samples
    needed = params.kind.min_count(params.n_features)
    threshold = max(RIDGE_FACTOR * reg_covar, floor)
    eigenvalues = smallest_eigenvalues(params)
    found = []
    for k in range(params.n_components):
        if counts[k] < needed:
            found.append((k, f"component {k} explains N_k = {counts[k]:.4f} rows, fewer than the "
                             f"{needed:g} a {params.covariance_type} component needs"))
        elif eigenvalues[k] <= threshold:
            found.append((k, f"component {k} has a covariance eigenvalue {eigenvalues[k]:.3g} <= "
                             f"{RIDGE_FACTOR:g} x reg_covar: no spread in some direction (tied values)"))
    return found


def degeneracy(params: GaussianMixtureParams, n_samples: int, reg_covar: float,
               floor: float = 0.0) -> str | None:
    """Why the fit is degenerate (the reasons of all degenerate components, joined by
    ``"; "``), or None when it is not."""
    found = degenerate_components(params, n_samples, reg_covar, floor)
    return "; ".join(reason for _, reason in found) or None
