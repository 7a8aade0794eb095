"""experiments.run (experiments.api.run_config) and experiments.load_run: the Python entry
points, and the README's "Working in a notebook" example run as written."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import experiments
from emgmm import GaussianMixtureEM
from tests.experiments.conftest import write_config

README = Path(__file__).resolve().parents[2] / "README.md"


def notebook_example() -> str:
    """The first Python block of README's "Working in a notebook" section."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Working in a notebook", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


@pytest.fixture(scope="module")
def em_only_run(tmp_path_factory):
    directory = tmp_path_factory.mktemp("api")
    return experiments.run(write_config(directory), out=directory / "run")


def test_run_is_the_package_and_the_entry_point(tmp_path):
    import experiments.run.rundir as rundir
    from experiments import api

    assert experiments.run.rundir is rundir  # still the package of the runner's modules
    assert experiments.run.__name__ == "experiments.run"
    assert experiments.run_config is api.run_config
    with pytest.raises(ValueError, match="config must be a bundled config name"):
        experiments.run(3.5, out=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_run_returns_the_loaded_run(em_only_run):
    run = em_only_run
    assert len(run.results) == 4  # 2 cells x 2 replicates, EM only
    assert set(run.results["method"]) == {"em"}
    assert run.config.name == "tiny"
    rep = run.replicate(run.replicates[1].cell_id, run.replicates[1].replicate)
    assert rep is run.replicates[1]
    model = rep.em_model()
    assert isinstance(model, GaussianMixtureEM)
    row = run.results[(run.results["cell_id"] == rep.cell_id)
                      & (run.results["replicate"] == rep.replicate)].iloc[0]
    assert model.score(rep.X) == pytest.approx(row["log_likelihood"], rel=1e-12)


def test_loading_again_gives_the_same_tables(em_only_run):
    again = experiments.load_run(em_only_run.path)
    assert again.results.equals(em_only_run.results)
    assert [r.cell_id for r in again.replicates] == [r.cell_id for r in em_only_run.replicates]


def test_a_replicate_without_posterior_says_why(em_only_run):
    with pytest.raises(ValueError, match="has no posterior: MCMC was not run"):
        em_only_run.replicates[0].open_posterior()
    with pytest.raises(ValueError, match="no replicate 7 of cell 'c99'"):
        em_only_run.replicate("c99", 7)


def test_rerun_into_the_same_directory_resumes(em_only_run, make_config):
    config = em_only_run.path / "config.toml"
    before = (em_only_run.path / "results.csv").read_text()
    run = experiments.run(config, out=em_only_run.path)
    assert (run.path / "results.csv").read_text().splitlines()[0] == before.splitlines()[0]
    assert len(run.results) == 4


@pytest.mark.parametrize(("config", "out", "message"), [
    ({"experiment": {"name": "x"}}, "run", r"^\[data\]|data"),
    (3.5, "run", "config must be a bundled config name"),
    ("no-such-config", "run", "no-such-config"),
])
def test_bad_config_is_one_line_and_writes_nothing(tmp_path, config, out, message):
    with pytest.raises(ValueError, match=message) as raised:
        experiments.run(config, out=tmp_path / out)
    assert "\n" not in str(raised.value)
    assert not (tmp_path / out).exists()


def test_bad_options_and_foreign_directory_write_nothing(tmp_path, make_config, em_only_run):
    config = make_config(tmp_path, name="other")
    with pytest.raises(ValueError, match="executor must be one of"):
        experiments.run(config, out=tmp_path / "a", executor="threads")
    with pytest.raises(ValueError, match="workers must be an integer"):
        experiments.run(config, out=tmp_path / "a", executor="process", workers=0)
    assert not (tmp_path / "a").exists()
    with pytest.raises(ValueError, match="different config"):
        experiments.run(config, out=em_only_run.path)


def test_unknown_attribute_of_the_package():
    with pytest.raises(AttributeError, match="no attribute 'runn'"):
        experiments.runn  # noqa: B018


@pytest.mark.slow
def test_readme_notebook_example_runs(quickstart_run, tmp_path, monkeypatch, capsys):
    import matplotlib

    matplotlib.use("Agg")
    shutil.copytree(quickstart_run, tmp_path / "runs" / "quickstart")
    monkeypatch.chdir(tmp_path)
    code = notebook_example()
    assert len([line for line in code.splitlines() if line.strip()]) < 15  # "under 15 lines"
    exec(compile(code, "README.md", "exec"), {})  # noqa: S102 - the README's own example
    printed = capsys.readouterr().out
    assert "mcmc" in printed and "means_error" in printed
    for image in ("means.png", "labels.png"):
        assert (tmp_path / image).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    run = experiments.load_run(tmp_path / "runs" / "quickstart")
    with run.replicates[0].open_posterior() as tree:
        em = tree["em"].to_dataset()
        posterior_means = tree["posterior"]["means"].mean(("chain", "draw")).values
    np.testing.assert_allclose(np.sort(em["means"].values, axis=None),
                               np.sort(run.replicates[0].em_model().means_, axis=None))
    # EM and the posterior mean agree on a well-separated problem (same component order)
    assert np.max(np.abs(em["means"].values - posterior_means)) < 0.3


@pytest.mark.parametrize("sampler", ["nutpie", "numpyro"])
def test_a_sampler_whose_package_is_missing_is_refused_before_anything_is_written(
        tmp_path, monkeypatch, sampler):
    import sys

    config = write_config(tmp_path).read_text().replace(
        "[mcmc]\nenabled = false", f'[mcmc]\nsampler = "{sampler}"')
    (tmp_path / "missing.toml").write_text(config)
    # a None entry in sys.modules makes importlib.util.find_spec report the module missing
    monkeypatch.setitem(sys.modules, sampler, None)
    with pytest.raises(ValueError, match=rf"mcmc.sampler.*needs {sampler}.*gmm-compare\[{sampler}\]"):
        experiments.run(tmp_path / "missing.toml", out=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_load_run_reads_a_replicate_s_arrays_only_when_asked(em_only_run, monkeypatch):
    from experiments.run.rundir import DataArrays

    reads = []
    original = DataArrays.load.__func__

    def counting_load(cls, path):
        reads.append(path)
        return original(cls, path)

    monkeypatch.setattr(DataArrays, "load", classmethod(counting_load))
    run = experiments.load_run(em_only_run.path)
    assert len(run.results) == 4 and reads == []  # the tables, no replicate's arrays
    rep = run.replicates[2]
    assert rep.X.shape == (120, 2) and rep.truth.means.shape == (2, 2)
    assert reads == [rep.path / "data.npz"]  # read once, on first use
