"""Oversized and hostile configs and arguments: exit 2, one line, nothing written, fast.

Sizes nobody can run (data of terabytes, 10**9 replicates, starts, draws or simulations,
values beyond int64) are refused by the run's size estimate (experiments.config.budget)
before anything is allocated or written; ``validate`` answers within 2 s whatever the
config (measured in this process, imports excluded).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from emgmm.multistart import start_count
from experiments.cli import main
from experiments.config import load_config
from experiments.config.budget import (
    MAX_TASK_SECONDS,
    check_run_fits,
    estimate_run,
    human_bytes,
    physical_memory,
)
from experiments.config.checks import MAX_CELLS
from experiments.config.schema import MAX_CONFIG_BYTES

BASE = """\
[experiment]
name = "hostile"
seed = 3
replicates = 2

[data]
n_samples = 120
n_features = 2
n_components = 2
overlap = 0.02

[em]
max_iter = 60

[mcmc]
enabled = false

[report]
enabled = false
"""

VALIDATE_SECONDS = 2.0
# validate reads a data file: its time grows with the file's size (README "Limits"); pandas
# parses the 100,000-column file below in about 4 s
DATA_FILE_SECONDS = {"100,000 columns, one row": 30.0}


def edited(*pairs: tuple[str, str]) -> str:
    text = BASE
    for old, new in pairs:
        assert old in text
        text = text.replace(old, new, 1)
    return text


MCMC_ON = ("[mcmc]\nenabled = false", "[mcmc]\nenabled = true")

# (case, config text, words the one-line message must contain)
HOSTILE = [
    ("n_samples 10**12", edited(("n_samples = 120", "n_samples = 1000000000000")),
     ["data.n_samples", "TB", "memory"]),
    ("n_samples beyond int64", edited(("n_samples = 120", "n_samples = 99999999999999999999")),
     ["data.n_samples", "64-bit"]),
    ("seed beyond int64", edited(("seed = 3", "seed = 99999999999999999999")),
     ["experiment.seed", "64-bit"]),
    ("draws 10**9", edited(MCMC_ON, ("enabled = true", "enabled = true\ndraws = 1000000000")),
     ["mcmc.draws", "memory"]),
    ("n_init 10**9", edited(("max_iter = 60", "max_iter = 60\nn_init = 1000000000")),
     ["em.n_init: one task", "278 CPU-hours", "lower em.n_init"]),
    ("sbc simulations 10**9", BASE + "\n[sbc]\nenabled = true\nn_simulations = 1000000000\n",
     ["sbc.n_simulations", "memory"]),
    ("replicates 10**9", edited(("replicates = 2", "replicates = 1000000000")),
     ["experiment.replicates", "memory"]),
    ("n_components 10**5", edited(("n_components = 2", "n_components = 100000"),
                                  ("n_samples = 120", "n_samples = 1000000")),
     ["data.n_components", "memory"]),
    ("n_components 10**5 > n_samples", edited(("n_components = 2", "n_components = 100000")),
     ["n_samples", "n_components"]),
    ("n_components 3000: 9 million pair overlaps", edited(
        ("n_components = 2", "n_components = 3000"), ("n_samples = 120", "n_samples = 10000")),
     ["data.n_components: one task", "CPU-hours", "drawing its data", "lower data.n_components"]),
    ("n_features 10**6", edited(("n_features = 2", "n_features = 1000000")),
     ["data.n", "memory"]),
    ("bootstrap 10**9", edited(("max_iter = 60", ('max_iter = 60\nintervals = "bootstrap"\n'
                                                  "n_bootstrap = 1000000000"))),
     ["em.n_bootstrap"]),
    ("tune 10**9", edited(MCMC_ON, ("enabled = true", "enabled = true\ntune = 1000000000")),
     ["mcmc.draws: one task", "CPU-hours", "mcmc.tune"]),
    ("grid of 10**10 cells", edited(("overlap = 0.02", "\n".join(
        f"{key} = [{', '.join(str(v) for v in values)}]" for key, values in [
            ("overlap", [i / 1000 for i in range(1, 101)]),
            ("max_eccentricity", [i / 200 for i in range(100)]),
            ("imbalance", range(1, 101)), ("outlier_fraction", [i / 400 for i in range(100)]),
            ("student_t_df", range(3, 103))]))),
     ["data", "cells"]),
    ("config file of 5 MB", BASE + "# " + "x" * (MAX_CONFIG_BYTES + 10) + "\n",
     ["bytes"]),
    ("chains 10**9", edited(MCMC_ON, ("enabled = true", "enabled = true\nchains = 1000000000")),
     ["mcmc.draws", "memory"]),
    ("max_iter 10**9", edited(("max_iter = 60", "max_iter = 1000000000")),
     ["em.max_iter", "memory"]),
    ("sbc n_samples 10**12", BASE + "\n[sbc]\nenabled = true\nn_simulations = 2\n"
     "n_samples = 1000000000000\n", ["memory", "lower sbc.draws or sbc.chains or sbc.n_samples"]),
    ("array nested 5000 deep", BASE + "\n[extra]\nx = " + "[" * 5000 + "]" * 5000 + "\n",
     ["invalid TOML: nested too deeply"]),
    ("value nested 5000 deep", edited(("overlap = 0.02",
                                       "overlap = " + "[" * 5000 + "0.1" + "]" * 5000)),
     ["invalid TOML: nested too deeply"]),
    ("inline table nested 5000 deep", "x = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n" + BASE,
     ["invalid TOML: nested too deeply"]),
    ("table header 5000 deep", BASE + "\n[" + ".".join(["a"] * 5000) + "]\nx = 1\n",
     ["unknown section"]),
    ("1 MB invalid name", edited(('name = "hostile"', 'name = "' + "x!" * 500_000 + '"')),
     ["experiment.name", 'got "' + ("x!" * 40)[:79] + "..."]),  # 80 characters quoted
    ("escapes in a name", edited(('name = "hostile"',
                                  'name = "a\\u001b[31mb\\u202ec\\u0007"')),
     ["experiment.name", "a\\u001b[31mb\\u202ec\\u0007"]),
    ("escapes in a key", edited(("[em]", '[em]\n"max\\u001b[2J\\u202eiter" = 3')),
     ["em.max\\u001b[2J\\u202eiter: unknown key"]),
    ("escapes in a section", BASE + '\n["\\u001b]0;title\\u0007"]\nx = 1\n',
     ["\\u001b]0;title\\u0007: unknown section"]),
    ("1 MB key", edited(("[em]", '[em]\n"' + "k" * 1_000_000 + '" = 3')),
     ["em." + "k" * 77 + "...: unknown key"]),
]


def assert_refused(capsys, argv, words=(), seconds: float = VALIDATE_SECONDS) -> str:
    start = time.perf_counter()
    status = main(argv)
    elapsed = time.perf_counter() - start
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert status == 2, captured
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err and len(lines[0]) < 600
    assert not {"\x1b", "\x07", "\u202e"} & set(lines[0]), lines[0]  # escaped, not raw
    for word in words:
        assert word in lines[0], (word, lines[0])
    if argv[0] == "validate":
        assert elapsed < seconds, (argv, elapsed)
    return lines[0]


@pytest.mark.parametrize(("case", "text", "words"), HOSTILE, ids=[c[0] for c in HOSTILE])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_hostile_config_refused_in_one_line_nothing_written(tmp_path, capsys, case, text, words,
                                                            command):
    config = tmp_path / "hostile.toml"
    config.write_text(text)
    out = tmp_path / "out"
    argv = [command, str(config)] + (["--out", str(out)] if command == "run" else [])
    assert_refused(capsys, argv, words)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hostile.toml"]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--workers", "1000000", "--executor", "process"], ["--workers", "1024"]),
        (["--workers", "99999999999999999999999", "--executor", "dask"], ["--workers"]),
        (["--workers", "10**6", "--executor", "process"], ["--workers", "10**6"]),
        (["--workers", "-3", "--executor", "process"], ["--workers"]),
        (["--workers", "1e3", "--executor", "process"], ["--workers"]),
        (["--workers", "1_0", "--executor", "process"], ["--workers", "whole number"]),
        (["--workers", "\u0663", "--executor", "process"], ["--workers", "whole number"]),
        (["--workers", "9" * 100_000, "--executor", "process"], ["'" + "9" * 79 + "..."]),
        (["--workers", "\x1b[31m2\u202e", "--executor", "process"], ["\\u001b[31m2\\u202e"]),
        (["--workers", "2"], ["--workers needs --executor process or dask"]),
        (["--executor", "\x1b[2J" + "e" * 1000], ["--executor", "..."]),
        (["--executor", "dask", "--scheduler", "tcp://" + "h" * 1000 + ":1"],
         ["--scheduler", "h" * 60 + "..."]),
        (["--out", "o/" + "z" * 300], ["--out", "too long"]),
        (["--" + "y" * 1000], ["unrecognized arguments", "y" * 70 + "..."]),
    ],
)
def test_numeric_flags_bounded(tmp_path, capsys, monkeypatch, argv, words):
    config = tmp_path / "good.toml"
    config.write_text(BASE)
    monkeypatch.chdir(tmp_path)
    assert_refused(capsys, ["run", str(config), *argv], words)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.toml"]


@pytest.mark.parametrize("command", ["validate", "run", "report"])
def test_paths_too_long_for_the_system_are_one_line(tmp_path, capsys, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    line = assert_refused(capsys, [command, "\x1b[31m" + "p" * 300 + ".toml"], ["too long"])
    assert "\\u001b[31m" + "p" * 60 in line and "p" * 90 not in line
    assert list(tmp_path.iterdir()) == []


def data_config(name: str, extra: str = "", n_components: str = "2") -> str:
    return (f'[experiment]\nname = "f"\n[data]\nfile = "{name}"\nn_components = {n_components}\n'
            f"{extra}\n[mcmc]\nenabled = false\n[report]\nenabled = false\n")


def write_table(folder, name: str, columns: dict) -> None:
    import pandas as pd

    pd.DataFrame(columns).to_csv(folder / name, index=False)


POINTS = np.random.default_rng(0).normal(size=(60, 2))
# (case, files {name: columns}, config text, words)
DATA_FILES = [
    ("values near 1e200", {"d.csv": {"a": POINTS[:, 0] * 1e200, "b": POINTS[:, 1]}},
     data_config("d.csv"), ["data.file", "column 'a'", "too large", 'standardize = "zscore"']),
    ("values near 1e-200", {"d.csv": {"a": POINTS[:, 0], "b": POINTS[:, 1] * 1e-200}},
     data_config("d.csv"), ["data.file", "column 'b'", "too small", 'standardize = "zscore"']),
    ("100,000 columns, one row", {"d.csv": {f"c{j}": [1.0] for j in range(100_000)}},
     data_config("d.csv"), ["1 row(s) are too few", "100000 dimension(s)"]),
    ("file name too long", {}, data_config("f" * 300 + ".csv"),
     ["data.file", "fff...' is too long"]),
    ("grid of 30,000 cells", {"d.csv": {"a": POINTS[:, 0], "b": POINTS[:, 1]}},
     data_config("d.csv", "weights_concentration = [" + ", ".join(
         str(1 + i / 1e4) for i in range(10_000)) + "]", "[1, 2, 3]"),
     ["data: the grid has 30,000 cells"]),
    ("escapes in a column name", {"d.csv": {"a": POINTS[:, 0], "b": POINTS[:, 1]}},
     data_config("d.csv", 'columns = ["\\u001b[2J\\u202eq"]'),
     ["'\\u001b[2J\\u202eq' is not a column"]),
]


@pytest.mark.parametrize(("case", "files", "text", "words"), DATA_FILES,
                         ids=[c[0] for c in DATA_FILES])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_hostile_data_files_refused_in_one_line_nothing_written(tmp_path, capsys, monkeypatch,
                                                                case, files, text, words,
                                                                command):
    for name, columns in files.items():
        write_table(tmp_path, name, columns)
    (tmp_path / "cfg.toml").write_text(text)
    before = sorted(p.name for p in tmp_path.iterdir())
    monkeypatch.chdir(tmp_path)
    argv = [command, "cfg.toml"] + (["--out", "out"] if command == "run" else [])
    assert_refused(capsys, argv, words, DATA_FILE_SECONDS.get(case, VALIDATE_SECONDS))
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize(("components", "words"), [
    ("\u0663", ["--components", "'\u0663'"]),
    ("9" * 100_000, ["--components", "9" * 80 + "..."]),
    ("1-1000000", ["--components", "at most 100"]),
])
def test_hostile_components_with_data(tmp_path, capsys, monkeypatch, components, words):
    write_table(tmp_path, "d.csv", {"a": POINTS[:, 0], "b": POINTS[:, 1]})
    monkeypatch.chdir(tmp_path)
    assert_refused(capsys, ["run", "--data", "d.csv", "--components", components], words)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv"]


def test_data_scale_check_with_data_names_the_column(tmp_path, capsys, monkeypatch):
    write_table(tmp_path, "d.csv", {"x": POINTS[:, 0], "big": POINTS[:, 1] * 1e200})
    monkeypatch.chdir(tmp_path)
    assert_refused(capsys, ["run", "--data", "d.csv", "--components", "1-3"],
                   ["data.file", "column 'big'", "too large"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv"]


def test_workers_times_peak_beyond_memory_is_refused(tmp_path, capsys, monkeypatch):
    """Each worker holds its own data set: 1024 workers x this config's peak exceed memory."""
    config = tmp_path / "big.toml"
    config.write_text(edited(("n_samples = 120", "n_samples = 2000000")))
    estimate = estimate_run(load_config(config))
    assert estimate.required_bytes(1) < physical_memory() < estimate.required_bytes(1024)
    monkeypatch.chdir(tmp_path)
    line = assert_refused(capsys, ["run", str(config), "--executor", "process", "--workers",
                                   "1024"], ["1,024 worker(s)", "memory"])
    assert human_bytes(physical_memory()) in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.toml"]


