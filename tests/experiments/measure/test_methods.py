"""The method registry: what each method declares is consistent with the run directory."""

from __future__ import annotations

from dataclasses import fields

from experiments.config import ExperimentConfig, parse_config
from experiments.config.methods import METHOD_SECTIONS
from experiments.measure.methods import METHODS
from experiments.run.rundir import METRIC_COLUMNS
from experiments.run.tasks import enabled_methods

MINIMAL = {"data": {"n_samples": 50, "n_features": 2, "n_components": 2}}


def test_every_metric_column_has_a_writer():
    declared = [column for method in METHODS.values() for column in method.columns]
    assert set(declared) <= set(METRIC_COLUMNS)
    # the rest describe the data set (every row of a replicate)
    assert set(METRIC_COLUMNS) - set(declared) == {"achieved_overlap", "log_likelihood_truth"}


def test_methods_name_their_config_section_and_known_requirements():
    sections = {f.name for f in fields(ExperimentConfig)} | set(METHOD_SECTIONS)
    for name, method in METHODS.items():
        assert method.name == name and method.section in sections
        assert set(method.requires) <= set(list(METHODS)[:list(METHODS).index(name)])


def test_enabled_methods_follow_the_config():
    names = [m.name for m, _ in enabled_methods(parse_config(MINIMAL))]
    assert names == ["em", "mcmc"]
    off = parse_config(MINIMAL | {"mcmc": {"enabled": False}, "selection": {"enabled": True}})
    assert [m.name for m, _ in enabled_methods(off)] == ["em", "selection"]


def test_a_methods_list_runs_exactly_the_listed_methods():
    listed = parse_config(MINIMAL | {"experiment": {"methods": ["em", "advi"]}})
    assert [m.name for m, _ in enabled_methods(listed)] == ["em", "advi"]
    everything = parse_config(MINIMAL | {"experiment": {"methods": ["advi", "mcmc", "em"]}})
    assert [m.name for m, _ in enabled_methods(everything)] == ["em", "mcmc", "advi"]


def test_opt_in_methods_do_not_run_without_the_list():
    config = parse_config(MINIMAL | {"advi": {"n_iter": 10}})
    assert "advi" not in [m.name for m, _ in enabled_methods(config)]


def test_advi_options_come_from_its_section_and_the_mcmc_model():
    config = parse_config(MINIMAL | {
        "experiment": {"methods": ["em", "mcmc", "advi"]},
        "advi": {"method": "fullrank_advi", "n_iter": 50, "draws": 20},
        "mcmc": {"covariance_type": "diag", "order_means": False,
                 "priors": {"lkj_eta": 3.0}},
    })
    options = {m.name: o for m, o in enabled_methods(config)}["advi"]
    assert options.covariance_type == "diag"
    assert options.fit["method"] == "fullrank_advi" and options.fit["n_iter"] == 50
    assert options.fit["draws"] == 20 and options.fit["order_means"] is False
    assert options.fit["priors"].lkj_eta == 3.0
