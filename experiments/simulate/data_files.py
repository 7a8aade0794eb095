"""A user's own data: a table read from a file, checked, optionally standardised.

Formats, chosen by the file's suffix: CSV (``.csv``) and TSV (``.tsv``, ``.tab``) with a
header row, parsed by :func:`pandas.read_csv` (no code in a data file is ever run);
``.npy`` (a 2-D numeric array, or 1-D for one feature; never unpickled); ``.npz`` (the
array named by ``array``, or the only one); Parquet (``.parquet``, ``.pq``, needs the
``parquet`` extra: pyarrow). The file is only read.

Every problem raises :class:`DataFileError` (a ``ValueError``) with one line saying what is
wrong and what to do: a missing file or a directory, an empty file, a header without rows,
a non-numeric cell (its column and first row), a constant column, NaN or infinity (under
``missing = "error"``), a label column with one class, fewer rows than the largest K
needs, more rows than ``max_rows``, a symlink loop.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from emgmm._validation import check_scale
from experiments.errors import quoted_input

TEXT_SEPARATORS = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
NUMPY_SUFFIXES = (".npy", ".npz")
PARQUET_SUFFIXES = (".parquet", ".pq")
SUFFIXES = (*TEXT_SEPARATORS, *NUMPY_SUFFIXES, *PARQUET_SUFFIXES)
STANDARDIZE = ("none", "zscore")
MISSING = ("error", "drop_rows")
DEFAULT_MAX_ROWS = 10_000_000
MAX_QUOTED = 60  # characters of user input quoted back in a message


class DataFileError(ValueError):
    """A data file that cannot be used; the message is one line."""


@dataclass(frozen=True)
class DataFileSpec:
    """Where the data are and how to read them (the ``[data]`` keys of a file source).

    Attributes
    ----------
    path : Path
        The file (already resolved against the config file's folder).
    columns : tuple of str or int, or None
        Feature columns by header name or 0-based index; ``None``: every column except the
        label column.
    label_column : str, int or None
        Optional column of known classes (any values; compared with the fitted labels).
    standardize : {"none", "zscore"}
        ``zscore`` centres each feature and divides it by its standard deviation.
    missing : {"error", "drop_rows"}
        What to do with rows holding an empty cell, NaN or infinity in a used column.
    max_rows : int
        Refuse files with more rows than this (a guard against loading the wrong file).
    array : str or None
        The array to read from an ``.npz`` archive (``None``: its only array).
    """

    path: Path
    columns: tuple[str | int, ...] | None = None
    label_column: str | int | None = None
    standardize: str = "none"
    missing: str = "error"
    max_rows: int = DEFAULT_MAX_ROWS
    array: str | None = None


@dataclass(frozen=True)
class LoadedData:
    """A checked data matrix and what is known about it.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features)
        The features, float64, finite, standardised when asked.
    feature_names : tuple of str
        One name per column of ``X``.
    labels : ndarray of shape (n_samples,) or None
        Known classes coded 0 .. C-1 (in sorted order of ``class_names``), if a label column
        was named.
    class_names : tuple of str
        The label column's distinct values as text, ``labels``' codes index them.
    n_dropped : int
        Rows removed under ``missing = "drop_rows"``.
    location, scale : ndarray of shape (n_features,)
        The centring and scaling applied (zeros and ones without standardisation), so that
        estimates can be mapped back to the file's units: ``x_file = location + scale * x``.
    """

    X: np.ndarray
    feature_names: tuple[str, ...]
    labels: np.ndarray | None
    class_names: tuple[str, ...]
    n_dropped: int
    location: np.ndarray
    scale: np.ndarray


def quoted(value: object) -> str:
    """User input in a message: in quotes, escaped, at most a few dozen characters."""
    return "'" + quoted_input(str(value), MAX_QUOTED) + "'"


# ---------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------


def checked_path(path: Path) -> Path:
    """The file itself, after refusing what is not a readable regular file."""
    try:
        resolved = Path(path).resolve(strict=True)
    except FileNotFoundError:
        raise DataFileError(f"data file {quoted(path)} does not exist; check the path "
                            "(relative paths are relative to the config file)") from None
    except (RuntimeError, OSError) as error:  # symlink loops: RuntimeError or ELOOP
        if isinstance(error, OSError) and error.errno not in (errno.ELOOP, None):
            raise DataFileError(f"data file {quoted(path)} cannot be opened: "
                                f"{error.strerror}") from None
        raise DataFileError(f"data file {quoted(path)} is a symbolic link loop; point "
                            "`file` at the data itself") from None
    if resolved.is_dir():
        raise DataFileError(f"data file {quoted(path)} is a directory; name a file in it")
    if not os.access(resolved, os.R_OK):
        raise DataFileError(f"data file {quoted(path)} is not readable; check its permissions")
    if resolved.suffix.lower() not in SUFFIXES:
        raise DataFileError(f"data file {quoted(path)} has an unknown suffix; use one of "
                            f"{', '.join(SUFFIXES)}")
    if resolved.stat().st_size == 0:
        raise DataFileError(f"data file {quoted(path)} is empty")
    return resolved


def read_table(path: Path, array: str | None = None) -> pd.DataFrame:
    """The file as a DataFrame of raw cells (text for CSV/TSV, numbers otherwise)."""
    suffix = path.suffix.lower()
    if suffix in TEXT_SEPARATORS:
        return _read_text(path, TEXT_SEPARATORS[suffix])
    if suffix in PARQUET_SUFFIXES:
        return _read_parquet(path)
    return _frame_from_array(_read_numpy(path, array), path)


def _read_text(path: Path, separator: str) -> pd.DataFrame:
    try:
        # Every cell as text, so that a non-numeric cell can be named rather than guessed.
        return pd.read_csv(path, sep=separator, dtype=str, keep_default_na=False,
                           skipinitialspace=True, engine="c")
    except pd.errors.EmptyDataError:
        raise DataFileError(f"data file {quoted(path.name)} holds no header row") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DataFileError(f"data file {quoted(path.name)} is not a valid "
                            f"{'TSV' if separator == chr(9) else 'CSV'} table: "
                            f"{quoted(first)}") from None


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        import pyarrow  # noqa: F401  (optional extra, imported only for Parquet files)
    except ImportError:
        raise DataFileError("reading Parquet files needs pyarrow: "
                            "pip install 'gmm-compare[parquet]'") from None
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as error:
        raise DataFileError(f"data file {quoted(path.name)} is not a readable Parquet file: "
                            f"{quoted(str(error).splitlines()[0] if str(error) else '')}") from None


def _read_numpy(path: Path, array: str | None) -> np.ndarray:
    try:
        loaded = np.load(path, allow_pickle=False)  # never unpickle: no code from data files
    except ValueError as error:
        raise DataFileError(f"data file {quoted(path.name)} cannot be read without "
                            f"unpickling ({quoted(str(error))}); save a numeric array") from None
    except (OSError, EOFError) as error:
        raise DataFileError(f"data file {quoted(path.name)} is not a valid "
                            f"{path.suffix} file: {quoted(str(error))}") from None
    if isinstance(loaded, np.ndarray):
        return loaded
    with loaded:
        names = list(loaded.files)
        if array is None:
            if len(names) != 1:
                raise DataFileError(f"data file {quoted(path.name)} holds {len(names)} arrays; "
                                    f"name one with `array` (one of {quoted(', '.join(names))})")
            array = names[0]
        if array not in names:
            raise DataFileError(f"data file {quoted(path.name)} has no array {quoted(array)}; "
                                f"it holds {quoted(', '.join(names))}")
        return loaded[array]


def _frame_from_array(values: np.ndarray, path: Path) -> pd.DataFrame:
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise DataFileError(f"data file {quoted(path.name)} holds an array of "
                            f"{values.ndim} dimensions; save a 2-D array (rows x features)")
    if values.dtype.kind not in "biuf":
        raise DataFileError(f"data file {quoted(path.name)} holds {values.dtype} values; "
                            "save a numeric array")
    return pd.DataFrame(values, columns=[str(j) for j in range(values.shape[1])])


# ---------------------------------------------------------------------------------------
# Columns and cells
# ---------------------------------------------------------------------------------------


def column_name(frame: pd.DataFrame, key: str | int, what: str) -> str:
    """The header name of a column given by name or 0-based index."""
    names = [str(name) for name in frame.columns]
    if isinstance(key, int) and not isinstance(key, bool):
        if not 0 <= key < len(names):
            raise DataFileError(f"{what} index {key} is out of range: the file has "
                                f"{len(names)} columns (0 .. {len(names) - 1})")
        return names[key]
    if str(key) not in names:
        raise DataFileError(f"{what} {quoted(key)} is not a column of the file; its columns "
                            f"are {quoted(', '.join(names))}")
    return str(key)


def numeric_columns(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """The named columns as float64; empty cells become NaN; other text is an error."""
    result = {}
    for name in names:
        column = frame[name]
        if column.dtype.kind in "biuf":
            result[name] = column.astype(float)
            continue
        if column.dtype.kind != "O" and not pd.api.types.is_string_dtype(column):
            raise DataFileError(f"column {quoted(name)} holds {column.dtype} values; "
                                "use numbers")
        text = column.astype(str).str.strip()
        values = pd.to_numeric(text.where(text != "", None), errors="coerce")
        bad = values.isna() & (text != "") & ~text.str.lower().isin(["nan", "na"])
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataFileError(f"column {quoted(name)} has a non-numeric value "
                                f"{quoted(text.iloc[row])} in data row {row + 1} "
                                f"({int(bad.sum())} such cell(s)); use numbers, or leave "
                                "the column out with `columns`")
        result[name] = values.astype(float)
    return pd.DataFrame(result)


def rows_to_keep(values: pd.DataFrame, missing: str) -> np.ndarray:
    """Rows whose cells are all finite; under ``missing = "error"`` any other row is an error."""
    finite = np.isfinite(values.to_numpy()).all(axis=1)
    if missing == "error" and not finite.all():
        bad_rows = np.flatnonzero(~finite)
        shown = ", ".join(str(row + 1) for row in bad_rows[:5])
        raise DataFileError(f"{bad_rows.size} row(s) have an empty, NaN or infinite value "
                            f"(data rows {shown}{', ...' if bad_rows.size > 5 else ''}); "
                            "fix them or set missing = \"drop_rows\"")
    return finite


def class_codes(column: pd.Series) -> tuple[np.ndarray, tuple[str, ...]]:
    """Known classes coded 0 .. C-1 in sorted order of their text."""
    text = column.astype(str).str.strip()
    if (text == "").any():
        row = int(np.flatnonzero((text == "").to_numpy())[0])
        raise DataFileError(f"label column {quoted(column.name)} is empty in data row {row + 1}")
    classes, codes = np.unique(text.to_numpy(), return_inverse=True)
    if classes.size < 2:
        raise DataFileError(f"label column {quoted(column.name)} has one class "
                            f"({quoted(classes[0]) if classes.size else 'none'}); known "
                            "classes need at least two, or leave label_column out")
    return codes.astype(np.int64), tuple(str(c) for c in classes)


def constant_column(X: np.ndarray, names: tuple[str, ...]) -> str | None:
    """The first column whose values are all equal, if any."""
    spread = X.max(axis=0) - X.min(axis=0)
    constant = np.flatnonzero(spread == 0)
    return names[constant[0]] if constant.size else None


def standardized(X: np.ndarray, how: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(X - mean) / sd`` per column for ``zscore``; returns X, location, scale."""
    n_features = X.shape[1]
    if how == "none":
        return X, np.zeros(n_features), np.ones(n_features)
    magnitude = np.abs(X).max(axis=0)  # divide first: squares of values near 1e200 overflow
    location = (X / magnitude).mean(axis=0) * magnitude
    scale = ((X - location) / magnitude).std(axis=0) * magnitude
    return (X - location) / scale, location, scale


