"""The fused EM iteration equals the readable reference iteration, for every covariance type.

Independent references: :func:`emgmm.steps.reference_em_iteration` (E-step + M-step on the
full responsibility matrix) and scikit-learn's ``GaussianMixture`` from the same start.
"""

import tracemalloc
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.mixture import GaussianMixture

from emgmm.fast import (
    accumulate_statistics,
    fast_e_step,
    fused_em_iteration,
    params_from_statistics,
    precisions_cholesky,
)
from emgmm.params import COVARIANCE_TYPES, GaussianMixtureParams
from emgmm.steps import e_step, reference_em_iteration

TOL = 1e-10


def random_problem(seed, n_samples, n_features, n_components, covariance_type, offset=5.0):
    """Data away from the origin and a random (poor) start of the given covariance type."""
    rng = np.random.default_rng(seed)
    X = offset + 2.0 * rng.standard_normal((n_samples, n_features))
    means = X[rng.choice(n_samples, n_components, replace=False)]
    factors = rng.standard_normal((n_components, n_features, n_features))
    full = factors @ factors.transpose(0, 2, 1) + n_features * np.eye(n_features)
    covariances = {
        "full": full,
        "tied": full[0],
        "diag": rng.uniform(0.5, 4.0, (n_components, n_features)),
        "spherical": rng.uniform(0.5, 4.0, n_components),
    }[covariance_type]
    weights = rng.dirichlet(np.full(n_components, 2.0))
    return X, GaussianMixtureParams(weights, means, covariances, covariance_type)


def assert_same_iteration(first, second, tol=TOL):
    (ll_a, params_a), (ll_b, params_b) = first, second
    assert abs(ll_a - ll_b) <= tol * max(1.0, abs(ll_a))
    for name in ("weights", "means", "covariances"):
        np.testing.assert_allclose(getattr(params_a, name), getattr(params_b, name), rtol=tol, atol=tol)
    assert params_a.covariance_type == params_b.covariance_type


# The full kernel works in 4 x 4 tiles of features: D < 4 has no whole tile, D = 4 and 8 only
# whole ones (8: tiles off the diagonal too), D = 6, 25, 30 whole tiles and a remainder; row
# counts that are not multiples of the block (64) exercise the partial last block.
SHAPES = [(400, 3, 4), (300, 1, 3), (250, 4, 1), (200, 1, 1), (2000, 6, 5), (257, 8, 2),
          (301, 30, 2), (203, 25, 3)]


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "N{}-D{}-K{}".format(*s))
def test_fused_iteration_equals_reference(covariance_type, shape):
    X, params = random_problem(0, *shape, covariance_type)
    expected = reference_em_iteration(X, params, 1e-6)
    assert_same_iteration(fused_em_iteration(X, params, 1e-6), expected)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "N{}-D{}-K{}".format(*s))
def test_fast_e_step_equals_reference(covariance_type, shape):
    X, params = random_problem(4, *shape, covariance_type)
    expected_norm, expected_resp = e_step(X, params)
    for chunk_size, n_threads in ((None, None), (1, 2), (100, 1), (100, 2)):
        log_norm, log_resp = fast_e_step(X, params, chunk_size=chunk_size, n_threads=n_threads)
        np.testing.assert_allclose(log_norm, expected_norm, rtol=TOL, atol=TOL)
        np.testing.assert_allclose(log_resp, expected_resp, rtol=TOL, atol=TOL)


def test_fast_e_step_of_a_zero_weight_component_is_minus_infinity():
    X, params = random_problem(5, 300, 3, 3, "full")
    params = GaussianMixtureParams(np.array([0.5, 0.0, 0.5]), params.means, params.covariances,
                                   "full")
    log_norm, log_resp = fast_e_step(X, params)
    assert np.all(log_resp[:, 1] == -np.inf) and np.all(np.isfinite(log_resp[:, [0, 2]]))
    np.testing.assert_allclose(log_norm, e_step(X, params)[0], rtol=TOL)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_chunk_size_and_threads_change_results_only_by_rounding(covariance_type):
    X, params = random_problem(1, 3001, 27 if covariance_type == "full" else 3, 4, covariance_type)
    default = fused_em_iteration(X, params, 1e-6)
    for chunk_size in (1, 7, 1000, 3001, 10_000):
        assert_same_iteration(fused_em_iteration(X, params, 1e-6, chunk_size=chunk_size), default)
    # Statistics are summed per chunk in chunk order: the thread count changes no bit.
    one = fused_em_iteration(X, params, 1e-6, chunk_size=100, n_threads=1)
    two = fused_em_iteration(X, params, 1e-6, chunk_size=100, n_threads=2)
    assert one[0] == two[0]
    np.testing.assert_array_equal(one[1].covariances, two[1].covariances)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_twenty_iterations_follow_the_reference_trajectory(covariance_type):
    X, start = random_problem(2, 600, 2, 3, covariance_type)
    fast, reference = start, start
    for _ in range(20):
        ll_fast, fast = fused_em_iteration(X, fast, 1e-6, chunk_size=64)
        ll_reference, reference = reference_em_iteration(X, reference, 1e-6)
        assert abs(ll_fast - ll_reference) < TOL
    np.testing.assert_allclose(fast.covariances, reference.covariances, rtol=1e-9, atol=1e-9)


