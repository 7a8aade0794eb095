"""The report page: run summary, warnings, comparison tables, sweeps, per-cell sections."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from experiments.report import sweep_figures as sweeps
from experiments.report.calibration_figures import calibration_section
from experiments.report.flags import diagnostics_verdict, ess_threshold, run_flags
from experiments.report.load import Run
from experiments.report.model_choice import model_choice_section
from experiments.report.no_truth_section import is_data_file_run, no_truth_section
from experiments.report.render import (
    FigureWriter,
    definition_list,
    escape,
    format_value,
    note,
    table_html,
)
from experiments.report.parallel import ReplicateSections

STYLE = """
:root { --accent: #1f77b4; --bad: #fde2e1; --muted: #5f6b7a; --line: #d9dee5; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #1d2430; margin: 0; background: #f6f8fa; }
nav#contents { position: fixed; top: 0; left: 0; bottom: 0; width: 250px; overflow-y: auto;
       background: #fff; border-right: 1px solid var(--line); padding: 16px 14px;
       font-size: 13px; }
nav#contents h2 { font-size: 15px; margin: 0 0 8px; }
nav#contents ol { padding-left: 18px; margin: 0; }
nav#contents li { margin: 2px 0; }
nav#contents a { color: #1d2430; text-decoration: none; }
nav#contents a:hover { color: var(--accent); text-decoration: underline; }
main { margin-left: 250px; padding: 24px 36px; max-width: 1500px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 21px; border-bottom: 2px solid var(--accent); padding-bottom: 4px;
     margin-top: 36px; }
h3 { font-size: 18px; margin: 0 0 10px; }
h4 { font-size: 15px; color: var(--muted); margin: 18px 0 6px; text-transform: uppercase;
     letter-spacing: 0.04em; }
.subtitle { color: var(--muted); margin: 0 0 16px; }
section.cell { background: #fff; border: 1px solid var(--line); border-radius: 8px;
               padding: 18px 22px; margin: 20px 0; }
