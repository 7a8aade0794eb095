"""The runner end to end on tiny EM-only configs: layout, executors, failures, resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from experiments.config import load_config
from experiments.measure.em import EM
from experiments.measure.methods import METHODS
from experiments.run.runner import run_experiment

EM_FIT_KEYS = {
    "responsibilities", "map_labels", "log_likelihood_history", "snapshot_iterations",
    "snapshot_weights", "snapshot_means", "snapshot_covariances",
}


def quiet() -> Console:
    return Console(quiet=True)


def run(config_path, out, **kwargs):
    return run_experiment(load_config(config_path), out, console=quiet(), **kwargs)


def test_serial_run_writes_the_documented_layout(tiny_config, tmp_path):
    out = tmp_path / "run"
    outcome = run(tiny_config, out)
    assert (outcome.n_tasks, outcome.n_skipped, outcome.n_failed) == (4, 0, 0)
    assert load_config(out / "config.toml") == load_config(tiny_config)  # resolved, same
    versions = json.loads((out / "versions.json").read_text())
    assert versions["packages"]["numpy"] == np.__version__

    results = pd.read_csv(out / "results.csv")
    assert len(results) == 2 * 2  # cells x replicates x one method (MCMC disabled)
    assert set(results["method"]) == {"em"}
    assert list(results.columns[:4]) == ["cell_id", "replicate", "method", "overlap"]
    assert results["error"].isna().all()
    for column in ("log_likelihood", "means_error", "ari", "accuracy", "runtime_s", "n_iter"):
        assert results[column].notna().all(), column
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary["n_replicates"]) == [2, 2]
    first = results[results["cell_id"] == summary["cell_id"][0]]
    assert summary["ari_mean"][0] == pytest.approx(first["ari"].mean())
    assert summary["ari_std"][0] == pytest.approx(first["ari"].std(ddof=1))

    for cell_id in results["cell_id"].unique():
        for replicate in (0, 1):
            rep = out / "cells" / cell_id / f"rep-{replicate}"
            assert {p.name for p in rep.iterdir()} == {
                "data.npz", "em_fit.npz", "em_model.npz", "metrics.json"}
            check_replicate_artifacts(rep)


def check_replicate_artifacts(rep):
    """Aligned artifacts: EM components sit next to the true ones, in the same order."""
    from emgmm.io import load_model

    data = np.load(rep / "data.npz")
    assert set(data.files) == {"X", "labels", "weights", "means", "covariances"}
    fit = np.load(rep / "em_fit.npz")
    assert set(fit.files) == EM_FIT_KEYS
    n, k = fit["responsibilities"].shape
    assert (n, k) == (len(data["X"]), len(data["weights"]))
    np.testing.assert_allclose(fit["responsibilities"].sum(axis=1), 1.0)
    np.testing.assert_array_equal(fit["map_labels"], fit["responsibilities"].argmax(axis=1))
    iterations = fit["snapshot_iterations"]
    assert iterations[0] == 0 and np.all(np.diff(iterations) > 0)
    assert fit["snapshot_covariances"].shape == (len(iterations), k, 2, 2)
    model = load_model(rep / "em_model.npz")
    np.testing.assert_allclose(model.means_, fit["snapshot_means"][-1])
    # Alignment: each estimated mean is nearest to the true mean of the same index.
    distances = np.linalg.norm(model.means_[:, None] - data["means"][None], axis=-1)
    np.testing.assert_array_equal(distances.argmin(axis=1), np.arange(k))
    metrics = json.loads((rep / "metrics.json").read_text())
    assert sorted(metrics["permutations"]["em"]) == list(range(k))
    assert metrics["error"] is None and len(metrics["rows"]) == 1


def test_same_seed_same_numbers(tiny_config, tmp_path, strip_timing):
    run(tiny_config, tmp_path / "a")
    run(tiny_config, tmp_path / "b")
    pd.testing.assert_frame_equal(strip_timing(tmp_path / "a"), strip_timing(tmp_path / "b"))


def test_executors_give_identical_results(tiny_config, tmp_path, strip_timing):
    run(tiny_config, tmp_path / "serial", executor="serial")
    run(tiny_config, tmp_path / "process", executor="process", workers=2)
    run(tiny_config, tmp_path / "dask", executor="dask", workers=2)
    serial = strip_timing(tmp_path / "serial")
    pd.testing.assert_frame_equal(serial, strip_timing(tmp_path / "process"))
    pd.testing.assert_frame_equal(serial, strip_timing(tmp_path / "dask"))
    timings = pd.read_csv(tmp_path / "dask" / "results.csv")["runtime_s"]
    assert (timings > 0).all()


def test_dask_executor_runs_on_a_running_scheduler(tiny_config, tmp_path, strip_timing):
    from distributed import LocalCluster

    run(tiny_config, tmp_path / "serial", executor="serial")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        outcome = run(tiny_config, tmp_path / "remote", executor="dask",
                      scheduler=cluster.scheduler_address)
        # The run closes its own client only: the cluster is still there for others.
        assert len(cluster.scheduler_info["workers"]) == 2
    assert (outcome.n_tasks, outcome.n_failed) == (4, 0)
    pd.testing.assert_frame_equal(strip_timing(tmp_path / "serial"), strip_timing(tmp_path / "remote"))


def test_failing_replicate_is_recorded_and_retried(tiny_config, tmp_path):
    def fail_in_second_cell(inputs, options):
        if inputs.files.cell_id.startswith("c01") and inputs.files.replicate == 0:
            raise np.linalg.LinAlgError("singular matrix\nsecond line is not reported")
        return EM.run(inputs, options)

    failing = {**METHODS, "em": replace(EM, run=fail_in_second_cell)}
    out = tmp_path / "run"
    outcome = run(tiny_config, out, methods=failing)
    assert outcome.n_failed == 1
    results = pd.read_csv(out / "results.csv")
    failed = results[results["error"].notna()]
    assert len(failed) == 1 and failed["error"].iloc[0] == "LinAlgError: singular matrix"
    assert results["ari"].notna().sum() == 3  # the sweep went on

    again = run(tiny_config, out)
    assert (again.n_skipped, again.n_failed) == (3, 0)
    assert pd.read_csv(out / "results.csv")["error"].isna().all()


def test_resume_removes_temporaries_of_the_replicates_it_reruns(tiny_config, tmp_path):
    out = tmp_path / "run"
    run(tiny_config, out)
    finished = sorted((out / "cells").glob("*/rep-*"))
    rerun = finished[0]
    (rerun / "metrics.json").unlink()  # as if killed before its metrics.json
    leftover = rerun / ".mcmc.k3j9x.tmp.nc"
    leftover.write_bytes(b"half written")
    kept = finished[1] / ".em_fit.abc.tmp.npz"  # a finished replicate is not touched
    kept.write_bytes(b"x")
    outcome = run(tiny_config, out)
    assert outcome.n_skipped == len(finished) - 1
    assert not leftover.exists() and kept.exists()
    assert (rerun / "metrics.json").is_file()


def test_crashed_task_gets_a_failure_record(tiny_config, tmp_path):
    def crash(task):
        raise RuntimeError("worker died")

    outcome = run(tiny_config, tmp_path / "run", task_runner=crash)
    assert outcome.n_failed == 4
    results = pd.read_csv(tmp_path / "run" / "results.csv")
    assert (results["error"] == "RuntimeError: worker died").all()


def test_resume_after_the_process_is_killed(tmp_path, make_config, cli, strip_timing):
    overlaps = tuple(round(0.005 * (i + 1), 3) for i in range(8))
    config = make_config(tmp_path, name="killme", replicates=1, n_samples=4000,
                         overlaps=overlaps, n_init=4)
    out = tmp_path / "run"
    env = {**os.environ, "MPLBACKEND": "Agg"}
    process = subprocess.Popen(cli("run", str(config), "--out", str(out)), env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(out.glob("cells/*/rep-*/metrics.json")):
        assert process.poll() is None, "the run ended before writing any metrics.json"
        assert time.monotonic() < deadline, "no metrics.json after 120 s"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()

    finished = {p: p.stat().st_mtime_ns for p in out.glob("cells/*/rep-*/metrics.json")}
    assert 0 < len(finished) < len(overlaps), "kill came too late to test resuming"
    assert not (out / "results.csv").exists()

    rerun = subprocess.run(cli("run", str(config), "--out", str(out)), env=env,
                           capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"skipping {len(finished)} finished replicate(s) of {len(overlaps)}" in rerun.stdout
    for path, mtime in finished.items():
        assert path.stat().st_mtime_ns == mtime, f"{path} was recomputed"
    results = pd.read_csv(out / "results.csv")
    assert len(results) == len(overlaps) and results["error"].isna().all()
    assert not list(out.rglob(".*.tmp*")), "temporary files left behind"

    fresh = tmp_path / "fresh"
    subprocess.run(cli("run", str(config), "--out", str(fresh)), env=env, check=True,
                   capture_output=True, timeout=300)
    pd.testing.assert_frame_equal(strip_timing(out), strip_timing(fresh))


QUICKSTART_SHAPED = """\
[experiment]
name = "mcmc-e2e"
seed = 5
replicates = 1

