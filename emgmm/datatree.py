"""An EM fit as an ``xarray.DataTree`` named like ``bayes.sample``'s posterior.

The groups use the variable names and dimensions of the Bayesian model's posterior
(``weights`` (component,), ``means`` (component, dim), full ``covariances``
(component, dim, dim2)) without the sample dimensions ``chain`` and ``draw``, so that an EM
estimate can be drawn onto ArviZ plots of a posterior in one call::

    pc = az.plot_dist(posterior_tree, var_names=["means"])
    az.add_lines(pc, em_tree["em"].to_dataset()[["means"]])

Groups
------
``em``
    The point estimate :math:`\\hat\\theta`. Covariances are expanded to full matrices
    whatever the covariance type (:meth:`emgmm.covariance_types.CovarianceType.to_full`), as
    the posterior's are.
``em_standard_errors``
    Standard errors of the same arrays when they were computed
    (:mod:`emgmm.uncertainty`), expanded the same way (an entry fixed at zero by the
    covariance type has standard error zero).
``em_fit``
    ``log_likelihood`` per ``iteration`` (the mean per-sample log-likelihood, or MAP-EM's
    objective, at the start and after every M-step).
``latent``
    When data are given: ``membership`` :math:`\\gamma(z_{ik})` (obs, component) and
    ``map_label`` (obs), the names of the posterior's ``latent`` group.

xarray is imported here only: ``emgmm``'s core needs numpy, scipy and numba alone.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from emgmm.params import GaussianMixtureParams

__all__ = ["em_datatree", "point_estimate_dataset"]

PARAMETER_DIMS = {
    "weights": ("component",),
    "means": ("component", "dim"),
    "covariances": ("component", "dim", "dim2"),
}


def _coords(n_components: int, n_features: int) -> dict[str, np.ndarray]:
    return {"component": np.arange(n_components), "dim": np.arange(n_features),
            "dim2": np.arange(n_features)}


def _full_arrays(params: GaussianMixtureParams, arrays: Mapping[str, np.ndarray]) -> dict:
    """``weights``, ``means`` and covariances expanded to (K, D, D) from the type's layout."""
    n_components, n_features = params.means.shape
    return {
        "weights": np.asarray(arrays["weights"], dtype=float),
        "means": np.asarray(arrays["means"], dtype=float),
        "covariances": params.kind.to_full(np.asarray(arrays["covariances"], dtype=float),
                                           n_components, n_features),
    }


def point_estimate_dataset(params: GaussianMixtureParams, arrays: Mapping | None = None):
    """The arrays of ``params`` (or ``arrays`` in its layout, e.g. standard errors) as an
    ``xarray.Dataset`` with the posterior's names and dims."""
    if arrays is None:
        arrays = {"weights": params.weights, "means": params.means,
                  "covariances": params.covariances}
    values = _full_arrays(params, arrays)
    return xr.Dataset({name: (PARAMETER_DIMS[name], value) for name, value in values.items()},
                      coords=_coords(*params.means.shape))


def latent_dataset(responsibilities: np.ndarray):
    """``membership`` (obs, component) and ``map_label`` (obs) from the responsibilities."""
    responsibilities = np.asarray(responsibilities, dtype=float)
    n_samples, n_components = responsibilities.shape
    return xr.Dataset(
        {"membership": (("obs", "component"), responsibilities),
         "map_label": (("obs",), responsibilities.argmax(axis=1))},
        coords={"obs": np.arange(n_samples), "component": np.arange(n_components)})


def em_datatree(
    params: GaussianMixtureParams,
    *,
    log_likelihood_history=None,
    responsibilities: np.ndarray | None = None,
    standard_errors: Mapping[str, np.ndarray] | None = None,
    attrs: Mapping | None = None,
):
    """Collect an EM fit into a DataTree (groups in the module docstring).

    Parameters
    ----------
    params : GaussianMixtureParams
        The estimate.
    log_likelihood_history : array-like, optional
        Objective per iteration (``GaussianMixtureEM.lower_bounds_``).
    responsibilities : array of shape (n_samples, n_components), optional
        :math:`\\gamma(z_{ik})` for the data the ``latent`` group describes.
    standard_errors : mapping, optional
        ``weights``, ``means``, ``covariances`` standard errors in the layout of
        ``params.covariance_type`` (``ParameterUncertainty.standard_errors``).
    attrs : mapping, optional
        Root attributes (JSON-like values), e.g. the fit's settings.

    Returns
    -------
    xarray.DataTree
    """
    children = {"em": xr.DataTree(point_estimate_dataset(params))}
    if standard_errors is not None:
        children["em_standard_errors"] = xr.DataTree(
            point_estimate_dataset(params, standard_errors))
    if log_likelihood_history is not None:
        history = np.asarray(log_likelihood_history, dtype=float)
        children["em_fit"] = xr.DataTree(xr.Dataset(
            {"log_likelihood": (("iteration",), history)},
            coords={"iteration": np.arange(history.size)}))
    if responsibilities is not None:
        children["latent"] = xr.DataTree(latent_dataset(responsibilities))
    tree = xr.DataTree(children=children)
    tree.attrs.update({"covariance_type": params.covariance_type, **dict(attrs or {})})
    return tree
