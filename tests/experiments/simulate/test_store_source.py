"""``[data] file`` naming a store too big for memory (a Zarr store or a Parquet directory).

The CLI opens the store as a Dask array and fits EM by passes over its blocks; the numbers
must be those of the in-memory EM on the same rows (same start, same iterations, same
log-likelihood, BIC and ICL), whatever the store's format and the executor. Bad stores and
configs that ask for more than EM are one line, exit 2, nothing written.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import zarr
from distributed import LocalCluster

from emgmm import GaussianMixtureParams
from emgmm.fit import fit_em
from emgmm.io import load_model
from experiments.cli import main
from experiments.config import load_config
from experiments.config.budget import estimate_run
from experiments.measure.metrics import mixture_mean_log_likelihood
from experiments.measure.no_truth import information_criteria
from experiments.run.rundir import DataArrays, EMFitArrays
from tests.emgmm.dask.helpers import assert_same_params
from tests.experiments.test_cli import assert_bad_input

COVARIANCE_TYPES = ("full", "spherical")
EM_ONLY = ('[experiment]\nmethods = ["em"]\n[em]\ntol = 1e-9\nmax_iter = 400\n'
           '[report]\nenabled = false\n')


def overlapping_rows(n_rows: int = 1199, seed: int = 5) -> np.ndarray:
    """Two overlapping 3-D clusters (EM needs tens of iterations), an uneven row count."""
    rng = np.random.default_rng(seed)
    shift = (rng.random(n_rows) < 0.4)[:, None] * np.array([2.0, 1.0, 0.0])
    return rng.normal(size=(n_rows, 3)) * np.array([1.0, 0.7, 1.3]) + shift


def write_zarr(path, X: np.ndarray, chunk_rows: int = 250) -> None:
    array = zarr.open_array(str(path), mode="w", shape=X.shape, chunks=(chunk_rows, X.shape[1]),
                            dtype="f8")
    array[:] = X


def write_parquet_folder(path, X: np.ndarray, sizes=(500, 301, 398)) -> None:
    path.mkdir()
    bounds = np.cumsum((0, *sizes))
    for i, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:])):
        frame = pd.DataFrame(X[start:stop], columns=["a", "b", "c"])
        frame.to_parquet(path / f"part-{i}.parquet", row_group_size=200)


def store_config(folder, store: str, extra: str = "") -> str:
    grid = ", ".join(f'"{c}"' for c in COVARIANCE_TYPES)
    path = folder / "store.toml"
    path.write_text(f'[data]\nfile = "{store}"\nn_components = 2\ncovariance_type = [{grid}]\n'
                    f"{extra}{EM_ONLY}")
    return str(path)


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stores")
    X = overlapping_rows()
    write_zarr(folder / "x.zarr", X)
    write_parquet_folder(folder / "parts", X)
    return folder, X


@pytest.fixture(scope="module")
def zarr_run(stores):
    folder, _ = stores
    out = folder / "zarr-run"
    assert main(["run", store_config(folder, "x.zarr"), "--out", str(out)]) == 0
    return out


def results_of(run_dir) -> pd.DataFrame:
    return pd.read_csv(run_dir / "results.csv").sort_values("cell_id").reset_index(drop=True)


def test_a_zarr_store_gives_the_in_memory_em_fit(stores, zarr_run):
    _, X = stores
    results = results_of(zarr_run)
    assert list(results["method"]) == ["em", "em"] and results["error"].isna().all()
    for (_, row), cell in zip(results.iterrows(), sorted((zarr_run / "cells").iterdir())):
        rep = cell / "rep-0"
        model = load_model(rep / "em_model.npz")
        path = EMFitArrays.load(rep / "em_fit.npz")
        covariance_type = model.covariance_type
        assert covariance_type == row["covariance_type"]
        # the in-memory EM from the start the Dask fit began with (snapshot 0)
        full = path.snapshot_covariances[0]
        covariances = full if covariance_type == "full" else full[:, 0, 0]  # spherical: s2 I
        start = GaussianMixtureParams(path.snapshot_weights[0], path.snapshot_means[0],
                                      covariances, covariance_type)
        expected = fit_em(X, 2, covariance_type=covariance_type, start=start, tol=1e-9,
                          max_iter=400, engine="fast")
        assert expected.n_iter == row["n_iter"] > 5 and bool(row["converged"])
        assert_same_params(model.params_, expected.params)
        np.testing.assert_allclose(path.log_likelihood_history,
                                   expected.log_likelihood_history, rtol=0, atol=1e-10)
        # the no-truth metrics of every row, computed in one pass over the store
        criteria = information_criteria(X, model.params_)
        assert row["log_likelihood"] == pytest.approx(
            mixture_mean_log_likelihood(X, model.params_), rel=1e-12)
        assert row["bic"] == pytest.approx(criteria["bic"], rel=1e-12)
        assert row["icl"] == pytest.approx(criteria["icl"], rel=1e-12)
        assert np.isnan(row.get("heldout_lpd", np.nan)) and np.isnan(row["weights_error"])
        # data.npz keeps a sample of the rows for the pictures, em_fit.npz their labels
        data = DataArrays.load(rep / "data.npz")
        np.testing.assert_array_equal(data.X, X)  # fewer rows than the sample: all, in order
        assert not data.has_truth
        np.testing.assert_array_equal(path.map_labels, model.predict(data.X))


def test_a_parquet_folder_gives_the_same_run_as_the_zarr_store(stores, zarr_run):
    folder, _ = stores
    out = folder / "parquet-run"
    assert main(["run", store_config(folder, "parts"), "--out", str(out)]) == 0
    columns = ["cell_id", "log_likelihood", "bic", "icl", "n_iter", "converged"]
    pd.testing.assert_frame_equal(results_of(out)[columns], results_of(zarr_run)[columns],
                                  check_exact=False, rtol=1e-10)


@pytest.mark.parametrize("cluster", ["local", "scheduler-address"])
def test_the_dask_executor_gives_the_serial_numbers(stores, zarr_run, cluster):
    """Each replicate's passes run on the cluster the task runs on: a LocalCluster of the
    runner's, or a running one named by --scheduler."""
    folder, _ = stores
    out = folder / f"dask-run-{cluster}"
    argv = ["run", store_config(folder, "x.zarr"), "--out", str(out), "--executor", "dask"]
    if cluster == "local":
        assert main([*argv, "--workers", "2"]) == 0
    else:
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          dashboard_address=":0") as running:
            assert main([*argv, "--scheduler", running.scheduler_address]) == 0
    columns = ["cell_id", "log_likelihood", "bic", "icl", "n_iter"]
    pd.testing.assert_frame_equal(results_of(out)[columns], results_of(zarr_run)[columns],
                                  check_exact=True)


