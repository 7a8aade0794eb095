"""Draws from the variational posterior, as an ``xarray.DataTree`` shaped like ``bayes.sample``'s.

The groups and names are those of :func:`bayes.sample` (built here without importing
``bayes``, which depends on emgmm and not the other way): ``posterior`` with ``weights``
(chain, draw, component), ``means`` (chain, draw, component, dim) and full ``covariances``
(chain, draw, component, dim, dim2) for every covariance type; with data, ``observed_data``
(``X`` (obs, dim)) and ``latent`` (``membership`` (obs, component) = :math:`q(z_i = k)`,
``map_label`` (obs)).

Each draw is exact from the factors of :math:`q`:

- weights: :math:`\\pi \\sim \\operatorname{Dirichlet}(\\alpha)`, or sticks
  :math:`v_k \\sim \\operatorname{Beta}(a_k, b_k)`, :math:`\\pi_k = v_k \\prod_{j<k}(1 - v_j)`
  renormalised over the K components (as scikit-learn's ``weights_``);
- full / tied: :math:`\\Sigma_k = \\Lambda_k^{-1} \\sim \\mathcal W^{-1}(\\nu_k, W_k^{-1})`
  (scipy's ``invwishart``; :math:`W_k^{-1} = \\nu_k` ``covariances``), one shared draw for
  tied; diag / spherical: precisions :math:`\\lambda \\sim \\operatorname{Gamma}(\\nu_k / 2,
  \\text{rate } \\nu_k \\sigma^2_k / 2)` with :math:`\\sigma^2_k` = ``covariances`` (the family
  of scikit-learn's updates, whose mean precision is :math:`1/\\sigma^2_k`);
- means: :math:`\\mu_k \\mid \\Sigma_k \\sim \\mathcal N(m_k, \\Sigma_k / \\beta_k)`.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import stats

from emgmm._validation import as_generator, check_int
from emgmm.covariance_types import covariance_type as covariance_type_of
from emgmm.variational.posterior import VariationalPosterior

__all__ = ["draw_covariances", "draw_weights", "posterior_datatree"]


def draw_weights(posterior: VariationalPosterior, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """Draws of :math:`\\pi` from :math:`q(\\pi)`, shape (n_draws, K)."""
    concentration = posterior.weight_concentration
    if posterior.weights_prior_type == "dirichlet_process":
        sticks = rng.beta(concentration[0], concentration[1], size=(n_draws, posterior.n_components))
        remaining = np.hstack((np.ones((n_draws, 1)), np.cumprod(1.0 - sticks[:, :-1], axis=1)))
        weights = sticks * remaining
        return weights / weights.sum(axis=1, keepdims=True)
    return rng.dirichlet(concentration, size=n_draws)


def _inverse_wishart(dof: float, covariance: np.ndarray, n_draws: int, rng) -> np.ndarray:
    draws = stats.invwishart(df=dof, scale=dof * covariance).rvs(size=n_draws, random_state=rng)
    return np.reshape(draws, (n_draws,) + covariance.shape)


def draw_covariances(posterior: VariationalPosterior, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """Draws of :math:`\\Sigma_k` from :math:`q(\\Lambda)` as full matrices, (n_draws, K, D, D)."""
    kind = covariance_type_of(posterior.covariance_type)
    n_components, n_features = posterior.n_components, posterior.n_features
    dof, covariances = posterior.degrees_of_freedom, posterior.covariances
    if kind.shared:
        shared = _inverse_wishart(float(dof), covariances, n_draws, rng)
        return np.repeat(shared[:, None], n_components, axis=1)
    if kind.matrix:
        return np.stack([_inverse_wishart(dof[k], covariances[k], n_draws, rng)
                         for k in range(n_components)], axis=1)
    variances = kind.per_feature(covariances, n_features)  # (K, D)
    shape = dof[:, None] / 2.0
    if kind.isotropic:  # one precision per component, repeated over the features
        precisions = rng.gamma(shape[:, 0], 2.0 / (dof * covariances), size=(n_draws, n_components))
        precisions = np.repeat(precisions[:, :, None], n_features, axis=2)
    else:
        precisions = rng.gamma(shape, 2.0 / (dof[:, None] * variances),
                               size=(n_draws, n_components, n_features))
    return (1.0 / precisions)[..., None] * np.eye(n_features)


def draw_means(posterior: VariationalPosterior, covariances: np.ndarray,
               rng: np.random.Generator) -> np.ndarray:
    """Draws of :math:`\\mu_k \\sim \\mathcal N(m_k, \\Sigma_k / \\beta_k)` given the covariance
    draws (n_draws, K, D, D), shape (n_draws, K, D)."""
    factors = np.linalg.cholesky(covariances / posterior.mean_precision[None, :, None, None])
    noise = rng.standard_normal(covariances.shape[:3])
    return posterior.means + np.einsum("skde,ske->skd", factors, noise)


def posterior_datatree(posterior: VariationalPosterior, n_draws: int = 1000, random_state=None, *,
                       chains: int = 1, X: np.ndarray | None = None,
                       membership: np.ndarray | None = None) -> xr.DataTree:
    """``n_draws`` draws per chain (``chains`` chains) of :math:`q(\\pi, \\mu, \\Lambda)` as a
    DataTree (module docstring); ``X`` and its memberships ``membership`` (N, K) add the
    ``observed_data`` and ``latent`` groups."""
    n_draws = check_int(n_draws, "n_draws", 1)
    chains = check_int(chains, "chains", 1)
    rng = as_generator(random_state)
    total = n_draws * chains
    n_components, n_features = posterior.n_components, posterior.n_features
    weights = draw_weights(posterior, total, rng)
    covariances = draw_covariances(posterior, total, rng)
    means = draw_means(posterior, covariances, rng)
    coords = {"chain": np.arange(chains), "draw": np.arange(n_draws),
              "component": np.arange(n_components), "dim": np.arange(n_features),
              "dim2": np.arange(n_features)}
    sample = ("chain", "draw")
    posterior_group = xr.Dataset(
        {
            "weights": (sample + ("component",), weights.reshape(chains, n_draws, n_components)),
            "means": (sample + ("component", "dim"), means.reshape(chains, n_draws, n_components, n_features)),
            "covariances": (sample + ("component", "dim", "dim2"),
                            covariances.reshape(chains, n_draws, n_components, n_features, n_features)),
        },
        coords=coords,
        attrs={"inference_library": "emgmm", "method": "variational_bayes"},
    )
    groups = {"posterior": posterior_group}
    if X is not None:
        observed = {"obs": np.arange(X.shape[0]), "dim": np.arange(n_features)}
        groups["observed_data"] = xr.Dataset({"X": (("obs", "dim"), X)}, coords=observed)
        groups["latent"] = xr.Dataset(
            {"membership": (("obs", "component"), membership),
             "map_label": (("obs",), np.argmax(membership, axis=1))},
            coords={"obs": observed["obs"], "component": coords["component"]},
        )
    tree = xr.DataTree.from_dict(groups)
    tree.attrs.update({"inference_library": "emgmm", "method": "variational_bayes",
                       "covariance_type": posterior.covariance_type,
                       "weights_prior_type": posterior.weights_prior_type})
    return tree
