"""Post-hoc relabelling of posterior draws to a reference labelling (label switching).

Every draw :math:`s` is permuted by the assignment that minimises the squared distance of
its means to the reference means,

.. math::

    \\pi^{(s)} = \\arg\\min_{\\pi} \\sum_k \\|\\mu^{(s)}_{\\pi(k)} - \\mu^\\text{ref}_k\\|^2,

found with the Hungarian algorithm (``scipy.optimize.linear_sum_assignment``); component
:math:`k` of the relabelled draw is component :math:`\\pi^{(s)}(k)` of the original one.
A natural reference is the EM solution. Used when the ordering constraint is off.
"""

from __future__ import annotations

import re

import numpy as np
import xarray as xr

from emgmm.alignment import matching_order

from bayes.latent import latent_dataset, membership_probabilities, posterior_dataset

PER_COMPONENT_NAME = re.compile(r"^(?P<stem>.+)_(?P<index>\d+)$")


def relabelling_permutations(means: np.ndarray, reference_means: np.ndarray) -> np.ndarray:
    """Permutations (S, K): ``perm[s, k]`` is the draw-s component that becomes label k.

    Parameters
    ----------
    means : ndarray of shape (n_draws, n_components, n_features)
    reference_means : ndarray of shape (n_components, n_features)
    """
    reference_means = np.asarray(reference_means, dtype=float)
    if reference_means.shape != means.shape[1:]:
        raise ValueError(
            f"reference_means must have shape {means.shape[1:]}, got {reference_means.shape}"
        )
    cost = ((means[:, :, None, :] - reference_means[None, None, :, :]) ** 2).sum(axis=-1)
    permutations = np.empty(means.shape[:2], dtype=int)
    for s, draw_cost in enumerate(cost):
        permutations[s] = matching_order(draw_cost.T)
    return permutations


def permute_component_axis(values: np.ndarray, axis: int, permutations: np.ndarray) -> np.ndarray:
    """Apply per-draw permutations along ``axis`` of an array of shape (chain, draw, ...)."""
    sample_shape = values.shape[:2]
    flat = np.moveaxis(values, axis, 2).reshape(-1, *np.moveaxis(values, axis, 2).shape[2:])
    index = permutations.reshape(-1, permutations.shape[1], *([1] * (flat.ndim - 2)))
    permuted = np.take_along_axis(flat, index, axis=1)
    return np.moveaxis(permuted.reshape(*sample_shape, *permuted.shape[1:]), 2, axis)


def per_component_groups(ds: xr.Dataset, n_components: int) -> dict[str, list[str]]:
    """Variables stored one per component, e.g. ``chol_cov_0 ... chol_cov_{K-1}``."""
    groups: dict[str, list[str]] = {}
    for name in ds.data_vars:
        match = PER_COMPONENT_NAME.match(str(name))
        if match:
            groups.setdefault(match["stem"], []).append(str(name))
    return {
        stem: [f"{stem}_{k}" for k in range(n_components)]
        for stem, names in groups.items()
        if sorted(names) == sorted(f"{stem}_{k}" for k in range(n_components))
    }


def relabel_dataset(ds: xr.Dataset, permutations: np.ndarray) -> xr.Dataset:
    """Permute every component-indexed variable of a posterior Dataset."""
    out = ds.copy()
    n_components = permutations.shape[1]
    for name, var in ds.data_vars.items():
        if "component" in var.dims:
            axis = var.dims.index("component")
            out[name] = var.copy(data=permute_component_axis(var.values, axis, permutations))
    for names in per_component_groups(ds, n_components).values():
        stacked = np.stack([ds[name].values for name in names], axis=2)
        permuted = permute_component_axis(stacked, 2, permutations)
        for k, name in enumerate(names):
            out[name] = ds[name].copy(data=permuted[:, :, k])
    if "Z" in ds.data_vars:
        # labels follow the inverse permutation: old label perm[s, k] becomes k
        inverse = np.argsort(permutations, axis=1).reshape(*ds["Z"].shape[:2], n_components)
        labels = ds["Z"].values
        out["Z"] = ds["Z"].copy(data=np.take_along_axis(inverse, labels, axis=2))
    return out


def relabel_draws(
    posterior: xr.Dataset | xr.DataTree, reference_means: np.ndarray
) -> xr.Dataset | xr.DataTree:
    """Relabel every draw to the reference labelling by the Hungarian algorithm.

    Parameters
    ----------
    posterior : xarray.Dataset or xarray.DataTree
        A posterior Dataset, or a DataTree with a ``posterior`` group. For a DataTree with
        ``observed_data``, the ``latent`` group is recomputed from the relabelled draws.
    reference_means : array-like of shape (n_components, n_features)

    Returns
    -------
    Same type as ``posterior``, with every variable that has a ``component`` dimension (and
    per-component variables ``name_0 ... name_{K-1}``) permuted draw by draw.
    """
    ds = posterior_dataset(posterior)
    means = ds["means"].values
    permutations = relabelling_permutations(
        means.reshape(-1, *means.shape[2:]), np.asarray(reference_means, dtype=float)
    )
    relabelled = relabel_dataset(ds, permutations)
    if not isinstance(posterior, xr.DataTree):
        return relabelled
    tree = posterior.copy()
    tree["posterior"] = xr.DataTree(relabelled)
    if "observed_data" in tree.children and "latent" in tree.children:
        observed = next(iter(tree["observed_data"].to_dataset().data_vars.values())).values
        membership = membership_probabilities(observed, relabelled)
        tree["latent"] = xr.DataTree(latent_dataset(membership))
    return tree
