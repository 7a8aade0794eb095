"""Data given to bayes.sample: rejected in one line, within a second, before any model is
built or compiled; or converted to the float64 array the model is built on.

The type and scale checks are emgmm's (emgmm._validation.real_array, check_scale), so
GaussianMixtureEM and bayes.sample accept and refuse the same data.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import pytest

import bayes
from bayes.validation import check_model_args

GOOD = np.random.default_rng(0).normal(size=(40, 2))
REJECT_SECONDS = 1.0


def frame_with(**columns) -> pd.DataFrame:
    frame = pd.DataFrame(GOOD, columns=["x", "y"])
    return frame.assign(**columns)


def with_nan() -> np.ndarray:
    X = GOOD.copy()
    X[3, 1] = np.nan
    return X


# (case, X, n_components, sample options, error type, words in the message)
BAD = [
    ("1e200 scale", GOOD * 1e200, 2, {}, ValueError, ["column", "too large", "standardise"]),
    ("1e-200 scale", GOOD * 1e-200, 2, {}, ValueError, ["column 0", "too small", "standardise"]),
    ("frame with text", frame_with(label="a"), 2, {}, TypeError, ["'label'", "non-numeric"]),
    ("frame with dates", frame_with(when=pd.Timestamp("2026-01-01")), 2, {}, TypeError,
     ["'when'", "datetime"]),
    ("object array with text", np.array([[1.0, "b"]] * 20, dtype=object), 2, {}, TypeError,
     ["column 1", "str"]),
    ("complex", GOOD + 1j, 2, {}, TypeError, ["complex"]),
    ("string array", GOOD.astype(str), 2, {}, TypeError, ["string"]),
    ("NaN", with_nan(), 2, {}, ValueError, ["NaN"]),
    ("empty", np.empty((0, 2)), 2, {}, ValueError, ["at least 2 samples"]),
    ("no features", np.empty((10, 0)), 2, {}, ValueError, ["1 feature"]),
    ("1-D", GOOD[:, 0], 2, {}, ValueError, ["reshape(-1, 1)"]),
    ("ragged", [[1.0, 2.0], [3.0]], 1, {}, ValueError, ["rectangular"]),
    ("K > N", GOOD[:3], 5, {}, ValueError, ["n_components=5", "3"]),
    ("prior of another D", GOOD, 2, {"priors": bayes.Priors(means_loc=[0.0, 0.0, 0.0])},
     ValueError, ["means_loc", "(2)", "3"]),
    ("None", None, 2, {}, TypeError, ["X is None"]),
    ("integer beyond float64", np.array([[10**400, 1]] * 20, dtype=object), 2, {}, ValueError,
     ["column 0", "too large for float64"]),
    ("frame with a category", frame_with(kind=pd.Categorical(["a", "b"] * 20)), 2, {},
     TypeError, ["'kind'", "category"]),
    ("infinity", GOOD * np.where(np.arange(80).reshape(40, 2) == 7, np.inf, 1.0), 2, {},
     ValueError, ["infinite"]),
    ("draws 0", GOOD, 2, {"draws": 0}, ValueError, ["draws"]),
    ("chains 1.5", GOOD, 2, {"chains": 1.5}, ValueError, ["chains"]),
]


@pytest.mark.parametrize(("case", "X", "k", "options", "error", "words"), BAD,
                         ids=[c[0] for c in BAD])
def test_bad_input_rejected_in_one_line_before_any_model(no_model, case, X, k, options, error,
                                                         words):
    options = {"draws": 10, "tune": 10, "chains": 1} | options
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow or ComplexWarning on the way
        with pytest.raises(error) as info:
            bayes.sample(X, k, **options)
    assert time.perf_counter() - start < REJECT_SECONDS
    message = str(info.value)
    assert "\n" not in message and len(message) < 300
    for word in words:
        assert word in message, (word, message)


@pytest.mark.parametrize("X", [
    np.round(GOOD * 100).astype(np.int64),
    np.round(GOOD * 100).astype(np.int16),
    (GOOD > 0),
    GOOD.astype(np.float32),
    GOOD.astype(object),
    pd.DataFrame(GOOD, columns=["x", "y"]),
    GOOD * 1e100,
    GOOD * 1e-100,
])
def test_numeric_input_becomes_the_float64_array_the_model_uses(X):
    array, k, covariance_type = check_model_args(X, 2, "full")
    assert array.dtype == np.float64 and array.shape == (40, 2)
    np.testing.assert_array_equal(array, np.asarray(X, dtype=np.float64))
    assert (k, covariance_type) == (2, "full")


@pytest.mark.parametrize(("bad", "error", "words"), [
    ("x", TypeError, ["column 1", "str 'x'"]),
    (10**400, ValueError, ["column 1", "too large for float64"]),
])
def test_a_bad_entry_of_a_large_object_array_is_found_within_a_second(no_model, bad, error,
                                                                      words):
    """10^6 rows of Python objects, the last one bad: found by bisection, not by a Python
    loop over every entry (which took 1.7 s)."""
    X = np.random.default_rng(1).normal(size=(1_000_000, 2)).astype(object)
    X[-1, 1] = bad
    start = time.perf_counter()
    with pytest.raises(error) as info:
        bayes.sample(X, 2, draws=10, tune=10, chains=1)
    assert time.perf_counter() - start < REJECT_SECONDS
    for word in words:
        assert word in str(info.value)
