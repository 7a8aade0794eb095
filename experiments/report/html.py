"""The report page: run summary, warnings, comparison tables, sweeps, per-cell sections."""

from __future__ import annotations

import pandas as pd

from experiments.report import comparison_figures as cmp
from experiments.report.flags import ess_threshold, run_flags
from experiments.report.load import Run
from experiments.report.render import (
    FigureWriter,
    definition_list,
    escape,
    note,
    table_html,
)
from experiments.report.sections import replicate_section

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
th, td { border: 1px solid var(--line); padding: 4px 9px; text-align: right; }
thead th { background: #eef2f7; position: sticky; top: 0; }
tbody th { text-align: left; background: #fafbfc; font-weight: 600; }
td:first-child { text-align: left; }
tbody tr:nth-child(even) td { background: #fafbfc; }
td.bad, tbody tr:nth-child(even) td.bad { background: var(--bad); color: #8a1c17;
       font-weight: 600; }
figure { margin: 10px 0 18px; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line);
             border-radius: 4px; background: #fff; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr));
         gap: 0 20px; }
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
@media (max-width: 900px) { nav#contents { position: static; width: auto; }
  main { margin-left: 0; padding: 16px; } }
"""


def detailed_replicates(run: Run) -> set[tuple[str, int]]:
    """(cell_id, replicate) drawn in detail: the first replicate of each of the first
    ``report.max_detailed_cells`` cells."""
    chosen: dict[str, int] = {}
    for rep in run.replicates:
        if rep.cell_id not in chosen and len(chosen) < run.max_detailed_cells:
            chosen[rep.cell_id] = rep.replicate
    return set(chosen.items())


def comparison_table(run: Run) -> pd.DataFrame | None:
    """summary.csv when present, otherwise the mean over replicates of results.csv."""
    if run.summary is not None:
        return run.summary
    if run.results is None or "method" not in run.results.columns:
        return None
    keys = [k for k in ("cell_id", "method") if k in run.results.columns]
    numeric = run.results.select_dtypes("number").columns.difference(keys + ["replicate"])
    return run.results.groupby(keys)[list(numeric)].mean().reset_index()


def summary_section(run: Run) -> str:
    parts = ['<h2 id="summary">Run summary</h2>']
    config_path = run.path / "config.toml"
    if config_path.exists():
        parts.append("<details open><summary>Resolved configuration (config.toml)"
                     f"</summary><pre>{escape(config_path.read_text())}</pre></details>")
    if run.versions:
        parts.append("<h4>Versions</h4>" + definition_list(run.versions))
    cells = sorted({rep.cell_id for rep in run.replicates})
    parts.append(definition_list({"cells": len(cells), "cell x replicate": len(run.replicates),
                                  "run directory": str(run.path)}))
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
    rows = []
    for record in flags.to_dict("records"):
        anchor = anchors.get((record["cell_id"], record["replicate"]))
        link = (f'<a href="#{anchor}">{escape(record["cell_id"])}</a>' if anchor
                else escape(record["cell_id"]))
        rows.append(f"<tr><td>{link}</td><td>{record['replicate']}</td>"
                    f"<td>{escape(record['method'])}</td>"
                    f'<td class="bad">{escape(record["warning"])}</td></tr>')
    parts.append('<div class="table-wrap"><table><thead><tr><th>cell</th><th>replicate</th>'
                 "<th>method</th><th>warning</th></tr></thead><tbody>" + "".join(rows)
                 + "</tbody></table></div>")
    return "\n".join(parts)


def sweep_section(run: Run, writer: FigureWriter) -> str:
    if run.results is None:
        return ""
    parameters = cmp.sweep_parameters(run.results, run.config)
    metrics = cmp.sweep_metrics(run.results, parameters)
    if not parameters or not metrics:
        return ""
    parts = ['<h2 id="sweeps">Sweeps</h2>']
    for parameter in parameters:
        parts.append(writer.embed(lambda p=parameter: cmp.plot_sweep(run.results, p, metrics),
                                  f"sweep-{parameter}",
                                  f"Metrics against {parameter}: mean over replicates "
                                  "+/- one standard deviation, per method."))
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


def contents(run: Run, has_sweeps: bool) -> str:
    items = [("summary", "Run summary"), ("warnings", "Warnings"),
             ("comparison", "Comparison table")]
    items += [("sweeps", "Sweeps")] if has_sweeps else []
    items += [("cells", "Cells")]
    links = "".join(f'<li><a href="#{a}">{escape(t)}</a></li>' for a, t in items)
    cell_links = "".join(
        f'<li><a href="#{rep.anchor}">{escape(rep.cell_id)} / rep {rep.replicate}</a></li>'
        for rep in run.replicates)
    return (f'<nav id="contents"><h2>Contents</h2><ol>{links}</ol>'
            f'<h2 style="margin-top:14px">Cells</h2><ol>{cell_links}</ol></nav>')


def run_name(run: Run) -> str:
    experiment = run.config.get("experiment", {})
    if isinstance(experiment, dict) and experiment.get("name"):
        return str(experiment["name"])
    return str(run.config.get("name", run.path.name))


def render_page(run: Run, writer: FigureWriter) -> str:
    """The whole self-contained HTML document."""
    detailed = detailed_replicates(run)
    anchors = {(rep.cell_id, rep.replicate): rep.anchor for rep in run.replicates}
    name = run_name(run)
    table = comparison_table(run)
    sweeps = sweep_section(run, writer)
    min_ess = ess_threshold(run.config)
    body = [
        f"<h1>EM vs MCMC: {escape(name)}</h1>",
        '<p class="subtitle">Gaussian mixture fits by Expectation-Maximization and by '
        "Bayesian MCMC on data with known truth; every number and figure is read from the "
        "saved run artifacts.</p>",
        summary_section(run),
        warnings_section(run, anchors),
        '<h2 id="comparison">Comparison table</h2>',
        table_html(table) if table is not None else note("No results table found.", "warn"),
        sweeps,
        cells_index(run, detailed),
    ]
    body += [replicate_section(rep, writer, (rep.cell_id, rep.replicate) in detailed, min_ess)
             for rep in run.replicates]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>EM vs MCMC report: {escape(name)}</title><style>{STYLE}</style></head>"
        f"<body>{contents(run, bool(sweeps))}<main>{''.join(body)}</main></body></html>\n"
    )
