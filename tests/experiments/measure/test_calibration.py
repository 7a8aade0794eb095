"""The uncertainty study in the pipeline: config keys, EM interval coverage, --quick, report."""

from __future__ import annotations

import copy
import subprocess
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emgmm import GaussianMixtureParams, load_model
from emgmm.uncertainty import ParameterUncertainty, information_standard_errors
from experiments.config import ConfigError, bundled_configs, load_config, parse_config
from experiments.measure.calibration import (
    coverage_of_truth,
    em_interval_columns,
    polished_estimate,
)
from experiments.measure.sbc import sbc_summary, write_sbc_tables
from experiments.run.runner import run_experiment
from tests.experiments.conftest import cli_command

BASE = {"experiment": {"name": "cal", "seed": 5, "replicates": 2},
        "data": {"n_samples": 150, "n_features": 2, "n_components": 2,
                 "overlap": [0.005, 0.05]},
        "em": {"intervals": "both", "n_bootstrap": 40},
        "mcmc": {"enabled": False}, "report": {"enabled": False},
        "selection": {"enabled": True, "k_values": [1, 2, 3], "loo": False}}


def with_keys(section: str, **keys) -> dict:
    raw = copy.deepcopy(BASE)
    raw.setdefault(section, {}).update(keys)
    return raw


# ---------------------------------------------------------------------------------------
# Config keys
# ---------------------------------------------------------------------------------------

BAD_VALUES = [
    ("em", "intervals", "sometimes"), ("em", "intervals", True), ("em", "n_bootstrap", 1),
    ("em", "n_bootstrap", 10.0), ("em", "n_bootstrap", True),
    ("em", "method", "mle"), ("em", "method", 1),
    ("selection", "enabled", 1), ("selection", "k_values", []), ("selection", "k_values", [0, 2]),
    ("selection", "k_values", [2, 2]), ("selection", "k_values", 3),
    ("selection", "loo", "yes"), ("selection", "draws", 0), ("selection", "tune", -1),
    ("selection", "chains", 0),
    ("sbc", "enabled", "true"), ("sbc", "n_simulations", 1), ("sbc", "n_samples", 1),
    ("sbc", "n_components", 0), ("sbc", "n_features", 0), ("sbc", "covariance_type", "tri"),
    ("sbc", "draws", 0), ("sbc", "tune", -1), ("sbc", "chains", 0), ("sbc", "thin", 0),
    ("sbc", "bins", 1), ("sbc", "weights_concentration", 0.0), ("sbc", "means_loc", "0"),
    ("sbc", "means_scale", -1.0), ("sbc", "scale_prior", "gamma"), ("sbc", "scale_param", 0),
    ("sbc", "lkj_eta", float("nan")),
]


@pytest.mark.parametrize(("section", "key", "value"), BAD_VALUES)
def test_bad_values_name_the_key(section, key, value):
    with pytest.raises(ConfigError, match=rf"^{section}\.{key}(\[\d+\])?: "):
        parse_config(with_keys(section, **{key: value}))


def test_unknown_keys_are_refused_with_a_suggestion():
    with pytest.raises(ConfigError, match=r"^sbc\.n_simulation: unknown key \(did you mean "
                                          r"'n_simulations'\?\)"):
        parse_config(with_keys("sbc", n_simulation=10))
    with pytest.raises(ConfigError, match=r"^selection\.kvalues: unknown key"):
        parse_config(with_keys("selection", kvalues=[1, 2]))


def test_sbc_cross_checks():
    # L = 100 draws / thin 2 = 50: ranks take 51 values, so at most 51 bins
    assert parse_config(with_keys("sbc", bins=51)).sbc.bins == 51
    with pytest.raises(ConfigError, match=r"^sbc\.bins: must be <= 51"):
        parse_config(with_keys("sbc", bins=52))
    with pytest.raises(ConfigError, match=r"^sbc\.n_samples: must be >= sbc\.n_components"):
        parse_config(with_keys("sbc", n_samples=3, n_components=4))


