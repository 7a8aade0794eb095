"""Input checks: every bad input becomes one ValueError line saying what to change."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
from scipy import sparse

from emgmm.params import COVARIANCE_TYPES

INIT_METHODS = ("auto", "hierarchical", "kmeans", "k-means++", "random", "random_from_data")
# The starts init_params="auto" tries, best kept (emgmm.fit.fit_em).
AUTO_STARTS = ("hierarchical", "k-means++", "kmeans")


class NotFittedError(ValueError, AttributeError):
    """Raised when a method needs a fitted model and ``fit`` has not been called."""


# headroom below the largest float for sums of squares of the data (covariances, the
# quadratic forms of the densities, the priors' column sds)
OVERFLOW_HEADROOM = 1e4
# below this magnitude squares underflow to subnormals or zero (sqrt of the smallest normal)
UNDERFLOW_LIMIT = float(np.sqrt(np.finfo(float).tiny))
DTYPE_KINDS = {"c": "complex", "O": "object", "U": "string", "S": "bytes", "M": "datetime",
               "m": "timedelta", "V": "structured"}


def _dtype_kind(dtype) -> str:
    """numpy's kind letter of a numpy or pandas dtype ('O' for extension types without one)."""
    return getattr(dtype, "kind", "O")


def _non_numeric(dtype) -> bool:
    return _dtype_kind(dtype) not in "biuf"


def _describe(dtype) -> str:
    return f"{dtype} ({DTYPE_KINDS.get(_dtype_kind(dtype), 'non-numeric')})"


