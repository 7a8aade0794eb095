"""Experiment configs: the TOML schema (:mod:`.schema`), its value checkers (:mod:`.checks`)
and the study sections ``[selection]``, ``[sbc]``, ``[quick]`` (:mod:`.study`)."""

from experiments.config.checks import ConfigError
from experiments.config.schema import (
    DEFAULT_CONFIG,
    ExperimentConfig,
    bundled_configs,
    load_config,
    parse_config,
    resolve_config_argument,
)

__all__ = ["DEFAULT_CONFIG", "ConfigError", "ExperimentConfig", "bundled_configs", "load_config",
           "parse_config", "resolve_config_argument"]
