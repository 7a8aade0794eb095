"""The ``advi`` method end to end through ``gmm-compare run``: rows, artifacts, comparison."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from experiments.cli import main
from experiments.measure import vi_compare
from experiments.measure.advi import COLUMNS
from experiments.measure.vi_method import NO_TRUTH_POSTERIOR_COLUMNS, method_seed
from experiments.run.plan import ReplicateSeeds
from experiments.run.rundir import METRIC_COLUMNS

TINY = """\
[experiment]
name = "advi-tiny"
seed = 5
replicates = 1
methods = ["em", "mcmc", "advi"]

[data]
n_samples = 150
n_features = 2
n_components = 3
overlap = 0.005

[em]
n_init = 2

[mcmc]
draws = 200
tune = 200
chains = 1

[advi]
n_iter = 2000
draws = 300
"""


def test_method_seeds_differ_by_name_and_replicate():
    seeds = ReplicateSeeds(0, 0, 1, 2, 3)
    assert method_seed(seeds, "advi") == method_seed(seeds, "advi")
    assert method_seed(seeds, "advi") != method_seed(seeds, "vb")
    assert method_seed(seeds, "advi") != method_seed(ReplicateSeeds(0, 1, 1, 2, 4), "advi")


def test_unknown_method_in_the_list_exits_2_writing_nothing(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(TINY.replace('"advi"]', '"gibbs"]'))
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "experiment.methods[2]: unknown method" in err[0]
    assert not out.exists()


@pytest.mark.slow
def test_tiny_run_has_an_advi_row_compared_with_mcmc(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 0
    results = pd.read_csv(out / "results.csv", keep_default_na=False, dtype=str)
    assert list(results["method"]) == ["em", "mcmc", "advi"]
    assert (results["error"] == "").all()
    row = results.set_index("method").loc["advi"]
    for column in COLUMNS:
        if column in NO_TRUTH_POSTERIOR_COLUMNS:  # a data file's only: not in this csv
            assert column not in results.columns, column
        else:
            assert row[column] != "", column
    assert all(results.set_index("method").loc[m, c] == "" for m in ("em", "mcmc")
               for c in (*vi_compare.COLUMNS, "elbo_final"))
    assert set(COLUMNS) <= set(METRIC_COLUMNS)

    rep = out / "cells" / results["cell_id"][0] / "rep-0"
    advi = xr.open_datatree(rep / "advi.nc", engine="h5netcdf")
    mcmc = xr.open_datatree(rep / "mcmc.nc", engine="h5netcdf")
    assert advi["variational"]["loss"].shape == (2000,)
    assert advi["posterior"]["covariances"].shape == (1, 300, 3, 2, 2)
    assert json.loads((rep / "metrics.json").read_text())["permutations"]["advi"]
    # the saved trees give the row's numbers again
    again = vi_compare.comparison_to_mcmc(advi, mcmc, "full")
    for column, value in again.items():
        assert float(row[column]) == pytest.approx(value, rel=1e-12), column
    assert float(row["elbo_final"]) == advi.attrs["elbo_final"]
    ratios = [float(row[c]) for c in vi_compare.SD_RATIO_COLUMNS]
    assert all(0.2 < r < 3.0 for r in ratios)  # same order as MCMC's spread
    assert 0.0 <= float(row["coverage"]) <= 1.0
    # both posteriors agree on where the means are (well-separated clusters)
    gap = np.abs(advi["posterior"]["means"].mean(("chain", "draw"))
                 - mcmc["posterior"]["means"].mean(("chain", "draw")))
    assert float(gap.max()) < 0.2
    assert (out / "report" / "index.html").exists()
    figures = out / "report" / "figures"
    assert list(figures.glob("*-advi-marginals.png")) and list(figures.glob("*-advi-loss.png"))
