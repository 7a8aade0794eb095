"""The report's "Fit without truth" section, for runs on a data file (``[data] file``).

Read from results.csv and the saved ``mcmc.nc`` files: per cell, EM's and the posterior's
fit (held-out density, BIC / ICL, PSIS-LOO with its Pareto k), their agreement and, with a
label column, the agreement with the known classes; the K each criterion chooses; the
Pareto k of every point; and the posterior predictive check of the cell LOO prefers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from experiments.measure.no_truth import PARETO_K_THRESHOLD, k_choices
from experiments.report import data_figures as dfg
from experiments.report import mcmc_figures as mcf
from experiments.report.load import Run, open_mcmc
from experiments.report.render import (
    FigureWriter,
    escape,
    format_value,
    note,
    table_html,
)

# (heading, method row, results.csv column)
FIT_COLUMNS = (
    ("EM log-lik / point", "em", "log_likelihood"),
    ("EM held-out lpd", "em", "heldout_lpd"),
    ("MCMC held-out lpd", "mcmc", "heldout_lpd"),
    ("BIC", "em", "bic"),
    ("ICL", "em", "icl"),
    ("elpd LOO", "mcmc", "elpd_loo"),
    ("elpd LOO se", "mcmc", "elpd_loo_se"),
    ("max Pareto k", "mcmc", "pareto_k_max"),
    (f"points k > {PARETO_K_THRESHOLD}", "mcmc", "pareto_k_bad"),
    ("EM~MCMC ARI", "mcmc", "em_mcmc_ari"),
    ("responsibility MAD", "mcmc", "responsibility_mad"),
    ("EM in 90% interval", "mcmc", "em_in_interval"),
    ("max |mean - EM| / sd", "mcmc", "em_distance_sd_max"),
    ("R-hat", "mcmc", "max_rhat"),
    ("EM ARI vs classes", "em", "class_ari"),
    ("MCMC ARI vs classes", "mcmc", "class_ari"),
    ("EM accuracy vs classes", "em", "class_accuracy"),
    ("MCMC accuracy vs classes", "mcmc", "class_accuracy"),
)


def is_data_file_run(run: Run) -> bool:
    return getattr(run.config.data, "source", "synthetic") == "file"


def fit_table(results: pd.DataFrame, grid_axes) -> pd.DataFrame:
    """One column per cell, one row per no-truth metric of its EM and MCMC rows (mean over
    replicates); metrics no row fills are left out. The grid values head the columns."""
    keys = [a for a in grid_axes if a in results.columns]
    cells = results.drop_duplicates("cell_id").set_index("cell_id")
    table = {}
    for heading, method, column in FIT_COLUMNS:
        rows = results[results["method"] == method]
        if column not in rows or rows[column].isna().all():
            continue
        table[heading] = pd.to_numeric(rows[column], errors="coerce").groupby(
            rows["cell_id"]).mean()
    frame = pd.DataFrame(table).reindex(cells.index).T
    frame.columns = [", ".join(f"{k} = {cells.loc[c, k]}" for k in keys) or c
                     for c in frame.columns]
    frame.index.name = "metric"
    return frame


def pareto_k_by_cell(run: Run, limit: int) -> dict[str, np.ndarray]:
    """Pareto k per point for the first replicate of the first ``limit`` cells with MCMC."""
    found: dict[str, np.ndarray] = {}
    for rep in run.replicates:
        if rep.mcmc_path is None or rep.cell_id in found or len(found) >= limit:
            continue
        with open_mcmc(rep.mcmc_path) as tree:
            if mcf.has_group(tree, "log_likelihood"):
                found[rep.cell_id] = dfg.pareto_k_values(tree)
    return found


def best_loo_tree_path(run: Run) -> tuple[str, Path] | None:
    """The cell (first replicate) with the highest elpd_loo and its ``mcmc.nc``."""
    results = run.results
    if "elpd_loo" not in results or results["elpd_loo"].isna().all():
        return None
    best = results.loc[pd.to_numeric(results["elpd_loo"], errors="coerce").idxmax(), "cell_id"]
    path = next((rep.mcmc_path for rep in run.replicates
                 if rep.cell_id == best and rep.mcmc_path is not None), None)
    return (best, path) if path is not None else None


def choices_block(results: pd.DataFrame) -> str:
    choices = k_choices(results)
    if choices.empty:
        return ""
    names = {"bic": "K by BIC", "icl": "K by ICL", "elpd_loo": "K by PSIS-LOO"}
    ordered = [c for c in choices.columns if c not in names] + [c for c in names
                                                                if c in choices.columns]
    renamed = choices[ordered].rename(columns=names)
    return ("<h4>Number of components</h4>"
            + table_html(renamed, caption="K chosen per replicate: lowest BIC and ICL of the "
                         "EM fits, highest PSIS-LOO elpd of the posteriors (as az.compare "
                         "ranks them)."))


def no_truth_section(run: Run, writer: FigureWriter) -> str:
    """HTML of the section; empty for simulated data (which has truth)."""
    if not is_data_file_run(run) or run.results is None or run.results.empty:
        return ""
    results = run.results
    data = run.config.data.fixed
    parts = ['<h2 id="no-truth">Fit without truth</h2>',
             note(f"The data come from {Path(data['file']).name} (path in the resolved config): "
                  "there is no truth, so parameter errors, coverage and ARI against true "
                  "labels are not computed (empty in results.csv). The fits are judged by "
                  "how well they predict (held-out rows, PSIS-LOO), by BIC / ICL, by how "
                  "much EM and the posterior agree" + (", and by the known classes of "
                  f"{data['label_column']!r}" if data.get("label_column") is not None
                  else "") + ".")]
    parts.append(table_html(fit_table(results, run.grid_axes), index=True, caption=(
        "Per cell, mean over replicates. lpd: mean log predictive density per held-out row "
        "(EM: at its estimate; MCMC: averaged over the posterior). BIC, ICL: lower is "
        "better. elpd LOO: higher is better; a point with Pareto k > 0.7 makes it "
        "unreliable there. MAD: mean |EM responsibility - posterior membership|."),
        highlight=lambda row, _column, value: str(row).startswith("points k") and value > 0))
    parts.append(choices_block(results))
    if "n_components" in results.columns and results["n_components"].nunique() > 1:
        parts.append(writer.embed(lambda: dfg.plot_criteria_against_k(results),
                                  "no-truth-criteria", "BIC, ICL, PSIS-LOO elpd and held-out "
                                  "density against K (gold star: the best K of each)."))
    k_values = pareto_k_by_cell(run, run.config.report.max_detailed_cells)
    if k_values:
        parts.append("<h4>PSIS-LOO diagnostics</h4>")
        parts.append(writer.embed(lambda: dfg.plot_pareto_k(k_values), "no-truth-pareto-k",
                                  "Pareto shape k of each point's importance weights "
                                  f"(red: k > {PARETO_K_THRESHOLD}, LOO unreliable there)."))
    best = best_loo_tree_path(run)
    if best is not None:
        cell, path = best
        with open_mcmc(path) as tree:
            if mcf.has_group(tree, "posterior_predictive"):
                parts.append(f"<h4>Posterior predictive check ({escape(cell)}, the highest "
                             f"elpd LOO: {format_value(results['elpd_loo'].max())})</h4>")
                parts.append(writer.embed(lambda: mcf.plot_ppc(tree), "no-truth-ppc",
                                          "Replicated data densities from the posterior "
                                          "(blue) against the observed data (black), per "
                                          "dimension. Read: black inside the blue bundle "
                                          "means the mixture reproduces the data's shape."))
    return "\n".join(parts)
