"""``[experiment] methods`` and the ``[advi]`` section: defaults, round trip, bad input."""

import tomllib

import pytest

from experiments.config import ConfigError, bundled_configs, load_config, parse_config
from experiments.config.methods import ADVISettings, VBSettings

MINIMAL = {"data": {"n_samples": 100, "n_features": 2, "n_components": 3}}


def with_methods(*names, **sections):
    return MINIMAL | {"experiment": {"methods": list(names)}} | sections


def test_without_the_list_nothing_changes():
    config = parse_config(MINIMAL)
    assert config.experiment.methods is None
    assert config.method_sections == {"advi": ADVISettings(), "vb": VBSettings()}
    assert "methods" not in config.to_dict()["experiment"]


def test_advi_section_and_list_round_trip_through_toml():
    config = parse_config(with_methods("em", "mcmc", "advi", advi={
        "method": "fullrank_advi", "n_iter": 500, "draws": 50, "learning_rate": 0.02,
        "initial_sd": 0.05}))
    assert config.experiment.methods == ("em", "mcmc", "advi")
    assert config.method_sections["advi"] == ADVISettings("fullrank_advi", 500, 50, 0.02, 0.05)
    again = parse_config(tomllib.loads(config.to_toml()))
    assert again == config


def test_steps_and_learning_rate_default_to_the_method_s_own():
    """No ``n_iter`` / ``learning_rate``: None in the settings (``bayes.fit_vi`` then takes
    the method's defaults), left out of the resolved TOML, passed on as None."""
    from bayes.variational import METHOD_DEFAULTS
    from experiments.measure.advi import advi_options

    config = parse_config(with_methods("em", "mcmc", "advi", advi={"method": "fullrank_advi"}))
    settings = config.method_sections["advi"]
    assert settings.learning_rate is None and settings.n_iter is None
    assert {"learning_rate", "n_iter"}.isdisjoint(config.to_dict()["advi"])
    assert parse_config(tomllib.loads(config.to_toml())) == config
    fit = advi_options(config).fit
    assert fit["learning_rate"] is None and fit["n_iter"] is None
    assert METHOD_DEFAULTS["fullrank_advi"] == {"learning_rate": 0.001, "n_iter": 30000}
    assert METHOD_DEFAULTS["advi"] == {"learning_rate": 0.01, "n_iter": 10000}


def test_quick_overrides_reach_the_advi_section():
    raw = with_methods("em", "advi", advi={"n_iter": 500}) | {"quick": {"advi": {"n_iter": 20}}}
    assert parse_config(raw, quick=True).method_sections["advi"].n_iter == 20
    with pytest.raises(ConfigError, match=r"^quick\.advi\.n_iter: "):
        parse_config(raw | {"quick": {"advi": {"n_iter": 0}}})


BAD = [
    (with_methods("em", "gibbs"), "experiment.methods[1]", "unknown method"),
    (with_methods("advi"), "experiment.methods[0]", "needs 'em'"),
    (with_methods("em", "em"), "experiment.methods[1]", "duplicate"),
    (MINIMAL | {"experiment": {"methods": []}}, "experiment.methods", "non-empty list"),
    (MINIMAL | {"experiment": {"methods": "em"}}, "experiment.methods", "non-empty list"),
    (with_methods("em", "mcmc", mcmc={"enabled": False}), "experiment.methods[1]",
     "enabled = false"),
    (MINIMAL | {"advi": {"n_iters": 5}}, "advi.n_iters", "did you mean 'n_iter'"),
    (MINIMAL | {"advi": {"method": "pathfinder"}}, "advi.method", '"fullrank_advi"'),
    (MINIMAL | {"advi": {"n_iter": 0}}, "advi.n_iter", ">= 1"),
    (MINIMAL | {"advi": {"learning_rate": -1}}, "advi.learning_rate", "got -1"),
    (MINIMAL | {"advi": 3}, "advi", "must be a table"),
]


@pytest.mark.parametrize("raw, key, words", BAD, ids=[f"{i}-{c[1]}" for i, c in enumerate(BAD)])
def test_bad_methods_config_is_one_line_naming_the_key(raw, key, words):
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    message = str(info.value)
    assert info.value.key == key and message.startswith(f"{key}: ")
    assert words in message and "\n" not in message


def test_bundled_methods_config_compares_em_mcmc_advi_and_vb():
    config = load_config(bundled_configs()["methods"])
    assert config.experiment.methods == ("em", "mcmc", "advi", "vb")
    assert list(config.data.grid) == ["overlap"]
    separation = load_config(bundled_configs()["separation"])
    assert config.data.grid == separation.data.grid
