"""MAP-EM (emgmm.map_em) run by fit_em(prior=...): flat limit = plain EM, monotone objective,
exact M-step, and the same numbers as the former separate MAP-EM loop."""

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.mixture import GaussianMixture

from emgmm import GaussianMixtureEM
from emgmm.fit import ConvergenceWarning, fit_em
from emgmm.map_em import map_m_step, map_objective
from emgmm.map_prior import (
    ConjugatePrior,
    default_conjugate_prior,
    flat_conjugate_prior,
    log_prior_density,
)
from emgmm.params import COVARIANCE_TYPES, GaussianMixtureParams
from emgmm.steps import e_step


DATA = Path(__file__).parent / "data"


def three_blobs(seed: int, n: int = 450) -> np.ndarray:
    rng = np.random.default_rng(seed)
    sizes = (n * np.array([0.45, 0.33, 0.22])).astype(int)
    return np.concatenate([
        rng.multivariate_normal([0, 0], [[1.0, 0.3], [0.3, 0.8]], sizes[0]),
        rng.multivariate_normal([3, 1], [[0.5, -0.2], [-0.2, 0.6]], sizes[1]),
        rng.multivariate_normal([-2, 3], [[0.3, 0.0], [0.0, 0.2]], sizes[2]),
    ])


def precisions(covariances: np.ndarray, covariance_type: str) -> np.ndarray:
    if covariance_type in ("full", "tied"):
        return np.linalg.inv(covariances)
    return 1.0 / covariances