.table-wrap { overflow-x: auto; margin: 8px 0 14px; }
table { border-collapse: collapse; font-size: 13px; font-variant-numeric: tabular-nums;
        background: #fff; }
caption { caption-side: top; text-align: left; color: var(--muted); padding: 4px 0; }
th, td { border: 1px solid var(--line); padding: 4px 9px; text-align: left; }
td.num { text-align: right; }
td:first-child { white-space: nowrap; }
thead th { background: #eef2f7; position: sticky; top: 0; }
tbody th { text-align: left; background: #fafbfc; font-weight: 600; }
.meta { color: var(--muted); font-size: 13px; }
details > summary { cursor: pointer; color: var(--accent); margin: 6px 0; }
tbody tr:nth-child(even) td { background: #fafbfc; }
td.bad, tbody tr:nth-child(even) td.bad { background: var(--bad); color: #8a1c17;
       font-weight: 600; }
figure { margin: 10px 0 18px; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line);
             border-radius: 4px; background: #fff; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(440px, 1fr));
         gap: 0 20px; }
.columns { display: grid; grid-template-columns: minmax(0, 1.3fr) minmax(0, 1fr);
           gap: 0 28px; }
.columns pre { max-height: 460px; }
.columns dl { font-size: 13px; }
.note { padding: 8px 12px; border-radius: 6px; background: #eef4fb;
        border-left: 4px solid var(--accent); }
.note.warn { background: #fff6e0; border-left-color: #e69f00; }
ul.flags { background: #fff1f0; border-left: 4px solid #d62728; padding: 8px 12px 8px 30px;
           border-radius: 6px; }
dl { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; }
dt { font-weight: 600; } dd { margin: 0; }
pre { background: #fff; border: 1px solid var(--line); padding: 10px; overflow-x: auto;
      font-size: 12.5px; }
.top { text-align: right; font-size: 12px; margin: 0; }
@media (max-width: 900px) { .columns { grid-template-columns: 1fr; }
  nav#contents { position: static; width: auto; }
  main { margin-left: 0; padding: 16px; } }
"""


def detailed_replicates(run: Run) -> set[tuple[str, int]]:
    """(cell_id, replicate) drawn in detail: the first replicate of each of the first
    ``report.max_detailed_cells`` cells."""
    chosen: dict[str, int] = {}
    for rep in run.replicates:
        if rep.cell_id not in chosen and len(chosen) < run.config.report.max_detailed_cells:
            chosen[rep.cell_id] = rep.replicate
    return set(chosen.items())


KEY_METRICS = (
    "ari", "accuracy", "log_likelihood", "weights_error", "means_error", "covariances_error",
    "coverage", "em_in_interval", "em_distance_sd_mean", "max_rhat", "min_ess_bulk",
    "min_ess_tail", "divergences", "em_mcmc_ari", "responsibility_mad", "heldout_lpd", "bic",
    "icl", "elpd_loo", "pareto_k_bad", "class_ari", "class_accuracy", "runtime_s",
)
ID_COLUMNS = ("cell_id", "method", "n_replicates", "n_failed")


def comparison_table(run: Run) -> pd.DataFrame | None:
    """summary.csv when present, otherwise the mean over replicates of results.csv."""
    if run.summary is not None:
        return run.summary
    if run.results is None or "method" not in run.results.columns:
        return None
    keys = [k for k in ("cell_id", "method") if k in run.results.columns]
    numeric = run.results.select_dtypes("number").columns.difference(keys + ["replicate"])
    return run.results.groupby(keys)[list(numeric)].mean().reset_index()


def compact_comparison(table: pd.DataFrame) -> pd.DataFrame:
    """Key metrics as "mean +/- sd" (summary.csv's ``<metric>_mean`` / ``<metric>_std``),
    grid columns and identifiers first; metrics missing from the table are skipped."""
    out = pd.DataFrame(index=table.index)
    metric_like = {c.rsplit("_", 1)[0] for c in table.columns
                   if c.endswith(("_mean", "_std"))}
    for column in table.columns:
        if column in ID_COLUMNS or (column not in metric_like and not column.endswith(
                ("_mean", "_std", "_min", "_max")) and column not in KEY_METRICS):
            out[column] = table[column]
    for metric in KEY_METRICS:
        mean = table.get(f"{metric}_mean", table.get(metric))
        if mean is None or mean.isna().all():
            continue
        std = table.get(f"{metric}_std")
        out[metric] = [_mean_sd(m, sd) for m, sd in zip(
            mean, std if std is not None else [np.nan] * len(mean), strict=True)]
    return out


def _mean_sd(mean, sd) -> str:
    if pd.isna(mean):
        return ""
    text = format_value(float(mean))
    return text if pd.isna(sd) else f"{text} ± {format_value(float(sd))}"


def with_diagnostics(compact: pd.DataFrame, verdicts: dict) -> pd.DataFrame:
    """Add the column ``sampler diagnostics`` (:func:`diagnostics_verdict`) when any cell
    and method has one: a failed cell's posterior errors measure the sampler."""
    if not verdicts or not {"cell_id", "method"} <= set(compact.columns):
        return compact
    keys = zip(compact["cell_id"].astype(str), compact["method"].astype(str), strict=True)
    return compact.assign(**{"sampler diagnostics": [verdicts.get(key, "") for key in keys]})


def comparison_block(table: pd.DataFrame | None, verdicts: dict | None = None) -> str:
    if table is None:
        return note("No results table found (results.csv / summary.csv).", kind="warn")
    compact = with_diagnostics(compact_comparison(table), verdicts or {})
    caption = "Mean ± standard deviation over replicates per cell and method (summary.csv)."
    if any(v != "ok" for v in (verdicts or {}).values()):
        caption += (" A cell whose sampler failed its diagnostics (R-hat >= 1.01, "
                    "divergences, low ESS) in some replicates says so: its posterior errors "
                    "measure the sampler, not the Bayesian answer (see Warnings).")
    return (table_html(compact, caption=caption)
            + "<details><summary>All columns of summary.csv</summary>"
            + table_html(table) + "</details>")


def summary_section(run: Run) -> str:
    parts = ['<h2 id="summary">Run summary</h2>']
    cells = sorted({rep.cell_id for rep in run.replicates})
    parts.append(definition_list({"run directory": str(run.path), "cells": len(cells),
                                  "cell x replicate": len(run.replicates)}))
    parts.append('<div class="columns">')
    config_path = run.files.config
    parts.append(f"<div><h4>Resolved configuration ({config_path.name})</h4>"
                 f"<pre>{escape(config_path.read_text())}</pre></div>")
    if run.versions:
        flat = {k: v for k, v in run.versions.items() if not isinstance(v, dict)}
        for group in (v for v in run.versions.values() if isinstance(v, dict)):
            flat.update({k: ("not installed" if x is None else x) for k, x in group.items()})
        parts.append("<div><h4>Versions (versions.json)</h4>" + definition_list(flat)
                     + "</div>")
    parts.append("</div>")
    parts += [note(n, kind="warn") for n in run.notes]
    return "\n".join(parts)


def warnings_section(run: Run, anchors: dict) -> str:
    flags = run_flags(run.results, run.replicates, run.config)
    parts = ['<h2 id="warnings">Warnings</h2>']
    if flags.empty:
        parts.append(note("Nothing stands out: no R-hat >= 1.01, no divergences, no low ESS, "
                          "EM converged everywhere, no relabelling, no failures."))
        return "\n".join(parts)
    parts.append(note(f"{len(flags)} warnings (R-hat >= 1.01, divergences, ESS below "
                      f"{ess_threshold(run.config):.0f}, EM not converged, label switching "
                      "repaired, failures).", kind="warn"))
    free_text = flags["method"] == ""
    parts.append(flag_rows(flags[~free_text], anchors))
    messages = flags[free_text].groupby("warning", sort=True).size()
    if len(messages):
        items = "".join(f"<li>{escape(m)} <span class=\"meta\">({n} replicate"
                        f"{'s' if n > 1 else ''})</span></li>" for m, n in messages.items())
        parts.append(f"<h4>Messages recorded during fitting</h4><ul>{items}</ul>")
    return "\n".join(parts)


def flag_rows(flags: pd.DataFrame, anchors: dict) -> str:
    if flags.empty:
        return ""
    rows = []
    for record in flags.to_dict("records"):
        anchor = anchors.get((record["cell_id"], record["replicate"]))
        link = (f'<a href="#{anchor}">{escape(record["cell_id"])}</a>' if anchor
                else escape(record["cell_id"]))
        rows.append(f"<tr><td>{link}</td><td>{record['replicate']}</td>"
                    f"<td>{escape(record['method'])}</td>"
                    f'<td class="bad">{escape(record["warning"])}</td></tr>')
    return ('<div class="table-wrap"><table><thead><tr><th>cell</th><th>replicate</th>'
            "<th>method</th><th>warning</th></tr></thead><tbody>" + "".join(rows)
            + "</tbody></table></div>")


def sweep_section(run: Run, writer: FigureWriter) -> str:
    """One figure per varying grid axis with the ``[report] sweep_metrics``."""
    if run.results is None:
        return ""
    parameters = sweeps.sweep_parameters(run.results, run.grid_axes)
    metrics = sweeps.chosen_metrics(run.results, run.config.report.sweep_metrics)
    if not parameters or not metrics:
        return ""
    parts = ['<h2 id="sweeps">Sweeps</h2>']
    for parameter in parameters:
        facet = sweeps.facet_for(parameter, parameters, run.config.report.sweep_facet)
        averaged = [p for p in parameters if p not in (parameter, facet)]
        parts.append(writer.embed(
            lambda p=parameter, f=facet: sweeps.plot_sweep(run.results, p, metrics, f),
            f"sweep-{parameter}", sweeps.sweep_caption(parameter, facet, averaged)))
    return "\n".join(parts)


def cells_index(run: Run, detailed: set) -> str:
    rows = []
    for rep in run.replicates:
        mark = "detailed" if (rep.cell_id, rep.replicate) in detailed else "summary"
        mcmc = "yes" if rep.mcmc_path is not None else "no"
        rows.append(f'<tr><td><a href="#{rep.anchor}">{escape(rep.cell_id)}</a></td>'
                    f"<td>{rep.replicate}</td><td>{mcmc}</td><td>{mark}</td></tr>")
    return ('<h2 id="cells">Cells</h2><div class="table-wrap"><table><thead><tr><th>cell</th>'
            "<th>replicate</th><th>MCMC</th><th>section</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table></div>")


def contents(run: Run, has_sweeps: bool, has_calibration: bool = False,
             has_model_choice: bool = False, has_no_truth: bool = False) -> str:
    items = [("summary", "Run summary"), ("warnings", "Warnings"),
             ("comparison", "Comparison table")]
    items += [("no-truth", "Fit without truth")] if has_no_truth else []
    items += [("sweeps", "Sweeps")] if has_sweeps else []
    items += [("model-choice", "Choice of K")] if has_model_choice else []
    items += [("calibration", "Calibration")] if has_calibration else []
    items += [("cells", "Cells")]
    links = "".join(f'<li><a href="#{a}">{escape(t)}</a></li>' for a, t in items)
    cell_links = "".join(
        f'<li><a href="#{rep.anchor}">{escape(rep.cell_id)} / rep {rep.replicate}</a></li>'
        for rep in run.replicates)
    return (f'<nav id="contents"><h2>Contents</h2><ol>{links}</ol>'
            f'<h2 style="margin-top:14px">Cells</h2><ol>{cell_links}</ol></nav>')


def render_page(run: Run, writer: FigureWriter, processes: int | None = 1,
                early=None) -> str:
    """The whole self-contained HTML document; the detailed replicate sections are drawn
    by up to ``processes`` processes, this one included (None: the cores available; see
    :mod:`experiments.report.parallel`), or taken from ``early``
    (:class:`experiments.report.early.EarlySections`), the same page either way."""
    detailed = detailed_replicates(run)
    min_ess = ess_threshold(run.config)
    with ReplicateSections(run, writer, detailed, min_ess, processes, early) as sections:
        return _page(run, writer, detailed, min_ess, sections)


def _page(run: Run, writer: FigureWriter, detailed: set, min_ess: float,
          sections: ReplicateSections) -> str:
    anchors = {(rep.cell_id, rep.replicate): rep.anchor for rep in run.replicates}
    name = run.config.name
    table = comparison_table(run)
    sweeps = sweep_section(run, writer)
    calibration = calibration_section(run, writer)
    model_choice = model_choice_section(run, writer)
    no_truth = no_truth_section(run, writer)
    on_data = ("the data file " + escape(Path(run.config.data.fixed["file"]).name) + " (no truth)"
               if is_data_file_run(run) else "data with known truth")
    body = [
        f"<h1>EM vs MCMC: {escape(name)}</h1>",
        ('<p class="subtitle">Gaussian mixture fits by Expectation-Maximization and by '
         f"Bayesian MCMC on {on_data}; every number and figure is read from the "
         "saved run artifacts.</p>"),
        summary_section(run),
        warnings_section(run, anchors),
        '<h2 id="comparison">Comparison table</h2>',
        comparison_block(table, diagnostics_verdict(run.results, min_ess)),
        no_truth,
        sweeps,
        model_choice,
        calibration,
        cells_index(run, detailed),
    ]
    body += sections.html()
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>EM vs MCMC report: {escape(name)}</title><style>{STYLE}</style></head>"
        f"<body>{contents(run, bool(sweeps), bool(calibration), bool(model_choice), bool(no_truth))}<main>{''.join(body)}</main></body></html>\n"
    )
