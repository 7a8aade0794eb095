"""Warnings that stand out in a run: R-hat >= 1.01, divergences, low ESS, EM not
converged, label switching repaired, failed fits, PSIS-LOO points with Pareto k > 0.7,
each with what to try. Read from results.csv rows and each replicate's metrics.json, never
recomputed from fits."""

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


# What to try, per warning (the first remedy is the cheapest)
ADVICE = {
    "max_rhat": "the chains disagree: run more tune and draws, start from EM (init = \"em\"), "
                "or keep order_means = true against label switching",
    "divergences": "raise target_accept (e.g. 0.95) or tighten the covariance prior "
                   "(a funnel in the scales)",
    "min_ess_bulk": "more draws (or chains); if R-hat is also high, fix that first",
    "min_ess_tail": "more draws for the interval ends (coverage rests on them)",
    "converged": "raise max_iter, or more starts (n_init); a plateau may be a saddle",
    "label_switching_repaired": "set order_means = true, or read per-component results "
                                "with care",
}
# Sampler diagnostics whose failure makes a cell's posterior errors unreliable
DIAGNOSTIC_COLUMNS = ("max_rhat", "divergences", "min_ess_bulk", "min_ess_tail")


def _checks(min_ess: float) -> dict:
    """results.csv column (experiments.run.rundir) -> value -> message or False."""
    return {
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


def failed_checks(row: dict, min_ess: float) -> dict[str, str]:
    """The checks one results.csv row fails: column -> message (without advice)."""
    failed = {}
    for column, check in _checks(min_ess).items():
        value = row.get(column)
        if not _present(value):
            continue
        try:
            message = check(value)
        except (TypeError, ValueError):
            continue
        if message:
            failed[column] = message
    return failed


def row_flags(row: dict, min_ess: float) -> list[str]:
    """Human-readable warnings for one results.csv row, each with what to try."""
    return [f"{message}: {ADVICE[column]}" if column in ADVICE else message
            for column, message in failed_checks(row, min_ess).items()]


def diagnostics_verdict(results: pd.DataFrame, min_ess: float) -> dict[tuple[str, str], str]:
    """Per (cell_id, method) with sampler diagnostics: ``"ok"`` or which replicates failed
    them, e.g. ``"failed in 2 of 3 (R-hat, bulk ESS)"``: the posterior errors of such a
    cell measure the sampler, not the method."""
    verdicts = {}
    if results is None or not set(DIAGNOSTIC_COLUMNS) & set(results.columns):
        return verdicts
    names = {"max_rhat": "R-hat", "divergences": "divergences", "min_ess_bulk": "bulk ESS",
             "min_ess_tail": "tail ESS"}
    for (cell, method), rows in results.groupby(["cell_id", "method"], sort=False):
        records = rows.to_dict("records")
        failures = [{c for c in failed_checks(r, min_ess) if c in DIAGNOSTIC_COLUMNS}
                    for r in records]
        if not any(_present(r.get(c)) for r in records for c in DIAGNOSTIC_COLUMNS):
            continue
        failing = [f for f in failures if f]
        kinds = [names[c] for c in DIAGNOSTIC_COLUMNS if any(c in f for f in failing)]
        verdicts[(str(cell), str(method))] = (
            f"failed in {len(failing)} of {len(records)} ({', '.join(kinds)})" if failing
            else "ok")
    return verdicts


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
