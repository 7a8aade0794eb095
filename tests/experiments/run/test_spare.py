"""The spare core's worker, started before the config is read (experiments.run.spare)."""

from __future__ import annotations

import pytest

from experiments.run import spare
from experiments.run.spare import SpareCore, spare_core


def test_a_spare_core_only_for_runs_that_may_be_serial_on_a_machine_with_two_cores(
        monkeypatch):
    monkeypatch.setattr(spare, "available_cores", lambda: 2)
    assert isinstance(spare_core(None), SpareCore)  # --executor not given
    assert isinstance(spare_core("serial"), SpareCore)
    assert spare_core("process") is None and spare_core("dask") is None
    monkeypatch.setattr(spare, "available_cores", lambda: 1)
    assert spare_core("serial") is None
    assert SpareCore().pool is None  # no process before the run enters it


def test_the_worker_runs_tasks_and_leaving_terminates_it():
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
