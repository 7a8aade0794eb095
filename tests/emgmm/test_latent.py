"""Z made explicit: Q + H decomposition, Categorical draws, complete-data log-likelihood."""

import numpy as np
import pytest
from scipy import stats

from emgmm import (
    COVARIANCE_TYPES,
    GaussianMixtureEM,
    complete_data_log_likelihood,
    expected_complete_log_likelihood,
    fit_em,
    log_likelihood_decomposition,
    map_labels,
    mixture_log_likelihood,
    responsibilities,
    responsibility_entropy,
    sample_latent,
)


# Deliberately stopped after one iteration to get soft responsibilities.
pytestmark = pytest.mark.filterwarnings("ignore::emgmm.ConvergenceWarning")


@pytest.fixture
def fitted(blobs):
    return fit_em(blobs, 3, random_state=0, engine="reference").params


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_log_likelihood_equals_q_plus_entropy_at_the_posterior(covariance_type, blobs):
    # Mid-fit parameters, where the responsibilities are far from one-hot.
    params = fit_em(blobs, 3, covariance_type=covariance_type, max_iter=1, tol=0.0,
                    init_params="random", random_state=2, engine="reference").params
    log_lik, q, h = log_likelihood_decomposition(blobs, params)
    assert h > 1.0  # a non-trivial entropy, so the identity is not vacuous
    assert log_lik == pytest.approx(q + h, rel=1e-12)
    assert log_lik == pytest.approx(mixture_log_likelihood(blobs, params), rel=1e-12)


def test_other_responsibilities_give_a_strict_lower_bound(blobs, fitted):
    # log p(X) = Q + H + KL, so any gamma other than the posterior gives Q + H < log p(X).
    uniform = np.full((blobs.shape[0], 3), 1 / 3)
    bound = expected_complete_log_likelihood(blobs, fitted, uniform) + responsibility_entropy(uniform)
    assert bound < mixture_log_likelihood(blobs, fitted) - 1.0


def test_entropy_of_one_hot_is_zero_and_of_uniform_is_n_log_k():
    assert responsibility_entropy(np.eye(3)) == 0.0
    assert responsibility_entropy(np.full((10, 4), 0.25)) == pytest.approx(10 * np.log(4))


def test_complete_data_log_likelihood_matches_scipy(blobs, fitted):
    labels = np.random.default_rng(0).integers(0, 3, size=blobs.shape[0])
    covs = fitted.full_covariances()
    expected = sum(
        np.log(fitted.weights[z]) + stats.multivariate_normal(fitted.means[z], covs[z]).logpdf(x)
        for x, z in zip(blobs, labels)
    )
    assert complete_data_log_likelihood(blobs, labels, fitted) == pytest.approx(expected, rel=1e-12)


def test_q_is_the_expected_complete_data_log_likelihood(blobs):
    params = fit_em(blobs, 3, max_iter=1, tol=0.0, init_params="random", random_state=3,
                    engine="reference").params
    resp = responsibilities(blobs, params)
    rng = np.random.default_rng(11)
    draws = [complete_data_log_likelihood(blobs, sample_latent(resp, rng), params) for _ in range(400)]
    q = expected_complete_log_likelihood(blobs, params, resp)
    assert abs(np.mean(draws) - q) < 4 * np.std(draws) / np.sqrt(len(draws))


def test_sample_latent_frequencies_follow_the_responsibilities():
    probabilities = np.array([0.1, 0.6, 0.0, 0.3])
    resp = np.tile(probabilities, (40_000, 1))
    labels = sample_latent(resp, np.random.default_rng(5))
    frequencies = np.bincount(labels, minlength=4) / labels.size
    np.testing.assert_allclose(frequencies, probabilities, atol=0.01)
    assert frequencies[2] == 0.0  # a zero-probability label is never drawn


def test_sample_latent_is_deterministic_and_exact_for_one_hot():
    resp = np.eye(3)[[2, 0, 1, 1]]
    np.testing.assert_array_equal(sample_latent(resp, np.random.default_rng(1)), [2, 0, 1, 1])
    soft = np.full((50, 3), 1 / 3)
    first, second = (sample_latent(soft, np.random.default_rng(9)) for _ in range(2))
    np.testing.assert_array_equal(first, second)


def test_map_labels_and_estimator_latent_api_agree(blobs):
    model = GaussianMixtureEM(3, random_state=0, engine="reference").fit(blobs)
    resp = model.predict_proba(blobs)
    np.testing.assert_array_equal(map_labels(resp), model.predict(blobs))
    draws = model.sample_latent(blobs, rng=4)
    assert draws.shape == (blobs.shape[0],) and set(np.unique(draws)) <= {0, 1, 2}
    # Well-separated clusters: the drawn labels almost always equal the MAP labels.
    assert np.mean(draws == model.predict(blobs)) > 0.97


def test_complete_data_log_likelihood_rejects_bad_labels(blobs, fitted):
    with pytest.raises(ValueError, match="labels must be integers in 0..2"):
        complete_data_log_likelihood(blobs, np.full(blobs.shape[0], 3), fitted)
