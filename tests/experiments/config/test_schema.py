"""Config schema: every bad input is a one-line ConfigError naming the key."""

import math
import pickle
import re
import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bayes.priors
import bayes.validation
from experiments.config import (
    ConfigError,
    bundled_configs,
    load_config,
    parse_config,
    resolve_config_argument,
)
from experiments.config import schema, study
from experiments.simulate.spec import DataSpec

MINIMAL = """
[data]
n_samples = 100
n_features = 2
n_components = 3
"""


def with_data(**changes):
    data = {"n_samples": 100, "n_features": 2, "n_components": 3} | changes
    return {"data": data}


def with_section(section, **values):
    return with_data() | {section: values}


BAD_CONFIGS = [
    # (raw config, key named in the error, words the message must contain)
    (with_data(n_components=0), "data.n_components", ">= 1"),
    (with_data(n_samples=2), "data.n_samples", "n_components = 3"),
    (with_data(n_samples=[2, 100]), "data.n_samples", "cell n_samples=2"),
    (with_data(n_samples=100.0), "data.n_samples", "integer"),
    (with_data(n_samples=True), "data.n_samples", "integer"),
    (with_data(n_features="2"), "data.n_features", "integer"),
    (with_data(overlap=-0.1), "data.overlap", "(0, 1)"),
    (with_data(overlap=1.5), "data.overlap", "(0, 1)"),
    (with_data(overlap=[0.01, 1.5]), "data.overlap[1]", "(0, 1)"),
    (with_data(overlap=[]), "data.overlap", "at least one value"),
    (with_data(overlap=[0.1, 0.1]), "data.overlap[1]", "duplicate"),
    (with_data(overlap=math.nan), "data.overlap", "finite"),
    (with_data(overlap_kind="median"), "data.overlap_kind", '"average", "max"'),
    (with_data(covariance_shape="tied"), "data.covariance_shape", '"spherical", "diag", "full"'),
    (with_data(shared_covariance=1), "data.shared_covariance", "true or false"),
    (with_data(max_eccentricity=1.0), "data.max_eccentricity", "[0, 1)"),
    (with_data(weights=[0.5, 0.5]), "data.weights", "n_components = 3"),
    (with_data(weights=[0.5, 0.6, -0.1]), "data.weights[2]", "(0, inf)"),
    (with_data(weights=[[0.2, 0.3, 0.5], [0.5, 0.5]]), "data.weights", "cell weights="),
    (with_data(weights=[0.2, 0.3, 0.5], imbalance=1.0), "data.weights", "not both"),
    (with_data(imbalance=0), "data.imbalance", "(0, inf)"),
    (with_data(student_t_df=2), "data.student_t_df", "(2, inf]"),
    (with_data(outlier_fraction=0.5), "data.outlier_fraction", "[0, 0.5)"),
    (with_data(overlp=0.1), "data.overlp", "did you mean 'overlap'"),
    ({"data": {"n_samples": 100, "n_features": 2}}, "data.n_components", "required"),
    ({"experiment": {"seed": 1}}, "data", "required section"),
    (with_data() | {"seed": 1}, "seed", "unknown section"),
    (with_data() | {"emm": {}}, "emm", "allowed: experiment, data, em, mcmc, metrics, report"),
    (with_data() | {"em": 3}, "em", "table"),
    (with_section("experiment", seed=1.5), "experiment.seed", "integer"),
    (with_section("experiment", seed=-1), "experiment.seed", ">= 0"),
    (with_section("experiment", replicates=0), "experiment.replicates", ">= 1"),
    (with_section("experiment", replicates=True), "experiment.replicates", "integer"),
    (with_section("experiment", name="../escape"), "experiment.name", "letters, digits"),
    (with_section("experiment", name="/tmp/abs"), "experiment.name", "letters, digits"),
    (with_section("experiment", description=3), "experiment.description", "string"),
    (with_section("em", covariance_type="tri"), "em.covariance_type", '"full", "tied"'),
    (with_section("em", n_init=0), "em.n_init", ">= 1"),
    (with_section("em", tol=0.0), "em.tol", "(0, inf)"),
    (with_section("em", reg_covar=-1e-6), "em.reg_covar", "[0, inf)"),
    (with_section("em", init_params="kmeans+"), "em.init_params", '"k-means++"'),
    (with_section("em", max_iters=10), "em.max_iters", "did you mean 'max_iter'"),
    (with_section("mcmc", draws=0), "mcmc.draws", ">= 1"),
    (with_section("mcmc", tune=-1), "mcmc.tune", ">= 0"),
    (with_section("mcmc", chains=0), "mcmc.chains", ">= 1"),
    (with_section("mcmc", sampler="stan"), "mcmc.sampler", '"pymc", "nutpie", "numpyro"'),
    (with_section("mcmc", init="map"), "mcmc.init", '"em", "jitter"'),
    (with_section("mcmc", target_accept=1.0), "mcmc.target_accept", "(0, 1)"),
    (with_section("mcmc", enabled="yes"), "mcmc.enabled", "true or false"),
    (with_section("mcmc", formulation="latent"), "mcmc.formulation", '"marginalized"'),
    (with_section("mcmc", priors={"scale_prior": "gamma"}), "mcmc.priors.scale_prior",
     '"halfnormal", "exponential", "halfcauchy"'),
    (with_section("mcmc", priors={"lkj_eta": 0}), "mcmc.priors.lkj_eta", "(0, inf)"),
    (with_section("mcmc", priors={"weights_concentration": [1, 2]}),
     "mcmc.priors.weights_concentration", "data.n_components is 3"),
    (with_section("mcmc", priors={"means_loc": [0.0, 0.0, 0.0]}), "mcmc.priors.means_loc",
     "data.n_features is 2"),
    (with_section("mcmc", priors={"means_scale": -1.0}), "mcmc.priors.means_scale", "(0, inf)"),
    (with_section("mcmc", priors={"means_scale": [1.0, 0.0]}), "mcmc.priors.means_scale[1]",
     "(0, inf)"),
    (with_section("mcmc", priors={"scale_param": [1.0]}), "mcmc.priors.scale_param",
     "data.n_features is 2"),
    (with_section("mcmc", priors={"eta": 1.0}), "mcmc.priors.eta", "allowed: weights_conc"),
    (with_section("mcmc", priors=2), "mcmc.priors", "table"),
    (with_section("metrics", interval_prob=1.2), "metrics.interval_prob", "(0, 1)"),
    (with_section("report", enabled=1), "report.enabled", "true or false"),
    (with_section("selection", enabled=True, k_values=[1, 2, 500]), "selection.k_values[2]",
     "K = 500 is more than the 100 points"),
    (with_section("report", max_detailed_cells=-1), "report.max_detailed_cells", ">= 0"),
]


