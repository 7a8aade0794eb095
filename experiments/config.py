"""Experiment configs: TOML schema, validation and the resolved-config writer.

A config has the sections ``[experiment]``, ``[data]``, ``[em]``, ``[mcmc]`` (with
``[mcmc.priors]``), ``[metrics]`` and ``[report]``; README "Experiment configs" lists every
key. Any ``[data]`` key may be a list: the cartesian product of the list-valued keys makes
the cells of the experiment (:mod:`experiments.plan`). Every problem raises
:class:`ConfigError` with one line ``<key path>: <what is wrong>, got <value>``.
No key takes a filesystem path, so a config cannot write outside its run directory.
"""

from __future__ import annotations

import difflib
import itertools
import json
import math
import os
import re
import tomllib
from dataclasses import MISSING, dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any, Callable

from experiments.generate import COVARIANCE_SHAPES, OVERLAP_KINDS, DataSpec

DEFAULT_CONFIG = "quickstart"
COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")
SAMPLERS = ("pymc", "nutpie", "numpyro")
MCMC_INITS = ("em", "jitter")
FORMULATIONS = ("marginalized", "explicit")
SCALE_PRIORS = ("halfnormal", "exponential", "halfcauchy")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


class ConfigError(ValueError):
    """An invalid config; the message is one line starting with the offending key path."""

    def __init__(self, key: str, problem: str):
        super().__init__(f"{key}: {problem}" if key else problem)
        self.key = key


def _show(value: Any) -> str:
    """A value as it would be written in TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):  # JSON string escapes are valid TOML basic-string escapes
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, float):
        return "inf" if value == math.inf else "-inf" if value == -math.inf else repr(value)
    if isinstance(value, dict):
        return "a table"
    return repr(value)


# ---------------------------------------------------------------------------------------
# Value checkers: (value, key path) -> normalised value, or ConfigError
# ---------------------------------------------------------------------------------------

Checker = Callable[[Any, str], Any]


def _fail(path: str, problem: str, value: Any) -> ConfigError:
    return ConfigError(path, f"{problem}, got {_show(value)}")


def integer(low: int | None = None) -> Checker:
    def check(value: Any, path: str) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise _fail(path, "must be an integer", value)
        if low is not None and value < low:
            raise _fail(path, f"must be >= {low}", value)
        return value
    return check


def real(low: float = -math.inf, high: float = math.inf, *, low_open: bool = False,
         high_open: bool = False, allow_inf: bool = False) -> Checker:
    """Number in the interval; ints are accepted, bools are not."""
    closed_high = not high_open and (math.isfinite(high) or allow_inf)
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}{']' if closed_high else ')'}"

    def check(value: Any, path: str) -> float:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise _fail(path, "must be a number", value)
        if math.isnan(value) or (math.isinf(value) and not allow_inf):
            raise _fail(path, "must be a finite number", value)
        too_low = value <= low if low_open else value < low
        too_high = value >= high if high_open else value > high
        if too_low or too_high:
            raise _fail(path, f"must be in {interval}", value)
        return float(value)
    return check


def positive() -> Checker:
    return real(0.0, math.inf, low_open=True)


def boolean(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(path, "must be true or false", value)
    return value


def choice(options: tuple[str, ...]) -> Checker:
    def check(value: Any, path: str) -> str:
        if value not in options or not isinstance(value, str):
            raise _fail(path, f"must be one of {', '.join(map(_show, options))}", value)
        return value
    return check


def text(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _fail(path, "must be a string", value)
    return value


def identifier(value: Any, path: str) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise _fail(path, "must be 1-100 letters, digits, '.', '_' or '-', starting with a "
                    "letter or digit", value)
    return value


def list_of(element: Checker, allow_scalar: bool = False) -> Checker:
    """A non-empty list (stored as a tuple), or with ``allow_scalar`` also one value."""
    def check(value: Any, path: str) -> Any:
        if allow_scalar and not isinstance(value, list):
            return element(value, path)
        if not isinstance(value, list) or not value:
            raise _fail(path, "must be a non-empty list", value)
        return tuple(element(v, f"{path}[{i}]") for i, v in enumerate(value))
    return check


# ---------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExperimentSettings:
    """``[experiment]``: name, root seed, replicates per cell, description."""

    name: str = "experiment"
    seed: int = 0
    replicates: int = 1
    description: str = ""


@dataclass(frozen=True)
class EMSettings:
    """``[em]``: keyword arguments of ``emgmm.GaussianMixtureEM`` (scikit-learn names)."""

    covariance_type: str = "full"
    n_init: int = 1
    max_iter: int = 100
    tol: float = 1e-3
    reg_covar: float = 1e-6
    init_params: str = "kmeans"


@dataclass(frozen=True)
class PriorSettings:
    """Fields of ``bayes.Priors``; None means the documented data-scaled default."""

    weights_concentration: float | tuple[float, ...] = 1.0
    means_loc: float | tuple[float, ...] | None = None
    means_scale: float | None = None
    scale_prior: str = "halfnormal"
    scale_param: float | None = None
    lkj_eta: float = 2.0

    def as_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``bayes.Priors``."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class MCMCSettings:
    """``[mcmc]``: arguments of ``bayes.sample``; ``covariance_type`` defaults to EM's."""

    enabled: bool = True
    sampler: str = "pymc"
    draws: int = 1000
    tune: int = 1000
    chains: int = 2
    init: str = "em"
    target_accept: float = 0.9
    covariance_type: str = "full"
    formulation: str = "marginalized"
    priors: PriorSettings = field(default_factory=PriorSettings)


