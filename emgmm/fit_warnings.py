"""The warnings of an EM fit: not converged, re-seeded, degenerate, likelihood decreased."""

from __future__ import annotations

import warnings

from emgmm.collapse import CollapsedComponentWarning
from emgmm.degenerate import DegenerateFitWarning


class ConvergenceWarning(UserWarning):
    """EM stopped at ``max_iter`` before the change of mean log-likelihood fell below ``tol``."""


class LikelihoodDecreaseWarning(UserWarning):
    """The log-likelihood decreased between EM iterations by more than rounding."""


def warn_about_fit(result, max_iter: int, tol: float = 0.0, reg_covar: float = 0.0, *,
                   method: str = "EM", objective: str = "mean log-likelihood") -> None:
    """Warn about what the chosen start of a fit (an ``EMResult``) ran into; ``method`` and
    ``objective`` name the algorithm and what it climbs in the messages."""
    if not result.converged and max_iter > 0:
        warnings.warn(
            f"{method} did not converge in max_iter={max_iter} iterations: increase max_iter or tol, "
            "or check the data for degeneracies",
            ConvergenceWarning,
            stacklevel=3,
        )
    if result.reseeded:
        warnings.warn(
            f"{len(result.reseeded)} collapsed component(s) were re-seeded (see EMResult.reseeded): "
            "consider fewer components or a larger reg_covar",
            CollapsedComponentWarning,
            stacklevel=3,
        )
    if result.degenerate is not None:
        warnings.warn(
            f"degenerate fit ({result.degenerate}): its likelihood is set by reg_covar, not by "
            "the data; use fewer components, another covariance type, or more starts",
            DegenerateFitWarning,
            stacklevel=3,
        )
    largest_drop = max((-change for _, change in result.decreases), default=0.0)
    # With reg_covar > 0 the ridge makes the M-step inexact: drops below tol are expected.
    if result.decreases and (reg_covar == 0.0 or largest_drop >= tol):
        iteration, change = result.decreases[0]
        warnings.warn(
            f"the {objective} decreased {len(result.decreases)} time(s) (first at "
            f"iteration {iteration}, by {-change:.3g}); see EMResult.decreases",
            LikelihoodDecreaseWarning,
            stacklevel=3,
        )
