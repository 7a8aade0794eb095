"""Warnings that stand out in a run: R-hat >= 1.01, divergences, low ESS, EM not
converged, label switching repaired, failed fits, PSIS-LOO points with Pareto k > 0.7. Read from results.csv rows and each
replicate's metrics.json, never recomputed from fits."""

from __future__ import annotations

import math

import pandas as pd

from experiments.config import ExperimentConfig
from experiments.run.rundir import ERROR_COLUMN

RHAT_THRESHOLD = 1.01
ESS_PER_CHAIN = 100  # Vehtari et al. (2021): at least 100 effective draws per chain


def ess_threshold(config: ExperimentConfig) -> float:
    """Low-ESS threshold: 100 effective draws per chain of the run's ``[mcmc] chains``."""
    return float(ESS_PER_CHAIN * config.mcmc.chains)


def _present(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _truthy(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return bool(value)


def row_flags(row: dict, min_ess: float) -> list[str]:
    """Human-readable warnings for one results.csv row."""
    flags = []
    checks = {  # results.csv column (experiments.run.rundir) -> message or False
        "max_rhat": lambda v: float(v) >= RHAT_THRESHOLD and f"R-hat {float(v):.3f} >= 1.01",
        "divergences": lambda v: float(v) > 0 and f"{int(float(v))} divergent transitions",
        "min_ess_bulk": lambda v: float(v) < min_ess
        and f"bulk ESS {float(v):.0f} < {min_ess:.0f}",
        "min_ess_tail": lambda v: float(v) < min_ess
        and f"tail ESS {float(v):.0f} < {min_ess:.0f}",
        "converged": lambda v: not _truthy(v) and "EM did not converge",
        "pareto_k_bad": lambda v: float(v) > 0
        and f"{int(float(v))} point(s) with Pareto k > 0.7 (PSIS-LOO unreliable there)",
        "label_switching_repaired": lambda v: _truthy(v)
        and "label switching repaired by relabelling",
        ERROR_COLUMN: lambda v: bool(str(v).strip()) and f"failed: {str(v).strip()}",
    }
    for column, check in checks.items():
        value = row.get(column)
        if not _present(value):
            continue
        try:
            message = check(value)
        except (TypeError, ValueError):
            continue
        if message:
            flags.append(message)
    return flags


def run_flags(results: pd.DataFrame | None, replicates, config: ExperimentConfig
              ) -> pd.DataFrame:
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
            for row in rep.rows:
                for flag in row_flags(row, min_ess):
                    records.append((rep.cell_id, rep.replicate, str(row.get("method", "")),
                                    flag))
    for rep in replicates:
        for message in rep.warnings:
            records.append((rep.cell_id, rep.replicate, "", str(message)))
    table = pd.DataFrame(records, columns=["cell_id", "replicate", "method", "warning"])
    return table.drop_duplicates().reset_index(drop=True)


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