@dataclass(frozen=True)
class MetricsSettings:
    """``[metrics]``: probability of the central posterior intervals."""

    interval_prob: float = 0.9


@dataclass(frozen=True)
class ReportSettings:
    """``[report]``: whether to build the HTML report, cells with detailed figures."""

    enabled: bool = True
    max_detailed_cells: int = 6


@dataclass(frozen=True)
class DataGrid:
    """The ``[data]`` section: fixed DataSpec fields and the grid axes.

    Attributes
    ----------
    fixed : dict
        DataSpec field -> value, for the keys given as a single value (or defaulted).
    grid : dict
        DataSpec field -> tuple of values, for the keys given as lists, in DataSpec field
        order (so the cells do not depend on the order of keys in the file).
    """

    fixed: dict[str, Any]
    grid: dict[str, tuple[Any, ...]]

    def cells(self) -> list[tuple[dict[str, Any], DataSpec]]:
        """(grid values, DataSpec) of every cell, the last axis varying fastest.

        Raises ConfigError naming the key and the cell when a combination is invalid.
        """
        out = []
        for combo in itertools.product(*self.grid.values()):
            values = dict(zip(self.grid, combo))
            try:
                out.append((values, DataSpec(**self.fixed, **values)))
            except ValueError as error:
                key, _, problem = str(error).partition(": ")
                cell = ", ".join(f"{k}={_show(v)}" for k, v in values.items())
                raise ConfigError(f"data.{key}", problem + (f" (cell {cell})" if cell else "")
                                  ) from None
        return out