def test_defaults_and_interval_methods():
    config = parse_config({"data": BASE["data"]})
    assert (config.em.intervals, config.em.n_bootstrap) == ("none", 200)
    assert config.em.interval_methods == ()
    assert not config.selection.enabled and config.selection.k_values == (1, 2, 3, 4)
    assert not config.sbc.enabled and config.sbc.n_posterior_draws == 50
    methods = {v: parse_config(with_keys("em", intervals=v)).em.interval_methods
               for v in ("bootstrap", "information", "both")}
    assert methods == {"bootstrap": ("bootstrap",), "information": ("information",),
                       "both": ("bootstrap", "information")}
    assert parse_config(with_keys("selection", k_values=[3, 1])).selection.k_values == (1, 3)


# ---------------------------------------------------------------------------------------
# [quick]
# ---------------------------------------------------------------------------------------


def test_quick_overrides_are_applied_and_named():
    raw = BASE | {"quick": {"experiment": {"replicates": 1}, "data": {"overlap": 0.01},
                            "em": {"n_bootstrap": 10}}}
    full, quick = parse_config(raw), parse_config(raw, quick=True)
    assert (full.replicates, full.em.n_bootstrap, full.name) == (2, 40, "cal")
    assert (quick.replicates, quick.em.n_bootstrap, quick.name) == (1, 10, "cal-quick")
    assert quick.data.grid == {} and quick.data.fixed["overlap"] == 0.01
    assert quick.quick == {} and full.quick == raw["quick"]
    # the resolved config keeps [quick] and loads back to the same config
    assert parse_config(tomllib.loads(full.to_toml())) == full
    named = raw | {"quick": {"experiment": {"name": "tiny"}}}
    assert parse_config(named, quick=True).name == "tiny"


