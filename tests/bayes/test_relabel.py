"""Hungarian relabelling of draws (synthetic label switching; the sampled case is in
test_sampling.py)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import bayes
from bayes.relabel import relabelling_permutations


def switched_posterior(rng, chains=2, draws=50):
    """Draws around fixed means with a random permutation applied to every draw."""
    reference = np.array([[-3.0, 0.0], [0.0, 2.0], [3.0, -1.0]])
    true_weights = np.array([0.2, 0.3, 0.5])
    means = reference + 0.1 * rng.standard_normal((chains, draws, 3, 2))
    weights = np.broadcast_to(true_weights, (chains, draws, 3)).copy()
    scales = np.broadcast_to([1.0, 2.0, 3.0], (chains, draws, 3)).copy()
    perms = np.array([rng.permutation(3) for _ in range(chains * draws)]).reshape(chains, draws, 3)
    take = lambda a: np.take_along_axis(a, perms.reshape(*perms.shape, *([1] * (a.ndim - 3))), 2)
    ds = xr.Dataset({
        "weights": (("chain", "draw", "component"), take(weights)),
        "means": (("chain", "draw", "component", "dim"), take(means)),
        "scales": (("chain", "draw", "component"), take(scales)),
        "Z": (("chain", "draw", "obs"), np.take_along_axis(
            np.argsort(perms, axis=2), np.broadcast_to([0, 1, 2, 2], (chains, draws, 4)), 2)),
    })
    for k in range(3):  # per-component variables stored one per component
        packed = take(scales[..., None] * [1, 0, 1])[:, :, k]
        ds[f"chol_cov_{k}"] = (("chain", "draw", "packed"), packed)
    return ds, reference, means, true_weights


def test_relabelling_undoes_random_permutations_of_every_component_variable():
    ds, reference, means, true_weights = switched_posterior(np.random.default_rng(0))
    out = bayes.relabel_draws(ds, reference)
    np.testing.assert_allclose(out["means"].values, means)
    np.testing.assert_allclose(out["weights"].values, np.broadcast_to(true_weights, (2, 50, 3)))
    np.testing.assert_allclose(out["scales"].values, np.broadcast_to([1.0, 2.0, 3.0], (2, 50, 3)))
    for k in range(3):
        np.testing.assert_allclose(out[f"chol_cov_{k}"].values[..., 0], k + 1.0)
    np.testing.assert_array_equal(out["Z"].values, np.broadcast_to([0, 1, 2, 2], (2, 50, 4)))


def test_permutations_solve_the_assignment_problem():
    reference = np.array([[0.0], [10.0], [20.0]])
    means = np.array([[[19.0], [1.0], [11.0]]])
    np.testing.assert_array_equal(relabelling_permutations(means, reference), [[1, 2, 0]])
    with pytest.raises(ValueError, match="reference_means"):
        relabelling_permutations(means, reference[:2])
