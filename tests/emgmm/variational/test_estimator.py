"""Variational Bayes (emgmm.variational) against scikit-learn's BayesianGaussianMixture."""

import warnings

import numpy as np
import pytest
from sklearn.mixture import BayesianGaussianMixture

from emgmm import BayesianGaussianMixtureVB, LikelihoodDecreaseWarning
from emgmm.covariance_types import COVARIANCE_TYPES
from emgmm.map_prior import default_conjugate_prior
from emgmm.variational import (
    VariationalPrior,
    default_variational_prior,
    fit_vb,
    posterior_from_responsibilities,
)
from emgmm.variational.iteration import scored_statistics

WEIGHT_TYPES = ("dirichlet_process", "dirichlet_distribution")
K = 5


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(m, 1.0, size=(150, 3)) for m in (-4.0, 0.0, 4.0)])
    X[:, 1] *= 2.0
    return X


def sklearn_random_resp(n_samples, n_components, seed):
    """scikit-learn's init_params='random' responsibilities of its first start."""
    resp = np.random.RandomState(seed).uniform(size=(n_samples, n_components))
    return resp / resp.sum(axis=1, keepdims=True)


def fit_both(X, covariance_type, weight_type, engine, **settings):
    reference = BayesianGaussianMixture(
        n_components=K, covariance_type=covariance_type, weight_concentration_prior_type=weight_type,
        init_params="random", random_state=0, **settings).fit(X)
    ours = BayesianGaussianMixtureVB(
        K, covariance_type=covariance_type, weight_concentration_prior_type=weight_type,
        engine=engine, **settings).fit(X, resp_init=sklearn_random_resp(X.shape[0], K, 0))
    return reference, ours


@pytest.mark.parametrize("engine", ["reference", "fast"])
@pytest.mark.parametrize("weight_type", WEIGHT_TYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_same_start_same_prior_matches_sklearn(data, covariance_type, weight_type, engine):
    reference, ours = fit_both(data, covariance_type, weight_type, engine, max_iter=500, tol=1e-6)
    assert ours.n_iter_ == reference.n_iter_ and ours.converged_ == reference.converged_
    expected_bounds = np.ravel(np.asarray(reference.lower_bounds_, dtype=float))
    np.testing.assert_allclose(ours.lower_bounds_, expected_bounds, rtol=1e-8)
    assert ours.lower_bound_ == pytest.approx(float(np.ravel(reference.lower_bound_)[0]), rel=1e-8)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_",
                 "mean_precision_", "degrees_of_freedom_"):
        expected = np.asarray(getattr(reference, name))
        np.testing.assert_allclose(getattr(ours, name), expected, rtol=1e-8,
                                   atol=1e-8 * np.max(np.abs(expected)), err_msg=name)
    np.testing.assert_allclose(np.asarray(ours.weight_concentration_),
                               np.asarray(reference.weight_concentration_), rtol=1e-8)
    for name in ("weight_concentration_prior_", "mean_precision_prior_", "degrees_of_freedom_prior_"):
        assert getattr(ours, name) == pytest.approx(getattr(reference, name), rel=1e-12)
    np.testing.assert_allclose(ours.covariance_prior_, reference.covariance_prior_, rtol=1e-12)
    np.testing.assert_allclose(ours.score_samples(data), reference.score_samples(data), rtol=1e-8)
    np.testing.assert_allclose(ours.predict_proba(data), reference.predict_proba(data), atol=1e-8)
    np.testing.assert_array_equal(ours.predict(data), reference.predict(data))


def test_user_prior_matches_sklearn(data):
    settings = {"weight_concentration_prior": 0.3, "mean_precision_prior": 0.05,
                    "mean_prior": np.array([1.0, -1.0, 0.5]), "degrees_of_freedom_prior": 6.5,
                    "covariance_prior": np.diag([2.0, 3.0, 1.0]) + 0.5, "max_iter": 300, "tol": 1e-8}
    reference, ours = fit_both(data, "full", "dirichlet_distribution", "fast", **settings)
    np.testing.assert_allclose(ours.lower_bounds_, np.asarray(reference.lower_bounds_, float), rtol=1e-8)
    np.testing.assert_allclose(ours.means_, reference.means_, rtol=1e-8)
    np.testing.assert_allclose(ours.covariances_, reference.covariances_, rtol=1e-8)