def _frame_as_array(frame, name: str) -> np.ndarray:
    """A pandas-like frame as floats, or TypeError naming its non-numeric columns."""
    bad = [(column, dtype) for column, dtype in zip(frame.columns, frame.dtypes)
           if _non_numeric(dtype)]
    if bad:
        shown = ", ".join(f"{str(column)[:40]!r} ({dtype})" for column, dtype in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise DataTypeError(f"{name} has non-numeric column(s) {shown}{more}: drop or encode "
                            "them as numbers")
    return frame.to_numpy(dtype=float, na_value=np.nan)


class DataTypeError(TypeError, ValueError):
    """Data of a type that is not real numbers (a TypeError, and a ValueError as
    scikit-learn expects for complex data)."""


CONVERSION_ERRORS = (TypeError, ValueError, OverflowError)


def _first_unconvertible(flat: np.ndarray) -> int:
    """Index of the first entry of a 1-D object array that ``float()`` refuses, by bisection
    with numpy's conversion (C speed: a Python loop over 10^6 entries took 1.7 s)."""
    low, high = 0, flat.size  # the first bad entry is in [low, high)
    while high - low > 1:
        middle = (low + high) // 2
        try:
            flat[low:middle].astype(float)
        except CONVERSION_ERRORS:
            high = middle
        else:
            low = middle
    return low


def _object_as_float(array: np.ndarray, name: str) -> np.ndarray:
    """An object array of numbers as floats; else DataTypeError naming the first bad entry
    (column by column for 2-D data)."""
    try:
        return array.astype(float)
    except CONVERSION_ERRORS:
        pass
    flat = array.T.reshape(-1) if array.ndim == 2 else array.reshape(-1)
    index = _first_unconvertible(flat)
    value = flat[index]
    where = (f"column {index // array.shape[0]}" if array.ndim == 2
             else f"index {tuple(int(i) for i in np.unravel_index(index, array.shape))}")
    try:
        float(value)
    except OverflowError:
        raise ValueError(f"{name} {where} holds a value too large for float64 "
                         f"({type(value).__name__} over {np.finfo(float).max:.3g}): "
                         "rescale the data") from None
    except (TypeError, ValueError):
        pass
    raise DataTypeError(
        f"{name} {where} holds {type(value).__name__} {str(value)[:40]!r}: every entry "
        "must be a real number (float() argument must be a string or a real number)")


def real_array(X, name: str = "X") -> np.ndarray:
    """``X`` as a float64 array: bool, integer and float data (and frames of them) converted.

    Object arrays of real numbers are converted too. Complex, string, datetime data, object
    arrays holding anything else and frames with non-numeric columns are a
    :class:`DataTypeError` (a TypeError and a ValueError) naming the dtype, the column or
    the entry (``np.asarray(X, float)`` would drop imaginary parts or fail inside numpy);
    sparse matrices a TypeError; ragged nested lists a ValueError.
    """
    if X is None:
        raise TypeError(f"{name} is None: pass an array of shape (n_samples, n_features)")
    if sparse.issparse(X):
        raise TypeError(f"sparse input is not supported: pass a dense array ({name}.toarray())")
    if hasattr(X, "dtypes") and hasattr(X, "columns"):
        return _frame_as_array(X, name)
    try:
        array = np.asarray(X)
    except ValueError:  # nested sequences of different lengths
        raise ValueError(f"{name} must be a rectangular array of numbers: its rows have "
                         "different lengths") from None
    if array.dtype.kind == "O":
        return _object_as_float(array, name)
    if _non_numeric(array.dtype):
        complex_ = "Complex data not supported: " if array.dtype.kind == "c" else ""
        raise DataTypeError(f"{complex_}{name} must be a real numeric array (bool, integer or "
                            f"float), got dtype {_describe(array.dtype)}")
    return array.astype(float, copy=False)


def column_magnitudes(X: np.ndarray) -> np.ndarray:
    """:math:`\\max_i |x_{ij}|` per column from the column maxima and minima (no temporary of
    X's size); NaN when the column has a NaN, infinite when it has an infinity."""
    return np.maximum(X.max(axis=0), -X.min(axis=0))


STANDARDISE_HINT = "standardise the data first, e.g. (X - X.mean(axis=0)) / X.std(axis=0)"


def check_scale(X: np.ndarray, name: str = "X", largest: np.ndarray | None = None, *,
                hint: str = STANDARDISE_HINT, columns: Sequence[str] | None = None) -> None:
    """Refuse data whose squares overflow or underflow float64 (ValueError naming a column).

    The covariances and quadratic forms sum N x D squares: the largest value must stay
    below :math:`\\sqrt{f_{max} / (10^4 N D)}`; a column whose values are all below
    :math:`\\sqrt{f_{min}} \\approx 1.5 \\times 10^{-154}` (but not all zero) has squares
    that vanish. ``hint`` says what to do; ``columns`` are the columns as the message shows
    them (default: their 0-based index).
    """
    if X.size == 0:
        return
    largest = column_magnitudes(X) if largest is None else largest
    check_magnitudes(largest, X.size, name, hint=hint, columns=columns)


def check_magnitudes(largest: np.ndarray, size: int, name: str = "X", *,
                     hint: str = STANDARDISE_HINT, columns: Sequence[str] | None = None) -> None:
    """:func:`check_scale` from each column's largest absolute value and the data's size
    (N x D): for data not in memory, whose extremes a pass or metadata gave."""
    limit = float(np.sqrt(np.finfo(float).max / (OVERFLOW_HEADROOM * max(size, 1))))

    def column(j: int) -> str:
        return f"column {j if columns is None else columns[j]}"

    too_large = np.flatnonzero(largest > limit)
    if too_large.size:
        j = int(too_large[0])
        raise ValueError(
            f"{name} has values up to {largest[j]:.3g} ({column(j)}): the data's scale "
            f"is too large for sums of squares in float64 (limit {limit:.2g} for this size); "
            f"{hint}")
    too_small = np.flatnonzero((largest > 0) & (largest < UNDERFLOW_LIMIT))
    if too_small.size:
        j = int(too_small[0])
        raise ValueError(
            f"{name} {column(j)} has values of at most {largest[j]:.3g}: the data's "
            f"scale is too small, their squares underflow float64 (below {UNDERFLOW_LIMIT:.2g}); "
            f"{hint}")


def check_data(X, *, name: str = "X", min_samples: int = 1) -> np.ndarray:
    """``X`` as a finite 2-D float array of shape (n_samples, n_features), a copy if needed.

    Types as :func:`real_array`; scales as :func:`check_scale`.
    """
    X = real_array(X, name)
    if X.ndim != 2:
        hint = ": Reshape your data with X.reshape(-1, 1) for one feature" if X.ndim == 1 else ""
        raise ValueError(f"{name} must be 2-D of shape (n_samples, n_features), got {X.ndim}-D{hint}")
    if X.shape[0] < min_samples:
        raise ValueError(
            f"{name} has {X.shape[0]} sample(s) but at least {min_samples} are needed: pass more data"
        )
    if X.shape[1] < 1:
        raise ValueError(
            f"{name} has 0 feature(s) (shape={X.shape}) while a minimum of 1 is required: "
            "pass at least one column"
        )
    # NaN and infinities reach the column maxima or minima: no N x D mask is needed.
    largest = column_magnitudes(X)
    if not np.all(np.isfinite(largest)):
        raise ValueError(f"{name} contains NaN or infinity: remove or impute those entries")
    check_scale(X, name, largest)
    return X


def check_n_features(X: np.ndarray, n_features: int, owner: str = "GaussianMixtureEM") -> None:
    """Same number of columns as the data the model was fitted on."""
    if X.shape[1] != n_features:
        raise ValueError(
            f"X has {X.shape[1]} features, but {owner} is expecting {n_features} features as "
            "input: pass data with the columns used for fitting"
        )


def check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_float(value, name: str, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= minimum:
        raise ValueError(f"{name} must be a number >= {minimum}, got {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


def check_choice(value, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_fit_settings(
    *, n_components, covariance_type, tol, reg_covar, max_iter, n_init, init_params
) -> None:
    """Hyper-parameters of a fit, checked once on entry."""
    check_int(n_components, "n_components", 1)
    check_choice(covariance_type, "covariance_type", COVARIANCE_TYPES)
    check_float(tol, "tol")
    check_float(reg_covar, "reg_covar")
    check_int(max_iter, "max_iter", 0)
    check_int(n_init, "n_init", 1)
    check_choice(init_params, "init_params", INIT_METHODS)


def _n_distinct_rows(X: np.ndarray) -> int:
    return np.unique(X, axis=0).shape[0]


def check_data_for_fit(X: np.ndarray, n_components: int, reg_covar: float) -> None:
    """Data problems that make a K-component fit impossible, with what to change."""
    n_samples = X.shape[0]
    if n_samples < n_components:
        raise ValueError(
            f"n_samples={n_samples} is smaller than n_components={n_components}: "
            "lower n_components or pass more data"
        )
    if n_components > 1 and _n_distinct_rows(X[: 10 * n_components]) < n_components:
        # The full (sorting) count only when the first rows do not already show K distinct ones.
        n_distinct = _n_distinct_rows(X)
        if n_distinct < n_components:
            raise ValueError(
                f"X has only {n_distinct} distinct point(s) but n_components={n_components}: "
                "lower n_components (duplicate rows cannot support separate components)"
            )
    if reg_covar == 0.0:
        constant = np.flatnonzero(np.ptp(X, axis=0) == 0.0)
        if constant.size:
            raise ValueError(
                f"column(s) {constant.tolist()} of X have zero variance and reg_covar=0: "
                "drop those columns or set reg_covar > 0"
            )


def singular_covariance_message(X: np.ndarray) -> str:
    """Why the covariance of ``X`` (a data-scaled default prior) is singular, and what to do."""
    constant = np.flatnonzero(np.ptp(X, axis=0) == 0.0)
    why = (f"column(s) {constant[:10].tolist()} of X have zero variance" if constant.size
           else "some columns of X are linear combinations of others")
    return (f"the default covariance_prior, the covariance of X, is singular: {why}; drop "
            "those columns or pass covariance_prior")


def as_generator(random_state) -> np.random.Generator:
    """A numpy Generator from None, an int, a SeedSequence, a Generator or a RandomState."""
    if isinstance(random_state, np.random.RandomState):
        # Draw a seed from the legacy state so that it advances, as scikit-learn does.
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    if random_state is None or isinstance(
        random_state, (numbers.Integral, np.random.SeedSequence, np.random.Generator)
    ):
        return np.random.default_rng(random_state)
    raise ValueError(
        f"random_state must be None, an int, a SeedSequence or a numpy Generator, got {random_state!r}"
    )
