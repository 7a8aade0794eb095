"""Detailed sections drawn while the run goes on (experiments.report.early)."""

from __future__ import annotations

import shutil
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from experiments.config import load_config
from experiments.report import build_report, early
from experiments.report.early import EarlySections, early_sections
from experiments.report.flags import ess_threshold
from experiments.report.load import load_run
from experiments.run.rundir import ReplicateFiles
from tests.experiments.report import fixtures as report_fixtures


def finished_tasks(run_dir) -> list:
    """The run's replicates as the runner hands finished tasks over."""
    return [SimpleNamespace(cell_id=rep.cell_id, replicate=rep.replicate,
                            files=ReplicateFiles(rep.path)) for rep in load_run(run_dir).replicates]


class RecordingPool:
    """Stands in for the worker pool: records what is handed over, draws nothing."""

    def __init__(self):
        self.submitted = []

    def submit(self, function, files, min_ess):
        self.submitted.append((files.cell_id, files.replicate))
        return Future()


@pytest.mark.slow
def test_sections_drawn_during_the_run_give_the_same_page(mcmc_run, tmp_path):
    # three cells, two with MCMC; every detailed section is drawn by the early worker
    run_dir = report_fixtures.replicate_cells(shutil.copytree(mcmc_run, tmp_path / "run"), 1)
    build_report(run_dir, processes=1)
    sequential = report_fixtures.report_files(run_dir)
    config = load_run(run_dir).config
    with EarlySections(config.report.max_detailed_cells, ess_threshold(config)) as drawing:
        for task in finished_tasks(run_dir):
            drawing.replicate_finished(task)
        assert len(drawing.futures) == 3
        build_report(run_dir, processes=2, early=drawing)
        assert all(drawing.section(*key) is not None for key in drawing.futures)
    assert report_fixtures.report_files(run_dir) == sequential
    assert len(sequential[1]) >= 20


def test_only_the_first_finished_replicate_of_the_first_cells_is_handed_over():
    drawing = EarlySections(2, 400.0)
    drawing.pool = RecordingPool()
    for cell_id, replicate in [("a", 1), ("a", 0), ("b", 0), ("c", 0), ("b", 1)]:
        files = ReplicateFiles(Path("cells") / cell_id / f"rep-{replicate}")
        drawing.replicate_finished(SimpleNamespace(cell_id=cell_id, replicate=replicate,
                                                   files=files))
    assert drawing.pool.submitted == [("a", 1), ("b", 0)]
    assert set(drawing.futures) == {("a", 1), ("b", 0)}


def test_a_failed_early_section_is_drawn_by_the_report(em_only_run, tmp_path):
    run_dir = shutil.copytree(em_only_run, tmp_path / "run")
    build_report(run_dir, processes=1)
    sequential = report_fixtures.report_files(run_dir)
    drawing = EarlySections(6, 400.0)
    dead, failed = Future(), Future()
    dead.set_exception(BrokenProcessPool("the worker died"))
    failed.set_exception(ValueError("a section failed"))
    first, second = load_run(run_dir).replicates[:2]
    drawing.futures = {(first.cell_id, first.replicate): dead,
                       (second.cell_id, second.replicate): failed}
    assert drawing.section(first.cell_id, first.replicate) is None
    build_report(run_dir, processes=1, early=drawing)
    assert report_fixtures.report_files(run_dir) == sequential


def test_early_sections_only_for_serial_runs_with_a_spare_core_and_work_for_it(
        tiny_config, monkeypatch):
    tiny = load_config(tiny_config)  # EM only, report disabled: nothing to do early
    config = replace(tiny, report=replace(tiny.report, enabled=True))
    monkeypatch.setattr(early, "available_cores", lambda: 2)
    assert early_sections(tiny, "serial") is None
    chosen = early_sections(config, "serial")
    assert isinstance(chosen, EarlySections)
    assert chosen.max_detailed_cells == config.report.max_detailed_cells
    assert chosen.min_ess == ess_threshold(config)
    assert chosen.pool is None  # no process until the run starts
    assert chosen.config is config  # whose models the worker compiles ahead first
    assert early_sections(config, "process") is None
    assert early_sections(config, "dask") is None
    assert early_sections(replace(config, report=replace(config.report,
                                                         max_detailed_cells=0)),
                          "serial") is None
    # no report, but MCMC to compile ahead: the worker only compiles
    bayesian = replace(tiny, mcmc=replace(tiny.mcmc, enabled=True))
    assert early_sections(bayesian, "serial").max_detailed_cells == 0
    monkeypatch.setattr(early, "available_cores", lambda: 1)
    assert early_sections(config, "serial") is None


def test_the_runs_spare_worker_compiles_ahead_and_is_left_to_the_run(tiny_config,
                                                                       monkeypatch):
    config = load_config(tiny_config)
    monkeypatch.setattr(early, "available_cores", lambda: 2)

    class SharedPool(RecordingPool):
        def submit(self, function, *args):
            self.submitted.append(function.__name__)
            return Future()

        def stop(self):
            raise AssertionError("the run stops its own spare worker")

    pool = SharedPool()
    chosen = early_sections(replace(config, report=replace(config.report, enabled=True)),
                            "serial", pool)
    with chosen as drawing:
        assert drawing.pool is pool
    assert pool.submitted == ["compile_ahead"]
    assert drawing.owned is None
