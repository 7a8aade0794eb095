"""Comparison metrics on hand-made arrays and posteriors whose right answers are known."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from sklearn.mixture import GaussianMixture

from emgmm import GaussianMixtureParams
from experiments.measure import metrics

TRUTH = GaussianMixtureParams(
    weights=np.array([0.2, 0.3, 0.5]),
    means=np.array([[-4.0, 0.0], [0.0, 3.0], [4.0, -1.0]]),
    covariances=np.array(
        [[[1.0, 0.5], [0.5, 1.0]], [[1.5, -0.4], [-0.4, 0.6]], [[0.7, 0.0], [0.0, 1.6]]]
    ),
    covariance_type="full",
)


def posterior_dataset(weights, means, covariances) -> xr.Dataset:
    """A posterior group with the documented variable names and dims."""
    return xr.Dataset(
        {
            "weights": (("chain", "draw", "component"), weights),
            "means": (("chain", "draw", "component", "dim"), means),
            "covariances": (("chain", "draw", "component", "dim", "dim_bis"), covariances),
        }
    )


def draws_around_truth(rng, n_chains=4, n_draws=500, scale=0.05, shift=0.0):
    """Independent Gaussian draws centred on TRUTH (+ shift on the means)."""
    shape = (n_chains, n_draws)
    weights = TRUTH.weights + scale * 0.1 * rng.standard_normal(shape + (3,))
    means = TRUTH.means + shift + scale * rng.standard_normal(shape + (3, 2))
    jitter = scale * 0.1 * rng.standard_normal(shape + (3, 2, 2))
    covariances = TRUTH.covariances + (jitter + np.swapaxes(jitter, -1, -2)) / 2
    return posterior_dataset(weights, means, covariances)


# --- alignment -----------------------------------------------------------------------


@pytest.mark.parametrize("perm", [[0, 1, 2], [2, 0, 1], [1, 2, 0], [2, 1, 0]])
def test_align_components_undoes_a_permutation(perm):
    estimate = TRUTH.permuted(np.array(perm))
    order = metrics.align_components(TRUTH, estimate)
    aligned = estimate.permuted(order)
    np.testing.assert_array_equal(aligned.means, TRUTH.means)
    np.testing.assert_array_equal(aligned.weights, TRUTH.weights)


def test_align_components_uses_the_true_covariance_shape():
    # True component 0 is stretched along x: an estimate 3 units away along x is closer
    # in Mahalanobis distance than one 1.5 units away along y (Euclid says the opposite).
    # True component 1 sits on the bisector of the two estimates, indifferent to both.
    truth = GaussianMixtureParams(
        np.array([0.5, 0.5]),
        np.array([[0.0, 0.0], [11.5, 20.75]]),
        np.array([[[9.0, 0.0], [0.0, 0.1]], [[1.0, 0.0], [0.0, 1.0]]]),
    )
    estimate = GaussianMixtureParams(
        np.array([0.5, 0.5]),
        np.array([[0.0, 1.5], [3.0, 0.0]]),
        np.array([np.eye(2), np.eye(2)]),
    )
    np.testing.assert_array_equal(metrics.align_components(truth, estimate), [1, 0])


def test_align_components_breaks_ties_with_weights():
    means = np.zeros((2, 2))
    covs = np.array([np.eye(2), np.eye(2)])
    truth = GaussianMixtureParams(np.array([0.8, 0.2]), means, covs)
    estimate = GaussianMixtureParams(np.array([0.25, 0.75]), means, covs)
    np.testing.assert_array_equal(metrics.align_components(truth, estimate), [1, 0])


def test_align_components_rejects_a_different_number_of_components():
    two = GaussianMixtureParams(np.array([0.5, 0.5]), TRUTH.means[:2], TRUTH.covariances[:2])
    with pytest.raises(ValueError, match="true number of components"):
        metrics.align_components(TRUTH, two)


def test_align_labels_maps_estimated_labels_to_true_indices():
    order = np.array([2, 0, 1])  # true 0 <- est 2, true 1 <- est 0, true 2 <- est 1
    labels = np.array([0, 1, 2, 2, -1])
    np.testing.assert_array_equal(metrics.align_labels(labels, order), [1, 2, 0, 0, -1])


def test_permute_posterior_reorders_component_dimension():
    rng = np.random.default_rng(0)
    post = draws_around_truth(rng, n_chains=1, n_draws=3)
    order = np.array([2, 0, 1])
    permuted = metrics.permute_posterior(post, order)
    np.testing.assert_array_equal(permuted["means"].values, post["means"].values[:, :, order])
    np.testing.assert_array_equal(permuted["component"].values, [0, 1, 2])


# --- point estimates -------------------------------------------------------------------


def test_mean_log_likelihood_matches_scikit_learn():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 2)) * 3
    sk = GaussianMixture(3, covariance_type="full")
    sk.weights_, sk.means_, sk.covariances_ = TRUTH.weights, TRUTH.means, TRUTH.covariances
    sk.precisions_cholesky_ = np.linalg.cholesky(np.linalg.inv(TRUTH.covariances))
    assert metrics.mixture_mean_log_likelihood(X, TRUTH) == pytest.approx(sk.score(X), rel=1e-12)


def test_parameter_errors_by_hand():
    estimate = GaussianMixtureParams(
        np.array([0.3, 0.3, 0.4]),
        TRUTH.means + np.array([[3.0, 4.0], [0.0, 0.0], [0.0, 1.0]]),
        TRUTH.covariances * np.array([2.0, 1.0, 1.0])[:, None, None],
    )
    errors = metrics.parameter_errors(TRUTH, estimate)
    assert errors["weights_error"] == pytest.approx((0.1 + 0.0 + 0.1) / 3)
    assert errors["means_error"] == pytest.approx((5.0 + 0.0 + 1.0) / 3)
    assert errors["covariances_error"] == pytest.approx(1.0 / 3)  # doubled: relative error 1
    zero = metrics.parameter_errors(TRUTH, TRUTH)
    assert zero == {"weights_error": 0.0, "means_error": 0.0, "covariances_error": 0.0}


def test_label_agreement_ignores_outliers_and_counts_mistakes():
    true = np.array([0, 0, 1, 1, 2, 2, -1, -1])
    labels = np.array([0, 0, 1, 2, 2, 2, 0, 1])
    result = metrics.label_agreement(true, labels)
    assert result["accuracy"] == pytest.approx(5 / 6)
    from sklearn.metrics import adjusted_rand_score

    assert result["ari"] == pytest.approx(adjusted_rand_score(true[:6], labels[:6]))
    perfect = metrics.label_agreement(true, np.where(true < 0, 2, true))
    assert perfect == {"ari": 1.0, "accuracy": 1.0}


def test_label_agreement_all_outliers_is_an_error():
    with pytest.raises(ValueError, match="outlier"):
        metrics.label_agreement(np.array([-1, -1]), np.array([0, 1]))


def test_point_estimate_metrics_at_truth():
    rng = np.random.default_rng(2)
    labels = rng.choice(3, size=400, p=TRUTH.weights)
    X = TRUTH.means[labels] + rng.standard_normal((400, 2)) @ np.eye(2) * 0.5
    result = metrics.point_estimate_metrics(X, labels, TRUTH, TRUTH, labels)
    assert result["ari"] == 1.0 and result["weights_error"] == 0.0
    assert result["log_likelihood"] == pytest.approx(metrics.mixture_mean_log_likelihood(X, TRUTH))


# --- MCMC diagnostics and intervals -----------------------------------------------------


def test_sampling_diagnostics_of_independent_draws():
    rng = np.random.default_rng(5)
    post = draws_around_truth(rng)
    diverging = np.zeros((4, 500), bool)
    diverging[0, :7] = True
    stats = xr.Dataset({"diverging": (("chain", "draw"), diverging)})
    result = metrics.sampling_diagnostics(post, stats, "full")
    assert result["max_rhat"] < 1.02
    assert result["min_ess_bulk"] > 1000 and result["min_ess_tail"] > 1000
    assert result["divergences"] == 7


def test_sampling_diagnostics_flags_a_stuck_chain():
    rng = np.random.default_rng(6)
    post = draws_around_truth(rng)
    shifted = post["means"].values.copy()
    shifted[0] += 2.0  # chain 0 sits in another mode
    post["means"] = (post["means"].dims, shifted)
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((4, 500), bool))})
    result = metrics.sampling_diagnostics(post, stats, "full")
    assert result["max_rhat"] > 1.5
    assert result["min_ess_bulk"] < 100


def test_sampling_diagnostics_skip_constant_entries_instead_of_nan():
    rng = np.random.default_rng(7)
    post = draws_around_truth(rng)
    diagonal = post["covariances"].values * np.eye(2)  # a diag fit: exact zero off-diagonals
    post["covariances"] = (post["covariances"].dims, diagonal)
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((4, 500), bool))})
    result = metrics.sampling_diagnostics(post, stats, "full")
    assert np.isfinite(list(result.values())).all()


def test_interval_metrics_on_a_uniform_grid():
    # 1000 draws 0..999 of every parameter: the 90% interval is [49.95, 949.05].
    grid = np.arange(1000.0)
    draws = np.stack([grid, grid, grid, grid], axis=-1).reshape(2, 500, 4)
    truth = np.array([50.0, 500.0, 949.0, 990.0])  # 3 of 4 inside
    em = np.array([10.0, 499.5 + np.std(grid, ddof=1), 1000.0, 499.5])
    result = metrics.interval_metrics(draws, truth, em, prob=0.9)
    assert result["coverage"] == pytest.approx(0.75)
    assert result["em_in_interval"] == pytest.approx(0.5)
    sd = np.std(grid, ddof=1)
    expected = np.abs(499.5 - em) / sd
    assert result["em_distance_sd_mean"] == pytest.approx(expected.mean())
    assert result["em_distance_sd_max"] == pytest.approx(expected.max())


def test_interval_metrics_rejects_bad_probability():
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        metrics.interval_metrics(np.zeros((1, 3, 1)), np.zeros(1), np.zeros(1), prob=1.5)


def test_coverage_of_a_calibrated_posterior_is_near_nominal():
    # Posterior N(theta_hat, 1) with theta_hat ~ N(theta, 1): 90% intervals cover 90%.
    rng = np.random.default_rng(8)
    n_params = 4000
    truth = rng.normal(size=n_params)
    centres = truth + rng.normal(size=n_params)
    draws = centres + rng.normal(size=(1, 2000, n_params))
    result = metrics.interval_metrics(draws, truth, centres, prob=0.9)
    assert result["coverage"] == pytest.approx(0.9, abs=0.02)
    assert result["em_in_interval"] == 1.0
    assert result["em_distance_sd_max"] < 0.2


def test_mcmc_metrics_combines_diagnostics_and_intervals():
    rng = np.random.default_rng(9)
    post = draws_around_truth(rng, scale=0.05)
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((4, 500), bool))})
    far_em = GaussianMixtureParams(TRUTH.weights, TRUTH.means + 1.0, TRUTH.covariances)
    result = metrics.mcmc_metrics(post, stats, TRUTH, far_em, "full", sampling_time=2.0,
                                  prob=0.9)
    assert result["ess_per_second"] == pytest.approx(result["min_ess_bulk"] / 2.0)
    assert result["coverage"] > 0.8
    # means are 6 of 18 free parameters and lie 20 posterior sds away
    assert result["em_in_interval"] == pytest.approx(12 / 18)
    assert result["em_distance_sd_max"] > 15


# --- EM versus MCMC ----------------------------------------------------------------------


def test_em_mcmc_agreement_by_hand():
    em_resp = np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0], [0.2, 0.8]])
    membership = np.array([[0.9, 0.1], [0.5, 0.5], [0.0, 1.0], [0.6, 0.4]])
    result = metrics.em_mcmc_agreement(
        em_resp, np.array([0, 0, 1, 1]), membership, np.array([0, 0, 1, 0])
    )
    assert result["responsibility_mad"] == pytest.approx((0.1 * 2 + 0.4 * 2) / 8)
    assert result["em_mcmc_accuracy"] == pytest.approx(0.75)
    from sklearn.metrics import adjusted_rand_score

    assert result["em_mcmc_ari"] == pytest.approx(adjusted_rand_score([0, 0, 1, 1], [0, 0, 1, 0]))


def test_em_mcmc_agreement_rejects_shape_mismatch():
    with pytest.raises(ValueError, match="shape"):
        metrics.em_mcmc_agreement(np.zeros((3, 2)), np.zeros(3), np.zeros((3, 3)), np.zeros(3))
