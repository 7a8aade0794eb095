"""Each method's part of a detailed replicate section (registered as ``Method.report``).

``em_section``: EM iterations as in the course slides, the log-likelihood curve and the
before / after label pictures; ``mcmc_section``: ArviZ diagnostics of ``mcmc.nc`` and EM
responsibilities against the posterior membership probabilities. Everything is read from
saved artifacts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from experiments.report import comparison_figures as cmp
from experiments.report import data_figures as dfg
from experiments.report import em_figures as emf
from experiments.report import mcmc_figures as mcf
from experiments.report.flags import RHAT_THRESHOLD
from experiments.report.load import Replicate
from experiments.report.render import FigureWriter, escape, note, table_html


@dataclass(frozen=True)
class SectionInput:
    """What a method's report function gets: the replicate, its opened ``mcmc.nc`` (or
    None), the figure writer and the low-ESS threshold."""

    replicate: Replicate
    tree: object
    writer: FigureWriter
    min_ess: float

    @property
    def prefix(self) -> str:
        return self.replicate.anchor


def em_section(section: SectionInput) -> list[str]:
    rep = section.replicate
    if rep.truth is None or rep.em is None:
        return [note("EM pictures unavailable: data.npz or em_fit.npz is missing.",
                     kind="warn")]
    projection = emf.principal_projection(rep.truth.X)
    names = tuple(str(name) for name in rep.truth.feature_names)
    if len(names) == 2:  # a data file's own column names on the axes
        projection = replace(projection, axis_labels=names)
    return em_blocks(rep, section.writer, projection, section.prefix,
                     posterior_summary(section.tree))


def mcmc_section(section: SectionInput) -> list[str]:
    if section.tree is None:
        return [note("No MCMC results for this replicate: EM part only.", kind="warn")]
    return mcmc_blocks(section.replicate, section.tree, section.writer, section.prefix,
                       section.min_ess)


def summary_highlight(min_ess: float):
    """Mark R-hat >= 1.01 and ESS below the threshold in the az.summary table."""
    def highlight(_label, column, value) -> bool:
        if column == "r_hat":
            return float(value) >= RHAT_THRESHOLD
        if column in ("ess_bulk", "ess_tail"):
            return float(value) < min_ess
        return False
    return highlight


def em_blocks(rep: Replicate, writer: FigureWriter, projection, prefix: str,
              posterior) -> list[str]:
    """EM snapshots, log-likelihood curve and before/after label pictures."""
    truth, em = rep.truth, rep.em
    blocks = ["<h4>EM iterations</h4>"]
    blocks.append(writer.embed(
        lambda: emf.plot_em_snapshots(truth, em, projection), f"{prefix}-em-snapshots",
        "EM iterations: points coloured by responsibilities, ellipses at 1 and 2 standard "
        f"deviations ({projection.axis_labels[0]} vs {projection.axis_labels[1]}). Read: "
        "ellipses that settle on the clusters are a good fit; one ellipse stretched over "
        "two clusters is a local optimum."))
    blocks.append(writer.embed(
        lambda: emf.plot_log_likelihood(em), f"{prefix}-em-loglik",
        "Mean per-sample log-likelihood per EM iteration: it must never decrease (red "
        "points would mark decreases); a long flat stretch before a rise is a saddle."))
    labels = posterior["map_label"] if posterior else None
    means = posterior["means"] if posterior else None
    before = ("true labels" if truth.has_truth else "the known classes of the label column"
              if truth.has_labels else "the data (no labels known)")
    blocks.append(writer.embed(
        lambda: emf.plot_labels_before_after(truth, em, projection, labels, means),
        f"{prefix}-labels",
        f"Before / after: {before}, EM MAP labels with fitted means"
        + (", posterior MAP labels; ringed points are where EM and MCMC disagree."
           if labels is not None else ".")))
    if truth.X.shape[1] > 2:
        blocks.append(writer.embed(
            lambda: dfg.plot_pairs(truth.X, em.map_labels, truth.feature_names),
            f"{prefix}-pairs", "Pairs plot of the data coloured by the EM MAP labels (the "
            f"first {min(truth.X.shape[1], dfg.MAX_PAIRS_FEATURES)} features). Read: the "
            "panels where the colours separate are the features that tell the components "
            "apart."))
    return blocks


def mcmc_blocks(rep: Replicate, tree, writer: FigureWriter, prefix: str,
                min_ess: float) -> list[str]:
    """ArviZ diagnostics of the saved DataTree, plus responsibilities vs membership."""
    blocks = ["<h4>MCMC diagnostics (ArviZ)</h4>", sampler_line(tree)]
    summary = mcf.summary_table(tree)
    divergences = mcf.count_divergences(tree)
    blocks.append(table_html(summary, highlight=summary_highlight(min_ess), index=True,
                             caption=f"az.summary: {divergences} divergent transitions; "
                                     "red cells: R-hat >= 1.01 or ESS below "
                                     f"{min_ess:.0f}."))
    truth, em = rep.truth, rep.em
    blocks.append(writer.embed(lambda: mcf.plot_trace(tree), f"{prefix}-trace",
                               "Trace of every weight and mean: colour per entry, line "
                               "style per chain. Read: the chains of an entry should overlap "
                               "like noise; a chain on a level of its own is stuck in "
                               "another mode."))
    blocks.append(writer.embed(lambda: mcf.plot_rank(tree), f"{prefix}-rank",
                               "Rank plot: per-chain fractional-rank ECDF differences; p is "
                               "ArviZ's test that the chains share one distribution (worry "
                               "when p < alpha)."))
    for variable in mcf.diagnostic_variables(tree):
        true_values = (getattr(truth, variable, None)
                       if truth is not None and truth.has_truth else None)
        blocks.append(writer.embed(
            lambda v=variable, t=true_values: mcf.plot_marginals_with_references(tree, v, t),
            f"{prefix}-marginals-{variable}",
            f"Posterior marginals of {variable} (density, interval and point estimate), "
            "with the EM estimate (crimson line)"
            + (" and the true value (dashed black)" if true_values is not None else "")
            + ". Read: EM's line near the centre of each density means the two agree; the "
            "density's width is the posterior's uncertainty, which EM does not give."))
    if mcf.has_group(tree, "sample_stats") and "energy" in tree["sample_stats"].data_vars:
        blocks.append(writer.embed(lambda: mcf.plot_energy(tree), f"{prefix}-energy",
                                   "Energy plot and BFMI per chain. Read: the two "
                                   "densities should overlap; BFMI < 0.3 means the sampler "
                                   "explores the energy poorly (reparameterise, or more "
                                   "tuning)."))
    if mcf.has_group(tree, "posterior_predictive"):
        blocks.append(writer.embed(lambda: mcf.plot_ppc(tree), f"{prefix}-ppc",
                                   "Posterior predictive check: replicated data densities "
                                   "(blue) against the observed data (black). Read: black "
                                   "inside the blue bundle means the mixture reproduces the "
                                   "data's shape; black outside it is what the model "
                                   "misses."))
    if mcf.has_group(tree, "latent") and em is not None:
        membership = tree["latent"]["membership"].values
        labels = truth.labels if truth is not None and truth.has_truth else None
        blocks.append("<h4>EM responsibilities vs posterior membership</h4>")
        blocks.append(writer.embed(
            lambda: cmp.plot_membership_comparison(em.responsibilities, membership, labels),
            f"{prefix}-membership",
            "EM responsibilities against posterior membership probabilities (points on the "
            "diagonal: the two agree)"
            + (", and the calibration of both against the true labels (how to read it: among "
               "the pairs given probability p, a fraction p should truly belong to the "
               "component; a curve below the diagonal is over-confident)."
               if labels is not None else " (no truth: no calibration against true labels).")))
    return blocks


SAMPLER_ATTRS = ("sampler", "formulation", "init", "order_means", "chains", "draws", "tune",
                 "target_accept", "sampling_time")


def sampler_line(tree) -> str:
    """How the posterior was sampled, from the DataTree attrs (absent ones are skipped),
    plus the BFMI per chain."""
    attrs = {k: tree.attrs[k] for k in SAMPLER_ATTRS if k in tree.attrs}
    if "sampling_time" in attrs:
        attrs["sampling_time"] = f"{float(attrs['sampling_time']):.1f} s"
    if "order_means" in attrs:
        attrs["order_means"] = "on" if bool(attrs["order_means"]) else "off"
    try:
        attrs["BFMI"] = ", ".join(f"{v:.2f}" for v in mcf.bfmi(tree))
    except (KeyError, ValueError, TypeError):
        pass
    text = "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in attrs.items())
    return f'<p class="meta">{escape(text)}</p>' if text else ""


def posterior_summary(tree) -> dict | None:
    """Posterior MAP labels and posterior means (for the label pictures)."""
    if tree is None:
        return None
    found = {}
    if mcf.has_group(tree, "latent") and "map_label" in tree["latent"].data_vars:
        found["map_label"] = np.asarray(tree["latent"]["map_label"].values)
    elif mcf.has_group(tree, "latent") and "membership" in tree["latent"].data_vars:
        found["map_label"] = np.asarray(tree["latent"]["membership"].values).argmax(axis=1)
    found["means"] = mcf.posterior_means(tree).get("means")
    return found if "map_label" in found else None


