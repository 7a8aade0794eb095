"""The variational posterior as draws: BayesianGaussianMixtureVB.to_datatree."""

import numpy as np
import pytest
import xarray as xr

from emgmm import BayesianGaussianMixtureVB
from emgmm.covariance_types import COVARIANCE_TYPES

N_DRAWS = 4000


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(2)
    centres = np.array([[-6.0, 0.0, 1.0], [0.0, 6.0, -1.0], [6.0, 0.0, 0.0]])
    return np.vstack([rng.normal(c, [1.0, 0.5, 2.0], size=(100, 3)) for c in centres])


@pytest.fixture(scope="module", params=[(ct, wt) for ct in COVARIANCE_TYPES
                                        for wt in ("dirichlet_distribution", "dirichlet_process")],
                ids=lambda p: "-".join(p))
def fitted(request, data):
    covariance_type, weight_type = request.param
    model = BayesianGaussianMixtureVB(3, covariance_type=covariance_type,
                                      weight_concentration_prior_type=weight_type, random_state=0,
                                      max_iter=500).fit(data)
    return model, model.to_datatree(N_DRAWS, random_state=1, X=data, chains=2)


def test_groups_names_and_dims_are_those_of_bayes_sample(fitted, data):
    model, tree = fitted
    assert set(tree.children) == {"posterior", "observed_data", "latent"}
    posterior = tree["posterior"].to_dataset()
    assert posterior["weights"].dims == ("chain", "draw", "component")
    assert posterior["means"].dims == ("chain", "draw", "component", "dim")
    assert posterior["covariances"].dims == ("chain", "draw", "component", "dim", "dim2")
    assert posterior["covariances"].shape == (2, N_DRAWS, 3, 3, 3)
    np.testing.assert_array_equal(posterior["component"], np.arange(3))
    latent = tree["latent"].to_dataset()
    assert latent["membership"].dims == ("obs", "component")
    np.testing.assert_allclose(latent["membership"].values, model.predict_proba(data))
    np.testing.assert_array_equal(latent["map_label"].values, model.predict(data))
    np.testing.assert_array_equal(tree["observed_data"]["X"].values, data)
    # Every draw is a valid mixture: weights on the simplex, covariances positive definite.
    weights = posterior["weights"].values
    assert np.all(weights >= 0) and np.allclose(weights.sum(axis=-1), 1.0)
    assert np.all(np.linalg.eigvalsh(posterior["covariances"].values) > 0)


def test_draws_approach_the_variational_means(fitted):
    model, tree = fitted
    posterior = tree["posterior"].to_dataset()
    means = posterior["means"].values.reshape(-1, 3, 3)
    standard_error = means.std(axis=0) / np.sqrt(means.shape[0])
    assert np.all(np.abs(means.mean(axis=0) - model.means_) < 5 * standard_error)
    weights = posterior["weights"].values.reshape(-1, 3)
    if model.weight_concentration_prior_type == "dirichlet_distribution":  # E[pi] = weights_
        tolerance = 5 * weights.std(axis=0) / np.sqrt(len(weights)) + 1e-12
        assert np.all(np.abs(weights.mean(axis=0) - model.weights_) < tolerance)
    covariances = posterior["covariances"].values.reshape(-1, 3, 3, 3)
    dof = model.degrees_of_freedom_
    if model.covariance_type in ("full", "tied"):  # inverse Wishart: E[Sigma] = nu C / (nu - D - 1)
        expected = model.covariances_ * (dof / (dof - 4.0))[..., None, None]
        expected = np.broadcast_to(expected, (3, 3, 3))
    else:  # inverse gamma variances: E[sigma^2] = nu s / (nu - 2)
        variances = model.covariances_ if model.covariance_type == "diag" else model.covariances_[:, None]
        expected = (variances * (dof / (dof - 2.0))[:, None])[..., None] * np.eye(3)
    tolerance = 5 * covariances.std(axis=0) / np.sqrt(covariances.shape[0]) + 1e-12
    assert np.all(np.abs(covariances.mean(axis=0) - expected) < tolerance)


def test_the_comparison_code_reads_the_draws(fitted, data):
    from bayes.latent import membership_and_log_likelihood

    model, tree = fitted
    membership, log_likelihood = membership_and_log_likelihood(data[:40], tree)
    assert log_likelihood.shape == (2, N_DRAWS, 40)
    # Averaged over q, the memberships are close to q(Z)'s for well-separated data.
    np.testing.assert_allclose(membership, model.predict_proba(data[:40]), atol=0.02)


def test_same_seed_same_draws_and_bad_arguments(data):
    model = BayesianGaussianMixtureVB(2, random_state=0).fit(data)
    first, again = (model.to_datatree(10, random_state=7) for _ in range(2))
    xr.testing.assert_identical(first["posterior"].to_dataset(), again["posterior"].to_dataset())
    assert set(first.children) == {"posterior"}
    with pytest.raises(ValueError, match="n_draws must be an integer >= 1"):
        model.to_datatree(0)
    with pytest.raises(ValueError, match="not fitted"):
        BayesianGaussianMixtureVB(2).to_datatree(10)
