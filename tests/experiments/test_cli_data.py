"""``gmm-compare`` on data files: every bad input is one line, exit 2, nothing written."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from experiments.cli import main
from tests.experiments.simulate.test_data_files import bad_inputs
from tests.experiments.test_cli import assert_bad_input

EM_ONLY = "\n[mcmc]\nenabled = false\n\n[report]\nenabled = false\n"


def small_table() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame({"length": rng.normal(5, 1, 40), "width": rng.normal(2, 0.5, 40),
                         "depth": rng.normal(-1, 2, 40),
                         "species": np.repeat(["setosa", "virginica"], 20)})


def config_text(spec, n_components: int) -> str:
    """A config reading ``spec`` (a DataFileSpec of the reader's tests) with K components."""
    lines = ["[data]", f"file = {str(spec.path)!r}", f"n_components = {n_components}"]
    if spec.columns is not None:
        lines.append("columns = [" + ", ".join(repr(c) if isinstance(c, str) else str(c)
                                               for c in spec.columns) + "]")
    if spec.label_column is not None:
        lines.append(f"label_column = {spec.label_column!r}")
    lines += [f"standardize = {spec.standardize!r}", f"max_rows = {spec.max_rows}"]
    return "\n".join(lines).replace("'", '"') + "\n" + EM_ONLY


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("command", ["run", "validate"])
def test_every_bad_data_file_in_a_config_is_one_line_exit_2(tmp_path, capsys, command):
    data = tmp_path / "data"
    data.mkdir()
    cases = bad_inputs(data, small_table())
    before = {p.name: p.read_bytes() for p in data.iterdir() if p.is_file() and not p.is_symlink()}
    for name, spec, max_components, fragment in cases:
        config = tmp_path / "bad.toml"
        config.write_text(config_text(spec, max_components))
        out = tmp_path / "out"
        argv = [command, str(config)] + (["--out", str(out)] if command == "run" else [])
        if name == "option":  # caught by the config schema, naming the key
            fragment = "data.standardize: must be one of"
        line = assert_bad_input(capsys, argv, [fragment])
        assert name == "option" or line.startswith("gmm-compare: error: data.file: "), (name, line)
        assert not out.exists(), name
    after = {p.name: p.read_bytes() for p in data.iterdir() if p.is_file() and not p.is_symlink()}
    assert after == before  # the files are only read


def test_every_bad_data_file_given_with_data_is_one_line_exit_2(tmp_path, capsys,
                                                                 monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.chdir(tmp_path)
    plain = [case for case in bad_inputs(data, small_table())
             if case[1].columns is None and case[1].label_column is None
             and case[1].standardize == "none" and case[1].max_rows > 1000]
    assert {case[0] for case in plain} >= {"missing", "directory", "empty", "header only",
                                          "symlink loop", "suffix", "pickled", "3-D"}
    for name, spec, max_components, fragment in plain:
        argv = ["run", "--data", str(spec.path), "--components", str(max_components)]
        line = assert_bad_input(capsys, argv, [fragment])
        assert line.startswith("gmm-compare: error: data.file: "), (name, line)
        assert listing(tmp_path) == ["data"], name  # no runs/ directory


def test_data_file_faults_with_data(tmp_path, capsys, monkeypatch):
    """Non-numeric cell, constant column, NaN, too few rows through --data."""
    monkeypatch.chdir(tmp_path)
    frame = small_table().drop(columns="species")
    cases = {
        "text": (frame.astype(str).assign(width=lambda f: f.width.where(f.index != 5, "n/a")),
                 "3", "column 'width' has a non-numeric value 'n/a' in data row 6"),
        "constant": (frame.assign(depth=2.0), "2", "column 'depth' has one value"),
        "nan": (frame.assign(length=lambda f: f.length.where(f.index != 9)), "2",
                "data rows 10"),
        "few": (frame, "1-11", "too few for 11 component"),
    }
    for name, (table, components, fragment) in cases.items():
        path = tmp_path / f"{name}.csv"
        table.to_csv(path, index=False)
        assert_bad_input(capsys, ["run", "--data", path.name, "--components", components],
                         [fragment])
        assert not (tmp_path / "runs").exists(), name


@pytest.mark.parametrize(("components", "words"), [
    ("0", ["--components", "K must be >= 1"]),
    ("6-1", ["--components", "K1 <= K2"]),
    ("a", ["--components", "K or a range"]),
    ("99999999999999999999", ["--components", "K or a range"]),
    ("1000000", ["--components", "at most 100"]),
    ("1-60", ["--components", "at most 20 values"]),
    ("-3", ["--components"]),
])
def test_bad_components_exit_2(tmp_path, capsys, monkeypatch, components, words):
    monkeypatch.chdir(tmp_path)
    small_table().to_csv(tmp_path / "d.csv", index=False)
    assert_bad_input(capsys, ["run", "--data", "d.csv", f"--components={components}"], words)
    assert listing(tmp_path) == ["d.csv"]


@pytest.mark.parametrize(("argv", "words"), [
    (["run", "--data", "d.csv"], ["--components K"]),
    (["run", "--components", "3"], ["--data FILE"]),
    (["run", "quickstart", "--data", "d.csv", "--components", "2"], ["without a config"]),
    (["run", "--data", "d.csv", "--components", "2", "--quick"], ["--quick"]),
])
def test_data_argument_combinations(tmp_path, capsys, monkeypatch, argv, words):
    monkeypatch.chdir(tmp_path)
    small_table().to_csv(tmp_path / "d.csv", index=False)
    assert_bad_input(capsys, argv, words)
    assert listing(tmp_path) == ["d.csv"]


@pytest.mark.parametrize(("data_keys", "words"), [
    ('file = "d.csv"\n', ["data.n_components", "required"]),
    ('file = "d.csv"\nn_components = 2\noverlap = 0.1\n', ["data.overlap", "unknown key"]),
    ('file = "d.csv"\nn_components = 2\ncovariance_type = "tied"\n',
     ["data.covariance_type", "list"]),
    ('file = "d.csv"\nn_components = 2\ntest_fraction = 1.0\n', ["data.test_fraction"]),
    ('file = "d.csv"\nn_components = 2\ntest_fraction = 0.9\n',
     ["data.test_fraction", "training rows"]),
    ('file = "d.csv"\nn_components = [2, 2]\n', ["data.n_components[1]", "duplicate"]),
    ('file = "d.csv"\nn_components = 2\ncolumns = [true]\n', ["data.columns[0]"]),
    ('file = "d.csv"\nn_components = 2\narray = "x"\n', ["data.array", ".npz"]),
    ('file = ""\nn_components = 2\n', ["data.file", "must name a data file"]),
    ('file = "d.csv"\nn_components = 2\nmissing = "impute"\n', ["data.missing"]),
    ('file = "d.csv"\nn_components = 2\n[em]\nintervals = "bootstrap"\n', ["em.intervals"]),
])
@pytest.mark.parametrize("command", ["run", "validate"])
def test_bad_file_options_exit_2(tmp_path, capsys, data_keys, words, command):
    small_table().drop(columns="species").to_csv(tmp_path / "d.csv", index=False)
    config = tmp_path / "bad.toml"
    config.write_text("[data]\n" + data_keys)
    argv = [command, str(config)] + (["--out", str(tmp_path / "out")] if command == "run"
                                     else [])
    assert_bad_input(capsys, argv, words)
    assert listing(tmp_path) == ["bad.toml", "d.csv"]


def test_run_data_components_writes_a_repeatable_config(tmp_path, capsys, monkeypatch,
                                                       strip_timing):
    from experiments.config import data_command

    monkeypatch.setattr(data_command, "DATA_DEFAULTS", data_command.DATA_DEFAULTS | {
        "mcmc": {"enabled": False}, "report": {"enabled": False}})
    monkeypatch.chdir(tmp_path)
    small_table().to_csv(tmp_path / "d.csv", index=False)
    assert_bad_input(capsys, ["run", "--data", "d.csv", "--components", "1-2"],
                     ["'species' has a non-numeric value", "write a config"])
    small_table().drop(columns="species").to_csv(tmp_path / "d.csv", index=False)
    assert main(["run", "--data", "d.csv", "--components", "1-2"]) == 0
    out = capsys.readouterr().out
    assert "no truth" in " ".join(out.split()) and "K chosen by BIC" in " ".join(out.split())
    run_dir = tmp_path / "runs" / "d-k1-2"
    config = (run_dir / "config.toml").read_text()
    assert f'file = "{tmp_path / "d.csv"}"' in config
    results = pd.read_csv(run_dir / "results.csv")
    assert results["n_components"].tolist() == [1, 2]
    assert results["log_likelihood_truth"].isna().all() and results["ari"].isna().all()
    assert results["means_error"].isna().all() and results["bic"].notna().all()
    # the written config repeats the run (from another folder): nothing left to do
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["run", str(run_dir / "config.toml"), "--out", str(run_dir)]) == 0
    assert "skipping 2 finished replicate(s) of 2" in capsys.readouterr().out
    # --out and the process executor work as for a config, with the same numbers
    base = ["run", "--data", str(tmp_path / "d.csv"), "--components", "2", "--out"]
    assert main([*base, str(tmp_path / "one")]) == 0
    assert main([*base, str(tmp_path / "two"), "--executor", "process", "--workers", "2"]) == 0
    one, two = (strip_timing(tmp_path / name) for name in ("one", "two"))
    pd.testing.assert_frame_equal(one, two)
    assert one["bic"].iloc[0] == pytest.approx(
        results.loc[results["n_components"] == 2, "bic"].iloc[0], rel=1e-6)


def test_a_range_of_k_runs_on_two_processes_unless_told_otherwise(tmp_path):
    import argparse

    from experiments.cli import default_executor
    from experiments.config.data_command import data_file_config

    small_table().drop(columns="species").to_csv(tmp_path / "d.csv", index=False)
    several = data_file_config(str(tmp_path / "d.csv"), "1-3")
    one = data_file_config(str(tmp_path / "d.csv"), "2")
    with_data = argparse.Namespace(data=str(tmp_path / "d.csv"))
    assert default_executor(with_data, several) == "process"
    assert default_executor(with_data, one) == "serial"
    assert default_executor(argparse.Namespace(data=None), several) == "serial"


def test_the_console_names_cells_whose_sampler_failed_its_diagnostics(tmp_path):
    """A K whose posterior the sampler could not explore (R-hat, ESS) gets one line; a cell
    that passed, and a method without sampler diagnostics, get none."""
    import io

    from rich.console import Console

    from experiments.cli import print_failed_diagnostics
    from experiments.config.data_command import data_file_config
    from experiments.run.rundir import RunDirectory

    small_table().drop(columns="species").to_csv(tmp_path / "d.csv", index=False)
    config = data_file_config(str(tmp_path / "d.csv"), "1-2")  # 2 chains: ESS >= 200 needed
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    pd.DataFrame({
        "cell_id": ["c00-n_components=1", "c00-n_components=1", "c01-n_components=2",
                    "c01-n_components=2"],
        "replicate": 0, "method": ["em", "mcmc", "em", "mcmc"],
        "max_rhat": [np.nan, 1.004, np.nan, 1.09], "divergences": [np.nan, 0, np.nan, 0],
        "min_ess_bulk": [np.nan, 650.0, np.nan, 18.0],
        "min_ess_tail": [np.nan, 700.0, np.nan, 250.0], "error": "",
    }).to_csv(RunDirectory(run_dir).results, index=False)
    out = io.StringIO()
    print_failed_diagnostics(run_dir, config, Console(file=out, width=300))
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("c01-n_components=2 mcmc: sampler diagnostics failed in 1 of 1 "
                               "(R-hat, bulk ESS): a poorly identified posterior")