_EXPERIMENT = {"name": identifier, "seed": integer(0), "replicates": integer(1), "description": text}
_EM = {
    "covariance_type": choice(COVARIANCE_TYPES), "n_init": integer(1), "max_iter": integer(1),
    "tol": positive(), "reg_covar": real(0.0), "init_params": choice(INIT_PARAMS),
}
_PRIORS = {
    "weights_concentration": list_of(positive(), allow_scalar=True),
    "means_loc": list_of(real(), allow_scalar=True), "means_scale": positive(),
    "scale_prior": choice(SCALE_PRIORS), "scale_param": positive(), "lkj_eta": positive(),
}
_MCMC = {
    "enabled": boolean, "sampler": choice(SAMPLERS), "draws": integer(1), "tune": integer(0),
    "chains": integer(1), "init": choice(MCMC_INITS),
    "target_accept": real(0.0, 1.0, low_open=True, high_open=True),
    "covariance_type": choice(COVARIANCE_TYPES), "formulation": choice(FORMULATIONS),
}
_METRICS = {"interval_prob": real(0.0, 1.0, low_open=True, high_open=True)}
_REPORT = {"enabled": boolean, "max_detailed_cells": integer(0)}
_DATA = {
    "n_samples": integer(1), "n_features": integer(1), "n_components": integer(1),
    "weights": list_of(positive()), "imbalance": positive(),
    "covariance_shape": choice(COVARIANCE_SHAPES), "shared_covariance": boolean,
    "max_eccentricity": real(0.0, 1.0, high_open=True),
    "overlap": real(0.0, 1.0, low_open=True, high_open=True),
    "overlap_kind": choice(OVERLAP_KINDS),
    "student_t_df": real(2.0, math.inf, low_open=True, allow_inf=True),
    "outlier_fraction": real(0.0, 0.5, high_open=True),
}
_DATA_REQUIRED = ("n_samples", "n_features", "n_components")
_SECTIONS = ("experiment", "data", "em", "mcmc", "metrics", "report")