def _sklearn_precisions(params):
    """Precision matrices (or inverse variances) from the covariances, for ``precisions_init``."""
    if params.covariance_type in ("full", "tied"):
        return np.linalg.inv(params.covariances)
    return 1.0 / params.covariances


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_log_likelihood_trajectory_matches_sklearn(covariance_type):
    X, start = random_problem(3, 500, 3, 3, covariance_type)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: max_iter is deliberately small
        sklearn_model = GaussianMixture(
            3, covariance_type=covariance_type, tol=0.0, max_iter=10, reg_covar=1e-6,
            weights_init=start.weights, means_init=start.means,
            precisions_init=_sklearn_precisions(start),
        ).fit(X)
    params, history = start, []
    for _ in range(10):
        log_likelihood, params = fused_em_iteration(X, params, 1e-6)
        history.append(log_likelihood)
    np.testing.assert_allclose(history, sklearn_model.lower_bounds_, rtol=0, atol=1e-9)
    np.testing.assert_allclose(params.means, sklearn_model.means_, rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("n_features", [1, 2, 7])
def test_precision_factors_equal_the_lapack_ones(covariance_type, n_features):
    _, params = random_problem(8, 60, n_features, 3, covariance_type)
    np.testing.assert_allclose(precisions_cholesky(params), params.precisions_cholesky, rtol=1e-12, atol=1e-14)


def test_precision_factors_compile_one_specialisation_for_writable_and_read_only_input():
    from emgmm.covariance_types import covariance_type
    from emgmm.fast.full_kernel import precision_cholesky_full
    from emgmm.fast.iteration import precision_factors

    kind = covariance_type("full")
    writable = np.stack([np.eye(3) * 2.0, np.eye(3) + 0.5])
    read_only = writable.copy()
    read_only.flags.writeable = False
    np.testing.assert_array_equal(precision_factors(kind, writable),
                                  precision_factors(kind, read_only))
    assert writable.flags.writeable  # the caller's array is left as it was
    assert all(not signature[0].mutable for signature in precision_cholesky_full.signatures)


def test_covariance_that_is_not_positive_definite_raises_value_error():
    covariances = np.array([[[1.0, 2.0], [2.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]]])
    params = GaussianMixtureParams(np.array([0.5, 0.5]), np.zeros((2, 2)), covariances, "full")
    with pytest.raises(ValueError, match="not positive definite"):
        fused_em_iteration(np.ones((5, 2)), params, 1e-6)


def test_statistics_equal_sums_over_responsibilities():
    X, params = random_problem(4, 700, 3, 4, "full")
    stats = accumulate_statistics(X, params, chunk_size=50)
    log_norm, log_resp = e_step(X, params)
    resp = np.exp(log_resp)
    np.testing.assert_allclose(stats.log_likelihood, log_norm.sum(), rtol=1e-12)
    np.testing.assert_allclose(stats.counts, resp.sum(axis=0), rtol=1e-12)
    for k in range(params.n_components):
        diff = X - params.means[k]
        np.testing.assert_allclose(stats.first_moments[k], resp[:, k] @ diff, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(stats.second_moments[k], (resp[:, k] * diff.T) @ diff, rtol=1e-12)
    assert_same_iteration(
        (stats.log_likelihood / X.shape[0], params_from_statistics(stats, 1e-6)),
        reference_em_iteration(X, params, 1e-6),
    )


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_features=st.integers(1, 9),  # whole 4 x 4 tiles and remainders
    n_components=st.integers(1, 4),
    covariance_type=st.sampled_from(COVARIANCE_TYPES),
    offset=st.floats(-100.0, 100.0),
    chunk_size=st.integers(1, 300),
)
def test_fused_equals_reference_on_random_problems(
    seed, n_features, n_components, covariance_type, offset, chunk_size
):
    X, params = random_problem(seed, 150, n_features, n_components, covariance_type, offset)
    assert_same_iteration(
        fused_em_iteration(X, params, 1e-6, chunk_size=chunk_size),
        reference_em_iteration(X, params, 1e-6),
    )
    log_norm, log_resp = fast_e_step(X, params, chunk_size=chunk_size)
    expected_norm, expected_resp = e_step(X, params)
    np.testing.assert_allclose(log_norm, expected_norm, rtol=TOL, atol=TOL)
    np.testing.assert_allclose(log_resp, expected_resp, rtol=TOL, atol=TOL)


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_fortran_ordered_and_strided_data_give_the_same_numbers(covariance_type):
    X, params = random_problem(9, 500, 3, 2, covariance_type)
    expected = fused_em_iteration(X, params, 1e-6)
    wide = np.repeat(X, 2, axis=1)  # X as a strided view: every other column of a wider array
    for view in (np.asfortranarray(X), wide[:, ::2], np.hstack([X, X])[:, :3]):
        assert_same_iteration(fused_em_iteration(view, params, 1e-6), expected, tol=1e-13)


def test_zero_weight_component_stays_empty_and_finite():
    X, params = random_problem(5, 300, 2, 3, "diag")
    params = GaussianMixtureParams(np.array([0.6, 0.4, 0.0]), params.means, params.covariances, "diag")
    log_likelihood, next_params = fused_em_iteration(X, params, 1e-6)
    reference_ll, reference = reference_em_iteration(X, params, 1e-6)
    assert np.isfinite(log_likelihood) and abs(log_likelihood - reference_ll) < TOL
    assert next_params.weights[2] < 1e-15
    np.testing.assert_allclose(next_params.weights, reference.weights, atol=TOL)


def test_no_sample_by_component_by_feature_temporaries():
    """Peak traced memory stays far below N K D numbers (here 10x the size of X)."""
    X, params = random_problem(6, 100_000, 10, 10, "full")
    fused_em_iteration(X, params, 1e-6)  # compile / load the kernels outside the trace
    tracemalloc.start()
    fused_em_iteration(X, params, 1e-6)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 0.25 * X.nbytes


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda X, p: fused_em_iteration(X[:, :1], p, 1e-6), "X must have shape"),
        (lambda X, p: fused_em_iteration(X[0], p, 1e-6), "X must have shape"),
        (lambda X, p: fused_em_iteration(X, p, -1.0), "reg_covar"),
        (lambda X, p: fused_em_iteration(X, p, 1e-6, chunk_size=0), "chunk_size"),
        (lambda X, p: fused_em_iteration(X, p, 1e-6, n_threads=1.5), "n_threads"),
        (lambda X, p: fused_em_iteration(np.where(X > 6, np.nan, X), p, 1e-6), "not finite"),
        (lambda X, p: fused_em_iteration(X, "params", 1e-6), "GaussianMixtureParams"),
    ],
)
def test_bad_input_raises_one_clear_value_error(call, message):
    X, params = random_problem(7, 50, 2, 2, "full")
    with pytest.raises(ValueError, match=message):
        call(X, params)


def test_statistics_of_one_chunk_equal_those_of_several_summed_by_chunk():
    # One chunk is returned without a reduction; several are summed in chunk order.
    rng = np.random.default_rng(11)
    X = rng.normal(size=(300, 3))
    params = GaussianMixtureParams(np.array([0.3, 0.7]), rng.normal(size=(2, 3)),
                                   np.stack([np.eye(3), 2 * np.eye(3)]), "full")
    one = accumulate_statistics(X, params)
    several = accumulate_statistics(X, params, chunk_size=100, n_threads=1)
    for name in ("counts", "first_moments", "second_moments"):
        np.testing.assert_allclose(getattr(one, name), getattr(several, name), rtol=1e-12)
    np.testing.assert_array_equal(one.second_moments, one.second_moments.swapaxes(1, 2))
    assert one.log_likelihood == pytest.approx(several.log_likelihood, rel=1e-12)
