"""Experiment configs: TOML schema, validation and the resolved-config writer.

A config has the sections ``[experiment]``, ``[data]``, ``[em]``, ``[mcmc]`` (with
``[mcmc.priors]``), ``[metrics]`` and ``[report]``; README "Experiment configs" lists every
key. Any ``[data]`` key may be a list: the cartesian product of the list-valued keys makes
the cells of the experiment (:mod:`experiments.run.plan`). Every problem raises
:class:`ConfigError` with one line ``<key path>: <what is wrong>, got <value>``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from emgmm._validation import INIT_METHODS
from emgmm.covariance_types import COVARIANCE_TYPES
from experiments.config import methods as _methods
from experiments.config.checks import (
    MAX_CELLS,
    NAME_PATTERN,
    ConfigError,
    boolean,
    check_path_length,
    choice,
    dump_toml,
    identifier,
    integer,
    list_of,
    listify,
    positive,
    real,
    reject_unknown,
    setting,
    table,
    text,
)
from experiments.config.data_file import FileDataGrid, file_data_grid
from experiments.config.data_grid import DataGrid, data_grid
from experiments.config.report_settings import ReportSettings, parse_report
from experiments.config.study import (
    SAMPLERS,
    SCALE_PRIORS,
    SBCSettings,
    SelectionSettings,
    check_quick_tables,
    check_sbc,
    deep_merge,
    prefixed,
    quick_name,
)
from experiments.errors import quoted_input

__all__ = ["MAX_CELLS", "ConfigError", "ExperimentConfig", "load_config", "parse_config"]

# bayes.validation.INITS and FORMULATIONS, copied so that a config loads without PyMC
# (tests/experiments/config/test_schema.py checks they agree)
MCMC_INITS = ("em", "jitter")
FORMULATIONS = ("marginalized", "explicit")
EM_INTERVALS = ("none", "bootstrap", "information", "both")
EM_METHODS = ("ml", "map")


# ---------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------

_key = setting


@dataclass(frozen=True)
class ExperimentSettings:
    """``[experiment]``: name, root seed, replicates per cell, description."""

    name: str = _key("experiment", identifier)
    seed: int = _key(0, integer(0))
    replicates: int = _key(1, integer(1))
    description: str = _key("", text)
    methods: tuple[str, ...] | None = _key(None, _methods.method_names)


@dataclass(frozen=True)
class EMSettings:
    """``[em]``: keyword arguments of ``emgmm.GaussianMixtureEM`` (scikit-learn names)."""

    covariance_type: str = _key("full", choice(COVARIANCE_TYPES))
    n_init: int = _key(1, integer(1))
    max_iter: int = _key(100, integer(1))
    tol: float = _key(1e-3, positive())
    reg_covar: float = _key(1e-6, real(0.0))
    init_params: str = _key("kmeans", choice(INIT_METHODS))
    intervals: str = _key("none", choice(EM_INTERVALS))
    n_bootstrap: int = _key(200, integer(2))
    method: str = _key("ml", choice(EM_METHODS))

    @property
    def interval_methods(self) -> tuple[str, ...]:
        """The interval methods to compute: () for "none", both for "both"."""
        both = ("bootstrap", "information")
        return {"none": (), "both": both}.get(self.intervals, (self.intervals,))


@dataclass(frozen=True)
class PriorSettings:
    """``[mcmc.priors]``: fields of ``bayes.Priors``; None means its data-scaled default."""

    weights_concentration: float | tuple[float, ...] = _key(1.0, list_of(positive(), True))
    means_loc: float | tuple[float, ...] | None = _key(None, list_of(real(), True))
    means_scale: float | tuple[float, ...] | None = _key(None, list_of(positive(), True))
    scale_prior: str = _key("halfnormal", choice(SCALE_PRIORS))
    scale_param: float | tuple[float, ...] | None = _key(None, list_of(positive(), True))
    lkj_eta: float = _key(2.0, positive())

    def as_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``bayes.Priors``."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class MCMCSettings:
    """``[mcmc]``: arguments of ``bayes.sample``; ``covariance_type`` defaults to EM's."""

    enabled: bool = _key(True, boolean)
    sampler: str = _key("pymc", choice(SAMPLERS))
    draws: int = _key(1000, integer(1))
    tune: int = _key(1000, integer(0))
    chains: int = _key(2, integer(1))
    init: str = _key("em", choice(MCMC_INITS))
    target_accept: float = _key(0.9, real(0.0, 1.0, low_open=True, high_open=True))
    covariance_type: str = _key("full", choice(COVARIANCE_TYPES))
    formulation: str = _key("marginalized", choice(FORMULATIONS))
    order_means: bool = _key(True, boolean)
    priors: PriorSettings = field(default_factory=PriorSettings)


