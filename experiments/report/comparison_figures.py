"""EM against MCMC: responsibilities vs posterior membership probabilities and their
calibration against the true labels (sweeps: :mod:`experiments.report.sweep_figures`)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from scipy.stats import binomtest

from experiments.report.em_figures import COMPONENT_COLORS

CALIBRATION_BINS = 10
CALIBRATION_PAIRS_PER_BIN = 40


def calibration_curve(probabilities: np.ndarray, labels: np.ndarray, n_bins: int):
    """Reliability curve over all (i, k) pairs: mean predicted P(z_i = k) and observed
    frequency of z_i = k per bin of equal counts (quantile bins, scikit-learn's
    ``strategy="quantile"``: with well-separated data most probabilities sit at 0 and 1,
    and equal-width bins in between hold one or two pairs); the counts per bin."""
    n_components = probabilities.shape[1]
    onehot = np.asarray(labels)[:, None] == np.arange(n_components)[None, :]
    predicted, observed = probabilities.ravel(), onehot.ravel().astype(float)
    edges = np.quantile(predicted, np.linspace(0.0, 1.0, n_bins + 1))
    bins = np.searchsorted(edges[1:-1], predicted, side="right")
    counts = np.bincount(bins, minlength=n_bins)
    keep = counts > 0
    mean_predicted = np.bincount(bins, predicted, n_bins)[keep] / counts[keep]
    frequency = np.bincount(bins, observed, n_bins)[keep] / counts[keep]
    return mean_predicted, frequency, counts[keep]


def calibration_bins(n_pairs: int) -> int:
    """Bins of the reliability curve: about 40 (i, k) pairs per bin, between 3 and 10."""
    return int(np.clip(n_pairs // CALIBRATION_PAIRS_PER_BIN, 3, CALIBRATION_BINS))


def wilson_band(frequency: np.ndarray, counts: np.ndarray, level: float = 0.9):
    """Wilson score interval of each bin's observed frequency (scipy's ``binomtest``)."""
    bounds = [binomtest(round(f * n), int(n)).proportion_ci(level, method="wilson")
              for f, n in zip(frequency, counts, strict=True)]
    return np.array([b.low for b in bounds]), np.array([b.high for b in bounds])


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
        n_bins = calibration_bins(responsibilities.size)
        for (name, probabilities), marker in zip(sources.items(), ("o", "s"), strict=True):
            x, y, counts = calibration_curve(probabilities, true_labels, n_bins)
            low, high = wilson_band(y, counts)
            line, = ax.plot(x, y, lw=1, marker=marker, ms=4, alpha=0.85, label=name)
            ax.fill_between(x, low, high, color=line.get_color(), alpha=0.15, linewidth=0)
        ax.plot([0, 1], [0, 1], color="0.4", lw=1, ls="--", label="perfect")
        ax.set_xlabel("predicted probability")
        ax.set_ylabel("observed frequency of the true label")
        ax.set_title(f"calibration vs truth ({n_bins} equal-count bins, 90% band)")
        ax.legend(fontsize=8)
    for ax in axes:
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    return fig
