"""Data types and scales given to GaussianMixtureEM: converted and fitted correctly, or one
TypeError / ValueError line naming the problem, never an error from inside numpy, numba,
LAPACK or a division. (NaN, infinity, D mismatch, too few samples: test_bad_input.py.)"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.mixture import GaussianMixture

from emgmm import GaussianMixtureEM, fit_em
from emgmm._validation import DataTypeError, check_data


def one_line(error_type, call, match) -> str:
    with pytest.raises(error_type, match=match) as info:
        call()
    assert "\n" not in str(info.value)
    assert type(info.value).__module__.startswith(("builtins", "emgmm")), type(info.value)
    return str(info.value)


def sorted_means(model) -> np.ndarray:
    return model.means_[np.lexsort(model.means_.T[::-1])]


@pytest.mark.parametrize("engine", ["reference", "fast"])
@pytest.mark.parametrize("scale", [1e140, 1e100, 1e-100, 1e-150])
def test_extreme_scales_fit_as_the_scaled_problem(blobs, engine, scale):
    """EM is scale-equivariant when reg_covar scales with the square of the data: the fit at
    1e140 or 1e-150 is the unit-scale fit, scaled, with no NaN and no warning."""
    reference = GaussianMixtureEM(3, random_state=0, engine=engine).fit(blobs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = GaussianMixtureEM(3, random_state=0, engine=engine,
                                  reg_covar=1e-6 * scale**2).fit(blobs * scale)
        score = model.score(blobs * scale)
    np.testing.assert_allclose(sorted_means(model) / scale, sorted_means(reference),
                               rtol=1e-8, atol=1e-8)
    assert np.all(np.isfinite(model.covariances_)) and np.isfinite(score)
    np.testing.assert_allclose(score + 2 * np.log(scale), reference.score(blobs), rtol=1e-10)
    assert np.all(np.isfinite(model.predict_proba(blobs * scale)))


@pytest.mark.parametrize(("scale", "match"), [
    (1e200, r"values up to \d\.\d+e\+200 \(column \d\).*too large.*standardise"),
    (1e-200, r"column 0 has values of at most .*e-200.*too small.*standardise"),
])
def test_scales_whose_squares_leave_float64_are_refused(blobs, scale, match):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # refused before any overflow warning
        one_line(ValueError, lambda: GaussianMixtureEM(3).fit(blobs * scale), match)
        model = GaussianMixtureEM(3, random_state=0).fit(blobs)
        one_line(ValueError, lambda: model.predict(blobs * scale), match)


def test_one_tiny_column_is_named(blobs):
    X = blobs.copy()
    X[:, 1] *= 1e-170
    one_line(ValueError, lambda: fit_em(X, 2), "column 1 has values of at most")


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint16, np.float32])
def test_integer_and_float32_data_fit_as_float64(blobs, dtype):
    X = np.round(blobs * 10).astype(dtype)
    model = GaussianMixtureEM(3, random_state=0).fit(X)
    expected = GaussianMixtureEM(3, random_state=0).fit(X.astype(np.float64))
    np.testing.assert_array_equal(model.means_, expected.means_)
    assert model.means_.dtype == np.float64
    np.testing.assert_array_equal(model.predict(X), expected.predict(X.astype(float)))


def test_boolean_data_fit_as_zeros_and_ones():
    rng = np.random.default_rng(1)
    X = rng.random((200, 3)) < np.where(np.arange(200) < 100, 0.9, 0.1)[:, None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # components with a constant 0/1 column: degenerate
        model = GaussianMixtureEM(2, random_state=0).fit(X)
    assert np.all(np.isfinite(model.covariances_))
    np.testing.assert_allclose(sorted(model.means_[:, 0]), [0.1, 0.9], atol=0.1)
    sk = GaussianMixture(2, random_state=0).fit(X.astype(float))
    np.testing.assert_allclose(np.sort(model.weights_), np.sort(sk.weights_), atol=0.02)


def test_numeric_object_arrays_and_lists_are_converted(blobs):
    expected = GaussianMixtureEM(3, random_state=0).fit(blobs).means_
    for X in (blobs.astype(object), blobs.tolist()):
        np.testing.assert_array_equal(GaussianMixtureEM(3, random_state=0).fit(X).means_,
                                      expected)


@pytest.mark.parametrize(("X", "match"), [
    (np.array([[1.0, 2.0], [3.0, "x"]] * 5, dtype=object), r"X column 1 holds str 'x'"),
    (np.array([[1.0, {"a": 1}]] * 5, dtype=object), r"X column 1 holds dict"),
    (np.array([["a", "b"]] * 5), r"dtype <U1 \(string\)"),
    (np.array([[np.datetime64("2026-01-01")] * 2] * 5), r"datetime"),
    (np.ones((10, 2)) + 1j, r"Complex data not supported.*complex128"),
])
def test_non_numeric_arrays_name_the_problem(X, match):
    one_line(TypeError, lambda: GaussianMixtureEM(2).fit(X), match)
    with pytest.raises(ValueError):  # also a ValueError, as scikit-learn expects
        check_data(X)


def test_frames_name_their_non_numeric_columns(blobs):
    frame = pd.DataFrame(blobs, columns=["height", "weight"])
    model = GaussianMixtureEM(3, random_state=0).fit(frame)  # numeric frames work
    np.testing.assert_array_equal(model.means_,
                                  GaussianMixtureEM(3, random_state=0).fit(blobs).means_)
    frame["species"] = "setosa"
    frame["when"] = pd.Timestamp("2026-01-01")
    message = one_line(DataTypeError, lambda: GaussianMixtureEM(3).fit(frame),
                       r"X has non-numeric column\(s\) 'species' \(\w+\), 'when' \(datetime")
    assert "drop or encode" in message
    frame = frame[["height", "weight"]].astype({"height": pd.CategoricalDtype()})
    one_line(TypeError, lambda: GaussianMixtureEM(3).fit(frame), r"'height' \(category\)")


def test_none_in_an_object_array_is_a_missing_value():
    X = np.array([[1.0, 2.0], [None, 3.0]] * 5, dtype=object)
    one_line(ValueError, lambda: GaussianMixtureEM(1).fit(X), "NaN or infinity")


def test_nullable_frame_missing_values_are_nan_errors(blobs):
    frame = pd.DataFrame({"a": pd.array([1, 2, None] * 20, dtype="Int64"),
                          "b": np.arange(60.0)})
    one_line(ValueError, lambda: GaussianMixtureEM(2).fit(frame), "NaN or infinity")


@pytest.mark.parametrize(("X", "match"), [
    (np.empty((0, 2)), r"0 sample\(s\)"),
    (np.empty((5, 0)), r"0 feature\(s\)"),
    ([], "2-D"),
    ([[1.0, 2.0], [3.0]], "rectangular"),
])
def test_empty_and_ragged_input(X, match):
    one_line(ValueError, lambda: GaussianMixtureEM(1).fit(X), match)


def test_predict_with_other_d_names_both(blobs):
    model = GaussianMixtureEM(2, random_state=0).fit(blobs)
    frame = pd.DataFrame(np.zeros((4, 5)))
    one_line(ValueError, lambda: model.predict(frame), "X has 5 features, but GaussianMixtureEM "
             "is expecting 2")


def test_the_variational_estimator_applies_the_same_discipline(blobs):
    from emgmm import BayesianGaussianMixtureVB

    def vb():
        return BayesianGaussianMixtureVB(2, random_state=0)

    frame = pd.DataFrame({"a": blobs[:, 0], "species": ["x"] * len(blobs)})
    one_line(DataTypeError, lambda: vb().fit(frame), "non-numeric column.*'species'")
    one_line(ValueError, lambda: vb().fit(blobs * 1e200), "too large")
    one_line(ValueError, lambda: vb().fit(blobs * 1e-200), "too small")
    one_line(DataTypeError, lambda: vb().fit(blobs.astype(complex)), "Complex data")
    integers = (blobs * 10).astype(np.int32)
    np.testing.assert_allclose(vb().fit(integers).means_,
                               vb().fit(integers.astype(float)).means_)
    fitted = vb().fit(blobs)
    one_line(ValueError, lambda: fitted.predict(blobs[:, :1]), "features")


def hostile_inputs(blobs):
    """(case, X, error type, pattern) every method taking X must refuse in one line."""
    frame = pd.DataFrame({"a": blobs[:, 0], "b": blobs[:, 1], "species": "x"})
    with_nan = blobs.copy()
    with_nan[5, 1] = np.nan
    return [
        ("1e200", blobs * 1e200, ValueError, "too large"),
        ("1e-200", blobs * 1e-200, ValueError, "too small"),
        ("NaN", with_nan, ValueError, "NaN or infinity"),
        ("complex", blobs + 1j, DataTypeError, "Complex data"),
        ("object text", np.array([[1.0, "x"]] * 20, dtype=object), DataTypeError, "column 1"),
        ("integer beyond float64", np.array([[10**400, 1]] * 20, dtype=object), ValueError,
         "too large for float64"),
        ("frame with text", frame, DataTypeError, "'species'"),
        ("D mismatch", blobs[:, :1], ValueError, "1 features, but .* expecting 2"),
        ("1-D", blobs[:, 0], ValueError, r"reshape\(-1, 1\)"),
        ("empty", np.empty((0, 2)), ValueError, r"0 sample\(s\)"),
        ("None", None, TypeError, "X is None"),
    ]


@pytest.mark.parametrize("method", ["predict", "predict_proba", "score", "score_samples"])
@pytest.mark.parametrize("estimator", ["GaussianMixtureEM", "BayesianGaussianMixtureVB"])
def test_fitted_estimators_refuse_hostile_input_in_one_line(blobs, estimator, method):
    """Every method of both estimators, every hostile input: one TypeError/ValueError line,
    no warning on the way (no overflow, ComplexWarning or numba message)."""
    import emgmm

    model = getattr(emgmm, estimator)(2, random_state=0).fit(blobs)
    for case, X, error, match in hostile_inputs(blobs):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            message = one_line(error, lambda: getattr(model, method)(X), match)
        assert len(message) < 300, (case, message)


@pytest.mark.parametrize("estimator", ["GaussianMixtureEM", "BayesianGaussianMixtureVB"])
def test_fit_refuses_hostile_input_in_one_line(blobs, estimator):
    import emgmm

    for case, X, error, match in hostile_inputs(blobs):
        if case == "D mismatch":
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            one_line(error, lambda: getattr(emgmm, estimator)(2).fit(X), match)


@pytest.mark.parametrize("X", [
    np.c_[np.random.default_rng(0).normal(size=60), np.ones(60)],  # a constant column
    np.repeat([[1.0, 2.0]], 60, axis=0),  # one distinct row
    np.c_[np.arange(60.0), 2 * np.arange(60.0) + 1],  # collinear columns
], ids=["constant column", "one distinct row", "collinear"])
def test_variational_default_prior_of_singular_data_says_why(X):
    """The default covariance_prior is the covariance of X: when it is singular the message
    says so (not that the user's covariance_prior is not positive definite)."""
    from emgmm import BayesianGaussianMixtureVB

    message = one_line(ValueError, lambda: BayesianGaussianMixtureVB(2).fit(X),
                       "the default covariance_prior, the covariance of X, is singular")
    assert ("zero variance" in message) == (np.ptp(X, axis=0) == 0).any()


@pytest.mark.parametrize("scale", [1e140, 1e-150])
def test_variational_fit_at_extreme_scales_is_the_scaled_fit(blobs, scale):
    """VB with reg_covar scaled by the square: the unit-scale posterior means, scaled."""
    from emgmm import BayesianGaussianMixtureVB

    reference = BayesianGaussianMixtureVB(3, random_state=0).fit(blobs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = BayesianGaussianMixtureVB(3, random_state=0, reg_covar=1e-6 * scale**2
                                          ).fit(blobs * scale)
    np.testing.assert_allclose(model.means_ / scale, reference.means_, rtol=1e-8, atol=1e-8)
    assert np.all(np.isfinite(model.covariances_))
    np.testing.assert_allclose(model.score(blobs * scale) + 2 * np.log(scale),
                               reference.score(blobs), rtol=1e-10)


@pytest.mark.parametrize("ratio", [1e4, 1e50, 1e100])
def test_columns_on_very_different_scales_fit_as_the_standardized_data(blobs, ratio):
    """One column near 1e4 (up to 1e100) beside one near 1e-4 (1e-100): no component is
    taken for collapsed (the collapse floor follows the smallest feature variance, not the
    mean one, which re-seeded every component) and the fit is the unit-scale fit, scaled
    column by column. (scikit-learn's k-means start sees only the large column here and
    ends in a local optimum with a log-likelihood lower by more than 0.5 per point.)"""
    scale = np.array([ratio, 1 / ratio])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = GaussianMixtureEM(3, random_state=0, reg_covar=0.0).fit(blobs * scale)
    reference = GaussianMixtureEM(3, random_state=0, reg_covar=0.0).fit(blobs)
    np.testing.assert_allclose(sorted_means(model) / scale, sorted_means(reference),
                               rtol=1e-6, atol=1e-6)
    assert np.all(np.isfinite(model.covariances_))
    sk = GaussianMixture(3, random_state=0, reg_covar=0.0).fit(blobs * scale)
    assert model.score(blobs * scale) > sk.score(blobs * scale) + 0.5
