"""VB and ADVI in the calibration study: their coverage rows, recomputed from the saved draws,
and their rows in the report's Calibration section."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from experiments.config import bundled_configs, load_config, parse_config
from experiments.measure import metrics, vi_compare
from experiments.measure.free_parameters import free_parameters, posterior_free_draws
from experiments.report.calibration_figures import coverage_series, coverage_table
from experiments.run.runner import run_experiment

POSTERIOR_METHODS = ("mcmc", "advi", "vb")
# 2-D, K = 2, full: the model shape of the bundled calibration study (compiled once)
TINY = {
    "experiment": {"name": "cal-vi", "seed": 8, "replicates": 2,
                   "methods": ["em", "mcmc", "advi", "vb"]},
    "data": {"n_samples": 150, "n_features": 2, "n_components": 2, "overlap": 0.005,
             "weights": [0.4, 0.6]},
    "em": {"intervals": "both", "n_bootstrap": 20},
    "mcmc": {"draws": 150, "tune": 150, "chains": 2},
    "advi": {"n_iter": 1500, "draws": 300},
    "vb": {"draws": 300},
    "metrics": {"interval_prob": 0.9},
}


def free_draws_by_hand(posterior: xr.Dataset) -> np.ndarray:
    """(draws, 12) free parameters of a 2-D K = 2 full posterior, chains pooled: weights,
    means row by row, then each covariance's (0, 0), (1, 0), (1, 1) entries."""
    weights = posterior["weights"].transpose("chain", "draw", "component").values
    means = posterior["means"].transpose("chain", "draw", "component", "dim").values
    covariances = posterior["covariances"].transpose("chain", "draw", "component", ...).values
    n = weights.shape[0] * weights.shape[1]
    entries = np.stack([covariances[..., 0, 0], covariances[..., 1, 0], covariances[..., 1, 1]],
                       axis=-1)
    return np.concatenate([weights.reshape(n, 2), means.reshape(n, 4), entries.reshape(n, 6)],
                          axis=1)


def coverage_by_hand(posterior: xr.Dataset, data) -> float:
    """Fraction of the 12 true values inside the 5th-95th percentile of the draws."""
    draws = free_draws_by_hand(posterior)
    lower, upper = np.percentile(draws, 5.0, axis=0), np.percentile(draws, 95.0, axis=0)
    covariances = data["covariances"]
    truth = np.concatenate([data["weights"], data["means"].ravel(),
                            np.stack([covariances[:, 0, 0], covariances[:, 1, 0],
                                      covariances[:, 1, 1]], axis=-1).ravel()])
    return float(np.mean((lower <= truth) & (truth <= upper)))


@pytest.fixture(scope="module")
def vi_calibration_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cal-vi") / "run"
    outcome = run_experiment(parse_config(TINY), out)
    return out, outcome


def test_bundled_calibration_study_lists_vb_and_advi():
    path = bundled_configs()["calibration"]
    for config in (load_config(path), load_config(path, quick=True)):
        assert config.experiment.methods == ("em", "mcmc", "advi", "vb")
        assert config.em.intervals == "both"
    quick, full = load_config(path, quick=True), load_config(path)
    assert quick.method_sections["advi"].n_iter < full.method_sections["advi"].n_iter


def test_coverage_series_follow_the_registry():
    series = coverage_series()
    assert list(series) == ["EM bootstrap", "EM information", "MCMC", "ADVI", "VB"]
    assert series["VB"] == ("vb", "coverage") and series["EM bootstrap"][1] == "coverage_bootstrap"


@pytest.mark.slow
def test_vi_coverage_matches_a_recomputation_from_the_saved_draws(vi_calibration_run):
    out, outcome = vi_calibration_run
    assert outcome.n_failed == 0
    results = pd.read_csv(out / "results.csv")
    assert (results.groupby("method").size()[list(POSTERIOR_METHODS)] == 2).all()
    checked = 0
    for rep in sorted((out / "cells").glob("*/rep-*")):
        data = np.load(rep / "data.npz")
        replicate = int(rep.name.removeprefix("rep-"))
        rows = results[(results["cell_id"] == rep.parent.name)
                       & (results["replicate"] == replicate)].set_index("method")
        for method in POSTERIOR_METHODS:
            with xr.open_datatree(rep / f"{method}.nc", engine="h5netcdf") as tree:
                posterior = tree["posterior"].to_dataset().load()
            expected = coverage_by_hand(posterior, data)
            assert rows.loc[method, "coverage"] == pytest.approx(expected, abs=1e-12), method
            checked += 1
    assert checked == 2 * len(POSTERIOR_METHODS)


@pytest.mark.slow
def test_vi_rows_use_mcmc_coverage_code(vi_calibration_run):
    """The function filling the advi and vb rows gives the mcmc row's number on mcmc.nc."""
    out, _ = vi_calibration_run
    results = pd.read_csv(out / "results.csv")
    rep = next((out / "cells").glob("*/rep-0"))
    data = np.load(rep / "data.npz")
    from emgmm import GaussianMixtureParams

    truth = GaussianMixtureParams(data["weights"], data["means"], data["covariances"], "full")
    with xr.open_datatree(rep / "mcmc.nc", engine="h5netcdf") as tree:
        tree = tree.load()
        value = vi_compare.interval_coverage(tree, truth, "full", 0.9)
        draws = posterior_free_draws(tree["posterior"].to_dataset(), "full")
    row = results[(results["cell_id"] == rep.parent.name) & (results["replicate"] == 0)
                  & (results["method"] == "mcmc")]
    assert value == row["coverage"].item()
    assert value == metrics.interval_metrics(
        draws, free_parameters(truth.weights, truth.means, truth.covariances, "full"),
        draws.mean(axis=(0, 1)), 0.9)["coverage"]


@pytest.mark.slow
def test_report_shows_vb_and_advi_coverage(vi_calibration_run):
    from experiments.report import build_report

    out, _ = vi_calibration_run
    html = Path(build_report(out)).read_text()
    section = html[html.index('id="calibration"'):]
    table = coverage_table(pd.read_csv(out / "results.csv"), [])
    assert list(table["method"]) == ["EM bootstrap", "EM information", "MCMC", "ADVI", "VB"]
    for label in ("ADVI", "VB", "MCMC"):
        coverage = table.loc[table["method"] == label, "coverage"].item()
        cells = re.search(rf"<td>{label}</td><td[^>]*>([0-9.]+)</td>", section)
        assert cells is not None, label
        assert float(cells.group(1)) == pytest.approx(round(coverage, 3))
    assert (out / "report" / "figures" / "calibration-coverage.png").stat().st_size > 1000
