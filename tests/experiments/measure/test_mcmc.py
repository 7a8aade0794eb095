"""Relabelling of unordered posterior draws to the EM solution (``order_means = false``)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from experiments.measure.mcmc import relabel_to_em


def unordered_posterior(rng: np.random.Generator, switched_draws: np.ndarray) -> xr.DataTree:
    """Two chains of draws near three known means, with components 0 and 2 swapped in
    the draws flagged by ``switched_draws`` (chain, draw)."""
    reference = np.array([[-5.0, 0.0], [0.0, 5.0], [5.0, 0.0]])
    chains, draws = switched_draws.shape
    means = reference + 0.1 * rng.standard_normal((chains, draws, 3, 2))
    weights = np.broadcast_to([0.2, 0.3, 0.5], (chains, draws, 3)).copy()
    means[switched_draws] = means[switched_draws][:, [2, 1, 0]]
    weights[switched_draws] = weights[switched_draws][:, [2, 1, 0]]
    posterior = xr.Dataset(
        {"means": (("chain", "draw", "component", "dim"), means),
         "weights": (("chain", "draw", "component"), weights)},
        coords={"chain": range(chains), "draw": range(draws), "component": range(3),
                "dim": range(2)},
    )
    return xr.DataTree.from_dict({"posterior": posterior}), reference


def test_relabel_to_em_repairs_switched_draws_and_counts_them():
    rng = np.random.default_rng(0)
    switched = np.zeros((2, 50), dtype=bool)
    switched[1, 10:30] = True  # 20 of 100 draws switched
    tree, reference = unordered_posterior(rng, switched)
    relabelled, fraction = relabel_to_em(tree, reference)
    assert fraction == 0.2
    means = relabelled["posterior"]["means"].values
    np.testing.assert_allclose(means.mean(axis=(0, 1)), reference, atol=0.05)
    weights = relabelled["posterior"]["weights"].values
    np.testing.assert_array_equal(weights[..., 2], 0.5)


def test_relabel_to_em_reports_zero_when_nothing_switched():
    tree, reference = unordered_posterior(np.random.default_rng(1), np.zeros((2, 40), bool))
    relabelled, fraction = relabel_to_em(tree, reference)
    assert fraction == 0.0
    np.testing.assert_array_equal(relabelled["posterior"]["means"].values,
                                  tree["posterior"]["means"].values)
