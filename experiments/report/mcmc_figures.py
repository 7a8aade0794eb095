"""ArviZ 1.x diagnostics of a saved MCMC DataTree: summary table, trace, rank, posterior
marginals with the EM estimate and the truth as ArviZ reference lines, energy / BFMI and the
posterior predictive check."""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from experiments.report.em_figures import COMPONENT_COLORS

SUMMARY_VARIABLES = ("weights", "means")
MAX_PPC_DIMS = 4
PPC_SAMPLES = 30
RANK_COLUMNS = 5
CHAIN_STYLES = ("-", "--", ":", "-.")


def diagnostic_variables(tree) -> list[str]:
    """The posterior variables the diagnostics cover (weights and means when present)."""
    posterior = tree["posterior"]
    return [name for name in SUMMARY_VARIABLES if name in posterior.data_vars]


def summary_table(tree) -> pd.DataFrame:
    """``az.summary`` of weights and means: mean, sd, 89% ETI, bulk/tail ESS, R-hat, MCSE.

    R-hat is the rank-normalised split-R-hat and the ESS are bulk and tail ESS
    (Vehtari et al. 2021), as computed by ArviZ.
    """
    table = az.summary(tree, var_names=diagnostic_variables(tree), round_to="none")
    return pd.DataFrame(table).astype(float)


def posterior_means(tree) -> dict[str, np.ndarray]:
    """Posterior mean of weights (K,), means (K, D) and, if present, covariances."""
    posterior = tree["posterior"]
    names = [n for n in ("weights", "means", "covariances") if n in posterior.data_vars]
    return {n: posterior[n].mean(dim=("chain", "draw")).values for n in names}


def count_divergences(tree) -> int:
    stats = tree["sample_stats"] if "sample_stats" in tree.children else None
    if stats is None or "diverging" not in stats.data_vars:
        return 0
    return int(np.asarray(stats["diverging"].values).sum())


def plot_trace(tree) -> Figure:
    """Trace of every weight and mean entry, one panel per variable, colour per entry and
    line style per chain (drawn with matplotlib: ``az.plot_trace_dist`` costs seconds per
    cell and the rank plot already carries ArviZ's per-chain comparison)."""
    names = diagnostic_variables(tree)
    fig = Figure(figsize=(9.0, 2.4 * len(names)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(names), 1, sharex=True, squeeze=False).ravel())
    for ax, name in zip(axes, names, strict=True):
        values = np.asarray(tree["posterior"][name].values)
        chains, draws = values.shape[:2]
        flat = values.reshape(chains, draws, -1)
        for entry in range(flat.shape[2]):
            color = COMPONENT_COLORS[entry % len(COMPONENT_COLORS)]
            for chain in range(chains):
                ax.plot(flat[chain, :, entry], color=color, lw=0.6, alpha=0.8,
                        ls=CHAIN_STYLES[chain % len(CHAIN_STYLES)])
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("draw (line style = chain)")
    return fig


def plot_rank(tree):
    """``az.plot_rank``: per-chain ECDF differences of the fractional ranks of the pooled
    draws, with ArviZ's p-value that all chains sample one distribution."""
    names = diagnostic_variables(tree)
    panels = sum(int(np.prod([size for dim, size in tree["posterior"][n].sizes.items()
                              if dim not in ("chain", "draw")])) for n in names)
    rows = -(-panels // RANK_COLUMNS)
    collection = az.plot_rank(tree, var_names=names, backend="matplotlib",
                              col_wrap=RANK_COLUMNS,
                              figure_kwargs={"figsize": (12.0, 2.6 * rows)})
    # two-line panel titles overlap the tick labels of the row above without a layout engine
    collection.viz["figure"].item().set_layout_engine("constrained")
    return collection


def plot_marginals_with_references(tree, variable: str, true_values=None):
    """``az.plot_dist`` of one variable's posterior marginals with the EM estimate (the
    saved tree's ``em`` group, :mod:`emgmm.datatree`) and the true value drawn as ArviZ
    reference lines (``az.add_lines``): crimson for EM, dashed black for the truth."""
    collection = az.plot_dist(tree, var_names=[variable], backend="matplotlib")
    if has_group(tree, "em") and variable in tree["em"].data_vars:
        az.add_lines(collection, tree["em"].to_dataset()[[variable]],
                     visuals={"ref_line": {"color": "crimson", "linewidth": 1.5}})
    if true_values is not None:
        posterior = tree["posterior"][variable]
        dims = [d for d in posterior.dims if d not in ("chain", "draw")]
        truth = xr.Dataset({variable: (dims, np.asarray(true_values))},
                           coords={d: posterior[d].values for d in dims})
        az.add_lines(collection, truth,
                     visuals={"ref_line": {"color": "black", "linestyle": "--"}})
    return collection


def plot_energy(tree):
    """``az.plot_energy``: marginal vs transition energy and the BFMI per chain (values
    below 0.3 indicate the sampler explores the energy poorly)."""
    return az.plot_energy(tree, backend="matplotlib")


def bfmi(tree) -> np.ndarray:
    """Bayesian fraction of missing information per chain (``az.bfmi``)."""
    result = az.bfmi(tree)
    if hasattr(result, "data_vars"):  # ArviZ 1.x: a sample_stats group holding ``energy``
        result = result["energy"].values
    return np.atleast_1d(np.asarray(result, dtype=float))


def plot_ppc(tree):
    """``az.plot_ppc_dist``: densities of replicated data against the observed data, one
    panel per data dimension (the first few when there are many)."""
    predictive = tree["posterior_predictive"]
    name = next(iter(predictive.data_vars))
    extra = [d for d in predictive[name].dims if d not in ("chain", "draw")][1:]
    kwargs = {}
    if len(extra) == 1:
        dim = extra[0]
        kwargs["cols"] = [dim]
        size = predictive.sizes[dim]
        if size > MAX_PPC_DIMS:
            kwargs["coords"] = {dim: predictive[dim].values[:MAX_PPC_DIMS]}
    return az.plot_ppc_dist(tree, var_names=[name], num_samples=PPC_SAMPLES, backend="matplotlib",
                            **kwargs)


def has_group(tree, group: str) -> bool:
    return group in tree.children and len(tree[group].data_vars) > 0
