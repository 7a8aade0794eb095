"""The spare core of a serial run: Bayesian models compiled ahead, then the report's
detailed replicate sections drawn while the run goes on.

A serial run keeps one core busy. When another core is free and there is work for it
(:func:`early_sections`), the worker process ``gmm-compare run`` started before reading
the config (:mod:`experiments.run.spare`) serves the run (:class:`EarlySections`). Each
replicate the report will draw in detail (the first finished replicate of each of the
first ``report.max_detailed_cells`` cells, as
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
from concurrent.futures import Future

from emgmm.fast.threads import available_cores
from experiments.report.flags import ess_threshold
from experiments.report.load import load_replicate
from experiments.report.render import KeptFigures, headless
from experiments.report.sections import replicate_section
from experiments.run.rundir import ReplicateFiles
from experiments.run.spare import SpareCore
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
    ``pool`` is the run's :class:`~experiments.run.spare.SpareCore`, started before the
    config was read; without one, entering the context starts one and leaving it stops it.
    """

    def __init__(self, max_detailed_cells: int, min_ess: float, config=None,
                 pool: SpareCore | None = None):
        self.max_detailed_cells = max_detailed_cells
        self.min_ess = min_ess
        self.config = config  # its models are compiled ahead first (module docstring)
        self.cells: list[str] = []  # cells whose first finished replicate was handed over
        self.futures: dict[tuple[str, int], Future] = {}
        self.pool = pool  # the run's spare worker; without one, entering starts its own
        self.owned: SpareCore | None = None

    def __enter__(self) -> EarlySections:
        if self.pool is None:
            self.pool = self.owned = SpareCore().__enter__()
        if self.config is not None:  # first, while the run's first EM fits compile EM's kernels
            self.pool.submit(compile_ahead, self.config)
        return self

    def __exit__(self, *exc) -> None:
        if self.owned is not None:
            self.owned.__exit__(*exc)

    def replicate_finished(self, task) -> None:
        """Hand the finished replicate ``task`` to the worker if the report draws it in
        detail."""
        if task.cell_id in self.cells or len(self.cells) >= self.max_detailed_cells:
            return
        self.cells.append(task.cell_id)
        future = self.pool.submit(draw_detailed_section, task.files, self.min_ess)
        if future is not None:  # else the worker is gone: the report draws the section
            self.futures[(task.cell_id, task.replicate)] = future

    def section(self, cell_id: str, replicate: int) -> tuple[str, dict] | None:
        """The section drawn for (cell, replicate), or None (not handed over, or failed)."""
        future = self.futures.get((cell_id, replicate))
        if future is None:
            return None
        try:
            return future.result()
        except Exception:  # noqa: BLE001 - a dead worker or a failed section: drawn again
            return None


def early_sections(config, executor: str, spare: SpareCore | None = None) -> EarlySections | None:
    """An :class:`EarlySections` for a serial run of ``config`` when another core is free
    and there is work for it: detailed cells of the report to draw, or methods that compile
    ahead (:attr:`experiments.measure.base.Method.compile_ahead`); else None. It uses the
    run's ``spare`` worker when given (:mod:`experiments.run.spare`)."""
    report = config.report
    sections = report.max_detailed_cells if report.enabled else 0
    compiles = any(method.compile_ahead is not None for method, _ in enabled_methods(config))
    if executor != "serial" or available_cores() < 2 or not (sections or compiles):
        return None
    return EarlySections(sections, ess_threshold(config), config, spare)
