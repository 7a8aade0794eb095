"""Posterior quantities computed from the draws in numpy: memberships and log-likelihoods.

For each posterior draw :math:`s` the E-step formula gives

.. math::

    \\log p(x_i, z_i = k \\mid \\theta^{(s)}) &= \\log w^{(s)}_k
        + \\log \\mathcal{N}(x_i \\mid \\mu^{(s)}_k, \\Sigma^{(s)}_k), \\\\
    \\log p(x_i \\mid \\theta^{(s)}) &= \\operatorname{logsumexp}_k
        \\log p(x_i, z_i = k \\mid \\theta^{(s)}), \\\\
    P(z_i = k \\mid X) &\\approx \\frac1S \\sum_s
        \\exp\\big(\\log p(x_i, z_i = k \\mid \\theta^{(s)})
            - \\log p(x_i \\mid \\theta^{(s)})\\big),

the pointwise log-likelihood (marginal over Z, what LOO needs) and the posterior
membership probabilities (Rao-Blackwellised: no Z draws needed). Draws are processed in
chunks so memory stays bounded whatever the number of draws.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.special import logsumexp

# upper bound on the elements of the (draws, components, obs, dims) temporaries of a chunk
CHUNK_ELEMENTS = 2**22


def posterior_dataset(posterior) -> xr.Dataset:
    """The posterior Dataset of a DataTree, or the Dataset itself."""
    if isinstance(posterior, xr.DataTree):
        return posterior["posterior"].to_dataset()
    return posterior


def stacked_parameters(posterior) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple]:
    """weights (S, K), means (S, K, D), covariances (S, K, D, D) with S = chains x draws."""
    ds = posterior_dataset(posterior)
    sample_shape = ds["weights"].shape[:2]
    n_draws = int(np.prod(sample_shape))
    weights = ds["weights"].values.reshape(n_draws, -1)
    means = ds["means"].values.reshape(n_draws, *ds["means"].shape[2:])
    covariances = ds["covariances"].values.reshape(n_draws, *ds["covariances"].shape[2:])
    return weights, means, covariances, sample_shape


def draw_chunks(n_draws: int, n_samples: int, n_components: int, n_features: int):
    """Slices of draws whose temporaries hold at most ``CHUNK_ELEMENTS`` numbers."""
    per_draw = n_components * n_samples * max(n_features, 2)
    size = max(1, CHUNK_ELEMENTS // per_draw)
    return [slice(start, min(start + size, n_draws)) for start in range(0, n_draws, size)]


def log_joint(X: np.ndarray, weights, means, covariances) -> np.ndarray:
    """log w_k + log N(x_i | mu_k, Sigma_k) for a chunk of draws: shape (S, N, K).

    Uses the Cholesky factor :math:`\\Sigma = L L^T`: with :math:`y = L^{-1}(x - \\mu)`,
    :math:`\\log \\mathcal N = -\\tfrac12 (D \\log 2\\pi + \\|y\\|^2) - \\sum_d \\log L_{dd}`.
    """
    n_features = X.shape[1]
    chol = np.linalg.cholesky(covariances)  # (S, K, D, D)
    centred = X[None, None, :, :] - means[:, :, None, :]  # (S, K, N, D)
    # triangular system solved as a batched general solve: no explicit inverse
    whitened = np.linalg.solve(chol, np.swapaxes(centred, -1, -2))  # (S, K, D, N)
    half_log_det = np.log(np.diagonal(chol, axis1=-2, axis2=-1)).sum(axis=-1)  # (S, K)
    log_density = -0.5 * (n_features * np.log(2 * np.pi) + np.sum(whitened**2, axis=-2))
    log_density -= half_log_det[:, :, None]
    with np.errstate(divide="ignore"):
        log_weights = np.log(weights)
    return np.swapaxes(log_density, 1, 2) + log_weights[:, None, :]


def membership_and_log_likelihood(X: np.ndarray, posterior) -> tuple[np.ndarray, np.ndarray]:
    """Posterior membership probabilities (N, K) and pointwise log-likelihood (chain, draw, N)."""
    X = np.asarray(X, dtype=float)
    weights, means, covariances, sample_shape = stacked_parameters(posterior)
    n_draws, n_components = weights.shape
    membership = np.zeros((X.shape[0], n_components))
    log_likelihood = np.empty((n_draws, X.shape[0]))
    for chunk in draw_chunks(n_draws, X.shape[0], n_components, X.shape[1]):
        joint = log_joint(X, weights[chunk], means[chunk], covariances[chunk])
        log_norm = logsumexp(joint, axis=-1)
        log_likelihood[chunk] = log_norm
        membership += np.exp(joint - log_norm[:, :, None]).sum(axis=0)
    return membership / n_draws, log_likelihood.reshape(*sample_shape, X.shape[0])


def membership_probabilities(X: np.ndarray, posterior: xr.Dataset | xr.DataTree) -> np.ndarray:
    """P(z_i = k | X): the E-step responsibilities averaged over posterior draws.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    posterior : xarray.Dataset or xarray.DataTree
        Holds ``weights``, ``means`` and full ``covariances`` with dims (chain, draw, ...).

    Returns
    -------
    ndarray of shape (n_samples, n_components)
        Rows sum to one.
    """
    return membership_and_log_likelihood(X, posterior)[0]


def latent_dataset(membership: np.ndarray) -> xr.Dataset:
    """The ``latent`` group: ``membership`` (obs, component) and ``map_label`` (obs)."""
    n_samples, n_components = membership.shape
    return xr.Dataset(
        {
            "membership": (("obs", "component"), membership),
            "map_label": (("obs",), np.argmax(membership, axis=1)),
        },
        coords={"obs": np.arange(n_samples), "component": np.arange(n_components)},
    )


def log_likelihood_dataset(log_likelihood: np.ndarray, name: str) -> xr.Dataset:
    """The ``log_likelihood`` group for ``az.loo``: one variable ``name`` (chain, draw, obs)."""
    chains, draws, n_samples = log_likelihood.shape
    return xr.Dataset(
        {name: (("chain", "draw", "obs"), log_likelihood)},
        coords={"chain": np.arange(chains), "draw": np.arange(draws), "obs": np.arange(n_samples)},
    )
