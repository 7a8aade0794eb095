"""The variational methods' report figures: pooled draws and the overlaid marginals."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import xarray as xr

from experiments.report.calibration_figures import coverage_table
from experiments.report.render import figure_png
from experiments.report.vi_figures import (
    advi_section,
    plot_loss,
    plot_marginals,
    pooled_draws,
    varying_variables,
)
from tests.bayes.conftest import random_posterior


def tree(chains, draws, seed):
    posterior = random_posterior(np.random.default_rng(seed), chains=chains, draws=draws)
    posterior = posterior.assign_coords(chain=np.arange(chains), draw=np.arange(draws))
    return xr.DataTree.from_dict({"posterior": posterior})


def test_pooled_draws_are_evenly_spaced_draws_of_all_chains():
    source = tree(2, 50, 0)
    pooled = pooled_draws(source, 20)["posterior"]
    assert pooled["means"].shape == (1, 20, 3, 2)
    flat = source["posterior"]["means"].values.reshape(100, 3, 2)
    np.testing.assert_array_equal(pooled["means"].values[0, 0], flat[0])
    np.testing.assert_array_equal(pooled["means"].values[0, -1], flat[-1])
    assert set(pooled.data_vars) == {"weights", "means"}


def test_marginals_of_posteriors_of_different_sizes_overlay():
    png = figure_png(plot_marginals({"MCMC": tree(2, 100, 1), "ADVI": tree(1, 150, 2)}))
    assert png.startswith(b"\x89PNG")


def test_marginals_of_a_single_component_leave_out_its_constant_weight():
    """K = 1: the weight is 1 in every draw (no density); the means are drawn."""
    posterior = random_posterior(np.random.default_rng(3), chains=1, draws=80, n_components=1)
    one = xr.DataTree.from_dict({"posterior": posterior.assign_coords(chain=[0], draw=np.arange(80))})
    assert varying_variables([one], ("weights", "means")) == ["means"]
    assert varying_variables([tree(1, 80, 4), one], ("weights", "means")) == ["means"]
    assert figure_png(plot_marginals({"VB": one})).startswith(b"\x89PNG")


def test_loss_curve_draws_short_histories():
    figure = plot_loss(np.array([5.0, 3.0, 2.0]), "ADVI")
    figure.canvas.draw()
    ticks = figure.axes[0].get_xticks()
    assert np.all(ticks == np.round(ticks))  # iterations: integer ticks only
    assert figure_png(figure).startswith(b"\x89PNG")


def test_calibration_table_has_advi_coverage_beside_the_posterior():
    results = pd.DataFrame({
        "overlap": [0.01] * 4 + [0.1] * 4,
        "method": ["mcmc", "advi"] * 4,
        "coverage": [0.9, 0.6, 1.0, 0.7, 0.8, 0.5, 0.9, 0.4],
    })
    table = coverage_table(results, ["overlap"]).set_index(["method", "overlap"])
    assert table.loc[("ADVI", 0.01), "coverage"] == np.mean([0.6, 0.7])
    assert table.loc[("ADVI", 0.1), "coverage"] == np.mean([0.5, 0.4])
    assert table.loc[("MCMC", 0.1), "n_replicates"] == 2


def test_advi_section_is_silent_in_runs_without_advi(tmp_path):
    def section(rows):
        return SimpleNamespace(replicate=SimpleNamespace(path=tmp_path, rows=rows))

    assert advi_section(section(({"method": "em"}, {"method": "mcmc"}))) == []
    failed = advi_section(section(({"method": "em"}, {"method": "advi", "error": "x"})))
    assert len(failed) == 1 and "No ADVI results" in failed[0]
