"""Figures of a fit without truth (a data file): the criteria against K, the Pareto k of each
point's PSIS-LOO weights, and a pairs plot of the data coloured by MAP label."""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from experiments.measure.no_truth import PARETO_K_THRESHOLD
from experiments.report.em_figures import label_colors

MAX_PAIRS_FEATURES = 6
# (results.csv column, method row, title, whether larger is better)
CRITERIA = (
    ("bic", "em", "BIC (EM)", False),
    ("icl", "em", "ICL (EM)", False),
    ("elpd_loo", "mcmc", "PSIS-LOO elpd (MCMC)", True),
    ("heldout_lpd", "em", "held-out lpd", True),
)


def criteria_by_k(results: pd.DataFrame) -> list[tuple[str, str, str, bool]]:
    """The criteria of :data:`CRITERIA` that results.csv holds."""
    return [c for c in CRITERIA if c[0] in results.columns and results[c[0]].notna().any()]


def plot_criteria_against_k(results: pd.DataFrame) -> Figure:
    """Each criterion against K, mean over replicates (one line per method for the held-out
    density); the best K of each is starred."""
    criteria = criteria_by_k(results)
    fig = Figure(figsize=(3.6 * len(criteria), 3.2), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(criteria), squeeze=False)[0])
    kinds = (sorted(results["covariance_type"].dropna().unique())
             if "covariance_type" in results.columns else [None])
    for ax, (column, method, title, larger) in zip(axes, criteria, strict=True):
        methods = ("em", "mcmc") if column == "heldout_lpd" else (method,)
        for name in methods:
            for kind in kinds:  # a covariance-type grid: one line per type, never averaged
                rows = results[results["method"] == name]
                rows = rows if kind is None else rows[rows["covariance_type"] == kind]
                means = pd.to_numeric(rows[column], errors="coerce").groupby(
                    rows["n_components"]).mean().dropna()
                if means.empty:
                    continue
                label = name if len(kinds) == 1 else f"{name}, {kind}"
                ax.plot(means.index, means.values, marker="o", label=label)
                best = means.idxmax() if larger else means.idxmin()
                ax.scatter([best], [means[best]], marker="*", s=220, c="gold",
                           edgecolors="black", zorder=3)
        ax.set_title(title + (" (higher is better)" if larger else " (lower is better)"),
                     fontsize=9)
        ax.set_xlabel("K")
        ax.set_xticks(sorted(results["n_components"].dropna().unique()))
        ax.grid(alpha=0.3)
        if len(ax.get_lines()) > 1:
            ax.legend(fontsize=8)
    return fig


def pareto_k_values(tree) -> np.ndarray:
    """Pareto shape k of every point's PSIS-LOO weights (``arviz.loo`` on the saved
    log-likelihood; no refit)."""
    return np.asarray(az.loo(tree, pointwise=True).pareto_k, dtype=float)


def plot_pareto_k(k_by_cell: dict[str, np.ndarray]) -> Figure:
    """Pareto k per point, one panel per cell, with the 0.7 threshold."""
    fig = Figure(figsize=(4.0 * len(k_by_cell), 3.0), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(k_by_cell), squeeze=False, sharey=True)[0])
    for ax, (cell, k) in zip(axes, k_by_cell.items(), strict=True):
        bad = k > PARETO_K_THRESHOLD
        ax.scatter(np.flatnonzero(~bad), k[~bad], s=8, c="0.4", linewidths=0)
        ax.scatter(np.flatnonzero(bad), k[bad], s=18, c="crimson", linewidths=0)
        ax.axhline(PARETO_K_THRESHOLD, color="crimson", ls="--", lw=1)
        ax.set_title(f"{cell}: {int(bad.sum())} point(s) with k > {PARETO_K_THRESHOLD}",
                     fontsize=9)
        ax.set_xlabel("data row (fitted rows)")
    axes[0].set_ylabel("Pareto k")
    return fig


def plot_pairs(X: np.ndarray, labels: np.ndarray, names) -> Figure:
    """Scatter matrix of the first features coloured by MAP label; histograms on the
    diagonal."""
    n = min(X.shape[1], MAX_PAIRS_FEATURES)
    names = [str(v) for v in names][:n] if len(names) else [f"x[{j}]" for j in range(n)]
    fig = Figure(figsize=(2.1 * n, 2.1 * n), layout="constrained")
    axes = fig.subplots(n, n, squeeze=False)
    colors = label_colors(labels)
    for i in range(n):
        for j in range(n):
            ax = axes[i, j]
            if i == j:
                ax.hist(X[:, j], bins=20, color="0.6")
            else:
                ax.scatter(X[:, j], X[:, i], c=colors, s=5, alpha=0.7, linewidths=0)
            if i == n - 1:
                ax.set_xlabel(names[j], fontsize=8)
            if j == 0:
                ax.set_ylabel(names[i], fontsize=8)
            ax.tick_params(labelsize=6)
    return fig