BAD_STORES = [
    ("mcmc", "x.zarr", '[experiment]\nmethods = ["em", "mcmc"]\n',
     ("experiment.methods", 'methods = ["em"]')),
    ("no-method-list", "x.zarr", "", ("experiment.methods", 'methods = ["em"]')),
    ("map", "x.zarr", '[experiment]\nmethods = ["em"]\n[em]\nmethod = "map"\n', ("em.method",)),
    ("missing-store", "absent.zarr", '[experiment]\nmethods = ["em"]\n',
     ("data.file", "does not exist")),
    ("three-dimensions", "cube.zarr", '[experiment]\nmethods = ["em"]\n',
     ("data.file", "3 dimensions")),
    ("held-out-rows", "x.zarr", 'test_fraction = 0.2\n[experiment]\nmethods = ["em"]\n',
     ("data.test_fraction",)),
    ("labels", "parts", 'label_column = "a"\n[experiment]\nmethods = ["em"]\n',
     ("data.label_column",)),
    ("unknown-column", "parts", 'columns = ["a", "zz"]\n[experiment]\nmethods = ["em"]\n',
     ("data.file", "'zz'")),
    ("array-of-parquet", "parts", 'array = "X"\n[experiment]\nmethods = ["em"]\n',
     ("data.array", "Zarr")),
    ("no-store", "junk", '[experiment]\nmethods = ["em"]\n', ("data.file", "is a directory")),
    ("not-parquet", "mixed", '[experiment]\nmethods = ["em"]\n', ("data.file", "not Parquet")),
    ("parquet-scale-1e200", "huge", '[experiment]\nmethods = ["em"]\n',
     ("data.file", "'huge'", "column 'a'", "scale is too large", "rescale the store")),
]


