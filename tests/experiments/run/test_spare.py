"""The spare core's worker, started before the CLI loads (experiments.run.spare)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from emgmm.fast import threads
from experiments.run.spare import SpareCore, may_run_serially, spare_core


def test_the_launcher_guesses_which_commands_may_run_serially(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert may_run_serially(["run"]) and may_run_serially(["run", "calibration", "--quick"])
    assert may_run_serially(["run", "--executor", "serial"])
    assert not may_run_serially(["run", "--executor", "process"])
    assert not may_run_serially(["run", "x.toml", "--executor=dask"])
    assert not may_run_serially(["report", "runs/x"]) and not may_run_serially([])
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert not may_run_serially(["run"])


def test_the_cli_keeps_the_spare_core_only_for_runs_that_may_be_serial_on_two_cores(
        monkeypatch):
    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    assert isinstance(spare_core(None), SpareCore)  # --executor not given
    assert isinstance(spare_core("serial"), SpareCore)
    assert spare_core("process") is None and spare_core("dask") is None
    started = SpareCore()
    assert spare_core("serial", started) is started
    stopped = []
    started.stop = lambda: stopped.append(True)
    assert spare_core("process", started) is None and stopped == [True]
    monkeypatch.setattr(threads, "available_cores", lambda: 1)
    assert spare_core("serial") is None
    assert SpareCore().pool is None  # no process before the run enters it


def test_the_worker_runs_tasks_once_started_and_leaving_terminates_it():
    core = SpareCore()
    with core:
        pool = core.pool
        with core:  # the launcher's worker, entered again by the CLI: the same process
            assert core.pool is pool
        assert core.submit(int, "7") is None  # the inner exit stopped it
    with SpareCore() as core:
        assert core.submit(int, "7").result(timeout=120) == 7
        processes = list(core.pool._processes.values())
        assert len(processes) == 1
    assert not processes[0].is_alive()
    assert core.submit(int, "7") is None  # the worker is gone


def test_an_exception_in_the_run_terminates_the_worker_at_once():
    with pytest.raises(ValueError), SpareCore() as core:
        processes = list(core.pool._processes.values())
        raise ValueError("bad input")
    assert not any(process.is_alive() for process in processes)


def test_bad_input_through_the_launcher_is_one_line_with_exit_status_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[experiment]\nname = 'x'\nseed = -1\n")
    result = subprocess.run([sys.executable, "-m", "experiments", "run", str(bad), "--out",
                             str(tmp_path / "out")], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()
