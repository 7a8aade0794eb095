"""The ``vb`` method's part of a detailed replicate section.

Reads ``vb.nc`` (:mod:`experiments.measure.vb`), the replicate's ``mcmc.nc`` and
``em_fit.npz``: the approximate marginals over MCMC's (as for ADVI,
:func:`experiments.report.vi_figures.plot_marginals`), VB's lower bound per iteration beside
EM's log-likelihood per iteration (both coordinate ascent on a bound: both must rise), and
the pruning picture (the expected weight of every component of the truncation, with the
threshold under which a component counts as pruned).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from experiments.report.load import open_mcmc
from experiments.report.render import note
from experiments.report.vi_figures import plot_marginals
from experiments.run.rundir import ReplicateFiles


def plot_bounds(lower_bound: np.ndarray, em_history: np.ndarray | None) -> Figure:
    """Left: VB's total lower bound per iteration. Right: EM's mean log-likelihood."""
    panels = 1 if em_history is None else 2
    fig = Figure(figsize=(4.6 * panels, 3.1), layout="constrained")
    axes = fig.subplots(1, panels, squeeze=False)[0]
    curves = [("VB lower bound (total)", lower_bound)]
    if em_history is not None:
        curves.append(("EM log-likelihood (per sample)", em_history))
    for ax, (label, values) in zip(axes, curves, strict=True):
        ax.plot(np.arange(1, values.size + 1), values, marker="o", ms=2.5)
        ax.set(xlabel="iteration", ylabel=label, title=label)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    return fig


def plot_pruning(weights: np.ndarray, threshold: float) -> Figure:
    """Mean of q's weights per component (sorted), with the pruning threshold."""
    order = np.argsort(weights)[::-1]
    fig = Figure(figsize=(5.0, 3.0), layout="constrained")
    ax = fig.subplots()
    kept = weights[order] >= threshold
    ax.bar(np.arange(weights.size), weights[order],
           color=np.where(kept, "tab:blue", "0.7"))
    ax.axhline(threshold, color="crimson", ls="--", lw=1, label=f"threshold {threshold:g}")
    ax.set_yscale("log")
    ax.set(xlabel="component (by expected weight)", ylabel="E[pi_k]",
           title=f"{int(kept.sum())} of {weights.size} components kept")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8)
    return fig


def vb_section(section) -> list[str]:
    """The ``vb`` method's blocks of a replicate section."""
    rep = section.replicate
    path = ReplicateFiles(rep.path).posterior("vb")
    if not path.exists():
        ran = any(row.get("method") == "vb" for row in rep.rows)
        return [note("No VB results for this replicate.", kind="warn")] if ran else []
    writer, prefix = section.writer, section.prefix
    with open_mcmc(path) as tree:
        threshold = float(tree.attrs["weight_threshold"])
        blocks = ["<h4>Variational Bayes (Bishop 10.2)</h4>"]
        trees = {"VB": tree} if section.tree is None else {"MCMC": section.tree, "VB": tree}
        blocks.append(writer.embed(
            lambda: plot_marginals(trees), f"{prefix}-vb-marginals",
            "Posterior marginals of the weights and means: VB's q over MCMC's (VB is "
            "expected to be narrower: it ignores the dependence between parameters)."))
        bound = np.asarray(tree["variational"]["lower_bound"].values)
        history = None if rep.em is None else np.asarray(rep.em.log_likelihood_history)
        blocks.append(writer.embed(
            lambda: plot_bounds(bound, history), f"{prefix}-vb-bound",
            "VB's lower bound per iteration beside EM's log-likelihood: both are coordinate "
            "ascent on a bound and must never decrease."))
        weights = tree["posterior"]["weights"].mean(("chain", "draw")).values
    blocks.append(writer.embed(
        lambda: plot_pruning(weights, threshold), f"{prefix}-vb-pruning",
        "Expected weight of every component of the truncation: those under the threshold "
        "are pruned (VB's own choice of K). Read: the bars above the line are the "
        "components VB keeps."))
    return blocks