@pytest.mark.parametrize("raw, key, words", BAD_CONFIGS, ids=[c[1] for c in BAD_CONFIGS])
def test_bad_config_is_one_line_naming_the_key(raw, key, words):
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    message = str(info.value)
    assert info.value.key == key
    assert message.startswith(f"{key}: ")
    assert words in message
    assert "\n" not in message
    assert isinstance(info.value, ValueError)


def test_missing_file_directory_and_malformed_toml(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_text("[data\nn_samples = 1\n")
    with pytest.raises(ConfigError, match=r"^bad.toml: invalid TOML: .*line 1") as info:
        load_config(bad)
    assert "\n" not in str(info.value)
    nested = tmp_path / "nested.toml"
    nested.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError, match="^nested.toml: invalid TOML: nested too deeply$"):
        load_config(nested)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="cannot be read|invalid TOML"):
        load_config(binary)


def test_minimal_config_fills_every_default(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(MINIMAL)
    config = load_config(path)
    assert config.name == "tiny" and config.seed == 0 and config.replicates == 1
    assert config.data.fixed["overlap"] == DataSpec(100, 2, 3).overlap
    assert config.data.grid == {}
    assert config.em.covariance_type == "full" and config.em.init_params == "kmeans"
    assert config.mcmc.sampler == "pymc" and config.mcmc.enabled
    assert config.mcmc.covariance_type == config.em.covariance_type
    assert config.mcmc.priors.scale_prior == "halfnormal" and config.mcmc.priors.lkj_eta == 2.0
    assert config.metrics.interval_prob == 0.9 and config.report.enabled


def test_mcmc_covariance_type_defaults_to_em():
    config = parse_config(with_section("em", covariance_type="diag"))
    assert config.mcmc.covariance_type == "diag"
    explicit = parse_config(with_section("em", covariance_type="diag") |
                            {"mcmc": {"covariance_type": "full"}})
    assert explicit.mcmc.covariance_type == "full"


def test_grid_values_and_special_values():
    config = parse_config(with_data(weights=[[0.2, 0.3, 0.5], [0.6, 0.2, 0.2]],
                                    student_t_df=[math.inf, 3], overlap=0.02))
    assert config.data.grid["weights"] == ((0.2, 0.3, 0.5), (0.6, 0.2, 0.2))
    assert config.data.grid["student_t_df"] == (math.inf, 3.0)
    specs = [spec for _, spec in config.data.cells()]
    assert len(specs) == 4 and specs[0].student_t_df is None and specs[1].student_t_df == 3.0
    fixed_weights = parse_config(with_data(weights=[0.2, 0.3, 0.5]))
    assert fixed_weights.data.fixed["weights"] == (0.2, 0.3, 0.5)


def test_key_order_does_not_matter():
    first = tomllib.loads(MINIMAL + "overlap = [0.01, 0.1]\nimbalance = [1.0, 5.0]\n")
    second = {"data": dict(reversed(list(first["data"].items())))}
    assert parse_config(first) == parse_config(second)
    assert list(parse_config(second).data.grid) == ["imbalance", "overlap"]


@pytest.mark.parametrize("name, path", list(bundled_configs().items()))
def test_bundled_configs_validate_and_round_trip(name, path):
    config = load_config(path)
    assert config.name == name
    assert path.read_text().startswith(f"# {name}:")  # the leading comment explains it
    header = path.read_text().split("[experiment]")[0]
    assert re.search(r"\d+ s\b|minute", header)  # ... and says how long it runs
    text = config.to_toml()
    again = parse_config(tomllib.loads(text), source=str(path))
    assert again == config
    assert again.to_toml() == text
    n_cells = len(config.data.cells())
    if name == "gvhd":  # a choice of K = 2-9 on one data file, without MCMC
        assert n_cells == 8 and config.replicates == 1 and "mcmc" not in config.experiment.methods
    elif name != "calibration":  # the calibration study is large by design (test_calibration.py)
        assert 1 <= n_cells <= 6 and config.replicates <= 3  # modest sweeps
    assert config.mcmc.draws <= 1000 and config.mcmc.chains <= 4


def test_bundled_configs_are_the_documented_ones():
    assert set(bundled_configs()) == {"quickstart", "separation", "sample-size",
                                      "misspecified", "dimension", "calibration", "methods",
                                      "faithful", "iris", "galaxies", "gvhd"}


def test_quickstart_is_the_small_default():
    config = load_config(resolve_config_argument(None))
    assert config.name == "quickstart"
    assert config.data.grid == {} and config.replicates == 1
    spec = config.data.cells()[0][1]
    assert (spec.n_samples, spec.n_features, spec.n_components) == (300, 2, 3)
    assert spec.covariance_shape == "full" and spec.overlap <= 0.01
    assert (config.mcmc.chains, config.mcmc.tune, config.mcmc.draws) == (2, 1000, 1000)


def test_resolved_config_round_trips_with_every_key(tmp_path):
    raw = with_data(weights=[[0.2, 0.3, 0.5], [0.5, 0.25, 0.25]], overlap=[0.01, 0.05],
                    student_t_df=[math.inf, 4], covariance_shape="diag")
    raw |= {"experiment": {"name": "all-keys", "seed": 7, "replicates": 2,
                           "description": 'quotes " and \\ backslash,\nnewline, tab\t, é'},
            "em": {"covariance_type": "tied", "n_init": 3, "tol": 1e-4},
            "mcmc": {"sampler": "numpyro", "init": "jitter", "formulation": "explicit",
                     "priors": {"weights_concentration": [1.0, 2.0, 3.0], "means_loc": 0.5,
                                "means_scale": [2.0, 3.0], "scale_prior": "halfcauchy",
                                "scale_param": 1.5, "lkj_eta": 4.0}},
            "metrics": {"interval_prob": 0.8}, "report": {"enabled": False,
                                                          "max_detailed_cells": 2}}
    config = parse_config(raw)
    path = tmp_path / "resolved.toml"
    path.write_text(config.to_toml())
    assert load_config(path) == config


def test_resolve_config_argument(tmp_path):
    bundled = bundled_configs()
    assert resolve_config_argument("separation") == bundled["separation"]
    own = tmp_path / "mine.toml"
    own.write_text(MINIMAL)
    assert resolve_config_argument(str(own)) == own
    with pytest.raises(ConfigError, match="neither a file nor a bundled config; bundled: "):
        resolve_config_argument("no-such-config")


def test_config_error_pickles_with_its_key():
    error = ConfigError("data.overlap", "must be in (0, 1), got 1.5")
    again = pickle.loads(pickle.dumps(error))
    assert str(again) == str(error) == "data.overlap: must be in (0, 1), got 1.5"
    assert again.key == "data.overlap"


def test_priors_build_bayes_priors():
    import bayes
    raw = with_section("mcmc", priors={"weights_concentration": [1.0, 2.0, 3.0],
                                       "means_scale": [2.0, 3.0], "scale_prior": "exponential"})
    priors = bayes.Priors(**parse_config(raw).mcmc.priors.as_kwargs())
    assert priors.weights_concentration == (1.0, 2.0, 3.0) and priors.means_scale == (2.0, 3.0)
    assert priors.scale_prior == "exponential"


positive_floats = st.floats(1e-6, 1e6, allow_subnormal=False)
raw_configs = st.fixed_dictionaries(
    {"data": st.fixed_dictionaries(
        {"n_samples": st.integers(10, 10_000), "n_features": st.integers(1, 5),
         "n_components": st.integers(1, 4)},
        optional={"overlap": st.lists(st.floats(1e-6, 0.9), min_size=1, max_size=3, unique=True),
                  "covariance_shape": st.sampled_from(["spherical", "diag", "full"]),
                  "shared_covariance": st.booleans(), "imbalance": positive_floats,
                  "student_t_df": st.floats(2.5, 100) | st.just(math.inf),
                  "outlier_fraction": st.floats(0, 0.4)})},
    optional={
        "experiment": st.fixed_dictionaries(
            {}, optional={"seed": st.integers(0, 2**63 - 1), "replicates": st.integers(1, 5),
                          "description": st.text(max_size=20)}),
        "em": st.fixed_dictionaries(
            {}, optional={"tol": positive_floats, "reg_covar": st.floats(0, 1),
                          "init_params": st.sampled_from(["kmeans", "random"])}),
        "mcmc": st.fixed_dictionaries(
            {}, optional={"draws": st.integers(1, 5000), "target_accept": st.floats(0.5, 0.99),
                          "priors": st.fixed_dictionaries(
                              {}, optional={"lkj_eta": positive_floats,
                                            "means_loc": st.floats(-1e3, 1e3)})}),
    },
)


@settings(max_examples=150, deadline=None)
@given(raw=raw_configs)
def test_any_valid_config_round_trips_through_toml(raw):
    config = parse_config(raw)
    again = parse_config(tomllib.loads(config.to_toml()))
    assert again == config


def test_mcmc_choices_are_the_ones_bayes_accepts():
    # The config keeps its own copy so that validating a config does not import PyMC.
    assert study.SAMPLERS == bayes.validation.SAMPLERS
    assert study.SCALE_PRIORS == bayes.priors.SCALE_PRIORS
    assert schema.MCMC_INITS == bayes.validation.INITS
    assert schema.FORMULATIONS == bayes.validation.FORMULATIONS
