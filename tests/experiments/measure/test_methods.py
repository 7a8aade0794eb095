"""The method registry: what each method declares is consistent with the run directory."""

from __future__ import annotations

from dataclasses import fields

from experiments.config import ExperimentConfig, parse_config
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
    sections = {f.name for f in fields(ExperimentConfig)}
    for name, method in METHODS.items():
        assert method.name == name and method.section in sections
        assert set(method.requires) <= set(list(METHODS)[:list(METHODS).index(name)])


def test_enabled_methods_follow_the_config():
    names = [m.name for m, _ in enabled_methods(parse_config(MINIMAL))]
    assert names == ["em", "mcmc"]
    off = parse_config(MINIMAL | {"mcmc": {"enabled": False}, "selection": {"enabled": True}})
    assert [m.name for m, _ in enabled_methods(off)] == ["em", "selection"]
