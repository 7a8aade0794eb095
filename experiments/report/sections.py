"""One section per cell x replicate: its rows, its warnings, and each method's blocks."""

from __future__ import annotations

import importlib
from collections.abc import Callable

import pandas as pd

from experiments.measure.methods import METHODS
from experiments.report.flags import row_flags
from experiments.report.load import Replicate, open_mcmc
from experiments.report.method_sections import SectionInput
from experiments.report.render import FigureWriter, escape, note, table_html


def metrics_table(replicate: Replicate) -> str:
    """This replicate's rows of results.csv (from metrics.json), one row per method."""
    rows = replicate.rows
    if not rows:
        return note("No metrics recorded for this replicate.", kind="warn")
    frame = pd.DataFrame(rows)
    frame = frame.drop(columns=[c for c in ("cell_id", "replicate") if c in frame.columns])
    return table_html(frame.dropna(axis=1, how="all"))


def flags_list(replicate: Replicate, min_ess: float) -> list[str]:
    flags = [f for row in replicate.rows
             for f in (f"{row.get('method', '')}: {m}" for m in row_flags(row, min_ess))]
    flags += [str(w) for w in replicate.warnings]
    return list(dict.fromkeys(flags))


def replicate_section(rep: Replicate, writer: FigureWriter, detailed: bool,
                      min_ess: float) -> str:
    """HTML of one cell x replicate: metrics, warnings, and when ``detailed`` the figures."""
    title = f"{rep.cell_id} / replicate {rep.replicate}"
    parts = [f'<section class="cell" id="{rep.anchor}"><h3>{escape(title)}</h3>',
             metrics_table(rep)]
    flags = flags_list(rep, min_ess)
    if flags:
        parts.append('<ul class="flags">' + "".join(f"<li>{escape(f)}</li>" for f in flags)
                     + "</ul>")
    parts += [note(n, kind="warn") for n in rep.notes]
    if not detailed:
        parts.append(note("Figures omitted for this cell: only the first "
                          "report.max_detailed_cells cells are drawn in detail."))
        parts.append('<p class="top"><a href="#contents">back to contents</a></p></section>')
        return "\n".join(parts)
    tree = _open_tree(rep, parts)
    try:
        parts += detailed_blocks(rep, tree, writer, min_ess)
    finally:
        if tree is not None:
            tree.close()
    parts.append('<p class="top"><a href="#contents">back to contents</a></p></section>')
    return "\n".join(parts)


def detailed_blocks(rep: Replicate, tree, writer: FigureWriter, min_ess: float) -> list[str]:
    """Each registered method's blocks (:attr:`experiments.measure.base.Method.report`)."""
    section = SectionInput(rep, tree, writer, min_ess)
    return [block for method in METHODS.values() if method.report is not None
            for block in method_section(method.report)(section)]


def method_section(reference: str) -> Callable[[SectionInput], list[str]]:
    """The report function ``"module:function"`` a method registers."""
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)


def _open_tree(rep: Replicate, parts: list[str]):
    if rep.mcmc_path is None:
        return None
    try:
        return open_mcmc(rep.mcmc_path)
    except (OSError, ValueError, KeyError) as error:
        parts.append(note(f"mcmc.nc could not be read ({error}).", kind="warn"))
        return None
