"""SIGINT and SIGTERM stop a run promptly: workers gone, finished replicates kept, rerun resumes.

Each case runs ``gmm-compare run`` in a subprocess on a tiny EM-only config, sends the
signal once the first replicate's metrics.json exists, and checks the exit status (130 for
SIGINT, 143 for SIGTERM), the one-line message, that no worker process is left, that the
finished replicates are not recomputed by the rerun and that the rerun's results.csv equals
an uninterrupted run's (timing columns aside).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pandas as pd
import psutil
import pytest

OVERLAPS = tuple(round(0.005 * (i + 1), 3) for i in range(8))
PROMPT_S = 30.0


@pytest.fixture(scope="module")
def interrupt_config(tmp_path_factory):
    from tests.experiments.conftest import write_config

    directory = tmp_path_factory.mktemp("interrupt")
    return write_config(directory, name="stopme", replicates=1, n_samples=4000,
                        overlaps=OVERLAPS, n_init=4)


@pytest.fixture(scope="module")
def uninterrupted(interrupt_config, tmp_path_factory):
    from tests.experiments.conftest import cli_command, results_without_timing

    out = tmp_path_factory.mktemp("fresh") / "run"
    subprocess.run(cli_command("run", str(interrupt_config), "--out", str(out)), check=True,
                   capture_output=True, timeout=600, env={**os.environ, "MPLBACKEND": "Agg"})
    return results_without_timing(out)


def descendants(pid: int) -> set[int]:
    try:
        return {child.pid for child in psutil.Process(pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


def alive(pids: set[int]) -> set[int]:
    living = set()
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                living.add(pid)
        except psutil.NoSuchProcess:
            pass
    return living


# (signal, executor, to the whole process group as a terminal's Ctrl-C does)
CASES = [(signal.SIGINT, "serial", False), (signal.SIGTERM, "serial", False),
         (signal.SIGINT, "process", False), (signal.SIGTERM, "process", False),
         (signal.SIGINT, "process", True), (signal.SIGTERM, "dask", False),
         (signal.SIGINT, "dask", True)]


@pytest.mark.parametrize(("signum", "executor", "group"), CASES,
                         ids=[f"{s.name}-{e}{'-group' if g else ''}" for s, e, g in CASES])
def test_signal_stops_workers_keeps_replicates_and_rerun_resumes(
        tmp_path, interrupt_config, uninterrupted, cli, strip_timing, signum, executor, group):
    out = tmp_path / "run"
    env = {**os.environ, "MPLBACKEND": "Agg"}
    argv = ["run", str(interrupt_config), "--out", str(out), "--executor", executor]
    if executor != "serial":
        argv += ["--workers", "2"]
    process = subprocess.Popen(cli(*argv), env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    workers: set[int] = set()
    deadline = time.monotonic() + 300
    while not list(out.glob("cells/*/rep-*/metrics.json")):
        workers |= descendants(process.pid)
        assert process.poll() is None, "the run ended before writing any metrics.json"
        assert time.monotonic() < deadline, "no metrics.json after 300 s"
        time.sleep(0.02)
    workers |= descendants(process.pid)
    if group:
        os.killpg(process.pid, signum)  # the run's own session: this test process is spared
    else:
        process.send_signal(signum)
    sent = time.monotonic()
    _, stderr = process.communicate(timeout=PROMPT_S + 30)
    assert time.monotonic() - sent < PROMPT_S, "the run did not stop promptly"

    assert process.returncode == 128 + signum, stderr
    lines = stderr.strip().splitlines()
    message = (f"gmm-compare: interrupted by {signum.name}; finished replicates are kept, "
               "rerun the same command to resume")
    if executor == "dask" and group:
        # the LocalCluster's worker processes get the Ctrl-C too and print their own
        # tracebacks (README "Interruption"); the run's own report is still its last line
        assert lines[-1] == message, stderr
    else:
        assert lines == [message], stderr
    if executor != "serial":
        assert workers, "no worker process was seen"
    give_up = time.monotonic() + 15
    while alive(workers) and time.monotonic() < give_up:
        time.sleep(0.1)
    assert not alive(workers), f"worker processes left: {alive(workers)}"

    finished = {p: p.stat().st_mtime_ns for p in out.glob("cells/*/rep-*/metrics.json")}
    assert 0 < len(finished) < len(OVERLAPS), "the signal came too late to test resuming"
    rerun = subprocess.run(cli("run", str(interrupt_config), "--out", str(out)), env=env,
                           check=False, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert f"skipping {len(finished)} finished replicate(s) of {len(OVERLAPS)}" in rerun.stdout
    for path, mtime in finished.items():
        assert path.stat().st_mtime_ns == mtime, f"{path} was recomputed"
    assert not list(out.rglob(".*.tmp*")), "temporary files left behind"
    pd.testing.assert_frame_equal(strip_timing(out), uninterrupted)


def test_interrupted_task_loses_its_record(tmp_path, tiny_config):
    """A task that returns after the signal (PyMC swallows KeyboardInterrupt and returns a
    short trace) is not recorded as finished."""
    from experiments.config import load_config
    from experiments.run import executors, runner
    from experiments.run.tasks import build_tasks

    task = build_tasks(load_config(tiny_config), tmp_path / "run")[0]
    with executors.stop_on_signals():
        executors._received.append(signal.SIGTERM)  # as if it arrived during the task
        with pytest.raises(executors.Interrupted) as raised:
            runner.run_task(task)
    assert raised.value.exit_status == 143
    assert not task.files.metrics.exists()
    assert not executors.interrupted()  # cleared when the block ends
