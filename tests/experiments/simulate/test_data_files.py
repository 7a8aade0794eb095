"""Reading a user's data file: every format, every option, every bad input in one line."""

from __future__ import annotations

import os
import sys

import numpy as np
import pandas as pd
import pytest

from experiments.simulate.data_files import DataFileError, DataFileSpec, load_data_file, quoted


@pytest.fixture
def table():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"length": rng.normal(5, 1, 40), "width": rng.normal(2, 0.5, 40),
                          "depth": rng.normal(-1, 2, 40),
                          "species": np.repeat(["setosa", "virginica"], 20)})
    return frame


def write(frame: pd.DataFrame, path, **kwargs):
    suffix = path.suffix
    if suffix == ".csv":
        frame.to_csv(path, index=False, **kwargs)
    elif suffix == ".tsv":
        frame.to_csv(path, index=False, sep="\t", **kwargs)
    elif suffix == ".parquet":
        frame.to_parquet(path)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet"])
def test_tables_read_with_labels(tmp_path, table, suffix):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow", reason="the parquet extra (pip install '.[parquet]')")
    path = write(table, tmp_path / f"data{suffix}")
    loaded = load_data_file(DataFileSpec(path, label_column="species"), max_components=3)
    np.testing.assert_allclose(loaded.X, table[["length", "width", "depth"]].to_numpy(), rtol=1e-15)
    assert loaded.feature_names == ("length", "width", "depth")
    assert loaded.class_names == ("setosa", "virginica")
    np.testing.assert_array_equal(loaded.labels, np.repeat([0, 1], 20))


def test_parquet_without_pyarrow_names_the_extra(tmp_path, table, monkeypatch):
    path = tmp_path / "data.parquet"
    path.write_bytes(b"PAR1 not really")
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow now fails
    with pytest.raises(DataFileError, match=r"needs pyarrow: pip install 'gmm-compare\[parquet\]'"):
        load_data_file(DataFileSpec(path))


def test_npy_and_npz(tmp_path, table):
    values = table[["length", "width"]].to_numpy()
    np.save(tmp_path / "x.npy", values)
    np.savez(tmp_path / "x.npz", features=values, other=values[:, :1])
    np.testing.assert_array_equal(load_data_file(DataFileSpec(tmp_path / "x.npy")).X, values)
    loaded = load_data_file(DataFileSpec(tmp_path / "x.npz", array="features", columns=(1,)))
    np.testing.assert_array_equal(loaded.X, values[:, 1:])
    with pytest.raises(DataFileError, match="holds 2 arrays; name one with `array`"):
        load_data_file(DataFileSpec(tmp_path / "x.npz"))
    np.save(tmp_path / "one.npy", values[:, 0])
    assert load_data_file(DataFileSpec(tmp_path / "one.npy")).X.shape == (40, 1)


def test_columns_by_name_and_index(tmp_path, table):
    path = write(table, tmp_path / "d.csv")
    by_name = load_data_file(DataFileSpec(path, columns=("depth", "length")))
    by_index = load_data_file(DataFileSpec(path, columns=(2, 0)))
    np.testing.assert_array_equal(by_name.X, by_index.X)
    assert by_index.feature_names == ("depth", "length")


def test_zscore_against_scipy(tmp_path, table):
    from scipy.stats import zscore

    path = write(table.drop(columns="species"), tmp_path / "d.csv")
    loaded = load_data_file(DataFileSpec(path, standardize="zscore"))
    np.testing.assert_allclose(loaded.X, zscore(table[["length", "width", "depth"]].to_numpy()),
                               atol=1e-12)
    np.testing.assert_allclose(loaded.location + loaded.scale * loaded.X,
                               table[["length", "width", "depth"]].to_numpy(), atol=1e-12)


def test_zscore_of_extreme_scales_is_finite(tmp_path):
    rng = np.random.default_rng(0)
    values = rng.normal(size=(30, 2)) * np.array([1e200, 1e-200])
    np.save(tmp_path / "x.npy", values)
    loaded = load_data_file(DataFileSpec(tmp_path / "x.npy", standardize="zscore"))
    assert np.isfinite(loaded.X).all()
    np.testing.assert_allclose(loaded.X.std(axis=0), 1.0, rtol=1e-12)


def test_drop_rows_counts_what_it_drops(tmp_path, table):
    table.loc[[3, 7], "width"] = np.nan
    table.loc[11, "depth"] = np.inf
    path = write(table, tmp_path / "d.csv")
    with pytest.raises(DataFileError, match=r"3 row\(s\) .*data rows 4, 8, 12"):
        load_data_file(DataFileSpec(path, label_column="species"))
    loaded = load_data_file(DataFileSpec(path, label_column="species", missing="drop_rows"))
    assert loaded.n_dropped == 3 and loaded.X.shape == (37, 3) and loaded.labels.shape == (37,)


