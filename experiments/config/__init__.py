"""Experiment configs: the TOML schema (:mod:`.schema`), its value checkers (:mod:`.checks`),
the study sections ``[selection]``, ``[sbc]``, ``[quick]`` (:mod:`.study`), the ``[data]``
section of a data file (:mod:`.data_file`), the config of ``run --data``
(:mod:`.data_command`) and the bundled configs (:mod:`.bundled`)."""

from experiments.config.bundled import (
           DEFAULT_CONFIG,
           bundled_configs,
           resolve_config_argument,
)
from experiments.config.checks import ConfigError
from experiments.config.schema import ExperimentConfig, load_config, parse_config

__all__ = ["DEFAULT_CONFIG", "ConfigError", "ExperimentConfig", "bundled_configs", "load_config",
           "parse_config", "resolve_config_argument"]
