"""numpyro on the JAX logp with the data as arguments (bayes.numpyro_cached).

Uses the tiny shape of test_compiled.py (K = 2, D = 1, spherical).
"""

from __future__ import annotations

import numpy as np
import pytest

import bayes
from bayes import compiled
from bayes.sampling import module_available
from tests.bayes.test_compiled import tiny_data

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not module_available("numpyro"), reason="numpyro extra")]
SETTINGS = {"draws": 200, "tune": 200, "chains": 2, "cores": 1, "posterior_predictive": False}
PARAMETERS = ("means", "weights", "covariances")


def structure(tree) -> dict:
    """Group -> {variable: dims} of a DataTree."""
    return {group: {name: var.dims for name, var in tree[group].to_dataset().data_vars.items()}
            for group in tree.children}


def test_reused_numpyro_sampler_matches_a_fresh_one_and_pymc():
    compiled.clear_model_cache()
    first = bayes.sample(tiny_data(0), 2, "spherical", sampler="numpyro", random_seed=1,
                         **SETTINGS)
    reused = bayes.sample(tiny_data(2, 55), 2, "spherical", sampler="numpyro", random_seed=3,
                          **SETTINGS)
    compiled.clear_model_cache()
    fresh = bayes.sample(tiny_data(2, 55), 2, "spherical", sampler="numpyro", random_seed=3,
                         **SETTINGS)
    pymc = bayes.sample(tiny_data(2, 55), 2, "spherical", sampler="pymc", random_seed=3,
                        **SETTINGS)
    assert (first.attrs["model_reused"], reused.attrs["model_reused"]) == (0, 1)
    assert reused.attrs["compile_time"] < 0.5 * fresh.attrs["compile_time"]
    for name in PARAMETERS:
        np.testing.assert_array_equal(reused["posterior"][name].values,
                                      fresh["posterior"][name].values)
    # the same groups, variables and dims as PyMC's own NUTS (and its numpyro path)
    assert structure(reused) == structure(pymc) | {"sample_stats": structure(reused)["sample_stats"]}
    assert {"diverging", "step_size", "n_steps", "tree_depth", "lp", "energy"} <= set(
        structure(reused)["sample_stats"])
    assert reused["observed_data"]["X"].shape == (55, 1)
    # the same posterior as PyMC's NUTS on the same data, within half a posterior sd
    for name in ("means", "weights"):
        ours, theirs = reused["posterior"][name], pymc["posterior"][name]
        sd = theirs.std(("chain", "draw")).values
        difference = np.abs(ours.mean(("chain", "draw")).values
                            - theirs.mean(("chain", "draw")).values)
        assert np.all(difference < 0.5 * sd), (name, difference, sd)