@dataclass(frozen=True)
class MetricsSettings:
    """``[metrics]``: probability of the central posterior intervals."""

    interval_prob: float = _key(0.9, real(0.0, 1.0, low_open=True, high_open=True))


MAX_CONFIG_BYTES = 4 * 2**20  # a config is a few hundred bytes; read and parsed in well under 1 s
_SECTIONS = ("experiment", "data", "em", "mcmc", "metrics", "report", "selection", "sbc",
             *_methods.METHOD_SECTIONS, "quick")


def _section(raw: Any, settings: type, path: str) -> dict[str, Any]:
    """Checked values of the keys present in a table, by the checkers of ``settings``."""
    raw = table(raw, path)
    schema = {f.name: f.metadata["check"] for f in fields(settings) if "check" in f.metadata}
    reject_unknown(raw, schema, path)
    return {key: schema[key](value, f"{path}.{key}") for key, value in raw.items()}


def _priors(raw: Any, data: DataGrid | FileDataGrid) -> PriorSettings:
    values = _section(raw, PriorSettings, "mcmc.priors")
    per_feature = ("means_loc", "means_scale", "scale_param")
    sizes_by_key = {"weights_concentration": "n_components"} | dict.fromkeys(per_feature,
                                                                            "n_features")
    for key, size_key in sizes_by_key.items():
        value = values.get(key)
        if isinstance(value, tuple) and size_key in {*data.grid, *data.fixed}:
            sizes = set(data.grid.get(size_key, (data.fixed.get(size_key),)))
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
    data: DataGrid | FileDataGrid
    em: EMSettings = field(default_factory=EMSettings)
    mcmc: MCMCSettings = field(default_factory=MCMCSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    selection: SelectionSettings = field(default_factory=SelectionSettings)
    sbc: SBCSettings = field(default_factory=SBCSettings)
    quick: dict[str, Any] = field(default_factory=dict)
    method_sections: dict[str, Any] = field(default_factory=_methods.default_sections)
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
            return {f.name: listify(getattr(settings, f.name)) for f in fields(settings)
                    if getattr(settings, f.name) is not None and f.name != "priors"}
        mcmc = plain(self.mcmc) | {"priors": plain(self.mcmc.priors)}
        return {"experiment": plain(self.experiment), "data": self.data.as_table(),
                "em": plain(self.em), "mcmc": mcmc, "metrics": plain(self.metrics),
                "report": plain(self.report), "selection": plain(self.selection),
                "sbc": plain(self.sbc)} | {k: plain(v) for k, v in self.method_sections.items()} \
            | ({"quick": self.quick} if self.quick else {})

    def to_toml(self) -> str:
        """The resolved config as TOML; ``parse_config(tomllib.loads(...))`` gives it back."""
        return dump_toml(self.to_dict())


def parse_config(raw: dict[str, Any], source: str = "<dict>", *, quick: bool = False
                 ) -> ExperimentConfig:
    """Validate a parsed TOML document and fill in every default.

    With ``quick``, the ``[quick]`` overrides are merged in first (the ``--quick`` variant,
    named ``<name>-quick`` unless ``[quick.experiment] name`` is given). Without it, the
    ``[quick]`` table is still validated (merged, errors named ``quick.<key>``) and kept in
    the resolved config.

    Raises
    ------
    ConfigError
        One line naming the key path, the problem and the allowed values.
    """
    reject_unknown(table(raw, "config"), _SECTIONS, "")
    base = {key: value for key, value in raw.items() if key != "quick"}
    config = _parse_sections(base, source)
    overrides = check_quick_tables(raw.get("quick", {}), _SECTIONS[:-1])
    if quick and not overrides:
        raise ConfigError("quick", "--quick needs a [quick] table of overrides in the config")
    named = deep_merge({"experiment": {"name": quick_name(config.name)}}, overrides)
    try:
        variant = _parse_sections(deep_merge(base, named), source)
    except ConfigError as error:
        raise prefixed(error, "quick.") from None
    if quick:
        return variant
    return replace(config, quick=overrides) if overrides else config


def _parse_sections(raw: dict[str, Any], source: str) -> ExperimentConfig:
    """Every section but ``[quick]``, validated, defaults filled in."""
    if "data" not in raw:
        raise ConfigError("data", "required section [data] missing")
    default_name = Path(source).stem if source.endswith(".toml") else "experiment"
    experiment = {"name": default_name} | _section(raw.get("experiment", {}),
                                                   ExperimentSettings, "experiment")
    if not NAME_PATTERN.fullmatch(experiment["name"]):
        experiment["name"] = "experiment"
    on_file = isinstance(raw["data"], dict) and "file" in raw["data"]
    data = file_data_grid(raw["data"], source) if on_file else data_grid(raw["data"])
    em = EMSettings(**_section(raw.get("em", {}), EMSettings, "em"))
    if on_file and em.interval_methods:
        raise ConfigError("em.intervals", "measures coverage of the true parameters, which "
                          "a data file does not have; leave it \"none\"")
    mcmc_raw = dict(table(raw.get("mcmc", {}), "mcmc"))
    priors = _priors(mcmc_raw.pop("priors", {}), data)
    mcmc = {"covariance_type": em.covariance_type} | _section(mcmc_raw, MCMCSettings, "mcmc")
    selection = SelectionSettings(**_section(raw.get("selection", {}), SelectionSettings,
                                             "selection"))
    if selection.enabled:
        data = data.with_k_values(selection.k_values)
    config = ExperimentConfig(
        experiment=ExperimentSettings(**experiment), data=data, em=em,
        mcmc=MCMCSettings(**mcmc, priors=priors),
        metrics=MetricsSettings(**_section(raw.get("metrics", {}), MetricsSettings, "metrics")),
        report=parse_report(raw.get("report", {}), tuple(data.grid), _section),
        selection=selection,
        sbc=check_sbc(SBCSettings(**_section(raw.get("sbc", {}), SBCSettings, "sbc"))),
        method_sections=_methods.parse_method_sections(raw), source=source,
    )
    _methods.check_method_list(config)
    if on_file:  # a store too big for memory runs EM only
        data.check_methods(config)
    return config


def load_config(path: str | os.PathLike[str], *, quick: bool = False) -> ExperimentConfig:
    """Read and validate a TOML config file (its ``--quick`` variant with ``quick``)."""
    check_path_length(path, "", "config file")
    path = Path(path)
    shown = f"'{quoted_input(str(path))}'"
    try:
        if path.is_file() and path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError("", f"config file {shown} is {path.stat().st_size:,} bytes, "
                              f"more than the {MAX_CONFIG_BYTES:,} a config may have")
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("", f"config file {shown} not found") from None
    except IsADirectoryError:
        raise ConfigError("", f"config file {shown} is a directory") from None
    except OSError as error:
        raise ConfigError("", f"config file {shown} cannot be read: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise ConfigError("", f"config file {shown} cannot be read: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError("", f"{quoted_input(path.name)}: invalid TOML: {error}") from None
    except RecursionError:  # tomllib recurses once per level of nesting
        raise ConfigError("", f"{quoted_input(path.name)}: invalid TOML: nested too deeply"
                          ) from None
    return parse_config(raw, source=str(path), quick=quick)
