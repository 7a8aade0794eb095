"""The gmm-compare command: bad input (exit 2, one stderr line, nothing written) and commands."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from emgmm.fast.threads import available_cores
from experiments.cli import main
from experiments.config import bundled_configs

GOOD = """\
[experiment]
name = "cli"
seed = 3

[data]
n_samples = 80
n_features = 2
n_components = 2
overlap = 0.02

[mcmc]
enabled = false

[report]
enabled = false
"""

# (case, config text, words the one-line message must contain)
BAD_CONFIGS = [
    ("malformed TOML", "[data\nn_samples = 3", ["invalid TOML"]),
    ("unknown key", GOOD.replace("seed = 3", "seed = 3\nseeed = 4"), ["seeed", "unknown key"]),
    ("unknown section", GOOD + "\n[plots]\nx = 1\n", ["plots"]),
    ("wrong type", GOOD.replace("n_samples = 80", 'n_samples = "80"'), ["data.n_samples"]),
    ("K < 1", GOOD.replace("n_components = 2", "n_components = 0"), ["data.n_components"]),
    ("N < K", GOOD.replace("n_samples = 80", "n_samples = 1"), ["n_samples"]),
    ("negative overlap", GOOD.replace("overlap = 0.02", "overlap = -0.1"), ["data.overlap"]),
    ("unreachable overlap", GOOD.replace("overlap = 0.02", "overlap = 0.99"), ["overlap"]),
    ("draws < 1", GOOD.replace("enabled = false\n\n[report]", "draws = 0\n\n[report]", 1),
     ["mcmc.draws"]),
    ("unknown sampler", GOOD.replace("[mcmc]\n", '[mcmc]\nsampler = "gibbs"\n'),
     ["mcmc.sampler", "pymc"]),
    ("nested too deeply", "x = " + "[" * 50000 + "]" * 50000 + "\n", ["nested too deeply"]),
    ("1 MB name", GOOD.replace('name = "cli"', 'name = "' + "n" * 1_000_000 + '"'),
     ["experiment.name", "..."]),
    ("escape in a name", GOOD.replace('name = "cli"', 'name = "\\u001b[31mred\\u202e"'),
     ["experiment.name", "\\u001b[31mred\\u202e"]),
    ("escape in a key", GOOD.replace("seed = 3", 'seed = 3\n"bad\\u001b[2Jkey" = 1'),
     ["\\u001b[2Jkey"]),
]


def assert_bad_input(capsys, argv, must_contain=()):
    status = main(argv)
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert status == 2, captured
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    for word in must_contain:
        assert word in lines[0], (word, lines[0])
    assert len(lines[0]) < 400 and "\x1b" not in lines[0] and "\u202e" not in lines[0]
    return lines[0]


@pytest.mark.parametrize(("case", "text", "words"), BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
@pytest.mark.parametrize("command", ["run", "validate"])
def test_bad_config_exit_2_one_line_nothing_written(tmp_path, capsys, case, text, words, command):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    out = tmp_path / "out"
    argv = [command, str(config)] + (["--out", str(out)] if command == "run" else [])
    assert_bad_input(capsys, argv, words)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


def test_missing_config_file(tmp_path, capsys):
    line = assert_bad_input(capsys, ["run", str(tmp_path / "nope.toml"), "--out",
                                     str(tmp_path / "out")], ["nope.toml"])
    assert "bundled" in line
    assert not (tmp_path / "out").exists()


def test_unwritable_output_directory(tmp_path, capsys):
    config = tmp_path / "good.toml"
    config.write_text(GOOD)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert_bad_input(capsys, ["run", str(config), "--out", str(blocker / "run")], ["a-file"])
    assert_bad_input(capsys, ["run", str(config), "--out", str(blocker)], ["not a directory"])
    assert blocker.read_text() == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "good.toml"]


def test_output_directory_where_nothing_can_be_created(tmp_path, capsys):
    """A directory the process may not create in, even as root (a read-only mount, /proc)."""
    config = tmp_path / "good.toml"
    config.write_text(GOOD)
    target = Path("/proc") / "gmm-compare-run" if Path("/proc").is_dir() else None
    readonly = tmp_path / "readonly"
    readonly.mkdir()
    readonly.chmod(0o500)
    try:
        for out in filter(None, (target, readonly / "run")):
            if out.parent == readonly and os.geteuid() == 0:
                continue  # root ignores permission bits; /proc covers root
            assert_bad_input(capsys, ["run", str(config), "--out", str(out)], ["not writable"])
            assert not out.exists()
    finally:
        readonly.chmod(0o700)


def test_output_directory_of_another_config_is_refused(tmp_path, capsys):
    config = tmp_path / "good.toml"
    config.write_text(GOOD)
    out = tmp_path / "out"
    assert main(["run", str(config), "--out", str(out)]) == 0
    capsys.readouterr()
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    config.write_text(GOOD.replace("seed = 3", "seed = 4"))
    assert_bad_input(capsys, ["run", str(config), "--out", str(out)], ["different config"])
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["run", "--workers", "0", "--executor", "process"], ["--workers"]),
        (["run", "--scheduler", "tcp://127.0.0.1:8786"], ["--scheduler", "dask"]),
        (["run", "--executor", "threads"], ["threads"]),
        (["frobnicate"], ["frobnicate"]),
        ([], ["required"]),
    ],
)
def test_bad_arguments(tmp_path, capsys, monkeypatch, argv, words):
    monkeypatch.chdir(tmp_path)
    assert_bad_input(capsys, argv, words)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:9", "not-an-address"])
def test_unreachable_scheduler_exit_2_one_line_nothing_written(tmp_path, capsys, monkeypatch,
                                                                address):
    from experiments.run import executors

    monkeypatch.setattr(executors, "SCHEDULER_TIMEOUT_S", 1.0)
    config = tmp_path / "good.toml"
    config.write_text(GOOD)
    line = assert_bad_input(capsys, ["run", str(config), "--out", str(tmp_path / "out"),
                                     "--executor", "dask", "--scheduler", address],
                            ["Dask scheduler", address, "--scheduler"])
    assert "\n" not in line
    assert not (tmp_path / "out").exists()


def test_report_of_a_directory_that_is_not_a_run(tmp_path, capsys):
    assert_bad_input(capsys, ["report", str(tmp_path)], ["not a run directory"])


def test_bad_input_through_the_console_script_module(tmp_path, cli):
    config = tmp_path / "bad.toml"
    config.write_text(GOOD.replace("n_components = 2", "n_components = 0"))
    done = subprocess.run(cli("run", str(config), "--out", str(tmp_path / "out")),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_configs_lists_every_bundled_config(capsys):
    assert main(["configs"]) == 0
    out = capsys.readouterr().out
    assert bundled_configs(), "no bundled configs"
    for name in bundled_configs():
        assert name in out
    assert "quickstart (default)" in out


def test_validate_reports_cells_and_replicates(capsys):
    assert main(["validate", "separation"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "valid" in out and "cell(s)" in out


def test_validate_says_mcmc_off_when_the_method_list_leaves_it_out(tmp_path, capsys):
    config = tmp_path / "em.toml"
    on = GOOD.replace("[mcmc]\nenabled = false\n", "")
    config.write_text(on)
    assert main(["validate", str(config)]) == 0
    assert "MCMC on" in " ".join(capsys.readouterr().out.split())
    config.write_text(on.replace('seed = 3', 'seed = 3\nmethods = ["em"]'))
    assert main(["validate", str(config)]) == 0
    assert "MCMC off" in " ".join(capsys.readouterr().out.split())


def test_run_default_out_is_runs_slash_name_and_rerun_resumes(tmp_path, capsys, monkeypatch):
    config = tmp_path / "good.toml"
    config.write_text(GOOD)
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(config)]) == 0
    results = pd.read_csv(tmp_path / "runs" / "cli" / "results.csv")
    assert len(results) == 1 and results["method"].tolist() == ["em"]
    capsys.readouterr()
    assert main(["run", str(config)]) == 0
    assert "skipping 1 finished replicate(s) of 1" in capsys.readouterr().out


def test_report_failure_is_one_line_and_exit_1(tmp_path, capsys):
    def broken(run_dir, early=None):
        raise RuntimeError("figure backend exploded\nsecond line")

    config = tmp_path / "good.toml"
    config.write_text(GOOD.replace("[report]\nenabled = false", "[report]\nenabled = true"))
    assert main(["run", str(config), "--out", str(tmp_path / "out")], broken) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["gmm-compare: report failed: figure backend exploded"]
    assert (tmp_path / "out" / "results.csv").is_file()  # the results are kept
    assert main(["report", str(tmp_path / "out")], broken) == 1


def test_report_is_built_after_the_run_when_enabled(tmp_path, capsys):
    built = []

    def build(run_dir, early=None):
        built.append((run_dir, early))
        return run_dir / "report" / "index.html"

    config = tmp_path / "good.toml"
    config.write_text(GOOD.replace("[report]\nenabled = false", "[report]\nenabled = true"))
    assert main(["run", str(config), "--out", str(tmp_path / "out")], build) == 0
    assert [run_dir for run_dir, _ in built] == [tmp_path / "out"]
    # a serial run with a spare core hands its early sections to the report
    early = built[0][1]
    assert (early is not None) == (available_cores() >= 2)
    if early is not None:
        assert set(early.futures) == {(cell, 0) for cell in early.cells} and early.cells


@pytest.mark.parametrize("command", ["run", "validate"])
def test_a_sampler_that_is_not_installed_is_refused_before_running(tmp_path, capsys, monkeypatch,
                                                                    command):
    import bayes.sampling

    monkeypatch.setattr(bayes.sampling, "module_available", lambda name: name != "nutpie")
    config = tmp_path / "bad.toml"
    config.write_text(GOOD.replace("[mcmc]\nenabled = false", '[mcmc]\nsampler = "nutpie"'))
    argv = [command, str(config)] + (["--out", str(tmp_path / "out")] if command == "run" else [])
    assert_bad_input(capsys, argv, ["mcmc.sampler", "nutpie", "gmm-compare[nutpie]"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]
    # with MCMC off nothing needs the sampler
    config.write_text(GOOD.replace("[mcmc]\nenabled = false",
                                   '[mcmc]\nenabled = false\nsampler = "nutpie"'))
    assert main(["validate", str(config)]) == 0
