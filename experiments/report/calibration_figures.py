"""The report's Calibration section: interval coverage and SBC rank histograms (the choice
of K has its own section, :mod:`experiments.report.model_choice`).

Everything is read from saved artifacts: ``results.csv`` (the coverage columns of every
registered method: ``coverage_bootstrap`` / ``coverage_information`` on the em rows,
``coverage`` on the mcmc, advi and vb rows),
``sbc_ranks.csv`` and ``sbc_summary.csv``.

The uniformity band of an SBC histogram is the central 99% interval of a bin count under
uniform ranks, :math:`n_b \\sim \\operatorname{Binomial}(S, p_b)` with :math:`S` simulations
and :math:`p_b` the bin's probability (Talts et al. 2018, figure 1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from bayes.sbc import rank_bin_probabilities, rank_histogram
from experiments.measure.methods import METHODS
from experiments.report.render import FigureWriter, note, table_html
from experiments.run.rundir import RunDirectory

BAND_PROB = 0.99


def is_coverage_column(column: str) -> bool:
    """``coverage`` or ``coverage_<interval method>``."""
    return column == "coverage" or column.startswith("coverage_")


def coverage_series() -> dict[str, tuple[str, str]]:
    """label -> (results.csv method row, coverage column), every coverage column of every
    registered method in registration order: "EM bootstrap", "EM information", "MCMC",
    "ADVI", "VB" (the method's name, then the interval method if the column names one)."""
    return {f"{method.name.upper()} {column.removeprefix('coverage').lstrip('_')}".strip():
            (method.name, column)
            for method in METHODS.values() for column in method.columns
            if is_coverage_column(column)}


def series_colors() -> dict[str, str]:
    """A fixed colour per coverage series (matplotlib's tab10 in registration order)."""
    cycle = [f"C{i % 10}" for i in range(len(coverage_series()))]
    return dict(zip(coverage_series(), cycle))


def coverage_table(results: pd.DataFrame, grid: list[str]) -> pd.DataFrame:
    """Mean coverage over replicates per grid cell and method, with its standard error.

    Returns
    -------
    DataFrame with the grid columns, ``method``, ``coverage`` (mean of the replicates'
    fractions), ``se`` (their sd / sqrt(n)) and ``n_replicates``.
    """
    frames = []
    for label, (method, column) in coverage_series().items():
        if column not in results:
            continue
        rows = results[(results["method"] == method) & results[column].notna()]
        if rows.empty:
            continue
        groups = rows.groupby(grid, sort=True)[column] if grid else [((), rows[column])]
        for key, values in groups:
            key = key if isinstance(key, tuple) else (key,)
            values = pd.to_numeric(values)
            se = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else np.nan
            frames.append({**dict(zip(grid, key)), "method": label,
                           "coverage": values.mean(), "se": se, "n_replicates": len(values)})
    return pd.DataFrame.from_records(frames)


def plot_coverage(table: pd.DataFrame, grid: list[str], nominal: float) -> Figure:
    """Coverage against the first grid axis (overlap if present), one panel per value of
    the other axes; the nominal level as a dashed line; bars are +/- 2 standard errors."""
    x_axis = "overlap" if "overlap" in grid else (grid[0] if grid else None)
    panel_axes = [g for g in grid if g != x_axis]
    panels = (list(table.groupby(panel_axes, sort=True)) if panel_axes else [((), table)])
    fig = Figure(figsize=(4.2 * len(panels), 3.6), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False, sharey=True)[0]
    colors = series_colors()
    for ax, (key, frame) in zip(axes, panels):
        key = key if isinstance(key, tuple) else (key,)
        for label, rows in frame.groupby("method", sort=False):
            xs = rows[x_axis].to_numpy(float) if x_axis else np.zeros(len(rows))
            ax.errorbar(xs, rows["coverage"], yerr=2 * rows["se"].fillna(0.0), marker="o",
                        capsize=3, label=label, color=colors.get(label))
        ax.axhline(nominal, color="0.3", linestyle="--", linewidth=1,
                   label=f"nominal {nominal:g}")
        if x_axis == "overlap":
            ax.set_xscale("log")
        ax.set_xlabel(x_axis or "")
        ax.set_title(", ".join(f"{a} = {v}" for a, v in zip(panel_axes, key)) or "all cells")
        ax.set_ylim(max(0.0, min(0.5, float(frame["coverage"].min()) - 0.1)), 1.02)
    axes[0].set_ylabel("coverage of the true parameters")
    axes[-1].legend(fontsize=8, loc="lower left")
    return fig


def uniformity_band(n_simulations: int, n_posterior_draws: int, n_bins: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Central :data:`BAND_PROB` interval of each bin count under uniform ranks."""
    probabilities = rank_bin_probabilities(n_posterior_draws, n_bins)
    tail = (1.0 - BAND_PROB) / 2.0
    return (stats.binom.ppf(tail, n_simulations, probabilities),
            stats.binom.ppf(1.0 - tail, n_simulations, probabilities))


def plot_sbc_histograms(ranks: pd.DataFrame, summary: pd.DataFrame) -> Figure:
    """One rank histogram per parameter with the uniformity band and the test's p-value."""
    names = list(summary["parameter"])
    n_bins = int(summary["bins"].iloc[0])
    n_draws = int(summary["n_posterior_draws"].iloc[0])
    lower, upper = uniformity_band(len(ranks), n_draws, n_bins)
    columns = min(4, len(names))
    rows = int(np.ceil(len(names) / columns))
    fig = Figure(figsize=(3.0 * columns, 2.5 * rows), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    edges = np.arange(n_bins + 1)
    for ax, (name, pvalue) in zip(axes, zip(names, summary["pvalue"])):
        counts = rank_histogram(ranks[name].to_numpy(int), n_draws, n_bins)
        ax.fill_between(edges, np.append(lower, lower[-1]), np.append(upper, upper[-1]),
                        step="post", color="0.85", label=f"{BAND_PROB:.0%} band")
        ax.bar(edges[:-1], counts, width=1.0, align="edge", color="#1f77b4", alpha=0.8)
        for bound in (lower, upper):  # band edges drawn over the bars, so both stay visible
            ax.stairs(bound, edges, color="0.35", linewidth=0.9, linestyle="--")
        ax.set_title(f"{name}  p = {pvalue:.2g}", fontsize=9)
        ax.set_xticks([])
    for ax in axes[len(names):]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7)
    fig.supxlabel(f"rank bin (L = {n_draws} posterior draws, {n_bins} bins)", fontsize=9)
    return fig


def load_sbc(run_dir: Path) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """``sbc_ranks.csv`` and ``sbc_summary.csv`` when present and non-empty."""
    tables = []
    files = RunDirectory(run_dir)
    for path in (files.sbc_ranks, files.sbc_summary):
        try:
            frame = pd.read_csv(path) if path.is_file() else None
        except (pd.errors.EmptyDataError, pd.errors.ParserError):
            frame = None
        tables.append(frame if frame is not None and not frame.empty else None)
    return tables[0], tables[1]


def has_calibration(run) -> bool:
    """Whether the run holds interval coverage of EM or SBC results (the choice of K has
    its own section: :mod:`experiments.report.model_choice`)."""
    results = run.results
    columns = ("coverage_bootstrap", "coverage_information")
    in_results = results is not None and any(
        c in results and results[c].notna().any() for c in columns)
    return in_results or load_sbc(run.path)[1] is not None


def calibration_section(run, writer: FigureWriter) -> str:
    """The HTML of the Calibration section ('' when the run has nothing to show)."""
    if not has_calibration(run):
        return ""
    results = run.results if run.results is not None else pd.DataFrame(columns=["method"])
    nominal = run.config.metrics.interval_prob
    grid = [axis for axis in run.grid_axes if axis in results.columns]
    parts = ['<h2 id="calibration">Calibration</h2>']
    table = coverage_table(results, grid)
    if not table.empty:
        parts.append(f"<h3>Coverage of {nominal:g} intervals</h3>")
        parts.append(writer.embed(
            lambda: plot_coverage(table, grid, nominal), "calibration-coverage",
            f"Fraction of the true free parameters inside each method's central {nominal:g} "
            "intervals (mean over replicates, bars +/- 2 standard errors); dashed: nominal. "
            "Read: points below the dashed line are over-confident intervals, above it "
            "too wide ones."))
        parts.append(table_html(table.round({"coverage": 3, "se": 3})))
    ranks, summary = load_sbc(run.path)
    if summary is not None and ranks is not None:
        parts.append("<h3>Simulation-based calibration</h3>")
        parts.append(writer.embed(
            lambda: plot_sbc_histograms(ranks, summary), "calibration-sbc",
            f"SBC rank histograms over {len(ranks)} simulations with the {BAND_PROB:.0%} "
            "band of uniform ranks; p: chi-square uniformity test. Read: bars inside the "
            "band (flat) mean calibrated; a U shape means too narrow posteriors, a hump too "
            "wide ones, a slope a biased one."))
        parts.append(table_html(summary))
    elif summary is None and run.files.sbc.is_dir():
        parts.append(note("SBC simulations exist but sbc_summary.csv is missing or empty.",
                          kind="warn"))
    return "\n".join(parts) if len(parts) > 1 else ""


__all__ = ["calibration_section", "coverage_series", "coverage_table", "has_calibration",
           "plot_coverage",
           "plot_sbc_histograms", "uniformity_band"]
