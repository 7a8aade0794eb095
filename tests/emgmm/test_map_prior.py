"""The conjugate priors of MAP-EM: densities against scipy.stats, mclust defaults, checks."""

import numpy as np
import pytest
from scipy import stats

from emgmm.map_em import map_m_step
from emgmm.map_prior import ConjugatePrior, default_conjugate_prior, log_prior_density, matched_shrinkage
from emgmm.params import COVARIANCE_TYPES
from tests.emgmm.test_map_em import random_prior, three_blobs


def scipy_log_prior(params, prior):
    """The same prior written with scipy.stats densities (normalised)."""
    alpha, mu0, kappa, nu, psi = (prior.weights_concentration, prior.mean, prior.shrinkage,
                                  prior.dof, prior.scale)
    total = stats.dirichlet.logpdf(params.weights, alpha)
    kind = params.covariance_type
    for k, mu in enumerate(params.means):
        if kind == "full":
            cov = params.covariances[k]
            total += stats.invwishart.logpdf(cov, nu, psi)
            total += stats.multivariate_normal.logpdf(mu, mu0, cov / kappa)
        elif kind == "tied":
            total += stats.multivariate_normal.logpdf(mu, mu0, params.covariances / kappa)
        elif kind == "diag":
            var = params.covariances[k]
            total += np.sum(stats.invgamma.logpdf(var, nu / 2, scale=psi / 2))
            total += np.sum(stats.norm.logpdf(mu, mu0, np.sqrt(var / kappa)))
        else:
            var = params.covariances[k]
            total += stats.invgamma.logpdf(var, nu / 2, scale=psi / 2)
            total += np.sum(stats.norm.logpdf(mu, mu0, np.sqrt(var / kappa)))
    if kind == "tied":
        total += stats.invwishart.logpdf(params.covariances, nu, psi)
    return total


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_log_prior_density_matches_scipy_up_to_a_constant(covariance_type):
    rng = np.random.default_rng(11)
    X = three_blobs(11)
    prior = random_prior(rng, covariance_type, X)
    fits = [map_m_step(X, rng.dirichlet(np.ones(3), size=X.shape[0]), prior) for _ in range(4)]
    ours = np.array([log_prior_density(p, prior) for p in fits])
    reference = np.array([scipy_log_prior(p, prior) for p in fits])
    np.testing.assert_allclose(ours - ours[0], reference - reference[0], rtol=1e-9, atol=1e-8)


def test_default_prior_follows_mclust():
    X = three_blobs(2)
    prior = default_conjugate_prior(X, 3, "full")
    assert prior.dof == 4.0 and prior.shrinkage == 0.01
    np.testing.assert_allclose(prior.scale, np.cov(X, rowvar=False) / 3.0)
    np.testing.assert_allclose(prior.mean, X.mean(axis=0))
    np.testing.assert_allclose(prior.weights_concentration, np.ones(3))
    spherical = default_conjugate_prior(X, 3, "spherical")
    assert spherical.scale.shape == () and spherical.scale == pytest.approx(np.mean(np.var(X, axis=0, ddof=1)) / 3)


def test_matched_shrinkage():
    assert matched_shrinkage(np.array([2.0, 4.0]), np.array([1.0, 4.0])) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="positive"):
        matched_shrinkage(np.array([0.0]), np.array([1.0]))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weights_concentration": np.array([0.5, 1.0, 1.0])}, "weights_concentration"),
        ({"dof": -10.0}, "dof must be >= -4"),
        ({"shrinkage": -1.0}, "shrinkage"),
        ({"scale": np.eye(3)}, "scale must have shape"),
        ({"scale": -np.eye(2)}, "positive semi-definite"),
    ],
)
def test_invalid_prior_raises(kwargs, message):
    fields = dict(weights_concentration=np.ones(3), mean=np.zeros(2), shrinkage=0.1, dof=4.0,
                  scale=np.eye(2), covariance_type="full") | kwargs
    with pytest.raises(ValueError, match=message):
        ConjugatePrior(**fields)
