"""HTML report of a run directory, built only from saved artifacts (never refits).

``build_report(run_dir)`` writes ``RUN_DIR/report/index.html`` (self-contained: figures are
embedded as base64 PNG) and the same figures as ``RUN_DIR/report/figures/*.png``.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

from experiments.report.html import render_page
from experiments.report.load import load_run
from experiments.report.render import FigureWriter, headless
from experiments.run.files import write_text_atomic

__all__ = ["build_report"]


def build_report(run_dir: Path, processes: int | None = 1, early=None) -> Path:
    """Build the report of ``run_dir`` and return the path of ``report/index.html``.

    Parameters
    ----------
    run_dir : pathlib.Path
        A directory written by ``gmm-compare run`` (docs/architecture.md).
    processes : int or None
        Processes drawing the detailed replicate sections, this one included (None: the
        cores this process may use; 1, the default: all here). The page is the same bytes
        either way (:mod:`experiments.report.parallel`). Workers start from fresh
        interpreters that import the caller's main module, as every ``spawn`` and
        ``forkserver`` pool's do: call with more than one process only from a script
        whose work sits under ``if __name__ == "__main__":`` (``gmm-compare`` is).
    early : experiments.report.early.EarlySections, optional
        Detailed sections drawn while the run went on (``gmm-compare run`` passes them):
        used instead of drawing those sections again.

    Returns
    -------
    pathlib.Path
        ``run_dir / "report" / "index.html"``.

    Raises
    ------
    ValueError
        If ``run_dir`` is not a run directory.
    """
    headless()  # the report never opens windows
    run = load_run(Path(run_dir))
    figures_dir = run.files.figures
    if figures_dir.exists():
        shutil.rmtree(figures_dir)  # stale figures of an earlier build
    figures_dir.mkdir(parents=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ArviZ/xarray chatter would flood the CLI output
        page = render_page(run, FigureWriter(figures_dir), processes, early)
    return write_text_atomic(run.files.report_index, page)  # a reader never sees half a page
