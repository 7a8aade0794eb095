"""A variational method's part of a detailed replicate section: its marginals over MCMC's.

``advi_section`` (registered as the ``advi`` method's report) reads ``advi.nc`` and the
replicate's ``mcmc.nc`` and draws ``az.plot_dist`` of the weights and means of both
posteriors overlaid (MCMC the reference, colour per method), and the loss history of the
optimisation. Any variational method saving ``<method>.nc`` with a ``variational`` group
can use :func:`vi_blocks`.
"""

from __future__ import annotations

import arviz as az
import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from experiments.report.load import open_mcmc
from experiments.report.render import note
from experiments.run.rundir import ReplicateFiles

MARGINAL_VARIABLES = ("weights", "means")
MARGINAL_COLUMNS = 4
LOSS_SMOOTHING = 50  # iterations per moving-average window of the loss curve


def pooled_draws(tree, n_draws: int) -> xr.DataTree:
    """Weights and means as one chain of ``n_draws`` evenly spaced pooled draws.

    ``az.plot_dist`` aligns the models' draws on (chain, draw): the methods' posteriors
    get the same shape.
    """
    posterior = tree["posterior"].to_dataset()[list(MARGINAL_VARIABLES)]
    pooled = posterior.stack(sample=("chain", "draw"), create_index=False).drop_vars(
        ["chain", "draw"], errors="ignore")
    keep = np.linspace(0, pooled.sizes["sample"] - 1, n_draws).round().astype(int)
    pooled = pooled.isel(sample=keep).rename(sample="draw").expand_dims(chain=[0])
    pooled = pooled.transpose("chain", "draw", ...)
    return xr.DataTree.from_dict({"posterior": pooled.assign_coords(draw=np.arange(n_draws))})


def varying_variables(trees, names) -> list[str]:
    """The variables of ``names`` whose draws vary in every tree: a constant one (the weight
    of a single component is 1 in every draw) has no density to draw."""
    return [name for name in names if all(_varies(tree["posterior"][name].values) for tree in trees)]


def _varies(values: np.ndarray) -> bool:
    # a relative threshold: the single weight of K = 1 can be 1 within rounding
    return bool(np.ptp(values) > 1e-9 * (1.0 + np.max(np.abs(values))))


def plot_marginals(trees: dict):
    """``az.plot_dist`` of weights and means, one colour per method (the dict's keys)."""
    n_draws = min(tree["posterior"].sizes["chain"] * tree["posterior"].sizes["draw"]
                  for tree in trees.values())
    trees = {label: pooled_draws(tree, n_draws) for label, tree in trees.items()}
    first = next(iter(trees.values()))
    names = varying_variables(trees.values(), MARGINAL_VARIABLES)
    panels = sum(int(np.prod([size for dim, size in first["posterior"][name].sizes.items()
                              if dim not in ("chain", "draw")])) for name in names)
    rows = -(-panels // MARGINAL_COLUMNS)
    collection = az.plot_dist(trees, var_names=names, kind="kde",
                              backend="matplotlib", col_wrap=MARGINAL_COLUMNS,
                              figure_kwargs={"figsize": (12.0, 2.4 * rows)})
    collection.add_legend("model")
    collection.viz["figure"].item().set_layout_engine("constrained")
    return collection


def plot_loss(loss: np.ndarray, label: str) -> Figure:
    """Loss (negative ELBO estimate) per iteration and its moving average, log scale."""
    fig = Figure(figsize=(7.0, 3.0), layout="constrained")
    ax = fig.subplots()
    iterations = np.arange(loss.size)
    ax.plot(iterations, loss, lw=0.4, alpha=0.4, color="grey", label="one-draw estimate")
    window = min(LOSS_SMOOTHING, loss.size)
    smooth = np.convolve(loss, np.ones(window) / window, mode="valid")
    ax.plot(iterations[window - 1:], smooth, color="tab:blue", label=f"mean of {window}")
    ax.set_yscale("symlog")
    ax.set(xlabel="iteration", ylabel=f"{label} loss (-ELBO)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def vi_blocks(name: str, label: str, tree, mcmc_tree, writer, prefix: str) -> list[str]:
    """The overlaid marginals (when MCMC ran) and the loss curve of one method."""
    blocks = [f"<h4>{label} against MCMC</h4>"]
    if mcmc_tree is None:
        blocks.append(note(f"No MCMC posterior for this replicate: {label} alone.", kind="warn"))
        trees = {label: tree}
    else:
        trees = {"MCMC": mcmc_tree, label: tree}
    blocks.append(writer.embed(
        lambda: plot_marginals(trees), f"{prefix}-{name}-marginals",
        f"Posterior marginals of the weights and means: {label}'s approximation over MCMC's "
        "(components in the true order). Read: a narrower curve than MCMC's under-states "
        "the uncertainty; a shifted one is biased."))
    loss = np.asarray(tree["variational"]["loss"].values)
    blocks.append(writer.embed(lambda: plot_loss(loss, label), f"{prefix}-{name}-loss",
                               f"{label}'s loss per iteration (one Monte Carlo draw each) and "
                               "its moving average. Read: the average should level off; "
                               "still falling at the end means more iterations."))
    return blocks


def advi_section(section) -> list[str]:
    """The ``advi`` method's blocks of a replicate section."""
    path = ReplicateFiles(section.replicate.path).posterior("advi")
    if not path.exists():  # a run without advi shows nothing; a failed advi fit says so
        ran = any(row.get("method") == "advi" for row in section.replicate.rows)
        return [note("No ADVI results for this replicate.", kind="warn")] if ran else []
    with open_mcmc(path) as tree:
        return vi_blocks("advi", "ADVI", tree, section.tree, section.writer, section.prefix)
