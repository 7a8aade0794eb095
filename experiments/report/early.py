"""The spare core of a serial run: Bayesian models compiled ahead, then the report's
detailed replicate sections drawn while the run goes on.

A serial run keeps one core busy. When another core is free and there is work for it
(:func:`early_sections`), ``gmm-compare run`` starts one worker process with the run
(:class:`EarlySections`, the ``forkserver``/``spawn`` context of
:func:`experiments.run.executors.process_context`). Each replicate the report will draw in detail (the first
finished replicate of each of the first ``report.max_detailed_cells`` cells, as
:func:`experiments.report.html.detailed_replicates` chooses them) is handed to the worker
when it finishes; the worker draws its section from the replicate's files, keeping the
PNG bytes in memory (:class:`~experiments.report.render.KeptFigures`), while the run fits
the next replicates. :func:`experiments.report.build_report` then takes those sections
instead of drawing them and writes their PNGs with the others. The page is the same bytes
(``tests/experiments/report/test_early.py``); a section whose worker failed, or that the
report does not draw in detail after all (a resumed run skips finished replicates), is
drawn when the report is built, as without this module.

The worker's first task, while the run's first EM fits compile EM's kernels, is to compile
ahead what the run's Bayesian fits will need (:func:`experiments.run.tasks.compile_ahead`:
the posterior kernels, ADVI's optimisation step) into the on-disk compile caches, from
which the run's fits then load them. What a fit computes does not depend on who compiled
its code (``bayes.compiled``). On empty caches ``calibration --quick`` took 38.1 s
instead of 49.1 s without compiling ahead (means of two runs of each, interleaved); warm,
23.3 s against 24.9 s (three of each: no cost measurable above the machine's noise).
"""

from __future__ import annotations

import warnings
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from emgmm.fast.threads import available_cores
from experiments.report.flags import ess_threshold
from experiments.report.load import load_replicate
from experiments.report.render import KeptFigures, headless
from experiments.report.sections import replicate_section
from experiments.run.executors import ignore_interrupts, process_context
from experiments.run.rundir import ReplicateFiles
from experiments.run.tasks import compile_ahead, enabled_methods


def draw_detailed_section(files: ReplicateFiles, min_ess: float) -> tuple[str, dict]:
    """(HTML, PNGs by figure name) of the detailed section of the replicate in ``files``."""
    headless()
    warnings.simplefilter("ignore")  # as in the report: ArviZ/xarray chatter
    writer = KeptFigures(files.path)
    return replicate_section(load_replicate(files), writer, True, min_ess), writer.pngs


class EarlySections:
    """The worker process drawing detailed sections during a run (module docstring).

    Use as a context manager around the run and the report; pass :meth:`replicate_finished`
    to the runner (``on_replicate_done``) and the object to ``build_report(early=...)``.
    """

    def __init__(self, max_detailed_cells: int, min_ess: float, config=None):
        self.max_detailed_cells = max_detailed_cells
        self.min_ess = min_ess
        self.config = config  # its models are compiled ahead first (module docstring)
        self.cells: list[str] = []  # cells whose first finished replicate was handed over
        self.futures: dict[tuple[str, int], Future] = {}
        self.pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> EarlySections:
        # the parent stops the worker; its first task needs none of the report's imports
        self.pool = ProcessPoolExecutor(max_workers=1, mp_context=process_context(),
                                        initializer=ignore_interrupts)
        # start the worker now, not at the first section; it compiles ahead in the meantime
        first = (compile_ahead, self.config) if self.config is not None else (int,)
        self.pool.submit(*first)
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is not None:  # interrupted or failed: stop the section being drawn
            for process in list((getattr(self.pool, "_processes", None) or {}).values()):
                process.terminate()
        self.pool.shutdown(wait=exc_type is None, cancel_futures=True)

    def replicate_finished(self, task) -> None:
        """Hand the finished replicate ``task`` to the worker if the report draws it in
        detail."""
        if task.cell_id in self.cells or len(self.cells) >= self.max_detailed_cells:
            return
        self.cells.append(task.cell_id)
        try:
            self.futures[(task.cell_id, task.replicate)] = self.pool.submit(
                draw_detailed_section, task.files, self.min_ess)
        except (BrokenProcessPool, RuntimeError):
            pass  # the worker is gone: the report draws the section itself

    def section(self, cell_id: str, replicate: int) -> tuple[str, dict] | None:
        """The section drawn for (cell, replicate), or None (not handed over, or failed)."""
        future = self.futures.get((cell_id, replicate))
        if future is None:
            return None
        try:
            return future.result()
        except Exception:  # noqa: BLE001 - a dead worker or a failed section: drawn again
            return None


def early_sections(config, executor: str) -> EarlySections | None:
    """An :class:`EarlySections` for a serial run of ``config`` when another core is free
    and there is work for it: detailed cells of the report to draw, or methods that compile
    ahead (:attr:`experiments.measure.base.Method.compile_ahead`); else None."""
    report = config.report
    sections = report.max_detailed_cells if report.enabled else 0
    compiles = any(method.compile_ahead is not None for method, _ in enabled_methods(config))
    if executor != "serial" or available_cores() < 2 or not (sections or compiles):
        return None
    return EarlySections(sections, ess_threshold(config), config)
