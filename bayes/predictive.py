"""Posterior predictive draws of the mixture, generated in numpy from the posterior draws.

For every draw :math:`s` and observation slot :math:`i`:
:math:`z \\sim \\operatorname{Categorical}(w^{(s)})`,
:math:`\\tilde x_i = \\mu^{(s)}_z + L^{(s)}_z \\varepsilon`, :math:`\\varepsilon \\sim
\\mathcal N(0, I)`. Doing it in numpy avoids compiling a second PyTensor function.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from bayes.latent import draw_chunks, stacked_parameters


def sample_labels(weights: np.ndarray, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Component labels (S, N) drawn from each draw's weights by inverting the CDF."""
    cumulative = np.cumsum(weights, axis=1)
    uniforms = rng.random((weights.shape[0], n_samples)) * cumulative[:, -1:]
    labels = (uniforms[:, :, None] >= cumulative[:, None, :]).sum(axis=-1)
    return np.minimum(labels, weights.shape[1] - 1)


def posterior_predictive_draws(
    posterior, n_samples: int, rng: np.random.Generator
) -> np.ndarray:
    """Replicated data sets, shape (chain, draw, n_samples, n_features)."""
    weights, means, covariances, sample_shape = stacked_parameters(posterior)
    n_draws, n_components, n_features = means.shape
    chol = np.linalg.cholesky(covariances)
    out = np.empty((n_draws, n_samples, n_features))
    # the gathered Cholesky factors (S, N, D, D) are the largest temporaries of a chunk
    for chunk in draw_chunks(n_draws, n_samples, n_features, n_features):
        labels = sample_labels(weights[chunk], n_samples, rng)
        draws = np.arange(chunk.start, chunk.stop)[:, None]
        noise = rng.standard_normal((labels.shape[0], n_samples, n_features, 1))
        out[chunk] = means[draws, labels] + (chol[draws, labels] @ noise)[..., 0]
    return out.reshape(*sample_shape, n_samples, n_features)


def posterior_predictive_dataset(
    posterior, n_samples: int, name: str, rng: np.random.Generator
) -> xr.Dataset:
    """The ``posterior_predictive`` group: ``name`` with dims (chain, draw, obs, dim)."""
    values = posterior_predictive_draws(posterior, n_samples, rng)
    chains, draws, _, n_features = values.shape
    return xr.Dataset(
        {name: (("chain", "draw", "obs", "dim"), values)},
        coords={
            "chain": np.arange(chains),
            "draw": np.arange(draws),
            "obs": np.arange(n_samples),
            "dim": np.arange(n_features),
        },
    )
