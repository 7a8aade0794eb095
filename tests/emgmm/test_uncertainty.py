"""Standard errors of EM estimates: observed information, outer product, bootstrap."""

import numpy as np
import pytest
from scipy.optimize import approx_fprime

from emgmm._information import observation_scores, observed_information, pack, unpack
from emgmm.fit import fit_em
from emgmm.params import COVARIANCE_TYPES, GaussianMixtureParams
from emgmm.steps import mixture_log_likelihood
from emgmm.uncertainty import (
    ParameterUncertainty,
    align_to_reference,
    bootstrap_standard_errors,
    information_standard_errors,
)

TRUTH = GaussianMixtureParams(
    np.array([0.35, 0.65]),
    np.array([[0.0, 0.0], [5.0, 2.0]]),
    np.array([[[1.0, 0.3], [0.3, 0.5]], [[0.6, -0.2], [-0.2, 0.9]]]),
)


def sample(params: GaussianMixtureParams, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    labels = rng.choice(params.n_components, size=n, p=params.weights)
    covariances = params.full_covariances()
    return np.concatenate([
        rng.multivariate_normal(params.means[k], covariances[k], np.sum(labels == k))
        for k in range(params.n_components)
    ])


def ml_fit(X, n_components, covariance_type="full"):
    return fit_em(X, n_components, covariance_type=covariance_type, tol=1e-10, max_iter=2000,
                  reg_covar=0.0, random_state=0).params


@pytest.fixture(scope="module")
def separated():
    X = sample(TRUTH, 2000, seed=1)
    fitted = ml_fit(X, 2)
    return X, fitted.permuted(np.argsort(fitted.means[:, 0]))


# --------------------------------------------------------------------------- information


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_scores_are_the_gradient_of_the_log_likelihood(covariance_type):
    X = sample(TRUTH, 300, seed=2)
    with pytest.warns(Warning):  # two iterations only: a point away from the maximum
        params = fit_em(X, 2, covariance_type=covariance_type, max_iter=2, tol=0.0, random_state=0).params
    theta = pack(params)
    np.testing.assert_allclose(pack(unpack(theta, 2, 2, covariance_type)), theta, atol=1e-12)

    def log_likelihood(t):
        return mixture_log_likelihood(X, unpack(t, 2, 2, covariance_type))

    numeric = approx_fprime(theta, log_likelihood, 1e-7)
    analytic = observation_scores(X, params).sum(axis=0)
    np.testing.assert_allclose(analytic, numeric, atol=1e-3 * max(1.0, np.abs(analytic).max()))


def test_observed_information_matches_second_differences_of_the_log_likelihood():
    X = sample(TRUTH, 400, seed=3)
    params = ml_fit(X, 2, "diag")
    theta, h = pack(params), 1e-4
    information = observed_information(X, params)

    def f(t):
        return mixture_log_likelihood(X, unpack(t, 2, 2, "diag"))

    for i, j in [(0, 0), (1, 2), (3, 7), (8, 8)]:
        ei, ej = np.eye(theta.size)[i] * h, np.eye(theta.size)[j] * h
        second = (f(theta + ei + ej) - f(theta + ei - ej) - f(theta - ei + ej) + f(theta - ei - ej)) / (4 * h * h)
        assert information[i, j] == pytest.approx(-second, rel=1e-4, abs=1e-3)


@pytest.mark.parametrize("n_features", [1, 3])
def test_single_gaussian_mean_se_is_sigma_over_root_n(n_features):
    rng = np.random.default_rng(4)
    X = rng.normal(2.0, [3.0, 0.5, 1.0][:n_features], size=(500, n_features))
    params = ml_fit(X, 1)
    result = information_standard_errors(X, params)
    sigma = np.sqrt(np.diag(params.covariances[0]))
    np.testing.assert_allclose(result.standard_errors["means"][0], sigma / np.sqrt(500), rtol=1e-6)
    # Var(sigma_hat^2_dd) = 2 sigma_dd^4 / N for the ML variance of a Gaussian.
    np.testing.assert_allclose(np.diag(result.standard_errors["covariances"][0]),
                               np.sqrt(2.0 / 500) * sigma**2, rtol=1e-5)


@pytest.mark.parametrize(("covariance_type", "n_variances"), [("diag", 1), ("spherical", 3)])
def test_single_gaussian_variance_se_for_diag_and_spherical(covariance_type, n_variances):
    """ML variance from m = N (diag) or N D (spherical) squared residuals: se = sqrt(2/m) s^2."""
    rng = np.random.default_rng(6)
    X = rng.normal(1.0, 2.0, size=(400, 3))
    params = ml_fit(X, 1, covariance_type)
    result = information_standard_errors(X, params)
    np.testing.assert_allclose(result.standard_errors["covariances"],
                               np.sqrt(2.0 / (400 * n_variances)) * params.covariances, rtol=1e-5)
    if covariance_type == "diag":
        np.testing.assert_allclose(result.standard_errors["means"],
                                   np.sqrt(params.covariances / 400), rtol=1e-6)


def test_weight_se_of_separated_components_is_binomial(separated, information):
    X, fitted = separated
    result = information
    binomial = np.sqrt(fitted.weights * (1 - fitted.weights) / X.shape[0])
    np.testing.assert_allclose(result.standard_errors["weights"], binomial, rtol=0.02)


def test_outer_product_and_observed_information_agree_at_the_mle(separated, information):
    X, fitted = separated
    observed = information
    outer = information_standard_errors(X, fitted, method="outer_product")
    for name in ("weights", "means", "covariances"):
        np.testing.assert_allclose(outer.standard_errors[name], observed.standard_errors[name], rtol=0.2)


def test_wald_intervals_are_symmetric_with_normal_quantile(separated):
    X, fitted = separated
    result = information_standard_errors(X, fitted, level=0.95)
    half_width = (result.intervals["means"][1] - result.intervals["means"][0]) / 2
    np.testing.assert_allclose(half_width, 1.959964 * result.standard_errors["means"], rtol=1e-6)
    np.testing.assert_allclose(result.intervals["means"].mean(axis=0), fitted.means)


# --------------------------------------------------------------------------- bootstrap


@pytest.fixture(scope="module")
def bootstrap(separated):
    X, fitted = separated
    return bootstrap_standard_errors(X, fitted, n_bootstrap=150, rng=7)


@pytest.fixture(scope="module")
def information(separated):
    X, fitted = separated
    return information_standard_errors(X, fitted)


def test_bootstrap_and_information_standard_errors_agree(bootstrap, information):
    """Well-separated data, N = 2000: the two estimates agree within 20%."""
    assert bootstrap.n_failed == 0
    for name in ("weights", "means", "covariances"):
        ratio = bootstrap.standard_errors[name] / information.standard_errors[name]
        assert np.all(np.abs(ratio - 1) < 0.2), (name, ratio)


def test_bootstrap_replicates_are_aligned_and_intervals_are_percentiles(separated, bootstrap):
    _, fitted = separated
    means = bootstrap.replicates["means"]
    assert means.shape == (150, 2, 2)
    # aligned: every replicate's first component stays near the estimate's first component
    assert np.all(np.abs(means[:, 0, 0] - fitted.means[0, 0]) < 0.5)
    np.testing.assert_allclose(bootstrap.intervals["weights"][0], np.quantile(bootstrap.replicates["weights"], 0.05, axis=0))
    np.testing.assert_allclose(bootstrap.standard_errors["covariances"], bootstrap.replicates["covariances"].std(axis=0, ddof=1))


def test_covers_compares_with_the_intervals(separated, bootstrap, information):
    _, fitted = separated
    for result in (bootstrap, information):
        assert all(np.all(inside) for inside in result.covers(fitted).values())
        far = GaussianMixtureParams(fitted.weights, fitted.means + 10 * result.standard_errors["means"],
                                    fitted.covariances)
        covered = result.covers(far)
        assert not np.any(covered["means"]) and np.all(covered["weights"])
        with pytest.raises(ValueError, match="truth"):
            result.covers(GaussianMixtureParams(fitted.weights, fitted.means, np.ones((2, 2)), "diag"))


def test_bootstrap_is_deterministic_and_accepts_a_custom_refit():
    X = sample(TRUTH, 300, seed=8)
    fitted = ml_fit(X, 2)
    calls = []

    def one_step_refit(Xb, start):
        calls.append(Xb.shape)
        return fit_em(Xb, 2, start=start, max_iter=1, tol=0.0).params

    with pytest.warns(Warning):
        first = bootstrap_standard_errors(X, fitted, n_bootstrap=5, refit=one_step_refit, rng=3)
    with pytest.warns(Warning):
        second = bootstrap_standard_errors(X, fitted, n_bootstrap=5, refit=one_step_refit, rng=3)
    assert calls == [(300, 2)] * 10
    np.testing.assert_array_equal(first.replicates["means"], second.replicates["means"])
    assert isinstance(first, ParameterUncertainty) and first.method == "bootstrap"
    with pytest.raises((TypeError, ValueError)):  # results are read-only
        first.standard_errors["means"][0, 0] = 1.0
    with pytest.raises(TypeError):
        first.intervals["means"] = None


def test_failed_refits_are_counted_and_too_many_raise():
    X = sample(TRUTH, 200, seed=9)
    fitted = ml_fit(X, 2)
    outcomes = iter([True, False] * 10)

    def flaky(Xb, start):
        if next(outcomes):
            return start
        raise ValueError("covariance of component 0 is not positive definite")

    assert bootstrap_standard_errors(X, fitted, n_bootstrap=6, refit=flaky, rng=0).n_failed == 3
    outcomes = iter([True] + [False] * 5)
    with pytest.raises(ValueError, match="5 of 6 bootstrap refits failed"):
        bootstrap_standard_errors(X, fitted, n_bootstrap=6, refit=flaky, rng=0)


def test_align_to_reference_undoes_a_permutation():
    three = GaussianMixtureParams(np.array([0.2, 0.3, 0.5]), np.array([[0.0], [5.0], [10.0]]),
                                  np.array([1.0, 1.0, 2.0]), "spherical")
    shuffled = three.permuted(np.array([2, 0, 1]))
    np.testing.assert_array_equal(align_to_reference(shuffled, three).means, three.means)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda X, p: information_standard_errors(X, p, level=90), "level"),
        (lambda X, p: information_standard_errors(X, p, method="louis"), "method"),
        (lambda X, p: information_standard_errors(X[:, :1], p), "shape"),
        (lambda X, p: bootstrap_standard_errors(X, p, n_bootstrap=1), "n_bootstrap"),
        (lambda X, p: information_standard_errors(
            X, GaussianMixtureParams(np.array([1.0, 0.0]), p.means, p.covariances)), "weight 0"),
    ],
)
def test_bad_arguments_raise_value_error(call, message):
    X = sample(TRUTH, 100, seed=10)
    with pytest.raises(ValueError, match=message):
        call(X, TRUTH)