def test_validate_states_the_size_of_what_it_accepts(tmp_path, capsys):
    config = tmp_path / "ok.toml"
    config.write_text(edited(MCMC_ON, ("replicates = 2", "replicates = 20"),
                             ("overlap = 0.02", "overlap = [0.01, 0.02, 0.05]")))
    start = time.perf_counter()
    assert main(["validate", str(config)]) == 0
    assert time.perf_counter() - start < VALIDATE_SECONDS
    out = " ".join(capsys.readouterr().out.split())
    assert "3 cell(s) x 20 replicate(s)" in out
    assert "MB peak per worker" in out
    assert "60 EM start(s)" in out and "~60 PyMC fit(s) (240,000 draws)" in out


def test_validate_counts_the_search_starts_of_auto_on_small_data(tmp_path, capsys):
    """``init_params = "auto"`` on 120 rows runs 3 + 4 x 16 starts per fit, not ``n_init``."""
    config = tmp_path / "auto.toml"
    config.write_text(edited(("max_iter = 60", 'max_iter = 60\ninit_params = "auto"\nn_init = 1')))
    assert main(["validate", str(config)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert f"{2 * start_count(120, 'auto', 1)} EM start(s)" in out
    assert start_count(120, "auto", 1) == 3 + 4 * 16


@pytest.mark.parametrize("text", [
    edited(("replicates = 2", "replicates = 1000000")),  # 10**6 seeds are never spawned
    edited(("n_components = 2", "n_components = 40"), ("n_samples = 120", "n_samples = 4000")),
    BASE.replace("n_samples = 120", "n_samples = " + str(list(range(100, 100 + MAX_CELLS)))),
])
def test_validate_of_large_accepted_configs_is_fast(tmp_path, capsys, text):
    """What validate accepts it also answers quickly: no seed of every replicate, no
    reachability check beyond its budget (the rest is checked as the data are drawn)."""
    config = tmp_path / "large.toml"
    config.write_text(text)
    start = time.perf_counter()
    assert main(["validate", str(config)]) == 0, capsys.readouterr()
    assert time.perf_counter() - start < VALIDATE_SECONDS
    assert "valid" in capsys.readouterr().out


def test_human_bytes():
    assert [human_bytes(n) for n in (512, 1.0e9, 631e6, 8.2e3, 1.36e14)] == [
        "512 B", "1.0 GB", "631 MB", "8.2 kB", "136 TB"]


def test_estimate_follows_the_allocations():
    """Doubling N doubles the data terms; draws scale the posterior term; parent per task."""
    small = estimate_run(load_config_text(edited(MCMC_ON)))
    big = estimate_run(load_config_text(edited(MCMC_ON, ("n_samples = 120", "n_samples = 240")
                                               )))
    terms = {t.what: t.bytes for t in small.worker_terms}
    terms_big = {t.what: t.bytes for t in big.worker_terms}
    points = "simulated points (N x D x D)"
    assert terms_big[points] == 2 * terms[points] == 2 * 8 * 120 * (1 + 3 * 2 + 4)
    assert terms_big["EM responsibilities (N x K)"] == 2 * 12 * 8 * 120 * 2
    assert big.parent_bytes == small.parent_bytes
    assert small.n_tasks == 2 and small.pymc_fits == 2 and small.draws == 2 * 2 * 2000
    assert small.task_seconds < MAX_TASK_SECONDS
    check_run_fits(small)  # fits any machine


def load_config_text(text: str):
    import tomllib

    from experiments.config import parse_config

    return parse_config(tomllib.loads(text))


HEAVY_MODULES = ("pymc", "pytensor", "arviz", "matplotlib", "experiments.report",
                 "experiments.run.runner")


@pytest.mark.parametrize(("case", "text"), [
    ("accepted, MCMC off", BASE),
    ("refused for its size, MCMC on", edited(MCMC_ON, ("n_samples = 120",
                                                       "n_samples = 1000000000000"))),
])
def test_validate_imports_no_sampler_or_plotting_library(tmp_path, case, text):
    """A fresh ``validate`` (what a user runs) loads neither PyMC nor the report's plotting
    stack: the size is checked before the sampler's import, the report is imported by run
    only. (Wall time of the whole command: README "Limits".)"""
    import subprocess
    import sys

    config = tmp_path / "c.toml"
    config.write_text(text)
    code = ("import sys; from experiments.cli import main; status = main(['validate', "
            f"{str(config)!r}]); print(status, [m for m in {HEAVY_MODULES!r} "
            "if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.stdout.strip().splitlines()[-1] in ("0 []", "2 []"), (done.stdout, done.stderr)
