"""Synthetic mixtures: validation, overlap control, weights, shapes, misspecification."""

import numpy as np
import pytest
from scipy import stats

from experiments.simulate.generate import (
    WEIGHT_FLOOR,
    cap_eccentricity,
    mixing_weights,
    simulate_mixture,
)
from experiments.simulate.spec import DataSpec


def eccentricity(covariance: np.ndarray) -> float:
    """MixSim's eccentricity :math:`\\sqrt{1 - \\lambda_{min}/\\lambda_{max}}`."""
    eigenvalues = np.linalg.eigvalsh(covariance)
    return float(np.sqrt(max(0.0, 1.0 - eigenvalues[0] / eigenvalues[-1])))


# A quadrature that did not converge would be a bug: make its warning an error.
pytestmark = pytest.mark.filterwarnings("error::scipy.integrate.IntegrationWarning")


def monte_carlo_average_overlap(rng, weights, means, covs, n=100_000):
    """BarOmega by simulation from each component, with scipy densities."""
    k = len(weights)
    dists = [stats.multivariate_normal(means[i], covs[i]) for i in range(k)]
    omega = np.zeros((k, k))
    for i in range(k):
        x = dists[i].rvs(size=n, random_state=rng)
        logs = np.stack([np.log(weights[j]) + dists[j].logpdf(x) for j in range(k)])
        for j in range(k):
            if j != i:
                omega[i, j] = np.mean(logs[i] < logs[j])
    pairwise = omega + omega.T
    return pairwise[np.triu_indices(k, 1)].mean()


# ---------------------------------------------------------------------------------------
# DataSpec validation
# ---------------------------------------------------------------------------------------

BASE = dict(n_samples=100, n_features=2, n_components=3)


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"n_components": 0}, "n_components"),
        ({"n_features": 0}, "n_features"),
        ({"n_samples": 2}, "n_samples"),
        ({"n_samples": 4, "outlier_fraction": 0.4}, "n_samples"),
        ({"n_samples": 100.0}, "n_samples"),
        ({"n_components": True}, "n_components"),
        ({"overlap": 0.0}, "overlap"),
        ({"overlap": -0.1}, "overlap"),
        ({"overlap": 1.5}, "overlap"),
        ({"overlap": float("nan")}, "overlap"),
        ({"overlap_kind": "median"}, "overlap_kind"),
        ({"covariance_shape": "tied"}, "covariance_shape"),
        ({"max_eccentricity": 1.0}, "max_eccentricity"),
        ({"max_eccentricity": -0.1}, "max_eccentricity"),
        ({"weights": (0.5, 0.5)}, "weights"),
        ({"weights": (0.5, 0.6, -0.1)}, "weights"),
        ({"weights": (0.2, 0.2, 0.2)}, "weights"),
        ({"weights": (0.2, 0.3, 0.5), "imbalance": 1.0}, "weights"),
        ({"imbalance": 0.0}, "imbalance"),
        ({"student_t_df": 2.0}, "student_t_df"),
        ({"student_t_df": "5"}, "student_t_df"),
        ({"outlier_fraction": 0.5}, "outlier_fraction"),
        ({"outlier_fraction": -0.01}, "outlier_fraction"),
        ({"shared_covariance": 1}, "shared_covariance"),
    ],
)
def test_dataspec_rejects_bad_values_naming_the_field(changes, field):
    with pytest.raises(ValueError) as info:
        DataSpec(**(BASE | changes))
    message = str(info.value)
    assert message.startswith(f"{field}: ") and "\n" not in message


def test_dataspec_normalises_values():
    spec = DataSpec(**BASE, weights=[0.2, 0.3, 0.5], student_t_df=float("inf"), overlap=1e-2)
    assert spec.weights == (0.2, 0.3, 0.5) and spec.student_t_df is None
    assert DataSpec(**BASE, outlier_fraction=0.1).n_outliers == 10


# ---------------------------------------------------------------------------------------
# Generated data
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    [
        DataSpec(300, 2, 3),
        DataSpec(200, 3, 4, overlap=0.05, covariance_shape="diag", imbalance=0.5),
        DataSpec(200, 2, 3, overlap=0.1, overlap_kind="max", covariance_shape="spherical"),
        DataSpec(200, 4, 3, overlap=0.02, shared_covariance=True),
        DataSpec(150, 1, 2, overlap=0.3),
    ],
    ids=["default", "diag-imbalanced", "spherical-max", "shared", "1d"],
)
def test_simulated_data_shapes_weights_and_overlap(spec):
    data = simulate_mixture(spec, np.random.default_rng(5))
    n, d, k = spec.n_samples, spec.n_features, spec.n_components
    assert data.X.shape == (n, d) and data.labels.shape == (n,)
    assert data.weights.shape == (k,) and data.means.shape == (k, d)
    assert data.covariances.shape == (k, d, d)
    assert data.weights.sum() == pytest.approx(1.0) and np.all(data.weights > 0)
    assert set(np.unique(data.labels)) <= set(range(k))
    assert np.all(np.isfinite(data.X))
    assert data.achieved_overlap.of_kind(spec.overlap_kind) == pytest.approx(spec.overlap, rel=1e-5)
    assert data.overlap_error < 1e-6
    assert np.array_equal(data.covariances, np.transpose(data.covariances, (0, 2, 1)))
    assert np.all(np.linalg.eigvalsh(data.covariances) > 0)


