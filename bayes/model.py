"""The Gaussian mixture as a PyMC model, with the labels Z summed out or explicit.

Marginalized formulation (:func:`build_model`, sampled with NUTS):

.. math::

    p(x_i \\mid w, \\mu, \\Sigma) = \\sum_{k=1}^K w_k\\, \\mathcal{N}(x_i \\mid \\mu_k, \\Sigma_k).

Explicit formulation (:func:`build_explicit_model`, NUTS for the continuous parameters
and Gibbs for the labels):

.. math::

    z_i \\sim \\operatorname{Categorical}(w), \\qquad
    x_i \\mid z_i \\sim \\mathcal{N}(\\mu_{z_i}, \\Sigma_{z_i}).

Priors are described in :mod:`bayes.priors`, covariance parameterisations in
:mod:`bayes.covariances`. Label switching is removed by ordering the first coordinate of
the means, :math:`\\mu_{11} < \\mu_{21} < \\dots < \\mu_{K1}` (the ordered transform on the
(K,) vector ``means_first_std``; the other coordinates ``means_rest_std`` (K, D-1) are free).

The observed ``X`` (container ``X_data``) and the data-scaled prior parameters (``means_loc``, ``means_scale``,
``scale_unit``, see :func:`bayes.priors.prior_data`) are ``pm.Data`` containers, and the
free variables are standardised (means :math:`\\mu = m + s\\,\\mu^\\text{std}` with
:math:`\\mu^\\text{std} \\sim \\mathcal N(0, 1)`; scales see :mod:`bayes.covariances`):
no data value is a constant of the model graph, so a model compiled once serves every
data set of the same shape (``pm.set_data``, :mod:`bayes.compiled`).
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pymc.distributions import transforms

from bayes.covariances import add_covariances
from bayes.mixture_logp import mixture_logp, mixture_random
from bayes.priors import Priors, ResolvedPriors, prior_data, resolve_priors
from bayes.validation import check_model_args
from emgmm.covariance_types import covariance_type as covariance_type_of

OBSERVED_NAME = "X"
DATA_NAME = "X_data"  # the data container of the observed X


def model_coords(n_samples: int, n_components: int, n_features: int) -> dict:
    """Coordinates ``component``, ``dim`` (and its copy ``dim2``) and ``obs``."""
    return {
        "component": np.arange(n_components),
        "dim": np.arange(n_features),
        "dim2": np.arange(n_features),
        "obs": np.arange(n_samples),
    }


def add_weights(priors: ResolvedPriors, n_components: int):
    """Mixture weights ``weights`` ~ Dirichlet(alpha), dims (component,).

    With one component the weight is the constant 1 (a Deterministic): a one-dimensional
    simplex has no free coordinate.
    """
    if n_components == 1:
        return pm.Deterministic("weights", pt.ones(1), dims="component")
    return pm.Dirichlet("weights", a=priors.weights_concentration, dims="component")


def add_means(n_components: int, n_features: int, order_means: bool):
    """Component means ``means`` (component, dim) = means_loc + means_scale x standardised.

    The standardised coordinates have Normal(0, 1) priors, so ``means`` has the
    Normal(means_loc, means_scale) prior. With ``order_means`` (and K > 1) the first
    standardised coordinate is the ordered (K,) vector ``means_first_std`` (ordering it
    orders the means, as means_scale > 0) and the others ``means_rest_std`` (K, D-1).
    """
    model = pm.modelcontext(None)
    loc, scale = model["means_loc"], model["means_scale"]
    if not order_means or n_components == 1:
        standardised = pm.Normal("means_std", 0.0, 1.0, dims=("component", "dim"))
    else:
        first = pm.Normal("means_first_std", 0.0, 1.0, dims="component",
                          transform=transforms.ordered)
        standardised = first[:, None]
        if n_features > 1:
            model.add_coord("dim_rest", np.arange(1, n_features))
            rest = pm.Normal("means_rest_std", 0.0, 1.0, dims=("component", "dim_rest"))
            standardised = pt.concatenate([standardised, rest], axis=1)
    return pm.Deterministic("means", loc + scale * standardised, dims=("component", "dim"))


def add_data(X: np.ndarray, resolved: ResolvedPriors, covariance_type: str):
    """The data containers: observed ``X`` (obs, dim) and the prior parameters."""
    values = prior_data(resolved)
    unit_dims = () if covariance_type_of(covariance_type).isotropic else ("dim",)
    pm.Data("means_loc", values["means_loc"], dims="dim")
    pm.Data("means_scale", values["means_scale"], dims="dim")
    pm.Data("scale_unit", values["scale_unit"], dims=unit_dims)
    return pm.Data(DATA_NAME, X, dims=("obs", "dim"))


def add_parameters(X, n_components, covariance_type, priors, order_means):
    """Shared part of both formulations: data containers, weights, means, Cholesky factors."""
    resolved = resolve_priors(priors, X, n_components, covariance_type)
    data = add_data(X, resolved, covariance_type)
    weights = add_weights(resolved, n_components)
    means = add_means(n_components, X.shape[1], order_means)
    choleskys = add_covariances(covariance_type, n_components, X.shape[1], resolved)
    return data, weights, means, choleskys


def build_model(
    X,
    n_components: int,
    covariance_type: str = "full",
    priors: Priors | None = None,
    *,
    order_means: bool = True,
) -> pm.Model:
    """Marginalized Gaussian mixture: Z summed out (:mod:`bayes.mixture_logp`).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_components : int
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
    priors : Priors, optional
        ``None`` uses ``Priors()`` with its data-scaled defaults.
    order_means : bool, default True
        Order the first coordinate of the means (removes label switching).

    Returns
    -------
    pm.Model
        Coords ``component``, ``dim``, ``dim2``, ``obs``; variables ``weights``,
        ``means``, ``covariances`` (full matrices) and the observed ``X`` (obs, dim).
        The observed ``X`` is a ``pm.CustomDist`` whose log-density is the mixture's with
        Z summed out, one compiled Op with its hand-written gradient
        (:class:`bayes.mixture_logp.MixtureLogp`), and whose draws are the mixture's. With
        ``n_components=1`` ``weights`` is the constant 1 (PSIS-LOO choices of K can then
        include K = 1).
    """
    X, n_components, covariance_type = check_model_args(X, n_components, covariance_type)
    coords = model_coords(X.shape[0], n_components, X.shape[1])
    with pm.Model(coords=coords) as model:
        data, weights, means, choleskys = add_parameters(
            X, n_components, covariance_type, priors, order_means
        )
        chols = pt.stack(choleskys)
        pm.CustomDist(OBSERVED_NAME, weights, means, chols, logp=mixture_logp,
                      random=mixture_random, signature="(k),(k,d),(k,d,d)->(d)",
                      observed=data, dims=("obs", "dim"))
    return model


def build_explicit_model(
    X,
    n_components: int,
    covariance_type: str = "full",
    priors: Priors | None = None,
    *,
    order_means: bool = True,
) -> pm.Model:
    """Gaussian mixture with the labels explicit: ``Z`` ~ Categorical(weights), dims (obs,).

    Same parameters, priors and returned variables as :func:`build_model`, plus the
    discrete ``Z``; sampled by PyMC with a compound step (NUTS on the continuous
    parameters, ``CategoricalGibbsMetropolis`` on ``Z``).
    """
    X, n_components, covariance_type = check_model_args(X, n_components, covariance_type)
    coords = model_coords(X.shape[0], n_components, X.shape[1])
    with pm.Model(coords=coords) as model:
        data, weights, means, choleskys = add_parameters(
            X, n_components, covariance_type, priors, order_means
        )
        labels = pm.Categorical("Z", p=weights, dims="obs")
        chol_stack = pt.stack(choleskys)
        pm.MvNormal(OBSERVED_NAME, mu=means[labels], chol=chol_stack[labels], observed=data,
                    dims=("obs", "dim"))
    return model
