"""results.csv, summary.csv and the aggregated console table, rebuilt from metrics.json.

``results.csv`` has one row per cell x replicate x method (the registered methods); the
EM-versus-MCMC comparison columns live on the ``mcmc`` row. Columns are defined in
:mod:`experiments.run.rundir` and documented in the README (``## results.csv columns``); a metric that does not apply to a row's method is
empty. ``summary.csv`` has one row per cell and method with ``n_replicates``,
``n_failed`` and ``<metric>_mean`` / ``<metric>_std`` (sample standard deviation over the
replicates that produced the metric; empty with fewer than two).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from rich.table import Table

from experiments.measure.methods import METHODS
from experiments.measure.no_truth import k_choices
from experiments.run.files import write_atomic
from experiments.run.rundir import (
    ERROR_COLUMN,
    ID_COLUMNS,
    METRIC_COLUMNS,
    NO_TRUTH_COLUMNS,
    RESULT_COLUMNS,
    SUMMARY_COUNT_COLUMNS,
    ReplicateRecord,
    RunDirectory,
)

# rows of a replicate in the registry's order of the methods
METHOD_ORDER = {name: index for index, name in enumerate(METHODS)}

# (column, header) of the console table; each shows mean +- std over replicates.
CONSOLE_COLUMNS = (
    ("log_likelihood", "loglik"),
    ("heldout_lpd", "held-out lpd"),
    ("bic", "BIC"),
    ("elpd_loo", "elpd LOO"),
    ("pareto_k_bad", "k>0.7"),
    ("class_ari", "ARI classes"),
    ("means_error", "means err"),
    ("ari", "ARI"),
    ("max_rhat", "R-hat"),
    ("coverage", "coverage"),
    ("coverage_bootstrap", "cov. boot"),
    ("coverage_information", "cov. info"),
    ("k_bic_correct", "BIC chose true K"),
    ("k_loo_correct", "LOO chose true K"),
    ("em_mcmc_ari", "EM~MCMC ARI"),
    ("runtime_s", "time s"),
)


def collect_results(run_dir: Path) -> pd.DataFrame:
    """All rows of every ``metrics.json`` under ``run_dir``, in plan order.

    Rows are ordered by cell (the plan's order), replicate and method; columns by
    :data:`ID_COLUMNS`, the cell's grid parameters, :data:`METRIC_COLUMNS`, ``error``.
    """
    records = []
    for path in RunDirectory(run_dir).metrics_files():
        record = ReplicateRecord.read(path)
        records.extend({"_cell_index": record.cell_index, **row} for row in record.rows)
    if not records:
        return pd.DataFrame(columns=list(RESULT_COLUMNS))
    frame = pd.DataFrame.from_records(records)
    frame["_method_order"] = frame["method"].map(METHOD_ORDER).fillna(len(METHOD_ORDER))
    frame = frame.sort_values(["_cell_index", "replicate", "_method_order", "method"], kind="stable")
    frame = frame.drop(columns=["_cell_index", "_method_order"]).reset_index(drop=True)
    for column in (*METRIC_COLUMNS, ERROR_COLUMN):
        if column not in frame and column not in NO_TRUTH_COLUMNS:  # those only with data
            frame[column] = np.nan if column != ERROR_COLUMN else ""
    frame[ERROR_COLUMN] = frame[ERROR_COLUMN].fillna("")
    return frame[_ordered_columns(frame.columns)]


def parameter_columns(columns) -> list[str]:
    """The cell's grid-parameter columns: everything that is not an id, metric or error."""
    known = {*ID_COLUMNS, *METRIC_COLUMNS, ERROR_COLUMN}
    return [c for c in columns if c not in known]


def _ordered_columns(columns) -> list[str]:
    extra = parameter_columns(columns)
    return [*ID_COLUMNS, *extra, *(c for c in METRIC_COLUMNS if c in columns), ERROR_COLUMN]


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and sample standard deviation of every metric per cell and method."""
    keys = ["cell_id", *parameter_columns(results.columns), "method"]
    if results.empty:
        return pd.DataFrame(columns=[*keys, *SUMMARY_COUNT_COLUMNS])
    present = [c for c in METRIC_COLUMNS if c in results.columns]
    metrics = results[present].apply(pd.to_numeric, errors="coerce")
    frame = pd.concat([results[keys], metrics], axis=1)
    frame["_failed"] = results[ERROR_COLUMN].astype(str).str.len() > 0
    grouped = frame.groupby(keys, sort=False, dropna=False)
    summary = grouped.agg(n_replicates=("_failed", "size"), n_failed=("_failed", "sum"))
    statistics = grouped[present].agg(["mean", "std"])
    statistics.columns = [f"{metric}_{stat}" for metric, stat in statistics.columns]
    summary = summary.join(statistics).reset_index()
    return summary.dropna(axis=1, how="all").pipe(_keep_keys, keys)


def _keep_keys(summary: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    # dropna(how="all") may drop a grid column that is empty for every cell; keep keys.
    for key in keys:
        if key not in summary:
            summary.insert(0, key, np.nan)
    return summary


def write_tables(run_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rebuild ``results.csv`` and ``summary.csv`` from every ``metrics.json``."""
    results = collect_results(run_dir)
    summary = summarize(results)
    paths = RunDirectory(run_dir)
    write_atomic(paths.results, lambda p: results.to_csv(p, index=False))
    write_atomic(paths.summary, lambda p: summary.to_csv(p, index=False))
    return results, summary


def _mean_std(row: pd.Series, metric: str) -> str:
    mean, std = row.get(f"{metric}_mean", np.nan), row.get(f"{metric}_std", np.nan)
    if pd.isna(mean):
        return ""
    return f"{mean:.3g}" if pd.isna(std) else f"{mean:.3g} ± {std:.2g}"


def no_truth_caption(summary: pd.DataFrame, results: pd.DataFrame) -> str | None:
    """For data without truth (a data file): say so, and the K each criterion chooses."""
    if not any(column in results.columns for column in NO_TRUTH_COLUMNS):
        return None  # simulated data (these columns are written for data files only)
    text = ("no truth (a data file): parameter errors, coverage and ARI against the truth "
            "are empty")
    choices = k_choices(results)
    if len(choices):
        chosen = {c: ", ".join(map(str, sorted(set(choices[c].dropna().astype(int)))))
                  for c in ("bic", "icl", "elpd_loo") if c in choices}
        text += "; K chosen by " + ", ".join(f"{c.replace('elpd_loo', 'PSIS-LOO').upper()}"
                                             f" {k}" for c, k in chosen.items())
    return text


def console_table(summary: pd.DataFrame, results: pd.DataFrame, title: str = "") -> Table:
    """A rich table: one row per cell and method, mean ± std over replicates.

    Metric columns without any value (e.g. MCMC ones when MCMC is disabled) are left out;
    the error column (first error of the cell and method) appears only if something failed.
    """
    shown = [(m, h) for m, h in CONSOLE_COLUMNS if f"{m}_mean" in summary]
    errors = results[results[ERROR_COLUMN].astype(str) != ""]
    first_errors = errors.groupby(["cell_id", "method"], sort=False)[ERROR_COLUMN].first()
    table = Table(title=title or None, caption=no_truth_caption(summary, results))
    table.add_column("cell", overflow="fold")
    for header in ("method", "ok/n", *(h for _, h in shown)):
        table.add_column(header, overflow="fold")
    if not errors.empty:
        table.add_column("error", overflow="ellipsis", max_width=60, no_wrap=True)
    for _, row in summary.iterrows():
        cells = [
            str(row["cell_id"]), str(row["method"]),
            f"{int(row['n_replicates'] - row['n_failed'])}/{int(row['n_replicates'])}",
            *(_mean_std(row, metric) for metric, _ in shown),
        ]
        if not errors.empty:
            cells.append(str(first_errors.get((row["cell_id"], row["method"]), "")))
        table.add_row(*cells)
    return table
