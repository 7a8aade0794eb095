"""Recovery on synthetic data, iris against scikit-learn, posteriordb's 1-D mixture."""

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture

from emgmm import COVARIANCE_TYPES, GaussianMixtureEM

POSTERIORDB_DATA = Path(__file__).resolve().parents[1] / "data" / "posteriordb" / "low_dim_gauss_mix.json"


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_recovers_well_separated_clusters(covariance_type):
    rng = np.random.default_rng(42)
    means = np.array([[0.0, 0.0, 0.0], [8.0, 0.0, 2.0], [0.0, 8.0, -2.0], [8.0, 8.0, 6.0]])
    truth = rng.integers(0, 4, size=800)
    X = means[truth] + rng.normal(size=(800, 3)) * rng.uniform(0.5, 1.2, size=4)[truth, None]
    labels = GaussianMixtureEM(4, covariance_type=covariance_type, random_state=0, engine="reference").fit_predict(X)
    assert adjusted_rand_score(truth, labels) > 0.95


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_iris_best_of_ten_at_least_sklearns_best_of_ten(covariance_type):
    X = load_iris().data
    ours = GaussianMixtureEM(3, covariance_type=covariance_type, n_init=10, random_state=0, engine="reference").fit(X)
    reference = GaussianMixture(3, covariance_type=covariance_type, n_init=10, random_state=0).fit(X)
    assert ours.score(X) >= reference.score(X) - 1e-6


def test_posteriordb_low_dim_gauss_mix_components():
    """Stan's reference posterior for this data puts the means at about -2.75 and 2.90,
    the standard deviations near 1 and theta (weight of the lower component) near 0.62."""
    if not POSTERIORDB_DATA.exists():
        pytest.fail(f"missing test data {POSTERIORDB_DATA}")
    y = np.asarray(json.loads(POSTERIORDB_DATA.read_text())["y"], dtype=float)
    model = GaussianMixtureEM(2, random_state=0, engine="reference").fit(y.reshape(-1, 1))
    order = np.argsort(model.means_[:, 0])
    np.testing.assert_allclose(model.means_[order, 0], [-2.7, 2.9], atol=0.1)
    np.testing.assert_allclose(model.covariances_[order].ravel(), [1.0, 1.0], atol=0.1)
    np.testing.assert_allclose(model.weights_[order], [0.62, 0.38], atol=0.03)
