"""The EM loop: monotonicity, convergence, decreases, collapses, engines, warm start."""

import warnings

import numpy as np
import pytest

from emgmm import (
    COVARIANCE_TYPES,
    CollapsedComponentWarning,
    ConvergenceWarning,
    GaussianMixtureEM,
    GaussianMixtureParams,
    LikelihoodDecreaseWarning,
    available_engines,
    fit_em,
    initial_params,
    reference_em_iteration,
)
from emgmm.fit import DECREASE_RTOL, run_em
from emgmm.fit_warnings import warn_about_fit

@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("seed", range(4))
def test_log_likelihood_never_decreases_without_regularisation(covariance_type, seed, make_blobs):
    # Random starts on overlapping blobs: long, non-trivial trajectories.
    X = make_blobs(seed=seed, n_per=60) / 3.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = fit_em(X, 3, covariance_type=covariance_type, reg_covar=0.0, tol=1e-12, max_iter=60,
                        init_params="random", random_state=seed, engine="reference")
    history = result.log_likelihood_history
    assert history.size > 10
    assert np.all(np.diff(history) >= -DECREASE_RTOL * np.abs(history[:-1]))
    assert result.decreases == () and result.reseeded == ()


def test_convergence_follows_tol_on_mean_log_likelihood(blobs):
    result = fit_em(blobs, 3, tol=1e-4, random_state=0, init_params="random", engine="reference")
    changes = np.diff(result.log_likelihood_history)
    assert result.converged and result.n_iter == result.log_likelihood_history.size
    assert abs(changes[-1]) < 1e-4 and np.all(np.abs(changes[:-1]) >= 1e-4)
    assert result.lower_bound == result.log_likelihood_history[-1]


def test_not_converging_warns_and_says_so(blobs):
    with pytest.warns(ConvergenceWarning, match="increase max_iter"):
        result = fit_em(blobs, 3, max_iter=2, tol=0.0, init_params="random", random_state=0, engine="reference")
    assert not result.converged and result.n_iter == 2


def test_a_decrease_is_reported_and_never_counted_as_convergence(blobs):
    start = fit_em(blobs, 3, random_state=0, engine="reference").params
    values = iter([-3.0, -3.0 - 1e-5, -3.0 - 2e-5, -3.0 - 2e-5])

    def dropping_iteration(X, params, reg_covar):  # |change| < tol, but downhill
        return next(values), params

    result = run_em(blobs, start, dropping_iteration, tol=1e-3, reg_covar=1e-6, max_iter=4,
                    rng=np.random.default_rng(0))
    assert [it for it, _ in result.decreases] == [2, 3]
    assert result.converged and result.n_iter == 4  # only the flat step 4 converges
    with pytest.warns(LikelihoodDecreaseWarning, match="decreased 2 time"):
        warn_about_fit(result, max_iter=4, tol=1e-3, reg_covar=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # drops below tol with a ridge: recorded, not warned
        warn_about_fit(result, max_iter=4, tol=1e-3, reg_covar=1e-6)
    with pytest.warns(LikelihoodDecreaseWarning):
        warn_about_fit(result, max_iter=4, tol=1e-6, reg_covar=1e-6)


def test_empty_component_is_reseeded_and_reported():
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(-3, 1, 150), rng.normal(3, 1, 150)].reshape(-1, 1)
    # The third component sits far from all data: its responsibilities underflow to 0.
    start = dict(weights_init=[0.45, 0.45, 0.1], means_init=[[-3.0], [3.0], [1e4]],
                 covariances_init=[1.0, 1.0, 1.0])
    with pytest.warns(CollapsedComponentWarning, match="re-seeded"):
        result = fit_em(X, 3, covariance_type="spherical", random_state=0, engine="reference", **start)
    assert result.reseeded[0] == (1, 2)
    params = result.params
    assert np.all(np.isfinite(params.means)) and np.abs(params.means).max() < 10
    assert params.weights.min() * X.shape[0] > 1.0


def test_component_collapsing_onto_one_point_is_reseeded_without_regularisation():
    rng = np.random.default_rng(1)
    X = np.r_[rng.normal(0, 1, 200), [50.0]].reshape(-1, 1)
    start = dict(weights_init=[0.99, 0.01], means_init=[[0.0], [50.0]], covariances_init=[[[1.0]], [[0.01]]])
    # Without a ridge the likelihood is unbounded: EM keeps heading for the outlier, each
    # collapse is caught and re-seeded, and the fit ends unconverged rather than with NaN.
    with pytest.warns(CollapsedComponentWarning), pytest.warns(ConvergenceWarning):
        result = fit_em(X, 2, reg_covar=0.0, max_iter=100, random_state=0, engine="reference", **start)
    assert result.reseeded and result.reseeded[0] == (1, 1)
    assert np.all(np.isfinite(result.params.covariances)) and result.params.covariances.min() > 1e-6
    assert np.all(np.isfinite(result.log_likelihood_history))


def test_record_params_keeps_start_and_every_iteration(blobs):
    result = fit_em(blobs, 3, record_params=True, random_state=0, init_params="random", engine="reference")
    history = result.params_history
    assert len(history) == result.n_iter + 1 and history[-1] is result.params
    for t in range(result.n_iter):  # each step is reproducible from the recorded state
        mean_ll, nxt = reference_em_iteration(blobs, history[t], 1e-6)
        assert mean_ll == result.log_likelihood_history[t]
        np.testing.assert_array_equal(nxt.means, history[t + 1].means)
    assert fit_em(blobs, 3, random_state=0, engine="reference").params_history == ()


