"""Hand-written Expectation-Maximization for Gaussian mixtures, with the latent Z explicit."""

from emgmm.params import (
    COVARIANCE_TYPES,
    GaussianMixtureParams,
    compute_precision_cholesky,
    covariances_from_precision_cholesky,
    full_covariances,
)

__all__ = [
    "COVARIANCE_TYPES",
    "GaussianMixtureParams",
    "compute_precision_cholesky",
    "covariances_from_precision_cholesky",
    "full_covariances",
]
