"""Same start as scikit-learn -> same trajectory and parameters (all covariance types)."""

import warnings

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture

from emgmm import COVARIANCE_TYPES, GaussianMixtureEM, GaussianMixtureParams, fit_em
from emgmm.covariance_types import covariance_type as covariance_type_of


def _perturbed_start(X, covariance_type, seed=1):
    """A deliberately poor start: random rows as means, data-scale covariances."""
    rng = np.random.default_rng(seed)
    n_features = X.shape[1]
    means = X[rng.choice(X.shape[0], 3, replace=False)]
    variances = X.var(axis=0)
    covariances = {
        "full": np.stack([np.diag(variances) * s for s in (1.0, 0.5, 2.0)]),
        "tied": np.diag(variances),
        "diag": np.stack([variances * s for s in (1.0, 0.5, 2.0)]),
        "spherical": variances.mean() * np.array([1.0, 0.5, 2.0]),
    }[covariance_type]
    assert means.shape == (3, n_features)
    return GaussianMixtureParams(np.array([0.5, 0.3, 0.2]), means, covariances, covariance_type)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_trajectory_matches_sklearn_from_same_start(covariance_type, make_blobs):
    X = make_blobs(seed=3)
    start = _perturbed_start(X, covariance_type)
    precisions = covariance_type_of(covariance_type).precisions_from_cholesky(start.precisions_cholesky)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = GaussianMixture(
            3, covariance_type=covariance_type, weights_init=start.weights, means_init=start.means,
            precisions_init=precisions, tol=0.0, max_iter=30,
        ).fit(X)
        result = fit_em(
            X, 3, covariance_type=covariance_type, weights_init=start.weights, means_init=start.means,
            precisions_init=precisions, tol=0.0, max_iter=30, engine="reference",
        )
    assert result.n_iter == reference.n_iter_ == 30
    np.testing.assert_allclose(result.log_likelihood_history, reference.lower_bounds_, rtol=0, atol=1e-8)
    np.testing.assert_allclose(result.params.weights, reference.weights_, rtol=0, atol=1e-8)
    np.testing.assert_allclose(result.params.means, reference.means_, rtol=0, atol=1e-8)
    np.testing.assert_allclose(result.params.covariances, reference.covariances_, rtol=0, atol=1e-8)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_estimator_matches_sklearn_with_default_tol(covariance_type, make_blobs):
    """Converged fit from the same start with scikit-learn's default tol (1e-3; emgmm's
    default is 1e-7): same n_iter, lower_bounds_ and fitted attributes."""
    X = make_blobs(seed=4)
    start = _perturbed_start(X, covariance_type, seed=2)
    init = dict(
        weights_init=start.weights, means_init=start.means,
        precisions_init=covariance_type_of(covariance_type).precisions_from_cholesky(start.precisions_cholesky),
    )
    reference = GaussianMixture(3, covariance_type=covariance_type, max_iter=500, **init).fit(X)
    model = GaussianMixtureEM(3, covariance_type=covariance_type, max_iter=500, tol=1e-3, engine="reference",
                              **init).fit(X)
    assert model.converged_ and reference.converged_
    assert model.n_iter_ == reference.n_iter_
    np.testing.assert_allclose(model.lower_bounds_, reference.lower_bounds_, rtol=0, atol=1e-8)
    assert model.lower_bound_ == pytest.approx(reference.lower_bound_, abs=1e-8)
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        np.testing.assert_allclose(getattr(model, name), getattr(reference, name), rtol=1e-7, atol=1e-8, err_msg=name)
    np.testing.assert_allclose(model.score_samples(X), reference.score_samples(X), atol=1e-8)
    np.testing.assert_allclose(model.predict_proba(X), reference.predict_proba(X), atol=1e-8)
    assert model.score(X) == pytest.approx(reference.score(X), abs=1e-8)
    assert model.bic(X) == pytest.approx(reference.bic(X), rel=1e-10)
    assert model.aic(X) == pytest.approx(reference.aic(X), rel=1e-10)
