"""Bad Dask input gives one clear line; the data sources; emgmm imports without Dask."""

import re
import subprocess
import sys
import warnings

import dask
import dask.array as da
import numpy as np
import pytest

from emgmm import GaussianMixtureEM
from emgmm.dask import fit_em_dask, open_npy, open_parquet, open_zarr
from tests.emgmm.dask.helpers import assert_same_params, blob_data, given_start


@pytest.fixture(autouse=True)
def synchronous():
    with dask.config.set(scheduler="synchronous"):
        yield


def test_nan_block_is_named_after_one_pass():
    X = blob_data()
    X[130, 1] = np.nan
    X[200, 0] = np.inf
    computes = []
    with (dask.callbacks.Callback(start=lambda dsk: computes.append(len(dsk))),
          pytest.raises(ValueError, match=r"NaN or infinity in block 2 \(rows 100 to 149\)")):
        fit_em_dask(da.from_array(X, chunks=(50, 2)), 3)
    assert len(computes) == 1  # found by the first pass, before any start or iteration


@pytest.mark.parametrize(("X", "error", "match"), [
    (da.ones(10), ValueError, r"must be 2-D .* got 1-D: reshape it with X.reshape\(-1, 1\)"),
    (da.ones((2, 3, 4)), ValueError, "must be 2-D"),
    (da.from_array(np.array([["a", "b"]] * 5)), TypeError, "dtype <U1, not a number"),
    (da.ones((5, 2), dtype=complex), ValueError, "Complex data not supported"),
    (da.ones((0, 2)), ValueError, "at least one sample"),
], ids=["1-D", "3-D", "strings", "complex", "empty"])
def test_bad_arrays_are_one_line(X, error, match):
    with pytest.raises(error, match=match):
        GaussianMixtureEM(2).fit(X)


def test_unknown_chunk_sizes_say_what_to_do():
    X = da.from_array(blob_data(), chunks=50)
    unknown = X[X[:, 0] > 0]
    with pytest.raises(ValueError, match=r"unknown chunk sizes .* X.compute_chunk_sizes\(\) first"):
        fit_em_dask(unknown, 2)
    unknown.compute_chunk_sizes()
    assert fit_em_dask(unknown, 2, random_state=0).converged


def test_data_problems_as_in_memory():
    X = np.repeat(blob_data()[:2], 10, axis=0)
    with pytest.raises(ValueError, match="only 2 distinct point"):
        fit_em_dask(da.from_array(X, chunks=7), 3)
    with pytest.raises(ValueError, match="n_samples=4 is smaller than n_components=5"):
        fit_em_dask(da.ones((4, 2)), 5)
    constant = np.column_stack([blob_data()[:, 0], np.full(239, 2.0)])
    with pytest.raises(ValueError, match=r"column\(s\) \[1\] of X have zero variance and reg_covar=0"):
        fit_em_dask(da.from_array(constant, chunks=60), 2, reg_covar=0.0)
    with pytest.raises(ValueError, match="engine='auto' or 'fast'"):
        fit_em_dask(da.from_array(blob_data()), 2, engine="reference")


@pytest.mark.parametrize("scale, words", [(1e200, "scale is too large"),
                                          (1e-200, "scale is too small")])
def test_data_whose_squares_overflow_or_vanish_are_refused_as_in_memory(scale, words):
    """The first pass's column extremes give the in-memory scale check: one line naming the
    column and suggesting standardisation, no overflow warnings, same message as numpy's."""
    X = blob_data() * scale
    with pytest.raises(ValueError) as in_memory:
        GaussianMixtureEM(2, random_state=0).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=words) as on_dask:
            GaussianMixtureEM(2, random_state=0).fit(da.from_array(X, chunks=60))
    assert str(on_dask.value) == str(in_memory.value)
    assert "column 0" in str(on_dask.value) and "standardise" in str(on_dask.value)


def test_sources_read_the_same_array(tmp_path):
    X = blob_data()
    np.save(tmp_path / "x.npy", X)
    da.to_zarr(da.from_array(X, chunks=(64, 2)), str(tmp_path / "x.zarr"))
    import pandas as pd

    pd.DataFrame(X, columns=["a", "b"]).to_parquet(tmp_path / "x.parquet", row_group_size=100)
    opened = {"npy": open_npy(tmp_path / "x.npy", block_rows=100),
              "zarr": open_zarr(tmp_path / "x.zarr"),
              "parquet": open_parquet(tmp_path / "x.parquet")}
    assert opened["npy"].chunks[0] == (100, 100, 39)
    assert opened["zarr"].chunks[0] == (64, 64, 64, 47)
    start = given_start(X, "full")
    expected = fit_em_dask(da.from_array(X), 3, **start)
    for name, array in opened.items():
        np.testing.assert_array_equal(array.compute(), X, err_msg=name)
        assert_same_params(fit_em_dask(array, 3, **start).params, expected.params)


def test_missing_sources_are_one_line(tmp_path):
    for opener, what in ((open_npy, ".npy file"), (open_zarr, "Zarr store"),
                         (open_parquet, "Parquet file or directory")):
        with pytest.raises(FileNotFoundError, match=f"{what} '.*nothing' does not exist"):
            opener(tmp_path / "nothing")
    np.save(tmp_path / "flat.npy", np.ones(5))
    with pytest.raises(ValueError, match="holds a 1-D array"):
        open_npy(tmp_path / "flat.npy")


def test_missing_package_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "zarr", None)
    with pytest.raises(ImportError, match=r"needs the package 'zarr'.*pip install gmm-compare\[dask\]"):
        open_zarr(tmp_path)


def test_emgmm_imports_and_fits_without_dask():
    code = ("import sys\n"
            "sys.modules.update(dict.fromkeys(['dask', 'dask.array', 'distributed', 'zarr'], None))\n"
            "import numpy as np, emgmm, emgmm.estimator\n"
            "from emgmm import GaussianMixtureEM\n"
            "X = np.random.default_rng(0).normal(size=(50, 2))\n"
            "print(GaussianMixtureEM(2, random_state=0).fit(X).converged_)\n"
            "from emgmm.dask import fit_em_dask\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.stdout.strip() == "True"
    assert re.fullmatch(r"ImportError: EM on Dask arrays needs the package 'dask(\.array)?', which "
                        r"is not installed: pip install gmm-compare\[dask\]",
                        done.stderr.strip().splitlines()[-1])