def test_warm_start_continues_like_sklearn(data):
    reference = BayesianGaussianMixture(n_components=K, init_params="random", random_state=0,
                                        max_iter=5, warm_start=True)
    ours = BayesianGaussianMixtureVB(K, max_iter=5, warm_start=True)
    resp = sklearn_random_resp(data.shape[0], K, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # five iterations do not converge
        reference.fit(data).fit(data)
        ours.fit(data, resp_init=resp).fit(data)
    np.testing.assert_allclose(ours.lower_bounds_, np.asarray(reference.lower_bounds_, float), rtol=1e-8)
    np.testing.assert_allclose(ours.means_, reference.means_, rtol=1e-8)


@pytest.mark.parametrize("reg_covar", [0.0, 1e-6])
@pytest.mark.parametrize("weight_type", WEIGHT_TYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_lower_bound_never_decreases(data, covariance_type, weight_type, reg_covar):
    prior = default_variational_prior(data, 6, covariance_type, weights_prior_type=weight_type,
                                      weights_concentration=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LikelihoodDecreaseWarning)
        result = fit_vb(data, 6, covariance_type=covariance_type, prior=prior, init_params="random",
                        random_state=3, reg_covar=reg_covar, max_iter=400, tol=1e-9)
    history = result.log_likelihood_history
    assert history.size == result.n_iter > 10
    assert np.all(np.diff(history) >= -1e-10 * np.abs(history[1:]))
    assert result.decreases == ()


def test_engines_agree(data):
    prior = default_variational_prior(data, K, "full")
    posterior = posterior_from_responsibilities(data, sklearn_random_resp(data.shape[0], K, 1), prior, 1e-6)
    reference_stats, reference_entropy = scored_statistics(data, posterior, "reference")
    fast_stats, fast_entropy = scored_statistics(data, posterior, "fast")
    assert fast_entropy == pytest.approx(reference_entropy, rel=1e-10)
    np.testing.assert_allclose(fast_stats.counts, reference_stats.counts, rtol=1e-12)
    np.testing.assert_allclose(fast_stats.means, reference_stats.means, rtol=1e-12)


@pytest.mark.filterwarnings("ignore::emgmm.ConvergenceWarning")
def test_a_decrease_is_recorded_and_warned(data):
    with pytest.warns(LikelihoodDecreaseWarning, match="lower bound decreased"):
        result = fit_vb(data, K, max_iter=3, tol=0.0, previous_lower_bound=1e12,
                        start=fit_vb(data, K, max_iter=2, random_state=0).params)
    assert result.decreases[0][0] == 1 and result.decreases[0][1] < -1e11


def well_separated(rng, n_per_component=200):
    centres = np.array([[-12.0, 0.0], [0.0, 12.0], [12.0, 0.0]])
    return np.vstack([rng.normal(c, 1.0, size=(n_per_component, 2)) for c in centres])


@pytest.mark.parametrize("weight_type", WEIGHT_TYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_pruning_finds_three_components(covariance_type, weight_type):
    X = well_separated(np.random.default_rng(5))
    model = BayesianGaussianMixtureVB(
        8, covariance_type=covariance_type, weight_concentration_prior_type=weight_type,
        weight_concentration_prior=1e-3, max_iter=2000, tol=1e-6, random_state=0).fit(X)
    assert model.converged_
    assert model.n_effective_components_ == 3
    kept = np.flatnonzero(model.effective_components_)
    np.testing.assert_allclose(np.sort(model.weights_[kept]), [1 / 3] * 3, atol=0.01)
    # Each kept component sits on one of the true centres.
    centres = np.array([[-12.0, 0.0], [0.0, 12.0], [12.0, 0.0]])
    distances = np.linalg.norm(model.means_[kept][:, None] - centres[None], axis=2)
    assert sorted(np.argmin(distances, axis=1)) == [0, 1, 2] and distances.min(axis=1).max() < 0.3


def test_prior_is_shared_with_map_em(data):
    conjugate = default_conjugate_prior(data, K, "diag", weights_concentration=2.0)
    prior = VariationalPrior.from_conjugate(conjugate)
    assert prior.weights_prior_type == "dirichlet_distribution"
    back = prior.to_conjugate()
    for name in ("weights_concentration", "mean", "scale"):
        np.testing.assert_array_equal(getattr(back, name), getattr(conjugate, name))
    assert (back.shrinkage, back.dof, back.covariance_type) == (conjugate.shrinkage, conjugate.dof, "diag")
    with pytest.raises(ValueError, match="dirichlet_distribution"):
        default_variational_prior(data, K, "diag").to_conjugate()


def test_initialisations_run(data):
    for init_params in ("kmeans", "k-means++", "random", "random_from_data", "auto"):
        model = BayesianGaussianMixtureVB(3, init_params=init_params, random_state=1, max_iter=300).fit(data)
        assert model.converged_ and np.isfinite(model.lower_bound_)
    first, again = (BayesianGaussianMixtureVB(3, init_params="k-means++", random_state=1).fit(data)
                    for _ in range(2))
    assert again.lower_bound_ == first.lower_bound_  # same seed, same numbers


BAD_INPUTS = [
    ({"X": np.array([[0.0, np.nan], [1.0, 2.0], [3.0, 1.0]])}, {}, "NaN"),
    ({"X": np.arange(10.0)}, {}, "2-D"),
    ({"X": np.ones((1, 2))}, {}, "at least 2"),
    ({"X": np.random.default_rng(0).normal(size=(3, 2))}, {"n_components": 5}, "n_components"),
    (None, {"weight_concentration_prior": -1.0}, "weight_concentration_prior"),
    (None, {"mean_precision_prior": 0.0}, "mean_precision_prior"),
    (None, {"degrees_of_freedom_prior": 1.0}, "degrees_of_freedom_prior must be > n_features - 1"),
    (None, {"covariance_prior": -np.eye(3)}, "covariance_prior must be a symmetric positive definite"),
    (None, {"covariance_prior": np.eye(2)}, "covariance_prior must have shape"),
    (None, {"mean_prior": np.zeros(2)}, r"mean_prior must have shape \(3,\)"),
    (None, {"mean_prior": [0.0, np.inf, 1.0]}, "mean_prior must be a finite"),
    (None, {"weight_concentration_prior_type": "beta"}, "weight_concentration_prior_type"),
    (None, {"covariance_type": "banana"}, "covariance_type"),
    (None, {"weight_threshold": -0.1}, "weight_threshold"),
]


@pytest.mark.parametrize(("inputs", "settings", "message"), BAD_INPUTS)
def test_bad_input_is_one_line(data, inputs, settings, message):
    X = data if inputs is None else inputs["X"]
    settings = {"n_components": 2} | settings
    with pytest.raises(ValueError, match=message) as error:
        BayesianGaussianMixtureVB(**settings).fit(X)
    assert "\n" not in str(error.value)


@pytest.mark.filterwarnings("ignore::emgmm.ConvergenceWarning")
def test_bad_responsibilities_and_unfitted(data):
    with pytest.raises(ValueError, match="resp_init must be"):
        BayesianGaussianMixtureVB(3).fit(data, resp_init=np.ones((5, 3)))
    with pytest.raises(ValueError, match="not fitted"):
        BayesianGaussianMixtureVB(3).predict(data)
    with pytest.raises(ValueError, match="start does not match"):
        fit_vb(data, 3, start=fit_vb(data, 2, max_iter=5).params)
    with pytest.raises(TypeError, match="VariationalPrior"):
        fit_vb(data, 2, prior=default_conjugate_prior(data, 2))


def log_wishart_normaliser(scale_matrix, dof):
    """log B(W, nu) from scipy's Wishart density at the identity (an independent normaliser)."""
    from scipy.stats import wishart

    n_features = scale_matrix.shape[0]
    identity = np.eye(n_features)
    return wishart(df=dof, scale=scale_matrix).logpdf(identity) + 0.5 * np.trace(
        np.linalg.solve(scale_matrix, identity))


def log_dirichlet_c(alpha):
    """log C(alpha), the Dirichlet normaliser (Bishop B.23), from scipy's density."""
    from scipy.stats import dirichlet

    uniform = np.full(alpha.size, 1.0 / alpha.size)
    return dirichlet(alpha).logpdf(uniform) - float(np.sum((alpha - 1) * np.log(uniform)))


def bishop_elbo(X, resp, posterior, prior):
    """The seven terms of Bishop (2006) 10.70, as 10.71-10.77 write them (full covariances)."""
    from scipy.special import digamma
    from scipy.stats import wishart

    n_features = X.shape[1]
    nk = resp.sum(axis=0)
    xbar = resp.T @ X / nk[:, None]
    alpha, beta, m, nu = (posterior.weight_concentration, posterior.mean_precision, posterior.means,
                          posterior.degrees_of_freedom)
    W = np.linalg.inv(posterior.covariances * nu[:, None, None])
    W0 = np.linalg.inv(prior.scale)
    alpha0, beta0, m0, nu0 = prior.weights_concentration, prior.shrinkage, prior.mean, prior.dof
    log_lambda = np.array([digamma(0.5 * (nu[k] - np.arange(n_features))).sum()
                           + n_features * np.log(2) + np.linalg.slogdet(W[k])[1] for k in range(len(nu))])
    log_pi = digamma(alpha) - digamma(alpha.sum())
    terms = []
    for k in range(len(nu)):
        diff = X - xbar[k]
        S = (resp[:, k] * diff.T) @ diff / nk[k]
        d = xbar[k] - m[k]
        terms.append(0.5 * nk[k] * (log_lambda[k] - n_features / beta[k] - nu[k] * np.trace(S @ W[k])
                                    - nu[k] * d @ W[k] @ d - n_features * np.log(2 * np.pi)))
    e_log_px = sum(terms)  # 10.71
    e_log_pz = float(np.sum(resp * log_pi))  # 10.72
    e_log_ppi = log_dirichlet_c(alpha0) + float(np.sum((alpha0 - 1) * log_pi))  # 10.73
    e_log_pmu = sum(  # 10.74
        0.5 * (n_features * np.log(beta0 / (2 * np.pi)) + log_lambda[k] - n_features * beta0 / beta[k]
               - beta0 * nu[k] * (m[k] - m0) @ W[k] @ (m[k] - m0))
        + log_wishart_normaliser(W0, nu0) + 0.5 * (nu0 - n_features - 1) * log_lambda[k]
        - 0.5 * nu[k] * np.trace(prior.scale @ W[k]) for k in range(len(nu)))
    with np.errstate(divide="ignore", invalid="ignore"):
        e_log_qz = float(np.sum(np.where(resp > 0, resp * np.log(resp), 0.0)))  # 10.75
    e_log_qpi = float(np.sum((alpha - 1) * log_pi)) + log_dirichlet_c(alpha)  # 10.76
    e_log_qmu = sum(0.5 * log_lambda[k] + 0.5 * n_features * np.log(beta[k] / (2 * np.pi))  # 10.77
                    - 0.5 * n_features - wishart(df=nu[k], scale=W[k]).entropy() for k in range(len(nu)))
    return e_log_px + e_log_pz + e_log_ppi + e_log_pmu - e_log_qz - e_log_qpi - e_log_qmu


def test_lower_bound_is_the_elbo_up_to_its_constant(data):
    from emgmm.variational.iteration import (
        elbo_offset,
        expected_log_scores,
        vb_iteration,
    )

    prior = default_variational_prior(data, K, "full", weights_prior_type="dirichlet_distribution",
                                      weights_concentration=0.5, shrinkage=0.3, dof=5.0)
    posterior = posterior_from_responsibilities(data, sklearn_random_resp(data.shape[0], K, 2), prior, 0.0)
    for _ in range(4):
        scores = expected_log_scores(data, posterior)
        resp = np.exp(scores - scores.max(axis=1, keepdims=True))
        resp /= resp.sum(axis=1, keepdims=True)
        bound, posterior = vb_iteration(data, posterior, 0.0, prior=prior, engine="reference")
        expected = bishop_elbo(data, resp, posterior, prior)
        assert bound + elbo_offset(prior, data.shape[0]) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_an_em_start_is_the_update_from_its_labels(data, covariance_type):
    from emgmm.init import kmeans, one_hot

    labels = kmeans(data, 3, np.random.default_rng(4))[0]
    prior = default_variational_prior(data, 3, covariance_type)
    expected = posterior_from_responsibilities(data, one_hot(labels, 3), prior, 1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter=0 does not converge
        start = fit_vb(data, 3, covariance_type=covariance_type, prior=prior, max_iter=0,
                       init_params="kmeans", random_state=4).params
    for name in ("weight_concentration", "mean_precision", "means", "degrees_of_freedom", "covariances"):
        np.testing.assert_allclose(getattr(start, name), getattr(expected, name), rtol=1e-10, err_msg=name)
