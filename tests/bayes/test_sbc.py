"""Simulation-based calibration machinery, checked on a conjugate model with exact posterior.

The model: a Normal-inverse-gamma prior ``sigma^2 ~ InvGamma(a0, b0)``,
``mu | sigma^2 ~ N(m0, sigma^2/k0)``,
``y_i ~ N(mu, sigma^2)``, whose posterior is Normal-inverse-gamma with the textbook updates
(Gelman et al., BDA3, 3.3), so exact independent posterior draws are cheap.
"""

import numpy as np
import pytest
from scipy import stats

from bayes.sbc import (
    SBCResult,
    rank_bin_probabilities,
    rank_histogram,
    rank_statistics,
    run_sbc,
    sbc_uniformity_test,
    scalar_parameter_names,
)
from bayes.priors import Priors
from bayes.sbc_model import (
    check_sbc_priors,
    draw_from_priors,
    free_scalars,
    lkj_correlation_cholesky,
    run_bayes_sbc,
    simulate_mixture,
)

M0, K0, A0, B0, N_OBS, N_DRAWS = 1.0, 2.0, 3.0, 2.0, 8, 99


def prior_draw(rng):
    variance = stats.invgamma.rvs(A0, scale=B0, random_state=rng)
    mean = rng.normal(M0, np.sqrt(variance / K0))
    return {"mu": np.array(mean), "sigma2": np.array(variance)}


def simulate(theta, rng):
    return rng.normal(theta["mu"], np.sqrt(theta["sigma2"]), size=N_OBS)


def exact_posterior(y, rng, n_draws=N_DRAWS):
    n, ybar = y.size, y.mean()
    k_n = K0 + n
    m_n = (K0 * M0 + n * ybar) / k_n
    a_n = A0 + n / 2
    b_n = B0 + 0.5 * np.sum((y - ybar) ** 2) + K0 * n * (ybar - M0) ** 2 / (2 * k_n)
    variance = stats.invgamma.rvs(a_n, scale=b_n, size=n_draws, random_state=rng)
    mean = rng.normal(m_n, np.sqrt(variance / k_n))
    return {"mu": mean, "sigma2": variance}


def too_narrow_posterior(y, rng):
    draws = exact_posterior(y, rng)
    centre = {k: v.mean() for k, v in draws.items()}
    return {k: centre[k] + 0.5 * (v - centre[k]) for k, v in draws.items()}


def shifted_posterior(y, rng):
    draws = exact_posterior(y, rng)
    return {k: v + 0.5 * v.std() for k, v in draws.items()}


@pytest.fixture(scope="module")
def exact_sbc():
    return run_sbc(500, prior_draw, simulate, exact_posterior, rng=20180101)


def test_exact_posterior_passes_uniformity(exact_sbc):
    assert exact_sbc.parameter_names == ("mu", "sigma2")
    assert exact_sbc.ranks.shape == (500, 2)
    assert exact_sbc.n_posterior_draws == N_DRAWS
    _, pvalue = exact_sbc.uniformity(n_bins=20)
    assert np.all(pvalue > 0.01), pvalue


@pytest.mark.parametrize("wrong_posterior", [too_narrow_posterior, shifted_posterior])
def test_wrong_posterior_fails_uniformity(wrong_posterior):
    result = run_sbc(500, prior_draw, simulate, wrong_posterior, rng=20180101)
    _, pvalue = result.uniformity(n_bins=20)
    assert np.all(pvalue < 1e-4), pvalue


def test_too_narrow_posterior_gives_u_shaped_histogram():
    result = run_sbc(500, prior_draw, simulate, too_narrow_posterior, rng=7)
    counts = result.histograms(n_bins=10)
    assert np.all(counts[[0, -1]].min(axis=0) > 2 * counts[3:7].mean(axis=0))


def test_run_sbc_is_deterministic_given_seed(exact_sbc):
    again = run_sbc(500, prior_draw, simulate, exact_posterior, rng=20180101)
    np.testing.assert_array_equal(again.ranks, exact_sbc.ranks)


def test_rank_statistics_counts_draws_below_prior():
    posterior = np.array([[0.1, 5.0], [0.3, 4.0], [0.2, 6.0], [0.5, 7.0]])
    ranks = rank_statistics(np.array([0.25, 4.5]), posterior)
    np.testing.assert_array_equal(ranks, [2, 1])
    # every other draw: rows 0 and 2
    np.testing.assert_array_equal(rank_statistics(np.array([0.25, 4.5]), posterior, thin=2), [2, 0])


def test_rank_statistics_accepts_named_draws():
    prior = {"w": np.array([0.3, 0.7]), "m": np.array(0.0)}
    posterior = {"w": np.array([[0.2, 0.8], [0.4, 0.6]]), "m": np.array([-1.0, 1.0])}
    assert scalar_parameter_names(prior) == ["w[0]", "w[1]", "m"]
    np.testing.assert_array_equal(rank_statistics(prior, posterior), [1, 1, 1])


def test_rank_statistics_breaks_ties_at_random():
    posterior = np.zeros((9, 1))
    ranks = [rank_statistics(np.zeros(1), posterior, rng=np.random.default_rng(s))[0] for s in range(200)]
    assert min(ranks) == 0 and max(ranks) == 9
    assert abs(np.mean(ranks) - 4.5) < 0.6


def test_rank_statistics_rejects_bad_shapes():
    with pytest.raises(ValueError, match="n_draws, 2"):
        rank_statistics(np.zeros(2), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="thin"):
        rank_statistics(np.zeros(2), np.zeros((5, 2)), thin=0)


def test_bin_probabilities_account_for_uneven_bins():
    np.testing.assert_allclose(rank_bin_probabilities(99, 10), np.full(10, 0.1))
    probs = rank_bin_probabilities(10, 4)  # 11 rank values in 4 bins
    assert probs.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(probs * 11, [3, 3, 3, 2])  # floor(r * 4 / 11)
    np.testing.assert_array_equal(rank_histogram(np.arange(11), 10, 4), [3, 3, 3, 2])


def test_uniformity_statistic_matches_pearson_formula():
    rng = np.random.default_rng(3)
    ranks = rng.integers(0, 50, size=(200, 3))  # L = 49: 50 values, 5 bins of 10
    statistic, pvalue = sbc_uniformity_test(ranks, 49, n_bins=5)
    for j in range(3):
        counts = np.bincount(ranks[:, j] // 10, minlength=5)
        manual = np.sum((counts - 40) ** 2 / 40)
        assert statistic[j] == pytest.approx(manual)
        assert pvalue[j] == pytest.approx(stats.chi2.sf(manual, 4))


def test_uniformity_rejects_out_of_range_ranks():
    with pytest.raises(ValueError, match="0..9"):
        sbc_uniformity_test(np.array([0, 3, 10]), 9, n_bins=2)
    with pytest.raises(ValueError, match="n_bins"):
        sbc_uniformity_test(np.array([0, 3, 9]), 9, n_bins=11)


def test_sbc_result_is_frozen(exact_sbc):
    assert isinstance(exact_sbc, SBCResult)
    with pytest.raises(AttributeError):
        exact_sbc.n_posterior_draws = 3


# --------------------------------------------------------------------------- the bayes model


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
