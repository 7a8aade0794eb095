"""Warnings that stand out in a run: R-hat >= 1.01, divergences, low ESS, EM not
converged, label switching repaired, failed fits. Read from results.csv rows and each
replicate's metrics.json, never recomputed from fits."""

from __future__ import annotations

import math

import pandas as pd

RHAT_THRESHOLD = 1.01
ESS_PER_CHAIN = 100  # Vehtari et al. (2021): at least 100 effective draws per chain
DEFAULT_CHAINS = 4

# Accepted spellings of each results.csv column, first match wins.
COLUMN_ALIASES = {
    "rhat": ("max_rhat", "rhat_max", "r_hat_max", "max_r_hat", "r_hat"),
    "ess_bulk": ("min_ess_bulk", "ess_bulk_min", "ess_bulk"),
    "ess_tail": ("min_ess_tail", "ess_tail_min", "ess_tail"),
    "divergences": ("divergences", "n_divergences", "divergent", "n_divergent"),
    "converged": ("converged", "em_converged"),
    "relabelled": ("label_switching_repaired", "relabelled", "relabeled", "label_switching"),
    "error": ("error", "failure"),
}


def find_value(row: dict, key: str):
    """Value of the first alias of ``key`` present (and not missing) in ``row``."""
    for name in COLUMN_ALIASES[key]:
        value = row.get(name)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        return value
    return None


def ess_threshold(config: dict) -> float:
    """Low-ESS threshold: 100 effective draws per chain."""
    chains = config.get("mcmc", {}).get("chains", DEFAULT_CHAINS) if config else DEFAULT_CHAINS
    return float(ESS_PER_CHAIN * int(chains))


def _truthy(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return bool(value)


def row_flags(row: dict, min_ess: float) -> list[str]:
    """Human-readable warnings for one results.csv row."""
    flags = []
    checks = {
        "rhat": lambda v: float(v) >= RHAT_THRESHOLD and f"R-hat {float(v):.3f} >= 1.01",
        "divergences": lambda v: float(v) > 0 and f"{int(float(v))} divergent transitions",
        "ess_bulk": lambda v: float(v) < min_ess and f"bulk ESS {float(v):.0f} < {min_ess:.0f}",
        "ess_tail": lambda v: float(v) < min_ess and f"tail ESS {float(v):.0f} < {min_ess:.0f}",
        "converged": lambda v: not _truthy(v) and "EM did not converge",
        "relabelled": lambda v: _truthy(v) and "label switching repaired by relabelling",
        "error": lambda v: bool(str(v).strip()) and f"failed: {str(v).strip()}",
    }
    for key, check in checks.items():
        value = find_value(row, key)
        if value is None:
            continue
        try:
            message = check(value)
        except (TypeError, ValueError):
            continue
        if message:
            flags.append(message)
    return flags


def run_flags(results: pd.DataFrame | None, replicates, config: dict) -> pd.DataFrame:
    """Table of warnings (cell_id, replicate, method, warning) over the whole run.

    Rows come from results.csv when present, otherwise from each replicate's
    metrics.json; the free-text ``warnings`` of metrics.json are added as they are.
    """
    min_ess = ess_threshold(config)
    records = []
    if results is not None and len(results):
        for row in results.to_dict("records"):
            for flag in row_flags(row, min_ess):
                records.append((str(row.get("cell_id", "")), _int(row.get("replicate")),
                                str(row.get("method", "")), flag))
    else:
        for rep in replicates:
            for row in rep.metrics.get("rows", []):
                for flag in row_flags(row, min_ess):
                    records.append((rep.cell_id, rep.replicate, str(row.get("method", "")),
                                    flag))
    for rep in replicates:
        for message in rep.metrics.get("warnings", []) or []:
            records.append((rep.cell_id, rep.replicate, "", str(message)))
    table = pd.DataFrame(records, columns=["cell_id", "replicate", "method", "warning"])
    return table.drop_duplicates().reset_index(drop=True)


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
