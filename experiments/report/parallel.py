"""The detailed replicate sections of a report, drawn in worker processes.

Most of a report's time is its figures, and most figures are in the detailed replicate
sections (``report.max_detailed_cells``), which do not depend on one another. With several
of them and several cores, :class:`ReplicateSections` deals the detailed sections out, in
turn, to this process and to worker processes (the ``forkserver`` or ``spawn`` context of
:func:`experiments.run.executors.process_context`: no fork of a process that holds
threads). Each worker loads the run once and draws whole sections, writing their PNG files
itself; this process draws the run-level sections (sweeps, calibration, ...) and its share.
The sections are joined in page order, so the page is the same bytes whatever the number of
processes (``tests/experiments/report/test_report.py``). A worker pays the imports of the report,
about 2.5 s, once, about the time the run-level sections take here; sections without
figures are drawn by this process.

A worker that dies (e.g. out of memory) does not sink the report: its sections are drawn
again by the parent.
"""

from __future__ import annotations

import warnings
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from emgmm.fast.threads import available_cores
from experiments.report.load import Run, load_run
from experiments.report.render import FigureWriter, headless, write_figures
from experiments.report.sections import replicate_section
from experiments.run.executors import ignore_interrupts, process_context

# the worker's run, figure writer and ESS threshold (set by _start_worker)
_WORKER: dict = {}


def _start_worker(run_dir: str, figures_dir: str, min_ess: float) -> None:
    ignore_interrupts()
    headless()
    warnings.simplefilter("ignore")  # as in the parent: ArviZ/xarray chatter
    _WORKER.update(run=load_run(Path(run_dir)), writer=FigureWriter(Path(figures_dir)),
                   min_ess=min_ess)


def _draw_section(index: int) -> str:
    run = _WORKER["run"]
    return replicate_section(run.replicates[index], _WORKER["writer"], True, _WORKER["min_ess"])


def section_processes(n_posterior: int, processes: int | None = None) -> int:
    """Processes drawing the detailed sections, this one included, when ``n_posterior`` of
    them hold posterior fits (``*.nc``: MCMC, ADVI, VB, a dozen ArviZ figures, 2-4 s
    each): up to ``processes`` (default: the cores this process may use), at most one per
    such section. EM's few figures take well under a worker's 2.5 s of imports, so sections
    without posterior fits are all drawn here."""
    return max(1, min(processes or available_cores(), n_posterior))


def has_posterior(replicate) -> bool:
    """The replicate saved a posterior or variational fit (``*.nc``)."""
    return any(replicate.path.glob("*.nc"))


class ReplicateSections:
    """The HTML of every replicate section, in page order (see the module docstring).

    Use as a context manager: on entry the workers' share of the detailed sections (with
    ``processes`` processes in all, every ``processes``-th detailed section stays here) is
    handed to them; :meth:`html` then returns all sections, drawing in this process its
    share, the sections without figures, and any whose worker died.
    """

    def __init__(self, run: Run, writer: FigureWriter, detailed: set, min_ess: float,
                 processes: int | None = None, early=None):
        self.run, self.writer, self.min_ess = run, writer, min_ess
        self.detailed = [(rep.cell_id, rep.replicate) in detailed for rep in run.replicates]
        # sections drawn during the run (experiments.report.early): not dealt out again
        self.early = early
        self.drawn_early = [early is not None and (rep.cell_id, rep.replicate) in early.futures
                            for rep in run.replicates]
        self.n_processes = section_processes(
            sum(detailed and not early_ and has_posterior(rep) for detailed, early_, rep
                in zip(self.detailed, self.drawn_early, run.replicates)), processes)
        self.pool: ProcessPoolExecutor | None = None
        self.futures: dict[int, Future] = {}

    def __enter__(self) -> ReplicateSections:
        drawn = [index for index, detailed in enumerate(self.detailed)
                 if detailed and not self.drawn_early[index]]
        shared = [index for turn, index in enumerate(drawn) if turn % self.n_processes]
        if shared:
            self.pool = ProcessPoolExecutor(
                max_workers=self.n_processes - 1, mp_context=process_context(),
                initializer=_start_worker,
                initargs=(str(Path(self.run.path).resolve()),
                          str(Path(self.writer.directory).resolve()), self.min_ess))
            self.futures = {index: self.pool.submit(_draw_section, index) for index in shared}
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def html(self) -> list[str]:
        return [self._section(index) for index in range(len(self.detailed))]

    def _section(self, index: int) -> str:
        if self.drawn_early[index] and self.detailed[index]:
            rep = self.run.replicates[index]
            drawn = self.early.section(rep.cell_id, rep.replicate)
            if drawn is not None:
                html, pngs = drawn
                write_figures(pngs, self.writer.directory)
                return html
        future = self.futures.get(index)
        if future is not None:
            try:
                return future.result()
            except BrokenProcessPool:
                pass  # the worker died: draw the section here
        return replicate_section(self.run.replicates[index], self.writer,
                                 self.detailed[index], self.min_ess)
