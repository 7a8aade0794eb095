"""Input checks of bayes.validation: data type and scale are rejected before any model."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import bayes
from bayes.validation import check_data

GOOD = np.random.default_rng(0).normal(size=(20, 2))


@pytest.mark.parametrize(
    ("X", "kind"),
    [
        (GOOD + 1j, "complex"),
        (np.array([[1.0, "a"]] * 5, dtype=object), "column 1 holds str 'a'"),
        (np.array([["a", "b"]] * 5), "string"),
        (np.array([[np.datetime64("2026-01-01")] * 2] * 5), "datetime"),
    ],
)
def test_non_real_data_is_a_type_error_naming_the_dtype(X, kind):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning: nothing is converted
        with pytest.raises(TypeError, match=f"X (must be a real numeric array.*)?{kind}"):
            check_data(X)


def test_data_too_large_to_square_says_so_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow RuntimeWarnings
        with pytest.raises(ValueError, match="scale.*standardise"):
            check_data(GOOD * 1e200)


def test_large_but_safe_data_and_integers_pass():
    np.testing.assert_array_equal(check_data(GOOD * 1e100), GOOD * 1e100)
    assert check_data(np.arange(10).reshape(5, 2)).dtype == float


@pytest.mark.parametrize("X", [GOOD + 1j, GOOD * 1e200])
def test_sample_rejects_bad_data_before_building_a_model(X, no_model):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises((TypeError, ValueError), match="X"):
            bayes.sample(X, 2)
