"""SBC of the bayes mixture (bayes.sbc_model): numpy prior draws, simulator, ranked scalars,
and one short SBC run of the PyMC model on its own prior."""

import numpy as np
import pytest
from scipy import stats

from bayes.priors import Priors
from bayes.sbc_model import (
    check_sbc_priors,
    draw_from_priors,
    free_scalars,
    lkj_correlation_cholesky,
    run_bayes_sbc,
    simulate_mixture,
)


SBC_PRIORS = Priors(weights_concentration=5.0, means_loc=0.0, means_scale=2.0, scale_param=2.0)


@pytest.mark.parametrize(("n_features", "eta"), [(2, 1.0), (3, 2.0), (4, 0.7)])
def test_lkj_onion_draws_have_the_lkj_marginal(n_features, eta):
    """Each correlation of LKJ(eta) is 2 Beta(a, a) - 1 with a = eta - 1 + D/2."""
    rng = np.random.default_rng(0)
    chols = np.stack([lkj_correlation_cholesky(n_features, eta, rng) for _ in range(20000)])
    np.testing.assert_allclose(np.sum(chols**2, axis=2), 1.0)
    assert np.all(np.triu(chols, 1) == 0)
    a = eta - 1 + n_features / 2
    reference = 2 * stats.beta(a, a).rvs(size=20000, random_state=1) - 1
    correlations = (chols @ np.swapaxes(chols, 1, 2))[:, n_features - 1, 0]
    assert stats.ks_2samp(correlations, reference).pvalue > 0.01


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_prior_draws_follow_the_documented_priors(covariance_type):
    resolved = check_sbc_priors(SBC_PRIORS, 3, 2, covariance_type)
    rng = np.random.default_rng(0)
    draws = [draw_from_priors(resolved, 3, 2, covariance_type, rng) for _ in range(4000)]
    means = np.stack([d["means"] for d in draws])
    covariances = np.stack([d["covariances"] for d in draws])
    assert np.all(np.diff(means[:, :, 0], axis=1) > 0)  # ordered first coordinate
    np.testing.assert_allclose(np.mean([d["weights"] for d in draws]), 1 / 3)
    # sorting permutes components; pooled over components the marginals are the priors'
    assert stats.kstest(means.ravel(), stats.norm(0, 2).cdf).pvalue > 0.01
    sds = np.sqrt(np.diagonal(covariances, axis1=2, axis2=3))
    # first-dimension sds, pooled over components (independent of the means, so unsorted)
    first_sds = sds[:, 0, 0] if covariance_type == "tied" else sds[:, :, 0].ravel()
    assert stats.kstest(first_sds, stats.halfnorm(scale=2.0).cdf).pvalue > 0.01
    structure = {
        "tied": lambda c: np.allclose(c, c[:, :1]),
        "diag": lambda c: np.all(c[:, :, 0, 1] == 0),
        "spherical": lambda c: np.all(c[:, :, 0, 1] == 0) and np.allclose(c[:, :, 0, 0], c[:, :, 1, 1]),
        "full": lambda c: np.all(c[:, :, 0, 1] != 0),
    }
    assert structure[covariance_type](covariances)


def test_simulated_data_follow_the_mixture():
    theta = {"weights": np.array([0.3, 0.7]), "means": np.array([[-5.0, 0.0], [5.0, 1.0]]),
             "covariances": np.array([np.eye(2), [[2.0, 0.5], [0.5, 1.0]]])}
    X = simulate_mixture(theta, 20000, np.random.default_rng(2))
    right = X[:, 0] > 0
    assert right.mean() == pytest.approx(0.7, abs=0.01)
    np.testing.assert_allclose(np.cov(X[right], rowvar=False), theta["covariances"][1], atol=0.06)
    np.testing.assert_allclose(X[~right].mean(axis=0), theta["means"][0], atol=0.04)


def test_free_scalars_per_covariance_type():
    draws = {"weights": np.zeros((7, 3)), "means": np.zeros((7, 3, 2)),
             "covariances": np.arange(7 * 3 * 4, dtype=float).reshape(7, 3, 2, 2)}
    shapes = {"full": (7, 3, 3), "tied": (7, 3), "diag": (7, 3, 2), "spherical": (7, 3)}
    for covariance_type, shape in shapes.items():
        assert free_scalars(draws, covariance_type)["covariances"].shape == shape


@pytest.mark.parametrize(
    ("priors", "message"),
    [
        (Priors(means_loc=0.0, means_scale=1.0), "scale_param"),
        (Priors(weights_concentration=[1.0, 2.0], means_loc=0.0, means_scale=1.0, scale_param=1.0),
         "one weights_concentration"),
    ],
)
def test_sbc_needs_fixed_exchangeable_priors(priors, message):
    with pytest.raises(ValueError, match=message):
        run_bayes_sbc(2, 20, 2, priors)


@pytest.mark.slow
def test_bayes_model_passes_sbc_on_its_own_prior():
    """1-D, K = 2, spherical (the shape of the other 1-D bayes tests): 10 prior draws,
    short chains. Few simulations: this catches gross prior/likelihood mismatches between
    the PyMC model and its documented priors (ranks piling at 0 or L), not subtle bias."""
    result = run_bayes_sbc(10, 60, 2, SBC_PRIORS, draws=100, tune=200, chains=1, thin=2, rng=3)
    assert result.parameter_names == ("weights[0]", "weights[1]", "means[0,0]", "means[1,0]",
                                      "covariances[0]", "covariances[1]")
    assert result.n_posterior_draws == 50 and result.ranks.shape == (10, 6)
    _, pvalue = result.uniformity(n_bins=3)
    assert np.all(pvalue > 0.001), pvalue