def test_record_params_start_is_the_user_given_start(blobs):
    start = fit_em(blobs, 3, random_state=0, engine="reference").params
    result = fit_em(blobs, 3, weights_init=start.weights, means_init=start.means,
                    covariances_init=start.covariances, record_params=True, engine="reference")
    np.testing.assert_array_equal(result.params_history[0].means, start.means)


def test_same_seed_same_numbers_and_n_init_keeps_the_best(blobs):
    kwargs = dict(init_params="random", random_state=3, engine="reference")
    one, again = fit_em(blobs, 3, **kwargs), fit_em(blobs, 3, **kwargs)
    np.testing.assert_array_equal(one.log_likelihood_history, again.log_likelihood_history)
    several = fit_em(blobs, 3, n_init=5, **kwargs)
    assert several.lower_bound >= one.lower_bound  # start 0 of n_init=5 is the n_init=1 run


def test_warm_start_continues_where_the_last_fit_stopped(blobs):
    kwargs = dict(n_components=3, tol=0.0, init_params="random", random_state=0, engine="reference")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warm = GaussianMixtureEM(max_iter=1, warm_start=True, **kwargs)
        bounds = [warm.fit(blobs).lower_bound_ for _ in range(6)]
        cold = GaussianMixtureEM(max_iter=6, **kwargs).fit(blobs)
    np.testing.assert_allclose(bounds, cold.lower_bounds_, rtol=1e-13)
    np.testing.assert_allclose(warm.means_, cold.means_, rtol=1e-12)


@pytest.mark.skipif("fast" not in available_engines(), reason="emgmm.fast (numba) does not import")
@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_fast_engine_follows_the_reference_trajectory(covariance_type, blobs):
    kwargs = dict(covariance_type=covariance_type, random_state=0, init_params="random", tol=1e-7, max_iter=200)
    reference = fit_em(blobs, 3, engine="reference", **kwargs)
    fast = fit_em(blobs, 3, engine="fast", **kwargs)
    assert fast.engine == "fast" and fast.n_iter == reference.n_iter
    np.testing.assert_allclose(fast.log_likelihood_history, reference.log_likelihood_history, rtol=0, atol=1e-9)
    np.testing.assert_allclose(fast.params.means, reference.params.means, atol=1e-7)


@pytest.mark.skipif("fast" not in available_engines(), reason="emgmm.fast (numba) does not import")
def test_chunk_size_reaches_the_fast_engine(blobs):
    kwargs = dict(random_state=0, covariance_type="diag", engine="fast")
    chunked = fit_em(blobs, 3, chunk_size=7, **kwargs)
    np.testing.assert_allclose(chunked.log_likelihood_history, fit_em(blobs, 3, **kwargs).log_likelihood_history,
                               rtol=0, atol=1e-10)
    with pytest.raises(ValueError):  # passed through: the fast engine checks it
        fit_em(blobs, 3, chunk_size=0, **kwargs)


def test_auto_engine_uses_the_fast_one_when_available(blobs):
    expected = "fast" if "fast" in available_engines() else "reference"
    assert fit_em(blobs, 2, random_state=0).engine == expected


def test_a_start_of_the_wrong_shape_is_rejected(blobs):
    start = GaussianMixtureParams(np.array([1.0]), np.zeros((1, 2)), np.eye(2)[None])
    with pytest.raises(ValueError, match="pass a matching start"):
        fit_em(blobs, 3, start=start)


def test_max_iter_zero_returns_the_start_silently(blobs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = fit_em(blobs, 3, max_iter=0, init_params="kmeans", random_state=0, engine="reference")
    start = initial_params(blobs, 3, "full", 1e-6, "kmeans", np.random.default_rng(0))
    np.testing.assert_array_equal(result.params.means, start.means)
    assert (result.n_iter, result.converged, result.lower_bound) == (0, False, -np.inf)
    assert result.log_likelihood_history.size == 0


def test_default_tolerance_reaches_the_end_of_the_run_on_old_faithful():
    """From the k-means start, with scikit-learn's tol = 1e-3, Old Faithful's tied K = 3
    fit stopped 14 below where the same run ends (a plateau); the default tol = 1e-7 stops within 1e-3 of it (total
    log-likelihood)."""
    from pathlib import Path

    import pandas as pd

    path = Path(__file__).resolve().parents[2] / "experiments" / "datasets" / "faithful.csv"
    X = pd.read_csv(path).to_numpy(dtype=float)
    n = X.shape[0]
    default = fit_em(X, 3, covariance_type="tied", init_params="kmeans", random_state=0)
    end = fit_em(X, 3, covariance_type="tied", init_params="kmeans", tol=1e-14, max_iter=20000, random_state=0)
    loose = fit_em(X, 3, covariance_type="tied", init_params="kmeans", tol=1e-3, random_state=0)
    assert default.converged and (end.lower_bound - default.lower_bound) * n <= 1e-3
    assert (end.lower_bound - loose.lower_bound) * n > 10.0


@pytest.mark.parametrize("init_params", ["auto", "kmeans"])
def test_a_warm_start_is_one_run_from_the_start(init_params, monkeypatch):
    # "auto" lists three kinds of start; from a given start they would be the same run.
    import emgmm.fit as fit_module

    rng = np.random.default_rng(8)
    X = np.r_[rng.normal(0, 1, (150, 2)), rng.normal(4, 1, (150, 2))]
    start = fit_em(X, 2, random_state=0, max_iter=3).params
    calls = []
    original = fit_module.run_em
    monkeypatch.setattr(fit_module, "run_em", lambda *a, **k: calls.append(a[1]) or original(*a, **k))
    result = fit_em(X, 2, start=start, init_params=init_params, n_init=5, random_state=1)
    assert len(calls) == 1 and calls[0] is start
    assert result.converged and result.init_index == 0
