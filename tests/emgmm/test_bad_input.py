"""Every bad input: one ValueError line saying what is wrong and what to change."""

import numpy as np
import pytest

from emgmm import GaussianMixtureEM, GaussianMixtureParams, fit_em


def _one_line_error(call, match):
    with pytest.raises(ValueError, match=match) as info:
        call()
    assert "\n" not in str(info.value)
    return str(info.value)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_in_x(blobs, bad):
    X = blobs.copy()
    X[5, 1] = bad
    _one_line_error(lambda: GaussianMixtureEM(2).fit(X), "NaN or infinity: remove or impute")
    model = GaussianMixtureEM(2, random_state=0).fit(blobs)
    _one_line_error(lambda: model.predict(X), "NaN or infinity")


def test_fewer_samples_than_components(blobs):
    _one_line_error(
        lambda: GaussianMixtureEM(5).fit(blobs[:3]), "n_samples=3 is smaller than n_components=5: lower n_components"
    )


def test_feature_mismatch_at_predict(blobs):
    model = GaussianMixtureEM(2, random_state=0).fit(blobs)
    for method in (model.predict, model.predict_proba, model.score, model.score_samples, model.bic):
        _one_line_error(lambda: method(np.zeros((4, 3))), "X has 3 features, but GaussianMixtureEM is expecting 2")


@pytest.mark.parametrize("n_components", [0, -1, 1.5, True, "2"])
def test_bad_number_of_components(blobs, n_components):
    _one_line_error(lambda: GaussianMixtureEM(n_components).fit(blobs), "n_components must be an integer >= 1")


@pytest.mark.parametrize("X", [np.zeros(10), np.zeros((3, 4, 2)), 3.0])
def test_non_2d_input(X):
    _one_line_error(lambda: GaussianMixtureEM(1).fit(X), "must be 2-D")


def test_one_dimensional_input_says_how_to_reshape():
    message = _one_line_error(lambda: fit_em(np.arange(10.0), 1), "2-D")
    assert "reshape(-1, 1)" in message


def test_zero_variance_column_without_ridge(blobs):
    X = np.column_stack([blobs, np.full(blobs.shape[0], 3.0)])
    _one_line_error(lambda: GaussianMixtureEM(2, reg_covar=0.0).fit(X), r"column\(s\) \[2\] of X have zero variance")
    # With the default ridge the constant column is handled: finite parameters, no NaN.
    model = GaussianMixtureEM(3, random_state=0, engine="reference").fit(X)
    assert np.all(np.isfinite(model.covariances_)) and np.isfinite(model.score(X))


def test_duplicate_points(blobs):
    X = np.repeat(blobs[:2], 50, axis=0)  # only two distinct rows
    _one_line_error(lambda: GaussianMixtureEM(3).fit(X), "only 2 distinct point.*lower n_components")
    model = GaussianMixtureEM(2, random_state=0, engine="reference").fit(X)  # enough distinct rows
    for value in (model.weights_, model.means_, model.covariances_, model.precisions_cholesky_):
        assert np.all(np.isfinite(value))
    np.testing.assert_allclose(np.sort(model.weights_), [0.5, 0.5])


@pytest.mark.parametrize(
    "params, match",
    [
        ({"covariance_type": "banded"}, "covariance_type must be one of"),
        ({"tol": -1.0}, "tol must be a number >= 0"),
        ({"reg_covar": -1e-6}, "reg_covar must be a number >= 0"),
        ({"reg_covar": np.inf}, "reg_covar must be finite"),
        ({"max_iter": -1}, "max_iter must be an integer >= 0"),
        ({"n_init": 0}, "n_init must be an integer >= 1"),
        ({"init_params": "kmedoids"}, "init_params must be one of"),
        ({"random_state": "seed"}, "random_state must be None, an int"),
        ({"engine": "gpu"}, "engine must be one of"),
        ({"weights_init": [0.5, 0.6]}, "weights_init must be non-negative and sum to 1"),
        ({"weights_init": [1.0]}, r"weights_init must have shape \(2,\)"),
        ({"means_init": np.zeros((2, 3))}, r"means_init must have shape \(2, 2\)"),
        ({"precisions_init": -np.eye(2)[None].repeat(2, 0)}, "precisions_init must be symmetric positive definite"),
    ],
)
def test_bad_settings(blobs, params, match):
    _one_line_error(lambda: GaussianMixtureEM(2, **params).fit(blobs), match)


def test_sparse_input_is_refused_with_a_hint(blobs):
    from scipy import sparse

    with pytest.raises(TypeError, match=r"sparse input is not supported: pass a dense array"):
        GaussianMixtureEM(2).fit(sparse.csr_matrix(blobs))


def test_degenerate_tied_covariance_says_what_to_change():
    X = np.column_stack([np.arange(20.0), 2.0 * np.arange(20.0)])  # collinear columns
    _one_line_error(
        lambda: fit_em(X, 2, covariance_type="tied", reg_covar=0.0, engine="reference"),
        "tied covariance is not positive definite: increase reg_covar",
    )


def test_params_name_the_non_finite_array_and_accept_finite_extremes():
    # The constructor sums each array to check finiteness; a sum that overflows on finite
    # entries must not be mistaken for an infinite entry, and a NaN must still be named.
    huge = np.array([[1e308, 1e308], [1e308, 1e308]])
    params = GaussianMixtureParams(np.array([0.5, 0.5]), huge, np.ones(2), "spherical")
    assert params.means.max() == 1e308
    bad_covariances = np.array([1.0, np.nan])
    with pytest.raises(ValueError, match="^covariances contain NaN or infinity$"):
        GaussianMixtureParams(np.array([0.5, 0.5]), np.zeros((2, 1)), bad_covariances, "spherical")
    with pytest.raises(ValueError, match="^means contain NaN or infinity$"):
        GaussianMixtureParams(np.array([0.5, 0.5]), np.array([[np.inf], [-np.inf]]),
                              np.ones(2), "spherical")
    with pytest.raises(ValueError, match="non-negative and sum to 1"):
        GaussianMixtureParams(np.array([1.5, -0.5]), np.zeros((2, 1)), np.ones(2), "spherical")