def test_the_file_is_only_read(tmp_path, table):
    path = write(table, tmp_path / "d.csv")
    before = (path.read_bytes(), os.stat(path).st_mtime_ns)
    load_data_file(DataFileSpec(path, standardize="zscore", label_column="species"))
    assert (path.read_bytes(), os.stat(path).st_mtime_ns) == before


def bad_inputs(tmp_path, table):
    """(name, spec, max_components, expected message fragment) for every refused input."""
    cases = []
    cases.append(("missing", DataFileSpec(tmp_path / "nope.csv"), 1, "does not exist"))
    cases.append(("directory", DataFileSpec(tmp_path), 1, "is a directory"))
    (tmp_path / "empty.csv").write_text("")
    cases.append(("empty", DataFileSpec(tmp_path / "empty.csv"), 1, "is empty"))
    (tmp_path / "header.csv").write_text("a,b\n")
    cases.append(("header only", DataFileSpec(tmp_path / "header.csv"), 1, "header but no data rows"))
    text = table.astype(str)
    text.loc[5, "width"] = "twelve"
    write(text, tmp_path / "text.csv")
    cases.append(("non-numeric", DataFileSpec(tmp_path / "text.csv", label_column="species"), 1,
                  "column 'width' has a non-numeric value 'twelve' in data row 6"))
    write(table, tmp_path / "d.csv")
    cases.append(("too few rows", DataFileSpec(tmp_path / "d.csv", label_column="species"), 11,
                  "too few for 11 component"))
    constant = table.assign(width=1.5)
    write(constant, tmp_path / "constant.csv")
    cases.append(("constant", DataFileSpec(tmp_path / "constant.csv", label_column="species"), 1,
                  "column 'width' has one value in every row"))
    nan = table.copy()
    nan.loc[2, "length"] = np.nan
    write(nan, tmp_path / "nan.csv")
    cases.append(("nan", DataFileSpec(tmp_path / "nan.csv", label_column="species"), 1,
                  "empty, NaN or infinite"))
    one_class = table.assign(species="setosa")
    write(one_class, tmp_path / "oneclass.csv")
    cases.append(("one class", DataFileSpec(tmp_path / "oneclass.csv", label_column="species"), 1,
                  "has one class"))
    os.symlink(tmp_path / "loop-b.csv", tmp_path / "loop-a.csv")
    os.symlink(tmp_path / "loop-a.csv", tmp_path / "loop-b.csv")
    cases.append(("symlink loop", DataFileSpec(tmp_path / "loop-a.csv"), 1, "symbolic link loop"))
    cases.append(("max rows", DataFileSpec(tmp_path / "d.csv", max_rows=10), 1, "more than max_rows"))
    cases.append(("unknown column", DataFileSpec(tmp_path / "d.csv", columns=("size",)), 1,
                  "'size' is not a column"))
    cases.append(("index range", DataFileSpec(tmp_path / "d.csv", columns=(9,)), 1, "out of range"))
    cases.append(("label missing", DataFileSpec(tmp_path / "d.csv", label_column="kind"), 1,
                  "label_column 'kind' is not a column"))
    (tmp_path / "data.xlsx").write_bytes(b"PK")
    cases.append(("suffix", DataFileSpec(tmp_path / "data.xlsx"), 1, "unknown suffix"))
    np.save(tmp_path / "objects.npy", np.array([[1, "a"]], dtype=object), allow_pickle=True)
    cases.append(("pickled", DataFileSpec(tmp_path / "objects.npy"), 1, "without unpickling"))
    np.save(tmp_path / "cube.npy", np.zeros((2, 2, 2)))
    cases.append(("3-D", DataFileSpec(tmp_path / "cube.npy"), 1, "3 dimensions"))
    cases.append(("option", DataFileSpec(tmp_path / "d.csv", standardize="minmax"), 1,
                  "standardize must be one of"))
    return cases


def test_every_bad_input_is_one_line(tmp_path, table):
    for name, spec, max_components, fragment in bad_inputs(tmp_path, table):
        with pytest.raises(DataFileError) as caught:
            load_data_file(spec, max_components=max_components)
        message = str(caught.value)
        assert fragment in message, (name, message)
        assert "\n" not in message and len(message) < 300, (name, message)


def test_quoted_input_is_short_and_escaped():
    shown = quoted("\x1b[31mred\u202e" + "x" * 1000)
    assert "\x1b" not in shown and "\u202e" not in shown and len(shown) < 90