def rough_start(X, covariance_type, seed=0):
    """One sklearn iteration from random rows: a start that is still far from converged."""
    gm = GaussianMixture(3, covariance_type=covariance_type, max_iter=1, random_state=seed,
                         init_params="random_from_data")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: intended, the start is unconverged
        gm.fit(X)
    return GaussianMixtureParams(gm.weights_, gm.means_, gm.covariances_, covariance_type)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_flat_prior_equals_plain_em(covariance_type):
    """Flat-limit MAP-EM reproduces scikit-learn's EM from the same start, iteration by iteration."""
    X = three_blobs(1)
    start = rough_start(X, covariance_type)
    reference = GaussianMixture(
        3, covariance_type=covariance_type, weights_init=start.weights, means_init=start.means,
        precisions_init=precisions(start.covariances, covariance_type), reg_covar=1e-6, tol=0.0,
        max_iter=40,
    )
    with pytest.warns(Warning):  # tol=0 never "converges"
        reference.fit(X)
    prior = flat_conjugate_prior(3, 2, covariance_type)
    with pytest.warns(Warning):  # tol=0 never "converges"
        result = fit_em(X, 3, prior=prior, covariance_type=covariance_type, start=start, tol=0.0,
                        max_iter=40, reg_covar=1e-6)
    assert result.n_iter == reference.n_iter_ == 40
    assert log_prior_density(result.params, prior) == 0.0
    np.testing.assert_allclose(result.params.weights, reference.weights_, atol=1e-6, rtol=0)
    np.testing.assert_allclose(result.params.means, reference.means_, atol=1e-6, rtol=0)
    np.testing.assert_allclose(result.params.covariances, reference.covariances_, atol=1e-6, rtol=0)
    assert result.lower_bound == pytest.approx(reference.score(X), abs=1e-9)
    assert result.log_prior == 0.0


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_flat_prior_equals_fit_em(covariance_type):
    """... and the project's own EM loop, from the same start for the same number of M-steps."""
    X = three_blobs(2)
    start = rough_start(X, covariance_type, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tol=0 stops at max_iter: ConvergenceWarning expected
        reference = fit_em(X, 3, covariance_type=covariance_type, start=start, tol=0.0,
                           max_iter=25, reg_covar=1e-6, engine="reference")
        result = fit_em(X, 3, prior=flat_conjugate_prior(3, 2, covariance_type),
                        covariance_type=covariance_type, start=start, tol=0.0, max_iter=25,
                        reg_covar=1e-6)
    assert result.n_iter == reference.n_iter == 25
    for field in ("weights", "means", "covariances"):
        np.testing.assert_allclose(getattr(result.params, field), getattr(reference.params, field),
                                   atol=1e-6, rtol=0)


def random_prior(rng, covariance_type, X):
    """Proper priors with random strengths, centred away from the data."""
    prior = default_conjugate_prior(
        X, 3, covariance_type, weights_concentration=rng.uniform(1, 20, 3),
        shrinkage=rng.uniform(0, 50), dof=rng.uniform(3, 60),
    )
    return ConjugatePrior(prior.weights_concentration, prior.mean + rng.normal(0, 2, 2),
                          prior.shrinkage, prior.dof, prior.scale * rng.uniform(0.1, 10),
                          covariance_type)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("seed", range(4))
def test_map_objective_never_decreases(covariance_type, seed):
    rng = np.random.default_rng(seed)
    X = three_blobs(seed, n=int(rng.integers(60, 400)))
    for prior in (default_conjugate_prior(X, 3, covariance_type), random_prior(rng, covariance_type, X)):
        with pytest.warns(ConvergenceWarning):  # tol=0 runs max_iter iterations
            result = fit_em(X, 3, prior=prior, covariance_type=covariance_type, init_params="random",
                            random_state=seed, tol=0.0, max_iter=60, reg_covar=0.0)
        history = result.log_likelihood_history
        assert history.shape == (61,) and not result.decreases
        steps = np.diff(history)
        assert np.all(steps >= -1e-9 * np.abs(history[1:])), steps.min()
        assert history[-1] * X.shape[0] == pytest.approx(map_objective(X, result.params, prior))
        assert result.lower_bound * X.shape[0] + result.log_prior == pytest.approx(history[-1] * X.shape[0])


def expected_complete_log_posterior(X, resp, params, prior):
    from emgmm.steps import estimate_weighted_log_prob

    return float(np.sum(resp * estimate_weighted_log_prob(X, params))) + log_prior_density(params, prior)


def perturbed(params, rng, size):
    """A nearby valid parameter: multiplicative noise on weights, additive on means/covariances."""
    weights = params.weights * np.exp(rng.normal(0, size, params.weights.shape))
    covariances = np.array(params.covariances)
    if params.covariance_type in ("full", "tied"):
        stack = covariances.reshape(-1, *covariances.shape[-2:])
        for k, cov in enumerate(stack):
            chol = np.linalg.cholesky(cov) + np.tril(rng.normal(0, size, cov.shape))
            stack[k] = chol @ chol.T
        covariances = stack.reshape(covariances.shape)
    else:
        covariances = covariances * np.exp(rng.normal(0, size, covariances.shape))
    return GaussianMixtureParams(weights / weights.sum(), params.means + rng.normal(0, size, params.means.shape),
                                 covariances, params.covariance_type)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_m_step_maximises_expected_complete_log_posterior(covariance_type):
    """No perturbation of the M-step's output scores higher on Q(theta) + log p(theta)."""
    rng = np.random.default_rng(5)
    X = three_blobs(5, n=120)
    prior = random_prior(rng, covariance_type, X)
    resp = rng.dirichlet(np.ones(3), size=X.shape[0])
    best = map_m_step(X, resp, prior)
    top = expected_complete_log_posterior(X, resp, best, prior)
    for size in (1e-2, 1e-3):
        for _ in range(50):
            assert expected_complete_log_posterior(X, resp, perturbed(best, rng, size), prior) < top


def test_strong_prior_pulls_the_mode_towards_the_prior():
    X = three_blobs(3)
    weak = fit_em(X, 3, prior=default_conjugate_prior(X, 3), random_state=0, tol=1e-8, max_iter=500,
                  reg_covar=0.0)
    strong_prior = ConjugatePrior(np.full(3, 1e4), np.array([10.0, -10.0]), 1e6, 4.0,
                                  np.eye(2), "full")
    strong = fit_em(X, 3, prior=strong_prior, start=weak.params, tol=1e-8, max_iter=500, reg_covar=0.0)
    np.testing.assert_allclose(strong.params.means, np.tile([10.0, -10.0], (3, 1)), atol=1e-2)
    np.testing.assert_allclose(strong.params.weights, np.full(3, 1 / 3), atol=0.02)
    assert strong.converged and weak.converged


def test_prior_must_match_the_model():
    X = three_blobs(4)
    with pytest.raises(ValueError, match="prior is for covariance_type='diag'"):
        fit_em(X, 3, prior=flat_conjugate_prior(3, 2, "diag"), covariance_type="full")
    with pytest.raises(ValueError, match="n_samples"):
        fit_em(X[:2], 3, prior=flat_conjugate_prior(3, 2))
    with pytest.raises(ValueError, match="reference engine"):
        fit_em(X, 3, prior=flat_conjugate_prior(3, 2), engine="fast")


def test_same_seed_same_fit():
    X = three_blobs(6)
    prior = default_conjugate_prior(X, 3)
    first, second = (fit_em(X, 3, prior=prior, random_state=42, init_params="random", tol=1e-8,
                            max_iter=500) for _ in range(2))
    np.testing.assert_array_equal(first.params.means, second.params.means)
    log_norm, _ = e_step(X, first.params)
    assert first.lower_bound == pytest.approx(log_norm.mean())
    assert first.log_prior == pytest.approx(log_prior_density(first.params, prior))


def load_reference_cases():
    """Cases and outputs of the former ``fit_map_em`` (tests/emgmm/data/make_map_em_reference.py)."""
    spec = importlib.util.spec_from_file_location("make_map_em_reference", DATA / "make_map_em_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, np.load(DATA / "map_em_reference.npz")


@pytest.mark.parametrize("case", ["fit_full", "fit_tied", "fit_diag", "fit_spherical", "refit_full",
                                  "refit_tied", "refit_diag", "refit_spherical", "max_iter_full"])
def test_fit_em_with_prior_reproduces_the_former_map_em_loop(case):
    """``fit_em(..., prior=...)`` gives the numbers of the former ``emgmm.map_em.fit_map_em``.

    The reference arrays were written by ``tests/emgmm/data/make_map_em_reference.py`` run
    on the commit before MAP-EM moved into the one EM loop (its ``fit_map_em`` call is
    ``fit_map_em(X, 3, prior, covariance_type=..., **kwargs)`` with the case's keyword
    arguments); the M-step now goes through the sufficient statistics, hence rounding-level
    tolerances and exact iteration counts.
    """
    module, reference = load_reference_cases()
    seed, covariance_type, kwargs = module.CASES[case]
    X = module.problem(seed)
    prior = default_conjugate_prior(X, 3, covariance_type)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # the max_iter case
        result = fit_em(X, 3, covariance_type=covariance_type, prior=prior, **kwargs)
    n_samples = X.shape[0]
    assert result.n_iter == reference[f"{case}/n_iter"]
    assert result.converged == reference[f"{case}/converged"]
    for field in ("weights", "means", "covariances"):
        np.testing.assert_allclose(getattr(result.params, field), reference[f"{case}/{field}"],
                                   rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(result.log_likelihood_history,
                               reference[f"{case}/objective_history"] / n_samples, rtol=1e-13)
    assert result.lower_bound == pytest.approx(reference[f"{case}/log_likelihood"] / n_samples, rel=1e-13)
    assert result.log_prior == pytest.approx(reference[f"{case}/log_prior"], rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_estimator_prior_is_fit_em_with_that_prior(covariance_type):
    """``GaussianMixtureEM(prior="default")`` is MAP-EM under mclust's default prior of the
    fitted data, bit for bit; a ConjugatePrior is used as given."""
    X = np.random.default_rng(4).normal(size=(160, 2)) + np.repeat([[0, 0], [3, 1]], 80, axis=0)
    prior = default_conjugate_prior(X, 2, covariance_type)
    expected = fit_em(X, 2, covariance_type=covariance_type, prior=prior, random_state=0)
    for given in ("default", prior):
        model = GaussianMixtureEM(2, covariance_type=covariance_type, prior=given,
                                  random_state=0).fit(X)
        np.testing.assert_array_equal(model.means_, expected.params.means)
        np.testing.assert_array_equal(model.covariances_, expected.params.covariances)
        assert model.lower_bound_ == expected.lower_bound
        assert model.history_.log_prior == expected.log_prior != 0.0
    plain = GaussianMixtureEM(2, covariance_type=covariance_type, random_state=0).fit(X)
    assert plain.history_.log_prior == 0.0 and plain.get_params()["prior"] is None
    cloned = clone(model).get_params()["prior"]  # scikit-learn's clone copies the prior
    assert isinstance(cloned, ConjugatePrior) and np.array_equal(cloned.scale, prior.scale)


def test_estimator_prior_on_dask_uses_the_moments_of_all_rows():
    """On a Dask array ``"default"`` is computed from the array's mean and covariance (one
    pass, not the rows in memory) and gives the in-memory MAP estimate."""
    da = pytest.importorskip("dask.array")
    X = np.random.default_rng(5).normal(size=(300, 2)) + np.repeat([[0, 0], [4, 0]], 150, axis=0)
    settings = {"prior": "default", "init_params": "kmeans", "random_state": 0, "tol": 1e-10}
    in_memory = GaussianMixtureEM(2, **settings).fit(X)
    on_dask = GaussianMixtureEM(2, **settings).fit(da.from_array(X, chunks=70))
    order = np.argsort(on_dask.means_[:, 0]), np.argsort(in_memory.means_[:, 0])
    np.testing.assert_allclose(on_dask.means_[order[0]], in_memory.means_[order[1]], atol=1e-6)
    np.testing.assert_allclose(on_dask.history_.log_prior, in_memory.history_.log_prior,
                               rtol=1e-9)


@pytest.mark.parametrize("prior", ["mclust", 3, {"shrinkage": 0.01}])
def test_unknown_estimator_prior_is_one_line(prior):
    X = np.random.default_rng(0).normal(size=(40, 2))
    with pytest.raises(ValueError, match="prior must be None, 'default' or an "
                                         "emgmm.map_prior.ConjugatePrior"):
        GaussianMixtureEM(2, prior=prior).fit(X)
