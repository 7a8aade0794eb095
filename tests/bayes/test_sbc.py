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
