"""Config sections of the uncertainty study: ``[selection]``, ``[sbc]`` and ``[quick]``.

- ``[selection]``: choose the number of components K by BIC and ICL (EM) and by PSIS-LOO
  (the Bayesian fits), for every replicate's data set (:mod:`experiments.measure.selection`).
- ``[sbc]``: simulation-based calibration of the Bayesian model on its own prior
  (:mod:`experiments.measure.sbc`).
- ``[quick]``: overrides applied by ``gmm-compare run CONFIG --quick``, a table per
  section (``[quick.experiment]``, ``[quick.mcmc]``, ...) deep-merged into the config and
  validated like the rest; errors name the key as ``quick.<section>.<key>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emgmm.covariance_types import COVARIANCE_TYPES
from experiments.config.checks import (
    ConfigError,
    boolean,
    choice,
    fail,
    integer,
    integer_list,
    positive,
    real,
    reject_unknown,
    setting,
    table,
)

# bayes.priors.SCALE_PRIORS and bayes.validation.SAMPLERS, copied so that a config loads
# without PyMC (tests/experiments/config/test_schema.py checks they agree)
SCALE_PRIORS = ("halfnormal", "exponential", "halfcauchy")
SAMPLERS = ("pymc", "nutpie", "numpyro")
QUICK_SUFFIX = "-quick"


@dataclass(frozen=True)
class SelectionSettings:
    """``[selection]``: candidate K values, PSIS-LOO on/off and its (short) chains."""

    enabled: bool = setting(False, boolean)
    k_values: tuple[int, ...] = setting((1, 2, 3, 4), integer_list(1))
    loo: bool = setting(True, boolean)
    draws: int = setting(300, integer(1))
    tune: int = setting(300, integer(0))
    chains: int = setting(1, integer(1))


def check_k_values(k_values: tuple[int, ...], smallest_n_samples: int) -> None:
    """Refuse a candidate K that a cell's sample cannot support (more components than points)."""
    for i, k in enumerate(k_values):
        if k > smallest_n_samples:
            raise ConfigError(f"selection.k_values[{i}]",
                              f"K = {k} is more than the {smallest_n_samples} points of the "
                              "smallest cell; every candidate K needs at least K points")


@dataclass(frozen=True)
class SBCSettings:
    """``[sbc]``: simulations, model shape, fully specified priors, chains and ranks.

    The defaults are the smallest model shape of the ``bayes`` tests (1-D, K = 2,
    spherical) with the priors of ``tests/bayes/test_sbc.py``.
    """

    enabled: bool = setting(False, boolean)
    n_simulations: int = setting(100, integer(2))
    n_samples: int = setting(60, integer(2))
    n_components: int = setting(2, integer(1))
    n_features: int = setting(1, integer(1))
    covariance_type: str = setting("spherical", choice(COVARIANCE_TYPES))
    draws: int = setting(100, integer(1))
    tune: int = setting(200, integer(0))
    chains: int = setting(1, integer(1))
    thin: int = setting(2, integer(1))
    bins: int = setting(10, integer(2))
    weights_concentration: float = setting(5.0, positive())
    means_loc: float = setting(0.0, real())
    means_scale: float = setting(2.0, positive())
    scale_prior: str = setting("halfnormal", choice(SCALE_PRIORS))
    scale_param: float = setting(2.0, positive())
    lkj_eta: float = setting(2.0, positive())

    @property
    def n_posterior_draws(self) -> int:
        """L: pooled draws kept after thinning (ranks lie in 0..L)."""
        return len(range(0, self.draws * self.chains, self.thin))


def check_sbc(settings: SBCSettings) -> SBCSettings:
    """Cross-key checks: bins cannot exceed the L + 1 rank values, n_samples >= K."""
    if settings.bins > settings.n_posterior_draws + 1:
        raise ConfigError("sbc.bins", f"must be <= {settings.n_posterior_draws + 1} (the rank "
                          f"values 0..L with L = draws x chains / thin), got {settings.bins}")
    if settings.n_samples < settings.n_components:
        raise ConfigError("sbc.n_samples", f"must be >= sbc.n_components "
                          f"({settings.n_components}), got {settings.n_samples}")
    return settings


# ---------------------------------------------------------------------------------------
# [quick]
# ---------------------------------------------------------------------------------------


def deep_merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` laid over it; tables merge key by key, values replace."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def check_quick_tables(raw: Any, sections: tuple[str, ...]) -> dict[str, Any]:
    """The ``[quick]`` table: each entry a table named after a config section."""
    raw = table(raw, "quick")
    reject_unknown(raw, sections, "quick")
    for key, value in raw.items():
        if not isinstance(value, dict):
            raise fail(f"quick.{key}", f"must be a table ([quick.{key}]) of overrides", value)
    return raw


def quick_name(name: str) -> str:
    """The run name of the quick variant: ``<name>-quick`` (within the 100-character limit)."""
    return name[: 100 - len(QUICK_SUFFIX)] + QUICK_SUFFIX


def prefixed(error: ConfigError, prefix: str) -> ConfigError:
    """The same error with its key path under ``prefix`` (e.g. ``quick.``)."""
    return ConfigError(f"{prefix}{error.key}" if error.key else prefix.rstrip("."),
                       error.problem)