@pytest.mark.parametrize(("case", "store", "extra", "words"), BAD_STORES,
                         ids=[c[0] for c in BAD_STORES])
@pytest.mark.parametrize("command", ["run", "validate"])
def test_bad_stores_are_one_line_exit_2_nothing_written(tmp_path, capsys, case, store, extra,
                                                        words, command):
    X = overlapping_rows(300)
    write_zarr(tmp_path / "x.zarr", X)
    write_parquet_folder(tmp_path / "parts", X, sizes=(150, 150))
    cube = zarr.open_array(str(tmp_path / "cube.zarr"), mode="w", shape=(20, 3, 2), dtype="f8")
    cube[:] = 1.0
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("not a table")
    write_parquet_folder(tmp_path / "mixed", X, sizes=(300,))
    (tmp_path / "mixed" / "notes.txt").write_text("not a table")
    write_parquet_folder(tmp_path / "huge", X * 1e200, sizes=(300,))
    path = tmp_path / "bad.toml"
    path.write_text(f'[data]\nfile = "{store}"\nn_components = 2\n{extra}')
    out = tmp_path / "run"
    argv = [command, str(path)] + (["--out", str(out)] if command == "run" else [])
    assert_bad_input(capsys, argv, words)
    assert not out.exists()


def test_an_array_of_a_zarr_group_and_some_of_its_columns(tmp_path):
    X = overlapping_rows(600)
    group = zarr.open_group(str(tmp_path / "group.zarr"), mode="w")
    group.create_array("X", shape=X.shape, chunks=(128, 3), dtype="f8")[:] = X
    group.create_array("other", shape=(5,), dtype="f8")[:] = 0.0
    config = tmp_path / "group.toml"
    config.write_text('[data]\nfile = "group.zarr"\narray = "X"\ncolumns = [0, 2]\n'
                      f"n_components = 2\n{EM_ONLY}")
    out = tmp_path / "run"
    assert main(["run", str(config), "--out", str(out)]) == 0
    row = results_of(out).iloc[0]
    rep = next((out / "cells").iterdir()) / "rep-0"
    model = load_model(rep / "em_model.npz")
    used = X[:, [0, 2]]
    assert model.n_features_in_ == 2
    assert row["log_likelihood"] == pytest.approx(mixture_mean_log_likelihood(used, model.params_),
                                                  rel=1e-12)
    np.testing.assert_array_equal(DataArrays.load(rep / "data.npz").X, used)
    assert list(DataArrays.load(rep / "data.npz").feature_names) == ["0", "2"]


def test_validate_and_the_estimate_read_only_metadata(tmp_path, capsys):
    """A store of 10^9 rows (80 GB if written; no chunk is, so it takes a few kB): validate
    passes and the memory estimate counts blocks and samples, not N."""
    zarr.create_array(str(tmp_path / "huge.zarr"), shape=(10**9, 10), chunks=(100_000, 10),
                      dtype="f8")
    path = tmp_path / "huge.toml"
    path.write_text(f'[data]\nfile = "huge.zarr"\nn_components = 10\n{EM_ONLY}')
    assert sum(f.stat().st_size for f in (tmp_path / "huge.zarr").rglob("*")) < 10_000
    estimate = estimate_run(load_config(path))
    assert estimate.peak_per_worker < 1.5e9  # the data alone would be 8e10 bytes
    assert estimate.pymc_fits == 0 and estimate.draws == 0  # methods = ["em"]
    assert main(["validate", str(path)]) == 0
    assert "valid" in capsys.readouterr().out
