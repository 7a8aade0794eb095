"""The config of ``gmm-compare run --data FILE --components K`` (no config file needed).

``--components 3`` fits K = 3; ``--components 1-6`` makes one cell per K (a grid over
``n_components``) and the console and the report say which K BIC, ICL and PSIS-LOO choose.
Everything else comes from the defaults, except the settings of :data:`DATA_DEFAULTS`: EM
as ``emgmm.GaussianMixtureEM`` fits by default (the starts and tolerance that reach R
mclust's optima on the bundled data sets) and 2 chains x (500 + 500) draws per K, as the
bundled data-set configs: long enough that the well-identified Old Faithful posteriors
(K = 1, 2) pass the diagnostics (R-hat < 1.01, 100 effective draws per chain; with
300 + 300 they had R-hat 1.013 and 1.021), so that a failure points at a poorly identified
K. The sampler stays PyMC's NUTS: on ``faithful.csv`` with K = 1-4 no sampler was clearly
cheaper (nutpie samples fastest but compiles each K for longer; README "Your own data").
The resolved config (absolute data path) is written to the run directory as for any run,
so ``gmm-compare run RUN_DIR/config.toml`` repeats it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from experiments.config.checks import ConfigError
from experiments.config.schema import ExperimentConfig, parse_config
from experiments.errors import quoted_input

MAX_COMPONENTS = 100
MAX_CELLS = 20
DATA_DEFAULTS = {
    "em": {"init_params": "auto", "tol": 1e-7, "max_iter": 1000},
    "mcmc": {"draws": 500, "tune": 500},
}
_COMPONENTS = re.compile(r"\s*([0-9]{1,12})\s*(?:-\s*([0-9]{1,12})\s*)?")  # ASCII digits


def parse_components(text: str) -> tuple[int, ...]:
    """``"3"`` -> (3,); ``"1-6"`` -> (1, ..., 6). ConfigError ``--components: ...`` otherwise."""
    match = _COMPONENTS.fullmatch(text)
    shown = f"'{quoted_input(text)}'"
    if match is None:
        raise ConfigError("--components", f"must be K or a range K1-K2 (e.g. 3 or 1-6), got "
                          f"{shown}")
    low = int(match.group(1))
    high = int(match.group(2)) if match.group(2) is not None else low
    if low < 1:
        raise ConfigError("--components", f"K must be >= 1, got {shown}")
    if high > MAX_COMPONENTS:
        raise ConfigError("--components", f"K must be at most {MAX_COMPONENTS}, got {shown}")
    if high < low:
        raise ConfigError("--components", f"a range K1-K2 needs K1 <= K2, got {shown}")
    if high - low + 1 > MAX_CELLS:
        raise ConfigError("--components", f"a range may hold at most {MAX_CELLS} values of K "
                          f"(one cell each), got {shown}")
    return tuple(range(low, high + 1))


def run_name(path: str, components: tuple[int, ...]) -> str:
    """``<file stem>-k<K>`` or ``<file stem>-k<K1>-<K2>``, restricted to the name pattern."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", Path(path).stem).lstrip("._-")[:80] or "data"
    ks = str(components[0]) if len(components) == 1 else f"{components[0]}-{components[-1]}"
    return f"{stem}-k{ks}"


def data_file_config(path: str, components: str) -> ExperimentConfig:
    """The validated config of ``--data path --components components``.

    Raises
    ------
    ConfigError
        A bad ``--components``; the file itself is checked by the data source afterwards
        (:func:`experiments.run.plan.check_reachable`).
    """
    ks = parse_components(components)
    absolute = os.path.abspath(path)
    raw = {
        "experiment": {"name": run_name(absolute, ks),
                       "description": f"--data {Path(absolute).name} --components {components}"},
        "data": {"file": absolute, "n_components": list(ks) if len(ks) > 1 else ks[0]},
        **DATA_DEFAULTS,
    }
    return parse_config(raw, source="--data")
