"""``[data] file = ...``: paths, grids over K and model settings, the resolved config."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.config import ConfigError, load_config, parse_config
from experiments.config.data_command import data_file_config, parse_components, run_name
from experiments.run.plan import check_reachable, plan_cells
from experiments.run.tasks import build_tasks
from experiments.simulate.file_source import FileDataSpec
from experiments.simulate.sources import DATA_SOURCES


@pytest.fixture
def folder(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60),
                          "kind": np.repeat(["x", "y", "z"], 20)})
    (tmp_path / "data").mkdir()
    frame.to_csv(tmp_path / "data" / "table.csv", index=False)
    return tmp_path


def write(folder: Path, text: str) -> Path:
    path = folder / "configs" / "exp.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def test_file_is_relative_to_the_config_and_written_absolute(folder):
    path = write(folder, '[data]\nfile = "../data/table.csv"\nn_components = 2\n'
                         'label_column = "kind"\ntest_fraction = 0.25\n')
    config = load_config(path)
    assert config.data.source == "file"
    assert config.data.fixed["file"] == str(folder / "data" / "table.csv")
    resolved = tomllib.loads(config.to_toml())
    assert resolved["data"]["file"] == str(folder / "data" / "table.csv")
    assert next(iter(resolved["data"])) == "file"
    # the resolved config, written elsewhere, loads back to the same config
    copy = folder / "elsewhere" / "config.toml"
    copy.parent.mkdir()
    copy.write_text(config.to_toml())
    again = load_config(copy)
    assert again.to_toml() == config.to_toml()
    assert again == config
    check_reachable(config)
    (values, spec), = config.data.cells()
    assert values == {} and isinstance(spec, FileDataSpec) and spec.n_components == 2


def test_grid_over_k_and_model_settings(folder, tmp_path):
    path = write(folder, '[data]\nfile = "../data/table.csv"\nn_components = [1, 2]\n'
                         'covariance_type = ["full", "spherical"]\nscale_prior = '
                         '["halfnormal", "exponential"]\n[mcmc]\nenabled = true\n')
    config = load_config(path)
    cells = plan_cells(config)
    assert [c.cell_id for c in cells][:3] == [
        "c00-n_components=1-covariance_type=full-scale_prior=halfnormal",
        "c01-n_components=1-covariance_type=full-scale_prior=exponential",
        "c02-n_components=1-covariance_type=spherical-scale_prior=halfnormal"]
    assert len(cells) == 8 and {c.data_spec.max_components for c in cells} == {2}
    tasks = build_tasks(config, tmp_path / "run")
    assert {t.data_source for t in tasks} == {"file"}
    task = tasks[3]  # K = 1, spherical, exponential
    options = {m.name: o for m, o in task.methods}
    assert options["em"].covariance_type == "spherical"
    assert options["mcmc"].covariance_type == "spherical"
    assert options["mcmc"].sample["priors"].scale_prior == "exponential"
    assert tomllib.loads(config.to_toml())["data"]["covariance_type"] == ["full", "spherical"]


def test_selection_k_values_count_in_the_rows_needed(folder):
    path = write(folder, '[data]\nfile = "../data/table.csv"\nn_components = 2\n'
                         'columns = ["a", "b"]\n[selection]\nenabled = true\nk_values = [1, 2, 30]\n')
    with pytest.raises(ConfigError, match=r"data\.file: .*too few for 30 component"):
        check_reachable(load_config(path))


def test_file_source_split_is_seeded_and_disjoint(folder):
    config = load_config(write(folder, '[data]\nfile = "../data/table.csv"\n'
                                       'n_components = 2\nlabel_column = "kind"\n'
                                       'test_fraction = 0.2\n[experiment]\nreplicates = 2\n'))
    cell, = plan_cells(config)
    load = DATA_SOURCES["file"].load
    first = load(cell.data_spec, cell.seeds[0].data_rng())
    again = load(cell.data_spec, cell.seeds[0].data_rng())
    other = load(cell.data_spec, cell.seeds[1].data_rng())
    assert first.X.shape == (48, 2) and first.arrays.X_test.shape == (12, 2)
    np.testing.assert_array_equal(first.X, again.X)
    assert not np.array_equal(first.arrays.X_test, other.arrays.X_test)
    rows = {tuple(r) for r in np.vstack([first.X, first.arrays.X_test])}
    assert len(rows) == 60  # every row once, train and test disjoint
    assert not first.has_truth and first.arrays.has_labels
    assert first.arrays.class_names.tolist() == ["x", "y", "z"]
    assert first.arrays.feature_names.tolist() == ["a", "b"]


def test_parse_components():
    assert parse_components("3") == (3,)
    assert parse_components(" 1 - 4 ") == (1, 2, 3, 4)
    for bad in ("0", "4-2", "x", "1-", "1-2-3", "", "101", "1-25"):
        with pytest.raises(ConfigError, match="^--components: "):
            parse_components(bad)


def test_data_command_config(folder, monkeypatch):
    monkeypatch.chdir(folder / "data")
    config = data_file_config("table.csv", "1-3")
    assert config.name == "table-k1-3"
    assert config.data.grid["n_components"] == (1, 2, 3)
    assert config.data.fixed["file"] == str(folder / "data" / "table.csv")
    assert config.em.init_params == "auto" and config.em.tol == 1e-7
    assert parse_config(tomllib.loads(config.to_toml())) == config
    assert run_name("/x/my data!.csv", (2,)) == "my_data_-k2"
    assert run_name("/x/.hidden.csv", (2,)) == "hidden-k2"