# ---------------------------------------------------------------------------------------
# The whole load
# ---------------------------------------------------------------------------------------


def minimum_rows(max_components: int, n_features: int) -> int:
    """Rows needed to fit ``max_components`` components in ``n_features`` dimensions.

    Each component's full covariance needs at least D + 1 points to be non-singular, so
    K (D + 1) rows are the least that can support K components.
    """
    return max_components * (n_features + 1)


def check_rows(n_rows: int, max_components: int, n_features: int, what: str) -> None:
    """Refuse fewer than :func:`minimum_rows` rows (a wide file with few rows is refused
    before its columns are parsed)."""
    needed = minimum_rows(max_components, n_features)
    if n_rows < needed:
        raise DataFileError(f"{n_rows} {what} are too few for {max_components} component(s) "
                            f"in {n_features} dimension(s): at least {needed} are needed "
                            "(K x (D + 1))")


def load_data_file(spec: DataFileSpec, max_components: int = 1) -> LoadedData:
    """Read, select, check and standardise the data of ``spec``.

    Parameters
    ----------
    spec : DataFileSpec
    max_components : int
        The largest number of components the run fits; the file must have at least
        :func:`minimum_rows` complete rows for it.

    Raises
    ------
    DataFileError
        One line naming what is wrong with the file or the options, and what to do.
    """
    if spec.standardize not in STANDARDIZE:
        raise DataFileError(f"standardize must be one of {STANDARDIZE}, got {quoted(spec.standardize)}")
    if spec.missing not in MISSING:
        raise DataFileError(f"missing must be one of {MISSING}, got {quoted(spec.missing)}")
    path = checked_path(spec.path)
    frame = read_table(path, spec.array)
    if len(frame.columns) == 0:
        raise DataFileError(f"data file {quoted(path.name)} has no columns")
    if len(frame) == 0:
        raise DataFileError(f"data file {quoted(path.name)} has a header but no data rows")
    if len(frame) > spec.max_rows:
        raise DataFileError(f"data file {quoted(path.name)} has {len(frame)} rows, more than "
                            f"max_rows = {spec.max_rows}; raise max_rows if this is the "
                            "right file")
    label_name = (None if spec.label_column is None
                  else column_name(frame, spec.label_column, "label_column"))
    if spec.columns is None:
        feature_names = [str(name) for name in frame.columns if str(name) != label_name]
    else:
        feature_names = [column_name(frame, key, "columns entry") for key in spec.columns]
    if not feature_names:
        raise DataFileError("no feature columns are left; name them with `columns`")
    if len(set(feature_names)) != len(feature_names):
        raise DataFileError("`columns` names a column more than once")
    if label_name in feature_names:
        raise DataFileError(f"column {quoted(label_name)} is both a feature and the label column")
    check_rows(len(frame), max_components, len(feature_names), "row(s)")  # before any parsing
    values = numeric_columns(frame, feature_names)
    keep = rows_to_keep(values, spec.missing)
    X = np.ascontiguousarray(values.to_numpy()[keep], dtype=float)
    names = tuple(feature_names)
    check_rows(X.shape[0], max_components, len(names), "complete row(s)")
    constant = constant_column(X, names)
    if constant is not None:
        raise DataFileError(f"column {quoted(constant)} has one value in every row; it "
                            "carries no information: leave it out with `columns`")
    labels, class_names = None, ()
    if label_name is not None:
        labels, class_names = class_codes(frame[label_name][keep].reset_index(drop=True))
    X, location, scale = standardized(X, spec.standardize)
    try:
        check_scale(X, "the data", hint='set standardize = "zscore" in the [data] section of '
                    "a config, or rescale the file", columns=[quoted(name) for name in names])
    except ValueError as error:
        raise DataFileError(str(error)) from None
    return LoadedData(X=X, feature_names=names, labels=labels, class_names=class_names,
                      n_dropped=int((~keep).sum()), location=location, scale=scale)