def _table(raw: Any, path: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _fail(path, f"must be a table ([{path}])", raw)
    return raw


def _reject_unknown(raw: dict[str, Any], allowed: Any, path: str) -> None:
    for key in raw:
        if key not in allowed:
            where = f"{path}.{key}" if path else key
            close = difflib.get_close_matches(key, list(allowed), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            what = "key" if path else "section"
            raise ConfigError(where, f"unknown {what}{hint}; allowed: {', '.join(allowed)}")


def _section(raw: Any, schema: dict[str, Checker], path: str) -> dict[str, Any]:
    """Checked values of the keys present in a table."""
    raw = _table(raw, path)
    _reject_unknown(raw, schema, path)
    return {key: schema[key](value, f"{path}.{key}") for key, value in raw.items()}


def _data_grid(raw: Any) -> DataGrid:
    raw = _table(raw, "data")
    _reject_unknown(raw, _DATA, "data")
    for key in _DATA_REQUIRED:
        if key not in raw:
            raise ConfigError(f"data.{key}", "required key missing")
    fixed, grid = {}, {}
    for key in _DATA:  # DataSpec field order, whatever the order in the file
        if key not in raw:
            fixed[key] = _DATASPEC_DEFAULTS[key]
            continue
        value, path = raw[key], f"data.{key}"
        is_grid = isinstance(value, list) and (key != "weights" or
                                              any(isinstance(v, list) for v in value))
        if not is_grid:
            fixed[key] = _DATA[key](value, path)
            continue
        if not value:
            raise ConfigError(path, "empty list; give at least one value")
        values = tuple(_DATA[key](v, f"{path}[{i}]") for i, v in enumerate(value))
        for i, v in enumerate(values):
            if v in values[:i]:
                raise _fail(f"{path}[{i}]", "duplicate grid value", v)
        grid[key] = values
    data = DataGrid(fixed=fixed, grid=grid)
    data.cells()  # every combination must make a valid DataSpec
    return data


def _priors(raw: Any, data: DataGrid) -> PriorSettings:
    values = _section(raw, _PRIORS, "mcmc.priors")
    for key, size_key in (("weights_concentration", "n_components"), ("means_loc", "n_features")):
        value = values.get(key)
        if isinstance(value, tuple):
            sizes = set(data.grid.get(size_key, (data.fixed[size_key],)))
            if sizes != {len(value)}:
                raise ConfigError(f"mcmc.priors.{key}", f"has {len(value)} values but "
                                  f"data.{size_key} is {', '.join(map(str, sorted(sizes)))}; "
                                  "give one number or one per "
                                  f"{'component' if size_key == 'n_components' else 'feature'}")
    return PriorSettings(**values)


@dataclass(frozen=True)
class ExperimentConfig:
    """A validated experiment config with every default filled in."""

    experiment: ExperimentSettings
    data: DataGrid
    em: EMSettings = field(default_factory=EMSettings)
    mcmc: MCMCSettings = field(default_factory=MCMCSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    source: str = field(default="<dict>", compare=False)

    @property
    def name(self) -> str:
        return self.experiment.name

    @property
    def seed(self) -> int:
        return self.experiment.seed

    @property
    def replicates(self) -> int:
        return self.experiment.replicates

    def to_dict(self) -> dict[str, Any]:
        """The resolved config as TOML-ready nested dicts (None values omitted)."""
        def plain(settings: Any) -> dict[str, Any]:
            return {f.name: _listify(getattr(settings, f.name)) for f in fields(settings)
                    if getattr(settings, f.name) is not None and f.name != "priors"}
        data = {key: _listify(self.data.grid.get(key, self.data.fixed.get(key)))
                for key in _DATA}
        mcmc = plain(self.mcmc) | {"priors": plain(self.mcmc.priors)}
        return {"experiment": plain(self.experiment),
                "data": {k: v for k, v in data.items() if v is not None},
                "em": plain(self.em), "mcmc": mcmc, "metrics": plain(self.metrics),
                "report": plain(self.report)}

    def to_toml(self) -> str:
        """The resolved config as TOML; ``parse_config(tomllib.loads(...))`` gives it back."""
        return _dump_toml(self.to_dict())


_DATASPEC_DEFAULTS = {f.name: f.default for f in fields(DataSpec) if f.default is not MISSING}


def _listify(value: Any) -> Any:
    return [_listify(v) for v in value] if isinstance(value, tuple) else value


def _dump_toml(tables: dict[str, Any], prefix: str = "") -> str:
    lines: list[str] = []
    for table, content in tables.items():
        header = f"{prefix}{table}"
        lines.append(f"[{header}]")
        lines.extend(f"{key} = {_show(value)}" for key, value in content.items()
                     if not isinstance(value, dict))
        lines.append("")
        nested = {k: v for k, v in content.items() if isinstance(v, dict)}
        if nested:
            lines.append(_dump_toml(nested, prefix=f"{header}."))
    return "\n".join(lines).rstrip("\n") + "\n"


def parse_config(raw: dict[str, Any], source: str = "<dict>") -> ExperimentConfig:
    """Validate a parsed TOML document and fill in every default.

    Raises
    ------
    ConfigError
        One line naming the key path, the problem and the allowed values.
    """
    _reject_unknown(_table(raw, "config"), _SECTIONS, "")
    if "data" not in raw:
        raise ConfigError("data", "required section [data] missing")
    default_name = Path(source).stem if source.endswith(".toml") else "experiment"
    experiment = {"name": default_name} | _section(raw.get("experiment", {}), _EXPERIMENT,
                                                   "experiment")
    if not _NAME.fullmatch(experiment["name"]):
        experiment["name"] = "experiment"
    data = _data_grid(raw["data"])
    em = EMSettings(**_section(raw.get("em", {}), _EM, "em"))
    mcmc_raw = dict(_table(raw.get("mcmc", {}), "mcmc"))
    priors = _priors(mcmc_raw.pop("priors", {}), data)
    mcmc = {"covariance_type": em.covariance_type} | _section(mcmc_raw, _MCMC, "mcmc")
    return ExperimentConfig(
        experiment=ExperimentSettings(**experiment), data=data, em=em,
        mcmc=MCMCSettings(**mcmc, priors=priors),
        metrics=MetricsSettings(**_section(raw.get("metrics", {}), _METRICS, "metrics")),
        report=ReportSettings(**_section(raw.get("report", {}), _REPORT, "report")),
        source=source,
    )


def load_config(path: str | os.PathLike[str]) -> ExperimentConfig:
    """Read and validate a TOML config file."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("", f"config file {str(path)!r} not found") from None
    except IsADirectoryError:
        raise ConfigError("", f"config file {str(path)!r} is a directory") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError("", f"config file {str(path)!r} cannot be read: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError("", f"{path.name}: invalid TOML: {error}") from None
    return parse_config(raw, source=str(path))


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
    path = Path(argument)
    if path.is_file():
        return path
    raise ConfigError("", f"config {str(argument)!r} is neither a file nor a bundled config; "
                      f"bundled: {', '.join(bundled)}")