def test_achieved_overlap_agrees_with_monte_carlo():
    spec = DataSpec(100, 2, 3, overlap=0.05, weights=(0.2, 0.3, 0.5))
    data = simulate_mixture(spec, 3)
    estimate = monte_carlo_average_overlap(np.random.default_rng(0), data.weights, data.means,
                                           data.covariances)
    # Each omega_{j|i} has sd <= 0.5 / sqrt(1e5); the average of 3 pairs of sums is tighter.
    assert estimate == pytest.approx(0.05, abs=5 * np.sqrt(0.05 / 1e5) + 1e-4)


@pytest.mark.parametrize("shape", ["full", "diag"])
def test_eccentricity_is_capped_and_shape_respected(shape):
    spec = DataSpec(50, 4, 4, covariance_shape=shape, max_eccentricity=0.6)
    data = simulate_mixture(spec, 1)
    for cov in data.covariances:
        assert eccentricity(cov) <= 0.6 + 1e-9
        if shape == "diag":
            assert np.count_nonzero(cov - np.diag(np.diag(cov))) == 0


def test_spherical_and_shared_covariances():
    spherical = simulate_mixture(DataSpec(50, 3, 3, covariance_shape="spherical"), 2)
    for cov in spherical.covariances:
        assert np.allclose(cov, cov[0, 0] * np.eye(3))
    shared = simulate_mixture(DataSpec(50, 3, 3, shared_covariance=True), 2)
    assert np.allclose(shared.covariances, shared.covariances[0])


def test_cap_eccentricity_sets_the_bound_and_keeps_order():
    eigenvalues = np.array([0.01, 0.5, 2.0, 4.0])
    capped = cap_eccentricity(eigenvalues, 0.8)
    assert np.sqrt(1 - capped.min() / capped.max()) == pytest.approx(0.8)
    assert np.all(np.diff(capped) > 0) and capped.max() == 4.0
    assert np.array_equal(cap_eccentricity(np.array([1.0, 1.2]), 0.8), [1.0, 1.2])


def test_label_frequencies_match_weights():
    spec = DataSpec(20_000, 2, 3, weights=(0.1, 0.3, 0.6))
    data = simulate_mixture(spec, 4)
    frequencies = np.bincount(data.labels, minlength=3) / spec.n_samples
    standard_errors = np.sqrt(data.weights * (1 - data.weights) / spec.n_samples)
    assert np.all(np.abs(frequencies - data.weights) < 5 * standard_errors)
    assert np.allclose(data.weights, [0.1, 0.3, 0.6])


def squared_mahalanobis(x, mean, cov):
    centred = x - mean
    return np.einsum("ni,ij,nj->n", centred, np.linalg.inv(cov), centred)


def test_points_follow_their_components():
    # Squared Mahalanobis distances to the own component are chi-square(D).
    data = simulate_mixture(DataSpec(4000, 3, 2, overlap=0.01), 2)
    distances = np.concatenate([
        squared_mahalanobis(data.X[data.labels == k], data.means[k], data.covariances[k])
        for k in range(2)
    ])
    assert stats.kstest(distances, stats.chi2(3).cdf).pvalue > 1e-3


def test_dirichlet_weights_have_a_floor_and_vary():
    spec = DataSpec(100, 2, 5, imbalance=0.3)
    weights = [mixing_weights(spec, np.random.default_rng(seed)) for seed in range(5)]
    for w in weights:
        assert w.min() >= WEIGHT_FLOOR / 5 - 1e-12 and w.sum() == pytest.approx(1.0)
    assert not np.allclose(weights[0], weights[1])


def test_same_seed_same_data_and_different_seed_different_data():
    spec = DataSpec(200, 2, 3, student_t_df=4.0, outlier_fraction=0.05)
    first, second = simulate_mixture(spec, 123), simulate_mixture(spec, 123)
    for key, value in first.as_arrays().items():
        assert np.array_equal(value, second.as_arrays()[key]), key
    assert not np.array_equal(first.X, simulate_mixture(spec, 124).X)
    generator_result = simulate_mixture(spec, np.random.default_rng(123))
    assert np.array_equal(first.X, generator_result.X)


def test_student_t_components_have_heavier_tails():
    # For t_nu with scale S, E[(x - mu)' S^{-1} (x - mu)] = D nu / (nu - 2); Gaussian: D.
    for df, expected in ((5.0, 2 * 5 / 3), (None, 2.0)):
        data = simulate_mixture(DataSpec(20_000, 2, 1, student_t_df=df), 9)
        distances = squared_mahalanobis(data.X, data.means[0], data.covariances[0])
        assert distances.mean() == pytest.approx(expected, rel=0.05)


def test_outliers_are_labelled_and_inside_the_enlarged_box():
    spec = DataSpec(400, 2, 3, outlier_fraction=0.1)
    data = simulate_mixture(spec, 10)
    is_outlier = data.labels == -1
    assert is_outlier.sum() == 40
    inliers, outliers = data.X[~is_outlier], data.X[is_outlier]
    low, high = inliers.min(axis=0), inliers.max(axis=0)
    margin = 0.05 * (high - low)
    assert np.all(outliers >= low - margin) and np.all(outliers <= high + margin)
    # Shuffled: outliers are not all at the end.
    assert not np.all(is_outlier[-40:])


def test_single_component_has_zero_overlap():
    data = simulate_mixture(DataSpec(30, 2, 1), 0)
    assert data.achieved_overlap.average == 0.0 and data.achieved_overlap.maximum == 0.0
    assert np.all(data.labels == 0)


def test_unreachable_overlap_raises_value_error():
    with pytest.raises(ValueError, match="^overlap: .*not reachable.*shared_covariance"):
        simulate_mixture(DataSpec(100, 2, 3, overlap=0.9), 0)
