"""The configs shipped in ``experiments/configs/`` and how a config argument is resolved."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from experiments.config.checks import ConfigError, check_path_length
from experiments.errors import quoted_input

DEFAULT_CONFIG = "quickstart"


def bundled_configs() -> dict[str, Path]:
    """Bundled config names (file stems) -> paths, sorted by name."""
    folder = resources.files("experiments").joinpath("configs")
    found = {entry.name[:-5]: Path(str(entry)) for entry in folder.iterdir()
             if entry.name.endswith(".toml")}
    return dict(sorted(found.items()))


def resolve_config_argument(argument: str | os.PathLike[str] | None) -> Path:
    """A bundled config name (or None for the default) or a path -> the config's path."""
    if argument is None:
        argument = DEFAULT_CONFIG
    bundled = bundled_configs()
    if str(argument) in bundled:
        return bundled[str(argument)]
    check_path_length(argument, "", "config")
    path = Path(argument)
    if path.is_file():
        return path
    raise ConfigError("", f"config '{quoted_input(str(argument))}' is neither a file nor a "
                      f"bundled config; bundled: {', '.join(bundled)}")