[data]
n_samples = 300
n_features = 2
n_components = 3
covariance_shape = "full"
overlap = 0.005

[em]
covariance_type = "full"
n_init = 3

[mcmc]
sampler = "pymc"
draws = 150
tune = 150
chains = 2
init = "em"

[report]
enabled = false
"""


@pytest.mark.slow
def test_mcmc_end_to_end_aligned_artifacts_and_metrics(tmp_path):
    """The quickstart's model shape (2-D, K=3, full), so the PyTensor cache is shared."""
    import arviz as az

    from experiments.run.rundir import TIMING_COLUMNS

    config = tmp_path / "mcmc.toml"
    config.write_text(QUICKSTART_SHAPED)
    out = tmp_path / "run"
    outcome = run(config, out)
    assert outcome.n_failed == 0
    results = pd.read_csv(out / "results.csv").set_index("method")
    assert list(results.index) == ["em", "mcmc"]
    mcmc = results.loc["mcmc"]
    mcmc_columns = ["max_rhat", "min_ess_bulk", "min_ess_tail", "divergences", "coverage",
                    "em_in_interval", "em_distance_sd_mean", "em_mcmc_ari",
                    "responsibility_mad", *TIMING_COLUMNS]
    assert mcmc[mcmc_columns].notna().all()
    not_em = [column for column in mcmc_columns if column not in ("runtime_s", "compile_s")]
    assert results.loc["em", not_em].isna().all()  # not EM's metrics
    assert mcmc["max_rhat"] < 1.1 and mcmc["em_mcmc_ari"] > 0.9
    assert 0.0 <= mcmc["coverage"] <= 1.0 and mcmc["responsibility_mad"] < 0.05

    rep = out / "cells" / "c00" / "rep-0"
    datatree = az.from_netcdf(rep / "mcmc.nc")
    data = np.load(rep / "data.npz")
    posterior_means = datatree["posterior"]["means"].mean(("chain", "draw")).values
    distances = np.linalg.norm(posterior_means[:, None] - data["means"][None], axis=-1)
    np.testing.assert_array_equal(distances.argmin(axis=1), np.arange(3))  # aligned to truth
    latent = datatree["latent"]
    np.testing.assert_array_equal(latent["membership"].values.argmax(axis=1),
                                  latent["map_label"].values)
    em_fit = np.load(rep / "em_fit.npz")
    agreement = np.mean(em_fit["map_labels"] == latent["map_label"].values)
    assert agreement == pytest.approx(mcmc["em_mcmc_accuracy"])
    metrics = json.loads((rep / "metrics.json").read_text())
    assert sorted(metrics["permutations"]["mcmc"]) == [0, 1, 2]
    # the em group: EM's estimate with the posterior's names and dims, in its order
    em = datatree["em"].to_dataset()
    for name in ("weights", "means", "covariances"):
        posterior_dims = tuple(d for d in datatree["posterior"][name].dims
                               if d not in ("chain", "draw"))
        assert em[name].dims == posterior_dims
    from emgmm.io import load_model

    model = load_model(rep / "em_model.npz")
    order = np.linalg.norm(em["means"].values[:, None] - model.means_[None], axis=-1).argmin(1)
    np.testing.assert_allclose(em["means"].values, model.means_[order], rtol=1e-12)
    np.testing.assert_allclose(em["weights"].values, model.weights_[order], rtol=1e-12)
    assert np.max(np.abs(em["means"].values - posterior_means)) < 0.3


