"""Sweep figures: chosen metrics against a grid axis, one line per method, from results.csv.

What a panel shows: for each method, the mean of the metric over the replicates of each
grid value with a band from the 10th to the 90th percentile over those replicates. The x
axis is logarithmic for sample size and overlap (their grids are geometric), and for any
positive axis spanning a factor of 10 or more. Metrics with a known range (ARI, accuracy,
coverage, fractions) are drawn on that range, so that 1.0 looks like the ceiling it is.
With a second grid axis (``[report] sweep_facet``, or the other axis when exactly two
vary), each of its values gets its own panel row; further axes are averaged over, and the
caption says so. A method keeps its colour in every panel; the ``coverage`` panel draws
every method's coverage column (EM's bootstrap and information intervals dashed and
dotted in EM's colour, beside the posteriors'), as the Calibration section does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from experiments.report.calibration_figures import coverage_series

LOG_AXES = ("n_samples", "overlap")
BOUNDED = {  # metric -> y range (the metric's own bounds, with a little margin)
    "ari": (-0.05, 1.03), "accuracy": (-0.03, 1.03), "coverage": (-0.03, 1.03),
    "coverage_bootstrap": (-0.03, 1.03), "coverage_information": (-0.03, 1.03),
    "em_in_interval": (-0.03, 1.03), "em_mcmc_ari": (-0.05, 1.03),
    "em_mcmc_accuracy": (-0.03, 1.03), "relabelled_fraction": (-0.03, 1.03),
    "k_bic_correct": (-0.03, 1.03), "k_icl_correct": (-0.03, 1.03),
    "k_loo_correct": (-0.03, 1.03),
}
BAND = (0.1, 0.9)
LINE_STYLES = {"coverage_bootstrap": "--", "coverage_information": ":"}


def sweep_parameters(results: pd.DataFrame, grid_axes) -> list[str]:
    """Grid axes (``Run.grid_axes``) that are columns of results.csv and take more than
    one value."""
    return [name for name in grid_axes
            if name in results.columns and results[name].nunique() > 1]


def has_values(results: pd.DataFrame, column: str) -> bool:
    return (column in results.columns and pd.api.types.is_numeric_dtype(results[column])
            and results[column].notna().any())


def chosen_metrics(results: pd.DataFrame, requested) -> list[str]:
    """The requested metrics that have a value in this run, in the requested order
    (``coverage``: any method's coverage column)."""
    return [m for m in requested if has_values(results, m) or (m == "coverage" and any(
        has_values(results, column) for _, column in coverage_series().values()))]


def panel_series(metric: str, methods) -> list[tuple[str | None, str | None, str]]:
    """(legend label, method row, column) of each line of a panel: one per method, or for
    ``coverage`` one per coverage column of every method (:func:`coverage_series`)."""
    if metric == "coverage":  # the posteriors' ``coverage`` under the method's own name
        return [(f"{method} {column.removeprefix('coverage')[1:]}".strip(), method, column)
                for method, column in coverage_series().values() if method in methods]
    return [(None if method is None else str(method), method, metric) for method in methods]


def facet_for(parameter: str, parameters: list[str], facet: str | None) -> str | None:
    """The axis whose values get panel rows when ``parameter`` is on x: ``facet`` when
    given and varying, else the other axis when exactly two vary, else none."""
    if facet is not None:
        return facet if facet in parameters and facet != parameter else None
    others = [p for p in parameters if p != parameter]
    return others[0] if len(others) == 1 else None


def sweep_axis(values: pd.Series) -> pd.Series:
    """Plotting positions of a grid axis: numbers when all are finite, otherwise labels
    (``student_t_df = [inf, 3.0]`` cannot sit on a numeric axis)."""
    if pd.api.types.is_numeric_dtype(values) and np.isfinite(values.to_numpy(float)).all():
        return values
    return values.astype(str)


def log_scaled(parameter: str, positions: pd.Series) -> bool:
    """Whether the axis is drawn on a log scale (see the module docstring)."""
    if not pd.api.types.is_numeric_dtype(positions):
        return False
    values = positions.to_numpy(float)
    if np.any(values <= 0):
        return False
    return parameter in LOG_AXES or values.max() >= 10.0 * values.min()


def replicate_band(rows: pd.DataFrame, position: pd.Series, metric: str) -> pd.DataFrame:
    """Per grid value: ``mean``, ``low`` and ``high`` (the :data:`BAND` percentiles) of the
    metric over replicates (and over the axes averaged out)."""
    grouped = rows[metric].groupby(position)
    stats = pd.DataFrame({"mean": grouped.mean(), "low": grouped.quantile(BAND[0]),
                          "high": grouped.quantile(BAND[1])})
    return stats.dropna(subset=["mean"])


def _draw_panel(ax, rows: pd.DataFrame, parameter: str, metric: str, colors: dict) -> None:
    for label, method, column in panel_series(metric, list(colors)):
        of_method = rows if method is None else rows[rows["method"] == method]
        if of_method.empty or column not in of_method:
            continue
        stats = replicate_band(of_method, sweep_axis(of_method[parameter]), column)
        if stats.empty:
            continue
        color = colors[method]
        ax.plot(stats.index, stats["mean"], marker="o", ms=4, label=label, color=color,
                linestyle=LINE_STYLES.get(column, "-"))
        ax.fill_between(stats.index, stats["low"], stats["high"], color=color, alpha=0.18,
                        linewidth=0)
    if metric in BOUNDED:
        ax.set_ylim(*BOUNDED[metric])


def plot_sweep(results: pd.DataFrame, parameter: str, metrics: list[str],
               facet: str | None = None) -> Figure:
    """Each metric (columns) against ``parameter``, one panel row per value of ``facet``
    (or a single row), one line per method with its replicate band."""
    facet_values = [None] if facet is None else sorted(results[facet].dropna().unique())
    n_rows, n_columns = len(facet_values), len(metrics)
    if facet is None:  # a single row wraps into at most three columns
        n_columns = min(3, len(metrics))
        n_rows = -(-len(metrics) // n_columns)
    fig = Figure(figsize=(3.6 * n_columns, 2.9 * n_rows), layout="constrained")
    axes = fig.subplots(n_rows, n_columns, squeeze=False)
    methods = results["method"].unique() if "method" in results.columns else [None]
    colors = {method: f"C{index % 10}" for index, method in enumerate(methods)}
    log_x = log_scaled(parameter, sweep_axis(results[parameter]))
    panels = ([(results, None, metric) for metric in metrics] if facet is None else
              [(results[results[facet] == value], value, metric)
               for value in facet_values for metric in metrics])
    for ax, (rows, value, metric) in zip(axes.ravel(), panels, strict=False):
        _draw_panel(ax, rows, parameter, metric, colors)
        ax.set_title(metric if value is None else f"{metric} | {facet} = {value:g}"
                     if isinstance(value, int | float) else f"{metric} | {facet} = {value}",
                     fontsize=9)
        ax.set_xlabel(parameter)
        if log_x:
            ax.set_xscale("log")
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    legend = {}  # every line of every panel, once (a method may be absent from the first)
    for ax in axes.ravel():
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, handle)
    if legend:
        axes.ravel()[0].legend(list(legend.values()), list(legend), fontsize=8)
    return fig


def sweep_caption(parameter: str, facet: str | None, averaged: list[str]) -> str:
    """How to read one sweep figure."""
    text = (f"Metrics against {parameter}: mean over replicates per method, band from the "
            f"{BAND[0]:.0%} to the {BAND[1]:.0%} percentile of the replicates")
    if facet is not None:
        text += f"; one row per {facet}"
    if averaged:
        text += f"; averaged over {', '.join(averaged)}"
    return text + (". Read: where the bands of two methods overlap, their difference is "
                   "within the spread between replicates.")
