"""Free scalar parameters: the entries of (weights, means, covariances) a model estimates.

A mixture, or every draw of a posterior, as one flat vector of the scalars the model
estimates: K weights, K x D means and the estimated covariance entries (the lower triangle
for ``full`` and ``tied``, the diagonal for ``diag`` and ``spherical``). Interval coverage,
calibration and the VI-vs-MCMC comparison measure these scalars one by one.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from emgmm import GaussianMixtureParams
from emgmm.covariance_types import covariance_type as covariance_type_of

__all__ = [
    "free_parameters",
    "params_free_vector",
    "posterior_free_draws",
    "posterior_mean_params",
]


def _covariance_entries(covariance_type: str, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    # full and tied estimate the lower triangle; diag and spherical only the diagonal.
    if covariance_type_of(covariance_type).matrix:
        return np.tril_indices(n_features)
    return np.diag_indices(n_features)


def free_parameters(
    weights: np.ndarray, means: np.ndarray, covariances: np.ndarray, covariance_type: str
) -> np.ndarray:
    """Flatten weights, means and the estimated covariance entries into one vector.

    Parameters
    ----------
    weights : array of shape (..., n_components)
    means : array of shape (..., n_components, n_features)
    covariances : array of shape (..., n_components, n_features, n_features), full matrices
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
        Selects the covariance entries: the lower triangle (full, tied) or the diagonal.

    Returns
    -------
    ndarray of shape (..., n_parameters)
        Leading (e.g. chain, draw) axes are kept.
    """
    means = np.asarray(means)
    rows, columns = _covariance_entries(covariance_type, means.shape[-1])
    lead = means.shape[:-2]
    cov_entries = np.asarray(covariances)[..., rows, columns]  # (..., K, n_entries)
    return np.concatenate(
        [np.asarray(weights), means.reshape(*lead, -1), cov_entries.reshape(*lead, -1)], axis=-1
    )


def params_free_vector(params: GaussianMixtureParams, covariance_type: str) -> np.ndarray:
    """:func:`free_parameters` of one mixture, array of shape (n_parameters,)."""
    return free_parameters(params.weights, params.means, params.full_covariances(), covariance_type)


def _posterior_arrays(posterior: xr.Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(chain, draw, ...) arrays of weights, means and full covariances."""

    def ordered(name: str) -> np.ndarray:
        variable = posterior[name]
        rest = [d for d in variable.dims if d not in ("chain", "draw")]
        return variable.transpose("chain", "draw", *rest).values

    return ordered("weights"), ordered("means"), ordered("covariances")


def posterior_free_draws(posterior: xr.Dataset, covariance_type: str) -> np.ndarray:
    """Draws of the free parameters, array of shape (chain, draw, n_parameters)."""
    return free_parameters(*_posterior_arrays(posterior), covariance_type)


def posterior_mean_params(posterior: xr.Dataset) -> GaussianMixtureParams:
    """Posterior means of weights, means and covariances as a full-covariance mixture."""
    weights, means, covariances = (a.mean(axis=(0, 1)) for a in _posterior_arrays(posterior))
    return GaussianMixtureParams(weights / weights.sum(), means, covariances, "full")