def test_each_finished_replicate_is_handed_to_on_replicate_done(tiny_config, tmp_path):
    handed = []
    run(tiny_config, tmp_path / "run", on_replicate_done=handed.append)
    assert len(handed) == 4
    assert len({(task.cell_id, task.replicate) for task in handed}) == 4
    assert all(task.files.metrics.is_file() for task in handed)  # its record is saved

    def crash(task):
        raise RuntimeError("worker died")

    failed = []
    run(tiny_config, tmp_path / "crashed", task_runner=crash, on_replicate_done=failed.append)
    assert failed == []


def test_a_serial_run_warms_up_its_pending_tasks_first_and_other_executors_do_not(
        tiny_config, tmp_path, monkeypatch):
    from experiments.run import runner

    events = []
    monkeypatch.setattr(runner, "warm_up", lambda tasks: events.append(
        ("warm_up", [(t.cell_id, t.replicate) for t in tasks])))
    original = runner._execute
    monkeypatch.setattr(runner, "_execute", lambda tasks, *args: (
        events.append(("execute", len(tasks))), original(tasks, *args)))
    run(tiny_config, tmp_path / "run")
    assert events[0][0] == "warm_up" and len(events[0][1]) == 4
    assert events[1] == ("execute", 4)
    events.clear()
    monkeypatch.setattr(runner, "_execute", lambda tasks, *args: events.append("execute"))
    run(tiny_config, tmp_path / "process", executor="process")
    assert events == ["execute"]
