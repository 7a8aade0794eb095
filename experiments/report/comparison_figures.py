"""EM against MCMC: responsibilities vs posterior membership probabilities, and
metric-vs-parameter curves for sweeps (from results.csv)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from experiments.report.em_figures import COMPONENT_COLORS

SWEEP_METRIC_KEYWORDS = ("coverage", "ari", "accuracy", "error", "rhat", "lpd", "elpd")
MAX_SWEEP_METRICS = 6
CALIBRATION_BINS = 10


def calibration_curve(probabilities: np.ndarray, labels: np.ndarray, n_bins: int):
    """Reliability curve: mean predicted P(z_i = k) and observed frequency of z_i = k per
    probability bin, over all (i, k) pairs; bins without points are dropped."""
    n_components = probabilities.shape[1]
    onehot = np.asarray(labels)[:, None] == np.arange(n_components)[None, :]
    predicted, observed = probabilities.ravel(), onehot.ravel().astype(float)
    bins = np.minimum((predicted * n_bins).astype(int), n_bins - 1)
    counts = np.bincount(bins, minlength=n_bins)
    keep = counts > 0
    mean_predicted = np.bincount(bins, predicted, n_bins)[keep] / counts[keep]
    frequency = np.bincount(bins, observed, n_bins)[keep] / counts[keep]
    return mean_predicted, frequency, counts[keep]


def plot_membership_comparison(
    responsibilities: np.ndarray, membership: np.ndarray, true_labels: np.ndarray | None
) -> Figure:
    """Left: EM responsibilities gamma_ik against posterior P(z_i = k | X) per component.
    Right: calibration of both against the true labels (when known)."""
    panels = 2 if true_labels is not None else 1
    fig = Figure(figsize=(4.4 * panels, 4.0), layout="constrained")
    axes = fig.subplots(1, panels, squeeze=False)[0]
    ax = axes[0]
    for k in range(responsibilities.shape[1]):
        ax.scatter(responsibilities[:, k], membership[:, k], s=10, alpha=0.6, linewidths=0,
                   color=COMPONENT_COLORS[k % len(COMPONENT_COLORS)], label=f"component {k}")
    ax.plot([0, 1], [0, 1], color="0.4", lw=1, ls="--")
    mad = float(np.abs(responsibilities - membership).mean())
    ax.set_title(f"membership: mean |difference| = {mad:.3g}")
    ax.set_xlabel(r"EM responsibility $\gamma_{ik}$")
    ax.set_ylabel(r"posterior $P(z_i = k \mid X)$")
    ax.legend(fontsize=7, loc="upper left")
    if true_labels is not None:
        ax = axes[1]
        sources = {"EM": responsibilities, "MCMC": membership}
        for (name, probabilities), marker in zip(sources.items(), ("o", "s"), strict=True):
            x, y, counts = calibration_curve(probabilities, true_labels, CALIBRATION_BINS)
            line, = ax.plot(x, y, lw=1, alpha=0.7)
            # marker area proportional to the number of (i, k) pairs in the bin
            ax.scatter(x, y, s=12 + 160 * counts / counts.max(), marker=marker,
                       color=line.get_color(), alpha=0.8, label=name)
        ax.plot([0, 1], [0, 1], color="0.4", lw=1, ls="--", label="perfect")
        ax.set_xlabel("predicted probability")
        ax.set_ylabel("observed frequency of the true label")
        ax.set_title("calibration vs truth (size: points per bin)")
        ax.legend(fontsize=8)
    for ax in axes:
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    return fig


def sweep_parameters(results: pd.DataFrame, grid_axes) -> list[str]:
    """Grid axes (``Run.grid_axes``) that are columns of results.csv and take more than
    one value."""
    return [name for name in grid_axes
            if name in results.columns and results[name].nunique() > 1]


def sweep_axis(values: pd.Series) -> pd.Series:
    """Plotting positions of a grid axis: numbers when all are finite, otherwise labels
    (``student_t_df = [inf, 3.0]`` cannot sit on a numeric axis)."""
    if pd.api.types.is_numeric_dtype(values) and np.isfinite(values.to_numpy(float)).all():
        return values
    return values.astype(str)


def sweep_metrics(results: pd.DataFrame, parameters: list[str]) -> list[str]:
    """Numeric metric columns worth plotting against a grid parameter, coverage and ARI
    first."""
    excluded = set(parameters) | {"replicate", "seed"}
    numeric = [c for c in results.columns
               if c not in excluded and pd.api.types.is_numeric_dtype(results[c])
               and results[c].notna().any()]
    # whole-word match on "_"-separated tokens ("ari" must not match "covariances")
    ranked = [c for key in SWEEP_METRIC_KEYWORDS for c in numeric
              if key in c.lower().split("_")]
    return list(dict.fromkeys(ranked))[:MAX_SWEEP_METRICS]


def plot_sweep(results: pd.DataFrame, parameter: str, metrics: list[str]) -> Figure:
    """Each metric against ``parameter``: mean over replicates (and over the other grid
    axes) with +/- one standard deviation, one line per method."""
    columns = min(3, len(metrics))
    rows = -(-len(metrics) // columns)
    fig = Figure(figsize=(4.2 * columns, 3.2 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False).ravel())
    methods = results["method"].unique() if "method" in results.columns else [None]
    for ax, metric in zip(axes, metrics, strict=False):
        for method in methods:
            rows_of = results if method is None else results[results["method"] == method]
            axis = sweep_axis(rows_of[parameter])
            stats = rows_of.groupby(axis)[metric].agg(["mean", "std"]).dropna(
                subset=["mean"])
            if stats.empty:
                continue
            ax.errorbar(stats.index, stats["mean"], yerr=stats["std"].fillna(0.0),
                        marker="o", capsize=3, label=str(method) if method else None)
        ax.set_xlabel(parameter)
        ax.set_title(metric)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    for ax in axes[len(metrics):]:
        ax.set_visible(False)
    return fig
