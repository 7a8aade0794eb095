"""HTML building blocks: figures saved as PNG and embedded as base64, tables, notes."""

from __future__ import annotations

import base64
import html
import io
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

FIGURE_DPI = 80
logger = logging.getLogger(__name__)


def headless() -> None:
    """Draw without a display (Agg) unless the user chose a backend (``MPLBACKEND``)."""
    if os.environ.get("MPLBACKEND") is None:
        matplotlib.use("Agg")


def escape(text) -> str:
    return html.escape(str(text), quote=True)


def figure_png(figure) -> bytes:
    """PNG bytes of a matplotlib Figure or an ArviZ PlotCollection, then release it.

    PlotCollections are created through pyplot, so their figure is closed explicitly to
    keep memory flat over many cells.
    """
    mpl_figure = figure
    if hasattr(figure, "viz"):
        mpl_figure = figure.viz["figure"].item()
    buffer = io.BytesIO()
    mpl_figure.savefig(buffer, format="png", dpi=FIGURE_DPI)
    plt.close(mpl_figure)
    return buffer.getvalue()


@dataclass(frozen=True)
class FigureWriter:
    """Saves figures under ``directory`` and returns them as embedded ``<figure>`` HTML."""

    directory: Path

    def embed(self, make_figure, name: str, caption: str) -> str:
        """Draw ``make_figure()``, save ``<name>.png`` and return a captioned ``<figure>``;
        a drawing error becomes a visible note instead of aborting the report."""
        start = time.perf_counter()
        try:
            png = figure_png(make_figure())
        except Exception as error:  # noqa: BLE001 - one bad figure must not sink the page
            logger.warning("figure %s failed: %s", name, error)
            return note(f"Figure '{caption}' could not be drawn: {type(error).__name__}: "
                        f"{error}", kind="warn")
        logger.debug("figure %s: %.2f s", name, time.perf_counter() - start)
        self.save(name, png)
        encoded = base64.b64encode(png).decode("ascii")
        return (
            f'<figure><img src="data:image/png;base64,{encoded}" alt="{escape(caption)}" '
            f'loading="eager"><figcaption>{escape(caption)}</figcaption></figure>'
        )


    def save(self, name: str, png: bytes) -> None:
        """Write ``<name>.png`` under ``directory``."""
        (self.directory / f"{name}.png").write_bytes(png)


@dataclass(frozen=True)
class KeptFigures(FigureWriter):
    """A :class:`FigureWriter` that keeps the PNG bytes (``pngs``, name -> bytes) instead
    of writing them: for sections drawn before the report directory exists
    (:mod:`experiments.report.early`); :func:`write_figures` writes them later."""

    pngs: dict = field(default_factory=dict)

    def save(self, name: str, png: bytes) -> None:
        self.pngs[name] = png


def write_figures(pngs: dict, directory: Path) -> None:
    """Write kept figures (name -> PNG bytes) as ``directory/<name>.png``."""
    writer = FigureWriter(directory)
    for name, png in pngs.items():
        writer.save(name, png)


def note(text: str, kind: str = "info") -> str:
    return f'<p class="note {kind}">{escape(text)}</p>'


def format_value(value) -> str:
    """Compact number formatting for tables (4 significant digits), text as is."""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return ""
        if float(value).is_integer() and abs(value) < 1e9:
            return str(int(value))
        return f"{value:.4g}"
    return str(value)


def table_html(frame: pd.DataFrame, highlight=None, index: bool = False,
               caption: str = "") -> str:
    """An HTML table; ``highlight(row_label, column, value) -> bool`` marks cells red."""
    frame = frame if index else frame.reset_index(drop=True)
    header = ([escape(frame.index.name or "")] if index else []) + [
        escape(c) for c in frame.columns]
    lines = ['<div class="table-wrap"><table>']
    if caption:
        lines.append(f"<caption>{escape(caption)}</caption>")
    lines.append("<thead><tr>" + "".join(f"<th>{h}</th>" for h in header) + "</tr></thead>")
    lines.append("<tbody>")
    for label, row in frame.iterrows():
        cells = [f'<th scope="row">{escape(label)}</th>'] if index else []
        for column, value in row.items():
            marked = highlight is not None and _safe(highlight, label, column, value)
            classes = ["bad"] * marked + ["num"] * isinstance(value, (int, float, np.number))
            css = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f"<td{css}>{escape(format_value(value))}</td>")
        lines.append("<tr>" + "".join(cells) + "</tr>")
    lines.append("</tbody></table></div>")
    return "\n".join(lines)


def _safe(highlight, label, column, value) -> bool:
    try:
        return bool(highlight(label, column, value))
    except (TypeError, ValueError):
        return False


def definition_list(items: dict) -> str:
    rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(format_value(v))}</dd>"
                   for k, v in items.items())
    return f"<dl>{rows}</dl>"
