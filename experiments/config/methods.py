"""Which methods a run fits: ``[experiment] methods`` and the sections of opt-in methods.

``[experiment] methods = ["em", "mcmc", "advi"]`` runs exactly the listed methods (in
the registry's order, :data:`experiments.measure.methods.METHODS`); without the key a run
fits EM, MCMC (``[mcmc] enabled``) and the selection study (``[selection] enabled``), as
before the key existed. The methods of :data:`METHOD_SECTIONS` are opt-in: they run only
when listed, configured by their own section. A listed name that is not registered, a
listed method whose requirement is not listed and a listed method whose section says
``enabled = false`` are :class:`~experiments.config.checks.ConfigError`.

``[advi]`` (:class:`ADVISettings`) holds the options of :func:`bayes.fit_vi`; the model
(covariance type, priors, ordering constraint) is ``[mcmc]``'s, so that ADVI and MCMC
approximate the same posterior. ``[vb]`` (:class:`VBSettings`) holds those of
``emgmm.BayesianGaussianMixtureVB``: the conjugate model of Bishop 10.2, whose prior is
scikit-learn's default (not ``[mcmc.priors]``); ``truncation = 0`` fits the cell's K, a
larger value lets VB prune components.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from experiments.config.checks import (
    ConfigError,
    choice,
    fail,
    integer,
    list_of,
    positive,
    reject_unknown,
    setting,
    table,
    text,
)

VI_METHODS = ("advi", "fullrank_advi")  # bayes.variational.VI_METHODS


@dataclass(frozen=True)
class ADVISettings:
    """``[advi]``: keyword arguments of ``bayes.fit_vi`` (``n_iter`` and ``learning_rate``
    None: the method's defaults, ``bayes.variational.METHOD_DEFAULTS``)."""

    method: str = setting("advi", choice(VI_METHODS))
    n_iter: int | None = setting(None, integer(1))
    draws: int = setting(1000, integer(1))
    learning_rate: float | None = setting(None, positive())
    initial_sd: float = setting(0.1, positive())


WEIGHT_PRIOR_TYPES = ("dirichlet_distribution", "dirichlet_process")


@dataclass(frozen=True)
class VBSettings:
    """``[vb]``: options of ``emgmm.BayesianGaussianMixtureVB`` (scikit-learn's defaults
    for the conjugate prior: Dirichlet or stick-breaking weights, Normal-Wishart
    components; the covariance type is ``[em]``'s, the starts ``[em] init_params``)."""

    weight_concentration_prior_type: str = setting("dirichlet_distribution",
                                                   choice(WEIGHT_PRIOR_TYPES))
    weight_concentration: float = setting(1.0, positive())
    truncation: int = setting(0, integer(0))
    tol: float = setting(1e-6, positive())
    max_iter: int = setting(1000, integer(1))
    n_init: int = setting(1, integer(1))
    draws: int = setting(1000, integer(1))
    weight_threshold: float = setting(0.01, positive())


# section (= method name) -> settings of the opt-in methods configured by a section
METHOD_SECTIONS: dict[str, type] = {"advi": ADVISettings, "vb": VBSettings}


def method_names(value: Any, path: str) -> tuple[str, ...]:
    """A non-empty list of distinct method names (checked against the registry later)."""
    names = list_of(text)(value, path)
    for i, name in enumerate(names):
        if name in names[:i]:
            raise fail(f"{path}[{i}]", "duplicate method", name)
    return names


def parse_method_sections(raw: dict[str, Any]) -> dict[str, Any]:
    """Settings of every opt-in method's section (defaults for absent sections)."""
    sections = {}
    for name, settings in METHOD_SECTIONS.items():
        values = table(raw.get(name, {}), name)
        schema = {f.name: f.metadata["check"] for f in fields(settings)}
        reject_unknown(values, schema, name)
        sections[name] = settings(**{key: schema[key](value, f"{name}.{key}")
                                     for key, value in values.items()})
    return sections


def default_sections() -> dict[str, Any]:
    """Every opt-in method's settings at their defaults."""
    return parse_method_sections({})


def method_selected(config, name: str) -> bool:
    """Whether the method ``name`` may run: listed, or no list and not opt-in."""
    listed = config.experiment.methods
    return name not in METHOD_SECTIONS if listed is None else name in listed


def check_method_list(config) -> None:
    """Refuse unknown names, unlisted requirements and listed-but-disabled methods."""
    listed = config.experiment.methods
    if listed is None:
        return
    # imported here: the registry imports the fitting code
    from experiments.measure.methods import METHODS

    path = "experiment.methods"
    for i, name in enumerate(listed):
        if name not in METHODS:
            raise fail(f"{path}[{i}]", f"unknown method; registered: {', '.join(METHODS)}",
                       name)
        missing = [r for r in METHODS[name].requires if r not in listed]
        if missing:
            raise ConfigError(f"{path}[{i}]", f"{name!r} needs {missing[0]!r} in the list")
        section = getattr(config, METHODS[name].section, None)
        if getattr(section, "enabled", True) is False:
            raise ConfigError(f"{path}[{i}]", f"{name!r} is listed but [{METHODS[name].section}]"
                              " enabled = false; remove one of them")
