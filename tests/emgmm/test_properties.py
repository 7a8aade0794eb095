"""Invariants of the E- and M-steps, checked with hypothesis on random mixtures."""

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from emgmm import COVARIANCE_TYPES, GaussianMixtureParams, e_step, fit_em, m_step
from emgmm.fit import DECREASE_RTOL

PROPERTY_SETTINGS = settings(max_examples=40, deadline=None)

mixtures = st.tuples(
    st.integers(0, 2**32 - 1),  # seed
    st.integers(1, 5),  # K
    st.integers(1, 4),  # D
    st.integers(5, 60),  # N
    st.sampled_from(COVARIANCE_TYPES),
)


def _random_case(seed, n_components, n_features, n_samples, covariance_type):
    rng = np.random.default_rng(seed)
    scale = 10.0 ** rng.uniform(-2, 2)  # data from 0.01 to 100 in scale
    X = scale * rng.normal(size=(n_samples, n_features))
    weights = rng.dirichlet(np.ones(n_components))
    means = scale * rng.normal(size=(n_components, n_features))
    factors = rng.normal(size=(n_components, n_features, n_features))
    full = scale**2 * (factors @ np.swapaxes(factors, 1, 2) + 0.1 * np.eye(n_features))
    covariances = {
        "full": full,
        "tied": full[0],
        "diag": np.diagonal(full, axis1=1, axis2=2).copy(),
        "spherical": np.diagonal(full, axis1=1, axis2=2).mean(axis=1),
    }[covariance_type]
    return X, GaussianMixtureParams(weights, means, covariances, covariance_type), rng


@PROPERTY_SETTINGS
@given(mixtures)
def test_responsibilities_sum_to_one(case):
    X, params, _ = _random_case(*case)
    log_norm, log_resp = e_step(X, params)
    assert np.all(np.isfinite(log_norm))
    np.testing.assert_allclose(np.exp(log_resp).sum(axis=1), 1.0, rtol=1e-12)


@PROPERTY_SETTINGS
@given(mixtures)
def test_permuting_components_permutes_responsibility_columns(case):
    X, params, rng = _random_case(*case)
    order = rng.permutation(params.n_components)
    log_norm, log_resp = e_step(X, params)
    permuted_norm, permuted_resp = e_step(X, params.permuted(order))
    np.testing.assert_allclose(permuted_norm, log_norm, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.exp(permuted_resp), np.exp(log_resp)[:, order], atol=1e-10)


@PROPERTY_SETTINGS
@given(mixtures)
def test_translating_data_and_means_leaves_responsibilities_unchanged(case):
    X, params, rng = _random_case(*case)
    shift = rng.normal(size=params.n_features) * 50 * np.abs(X).max()
    moved = GaussianMixtureParams(params.weights, params.means + shift, params.covariances, params.covariance_type)
    np.testing.assert_allclose(np.exp(e_step(X + shift, moved)[1]), np.exp(e_step(X, params)[1]), atol=1e-7)


@PROPERTY_SETTINGS
@given(mixtures)
def test_m_step_weights_sum_to_one_and_covariances_are_positive_definite(case):
    X, params, rng = _random_case(*case)
    resp = rng.dirichlet(np.full(params.n_components, 0.3), size=X.shape[0])
    new = m_step(X, resp, params.covariance_type, reg_covar=1e-6)
    assert np.all(new.weights >= 0)
    assert abs(new.weights.sum() - 1.0) < 1e-12
    assert np.all(np.linalg.eigvalsh(new.full_covariances()) > 0)
    assert np.all(np.isfinite(new.precisions_cholesky))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.sampled_from(COVARIANCE_TYPES))
def test_em_never_decreases_the_log_likelihood_without_ridge(seed, n_components, covariance_type):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(80, 2)) + rng.integers(0, 3, size=(80, 1)) * 2.5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short runs need not converge
        result = fit_em(X, n_components, covariance_type=covariance_type, reg_covar=0.0, tol=0.0,
                        max_iter=25, init_params="random", random_state=seed, engine="reference")
    history = result.log_likelihood_history
    steps = np.arange(1, history.size)
    # Iterations next to a re-seeding are not EM steps; every other step goes uphill.
    touched = {it for it, _ in result.reseeded} | {it + 1 for it, _ in result.reseeded}
    em_steps = np.array([t for t in steps if t not in touched and t + 1 not in touched], dtype=int)
    drops = history[em_steps] - history[em_steps - 1]
    assert np.all(drops >= -DECREASE_RTOL * np.maximum(np.abs(history[em_steps - 1]), 1.0))


@settings(max_examples=30, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.integers(1, 6),
    st.sampled_from(COVARIANCE_TYPES),
    st.sampled_from(["plain", "duplicates", "constant_column", "outliers", "tiny_scale", "huge_scale"]),
)
def test_a_fit_either_fails_with_one_clear_line_or_contains_no_nan(seed, n_components, covariance_type, flaw):
    from emgmm import GaussianMixtureEM

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(int(rng.integers(3, 40)), 2)) + rng.integers(0, 3, size=(1, 1))
    if flaw == "duplicates":
        X = np.repeat(X[: max(1, X.shape[0] // 4)], 4, axis=0)
    elif flaw == "constant_column":
        X[:, 1] = 7.0
    elif flaw == "outliers":
        X[:2] *= 1e4
    elif flaw in ("tiny_scale", "huge_scale"):
        X *= 1e-6 if flaw == "tiny_scale" else 1e6
    model = GaussianMixtureEM(n_components, covariance_type=covariance_type, random_state=seed,
                              engine="reference", init_params="random")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X)
    except ValueError as error:
        assert "\n" not in str(error) and ":" in str(error)  # what is wrong: what to change
        return
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert np.all(np.isfinite(getattr(model, name))), name
    assert np.all(np.isfinite(model.score_samples(X)))
    np.testing.assert_allclose(model.predict_proba(X).sum(axis=1), 1.0)