@pytest.mark.parametrize(("quick", "message"), [
    ({"mcmc": {"draws": 0}}, r"^quick\.mcmc\.draws: must be >= 1"),
    ({"experiment": {"replicate": 1}}, r"^quick\.experiment\.replicate: unknown key"),
    ({"mcmcc": {"draws": 5}}, r"^quick\.mcmcc: unknown key"),
    ({"mcmc": 5}, r"^quick\.mcmc: must be a table"),
    ({"quick": {}}, r"^quick\.quick: unknown key"),
    ({"sbc": {"bins": 99}}, r"^quick\.sbc\.bins: must be <= 51"),
])
def test_quick_overrides_are_validated_even_without_quick(quick, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(BASE | {"quick": quick})


def test_quick_without_quick_table_is_bad_input():
    with pytest.raises(ConfigError, match=r"^quick: --quick needs a \[quick\] table"):
        parse_config(BASE, quick=True)


def test_bundled_calibration_config_and_its_quick_variant():
    path = bundled_configs()["calibration"]
    full, quick = load_config(path), load_config(path, quick=True)
    assert full.em.intervals == quick.em.intervals == "both"
    assert full.sbc.enabled and full.mcmc.enabled and full.metrics.interval_prob == 0.9
    assert full.replicates >= 10 and len(full.data.grid["overlap"]) >= 3
    assert quick.replicates < full.replicates and quick.sbc.n_simulations < full.sbc.n_simulations
    assert quick.mcmc.draws < full.mcmc.draws and quick.name == "calibration-quick"
    assert quick.mcmc.chains >= 2  # the report's rank plots need two chains


def test_cli_validate_quick(tmp_path):
    path = tmp_path / "q.toml"
    path.write_text('[data]\nn_samples = 50\nn_features = 1\nn_components = 2\n'
                    '[quick.mcmc]\ndraws = 0\n')
    done = subprocess.run(cli_command("validate", str(path), "--quick"), capture_output=True,
                          text=True)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == ("gmm-compare: error: quick.mcmc.draws: must be >= 1, got 0")
    ok = subprocess.run(cli_command("validate", "calibration", "--quick"), capture_output=True,
                        text=True)
    assert ok.returncode == 0 and "--quick variant" in ok.stdout


# ---------------------------------------------------------------------------------------
# EM interval coverage
# ---------------------------------------------------------------------------------------


def test_coverage_of_truth_counts_the_free_parameters():
    """2-D K = 2 full: 2 weights + 4 means + 2 x 3 covariance entries = 12 free parameters."""
    truth = GaussianMixtureParams(np.array([0.4, 0.6]), np.array([[0.0, 0.0], [3.0, 1.0]]),
                                  np.array([np.eye(2), [[2.0, 0.5], [0.5, 1.0]]]), "full")
    arrays = {"weights": truth.weights, "means": truth.means, "covariances": truth.covariances}
    intervals = {name: np.stack([value - 0.1, value + 0.1]) for name, value in arrays.items()}
    intervals["means"] = intervals["means"] + np.array([[[1.0, 0.0], [0.0, 0.0]]])  # 1 miss
    # the upper-triangle entry [0, 0, 1] is not free (symmetric): missing it changes nothing
    intervals["covariances"][:, 0, 0, 1] += 5.0
    intervals["covariances"][:, 1, 1, 0] += 5.0  # a free entry: second miss
    uncertainty = ParameterUncertainty(truth, "test", 0.9, arrays, intervals)
    assert coverage_of_truth(uncertainty, truth, "full") == pytest.approx(10 / 12)
    diag = GaussianMixtureParams(truth.weights, truth.means,
                                 np.array([[1.0, 1.0], [2.0, 1.0]]), "diag")
    diag_arrays = {"weights": diag.weights, "means": diag.means, "covariances": diag.covariances}
    diag_intervals = {k: np.stack([v - 0.1, v + 0.1]) for k, v in diag_arrays.items()}
    diag_unc = ParameterUncertainty(diag, "test", 0.9, diag_arrays, diag_intervals)
    assert coverage_of_truth(diag_unc, truth, "diag") == 1.0  # truth diagonal = diag estimate


def test_information_coverage_of_a_single_gaussian_is_nominal():
    """K = 1, 1-D: the information interval of the mean is the z-interval
    xbar +/- 1.645 sigma_hat / sqrt(N); over 300 data sets about 90% cover the truth."""
    rng = np.random.default_rng(0)
    truth = GaussianMixtureParams(np.ones(1), np.zeros((1, 1)), np.full((1, 1, 1), 4.0), "full")
    covered = []
    for _ in range(300):
        X = rng.normal(0.0, 2.0, size=(400, 1))
        estimate = GaussianMixtureParams(np.ones(1), X.mean(0, keepdims=True),
                                         np.var(X)[None, None, None], "full")
        columns, notes = em_interval_columns(X, estimate, truth, ("information",), level=0.9,
                                             n_bootstrap=2, em_seed=0)
        assert notes == []
        # weight (always 1, inside [1, 1]) + mean + variance
        covered.append(columns["coverage_information"] * 3 - 1)
    covered = np.array(covered) / 2  # fraction over the mean and the variance
    assert abs(covered.mean() - 0.9) < 0.04


@pytest.fixture(scope="module")
def interval_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cal") / "run"
    outcome = run_experiment(parse_config(BASE), out)
    return out, outcome


def test_coverage_columns_on_an_em_only_run(interval_run):
    out, outcome = interval_run
    results = pd.read_csv(out / "results.csv")
    em = results[results["method"] == "em"]
    assert len(em) == 4 and outcome.n_failed == 0
    for column in ("coverage_bootstrap", "coverage_information"):
        assert em[column].between(0.0, 1.0).all()
        assert (em[column] * 12).round(9).mod(1).eq(0).all()  # multiples of 1/12
    assert results.loc[results["method"] != "em", "coverage_bootstrap"].isna().all()
    summary = pd.read_csv(out / "summary.csv")
    assert {"coverage_bootstrap_mean", "coverage_information_mean"} <= set(summary.columns)


def test_information_coverage_matches_emgmm_covers(interval_run):
    """Recompute one replicate from its saved data and EM model with emgmm's own
    ``ParameterUncertainty.covers`` (element-wise, all covariance entries)."""
    out, _ = interval_run
    rep = next((out / "cells").glob("c01-*/rep-1"))
    data, model = np.load(rep / "data.npz"), load_model(rep / "em_model.npz")
    truth = GaussianMixtureParams(data["weights"], data["means"], data["covariances"], "full")
    estimate = polished_estimate(data["X"], model.params_, 1e-6)
    covers = information_standard_errors(data["X"], estimate, level=0.9).covers(truth)
    lower = np.tril_indices(2)
    free = np.concatenate([covers["weights"], covers["means"].ravel(),
                           covers["covariances"][:, lower[0], lower[1]].ravel()])
    results = pd.read_csv(out / "results.csv")
    row = results[(results["cell_id"] == rep.parent.name) & (results["replicate"] == 1)
                  & (results["method"] == "em")]
    assert row["coverage_information"].item() == pytest.approx(free.mean())


def test_selection_row_on_well_separated_data(interval_run):
    out, _ = interval_run
    results = pd.read_csv(out / "results.csv")
    selection = results[results["method"] == "selection"]
    assert len(selection) == 4 and (selection["k_true"] == 2).all()
    assert selection["k_bic"].between(1, 3).all() and selection["k_loo"].isna().all()
    assert (selection["k_bic_correct"] == (selection["k_bic"] == 2)).all()
    assert selection.loc[selection["cell_id"].str.contains("0.005"), "k_bic_correct"].all()


def test_intervals_do_not_depend_on_the_executor(interval_run, tmp_path):
    out, _ = interval_run
    again = run_experiment(parse_config(BASE), tmp_path / "process", executor="process",
                           workers=2)
    columns = ["coverage_bootstrap", "coverage_information", "k_bic", "k_icl"]
    first = pd.read_csv(out / "results.csv")[columns]
    pd.testing.assert_frame_equal(first, again.results[columns].astype(first.dtypes))


# ---------------------------------------------------------------------------------------
# The report's Calibration section
# ---------------------------------------------------------------------------------------


def fake_sbc_records(run_dir: Path, n_simulations: int, rng) -> None:
    """Simulation records as run_sbc_simulation writes them, with uniform ranks."""
    from experiments.measure.sbc import simulation_path
    from experiments.run.files import write_json_atomic

    names = ["weights[0]", "means[0,0]", "covariances[0]"]
    for s in range(n_simulations):
        write_json_atomic(simulation_path(run_dir, s), {
            "simulation": s, "seed": s, "error": None, "parameter_names": names,
            "ranks": rng.integers(0, 51, size=3).tolist(), "n_posterior_draws": 50})


def test_report_has_a_calibration_section(interval_run, tmp_path):
    import shutil

    from experiments.report import build_report

    out, _ = interval_run
    run_dir = tmp_path / "copy"
    shutil.copytree(out, run_dir)
    settings = parse_config(with_keys("sbc", enabled=True, n_simulations=40, bins=5)).sbc
    fake_sbc_records(run_dir, 40, np.random.default_rng(1))
    ranks, summary = write_sbc_tables(run_dir, settings)
    assert len(ranks) == 40 and list(summary["bins"].unique()) == [5]
    assert summary["pvalue"].between(0.0, 1.0).all()
    index = build_report(run_dir)
    html = Path(index).read_text()
    assert 'id="calibration"' in html and 'href="#calibration"' in html
    assert "Coverage of 0.9 intervals" in html and "EM bootstrap" in html
    assert "Simulation-based calibration" in html and "Choice of the number of components" in html
    for name in ("calibration-coverage.png", "calibration-sbc.png"):
        assert (run_dir / "report" / "figures" / name).stat().st_size > 1000


def test_sbc_summary_matches_scipy_chisquare():
    from scipy import stats

    rng = np.random.default_rng(4)
    ranks = pd.DataFrame({"simulation": range(60), "n_posterior_draws": 49,
                          "a": rng.integers(0, 50, 60), "b": rng.integers(0, 10, 60)})
    summary = sbc_summary(ranks, 5)
    for name in ("a", "b"):
        counts = np.bincount(ranks[name] // 10, minlength=5)
        expected = stats.chisquare(counts)
        row = summary[summary["parameter"] == name]
        assert row["statistic"].item() == pytest.approx(expected.statistic)
        assert row["pvalue"].item() == pytest.approx(expected.pvalue)
    assert summary.loc[summary["parameter"] == "b", "pvalue"].item() < 1e-10


def test_map_em_runs_with_intervals(tmp_path):
    """``[em] method = "map"``: the saved model is MAP-EM's mode under the documented prior
    (it beats the ML fit on the MAP objective), with both interval coverages."""
    from emgmm.fit import fit_em
    from emgmm.map_em import map_objective
    from emgmm.map_prior import default_conjugate_prior

    raw = with_keys("em", method="map", n_bootstrap=20) | {"selection": {"enabled": False}}
    raw["experiment"]["replicates"] = 1
    out = tmp_path / "map"
    outcome = run_experiment(parse_config(raw), out)
    assert outcome.n_failed == 0
    em = outcome.results[outcome.results["method"] == "em"]
    assert em[["coverage_bootstrap", "coverage_information"]].stack().between(0, 1).all()
    assert len(em) == 2 and em["converged"].all()
    for rep in (out / "cells").glob("*/rep-0"):
        data, model = np.load(rep / "data.npz"), load_model(rep / "em_model.npz")
        prior = default_conjugate_prior(data["X"], 2, "full")
        ml = fit_em(data["X"], 2, tol=1e-8, max_iter=1000, random_state=0).params
        assert map_objective(data["X"], model.params_, prior) >= map_objective(
            data["X"], ml, prior) - 1e-6
        snapshots = np.load(rep / "em_fit.npz")["snapshot_iterations"]
        assert list(snapshots) == [model.n_iter_]


# ---------------------------------------------------------------------------------------
# The bundled study's CI variant, end to end
# ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_bundled_calibration_quick_runs_end_to_end(tmp_path):
    """``gmm-compare run calibration --quick``: the study's CI-sized variant."""
    out = tmp_path / "cal"
    done = subprocess.run(cli_command("run", "calibration", "--quick", "--out", str(out)),
                          capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-2000:]
    quick = load_config(out / "config.toml")
    assert quick.name == "calibration-quick"

    results = pd.read_csv(out / "results.csv")
    rows = {method: results[results["method"] == method]
            for method in ("em", "mcmc", "advi", "vb")}
    assert all(len(r) == 2 for r in rows.values())  # two cells x one replicate
    for method, column in (("em", "coverage_bootstrap"), ("em", "coverage_information"),
                           ("mcmc", "coverage"), ("advi", "coverage"), ("vb", "coverage")):
        assert rows[method][column].between(0, 1).all(), (method, column)

    summary = pd.read_csv(out / "sbc_summary.csv")
    ranks = pd.read_csv(out / "sbc_ranks.csv")
    assert ranks["simulation"].nunique() == 6
    assert summary["pvalue"].between(0, 1).all() and len(summary) == 6

    page = (out / "report" / "index.html").read_text()
    assert 'id="calibration"' in page and "SBC" in page
    section = page[page.index('id="calibration"'):]
    assert all(f"<td>{label}</td>" in section for label in ("MCMC", "ADVI", "VB"))
