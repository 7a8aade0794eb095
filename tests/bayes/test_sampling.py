"""bayes.sample: input checks (no sampling) and the 2-D K=3 full-covariance posterior."""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest
import xarray as xr
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import confusion_matrix

import bayes
from bayes import sampling
from bayes.initvals import fit_em_solution
from bayes.relabel import relabel_dataset
from tests.bayes.conftest import SEPARATED_DRAWS

FAST = {"draws": 100, "tune": 100, "chains": 2, "cores": 1}


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"X": np.array([[0.0, np.nan]] * 10)}, "X"),
        ({"n_components": 0}, "n_components"),
        ({"sampler": "stan"}, "sampler"),
        ({"draws": 0}, "draws"),
        ({"tune": -1}, "tune"),
        ({"chains": 0}, "chains"),
        ({"cores": 0}, "cores"),
        ({"init": "advi"}, "init"),
        ({"target_accept": 1.5}, "target_accept"),
        ({"formulation": "collapsed"}, "formulation"),
        ({"random_seed": -3}, "random_seed"),
        ({"priors": bayes.Priors(weights_concentration=[1.0, 1.0])}, "weights_concentration"),
        ({"formulation": "explicit", "sampler": "numpyro"}, "formulation"),
    ],
)
def test_bad_input_raises_value_error_before_building_a_model(kwargs, parameter, no_model):
    X = np.random.default_rng(0).normal(size=(10, 2))
    args = {"X": X, "n_components": 3} | kwargs
    with pytest.raises(ValueError, match=parameter):
        bayes.sample(args.pop("X"), args.pop("n_components"), **args)


@pytest.mark.parametrize("sampler", ["nutpie", "numpyro"])
def test_missing_optional_sampler_names_the_extra(sampler, monkeypatch):
    monkeypatch.setattr(sampling, "module_available", lambda name: False)
    X = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(ValueError) as error:
        bayes.sample(X, 2, sampler=sampler)
    message = str(error.value)
    assert "\n" not in message
    assert f"pip install 'gmm-compare[{sampler}]'" in message


def test_seed_streams_are_distinct_and_reproducible():
    assert sampling.seed_streams(5) == sampling.seed_streams(5)
    assert len(set(sampling.seed_streams(5).values())) == 3
    assert sampling.seed_streams(5) != sampling.seed_streams(6)


@pytest.mark.slow
def test_groups_dims_and_attrs(separated_fit, separated_data):
    X, _ = separated_data
    tree = separated_fit
    assert {"posterior", "sample_stats", "log_likelihood", "observed_data",
            "posterior_predictive", "latent"} <= set(tree.children)
    post = tree["posterior"]
    assert post["weights"].dims == ("chain", "draw", "component")
    assert post["means"].dims == ("chain", "draw", "component", "dim")
    assert post["covariances"].dims == ("chain", "draw", "component", "dim", "dim2")
    assert post["covariances"].shape == (2, SEPARATED_DRAWS, 3, 2, 2)
    assert tree["latent"]["membership"].dims == ("obs", "component")
    assert tree["latent"]["map_label"].shape == (300,)
    assert tree["log_likelihood"]["X"].dims == ("chain", "draw", "obs")
    assert tree["posterior_predictive"]["X"].dims == ("chain", "draw", "obs", "dim")
    np.testing.assert_array_equal(tree["observed_data"]["X"].values, X)
    attrs = tree.attrs
    assert bayes.Priors.from_json(attrs["priors"]) == bayes.Priors()
    settings = (attrs["sampler"], attrs["formulation"], attrs["init"])
    assert settings == ("pymc", "marginalized", "em")
    assert attrs["random_seed"] == 11
    assert isinstance(attrs["sampling_time"], float) and attrs["sampling_time"] > 0
    assert isinstance(attrs["compile_time"], float) and attrs["compile_time"] >= 0
    assert attrs["pymc_version"] and attrs["arviz_version"]
    assert np.all(np.isfinite(tree["log_likelihood"]["X"].values))


@pytest.mark.slow
def test_converges_without_divergences(separated_fit):
    rhat = az.rhat(separated_fit, var_names=["weights", "means", "covariances"])
    assert max(float(rhat[v].max()) for v in rhat.data_vars) < 1.01
    assert int(separated_fit["sample_stats"]["diverging"].sum()) == 0


@pytest.mark.slow
def test_membership_recovers_true_labels(separated_fit, separated_data):
    _, labels = separated_data
    membership = separated_fit["latent"]["membership"].values
    np.testing.assert_allclose(membership.sum(axis=1), 1.0)
    confusion = confusion_matrix(labels, separated_fit["latent"]["map_label"].values)
    rows, cols = linear_sum_assignment(-confusion)
    assert confusion[rows, cols].sum() / labels.size > 0.98


@pytest.mark.slow
def test_log_likelihood_group_supports_loo(separated_fit):
    loo = az.loo(separated_fit)
    assert np.isfinite(loo.elpd)


@pytest.mark.slow
def test_netcdf_round_trip(separated_fit, tmp_path):
    path = tmp_path / "mcmc.nc"
    separated_fit.to_netcdf(path, engine="h5netcdf")
    back = xr.open_datatree(path, engine="h5netcdf")
    assert set(back.children) == set(separated_fit.children)
    for group in separated_fit.children:
        xr.testing.assert_allclose(back[group].to_dataset(), separated_fit[group].to_dataset())
    assert back.attrs["priors"] == separated_fit.attrs["priors"]
    assert back.attrs["random_seed"] == 11


@pytest.mark.slow
def test_relabelling_repairs_rhat_of_switched_chains(separated_fit, separated_data):
    X, _ = separated_data
    post = separated_fit["posterior"].to_dataset()
    rng = np.random.default_rng(0)
    permutations = np.tile(np.arange(3), (2, SEPARATED_DRAWS, 1))
    permutations[1] = [2, 0, 1]  # chain 1 wholly in another labelling
    switched = rng.random(SEPARATED_DRAWS) < 0.2  # and a fifth of chain 0 switching back and forth
    permutations[0, switched] = [1, 2, 0]
    scrambled = sampling_relabel_by(post, permutations)
    before = az.rhat(scrambled, var_names=["means"])["means"].max()
    assert float(before) > 1.5
    _, em_means, _ = fit_em_solution(X, 3, "full", random_seed=0)
    repaired = bayes.relabel_draws(scrambled, em_means[np.argsort(em_means[:, 0])])
    after = az.rhat(repaired, var_names=["means", "weights", "covariances"])
    assert max(float(after[v].max()) for v in after.data_vars) < 1.01
    for name in ("weights", "means", "covariances", "chol_cov_std_0", "chol_cov_std_2"):
        np.testing.assert_allclose(repaired[name].values, post[name].values)


def sampling_relabel_by(post: xr.Dataset, permutations: np.ndarray) -> xr.Dataset:
    """Scramble component labels of a posterior with given per-draw permutations."""
    return relabel_dataset(post, permutations.reshape(-1, 3))


@pytest.mark.slow
def test_relabelling_a_tree_recomputes_memberships(separated_fit):
    means = separated_fit["posterior"]["means"].mean(("chain", "draw")).values
    reference = means[[2, 0, 1]]
    tree = bayes.relabel_draws(separated_fit, reference)
    np.testing.assert_allclose(tree["latent"]["membership"].values,
                               separated_fit["latent"]["membership"].values[:, [2, 0, 1]])


@pytest.mark.slow
def test_same_seed_same_draws(separated_data):
    X, _ = separated_data
    first = bayes.sample(X, 3, "full", random_seed=5, **FAST)
    second = bayes.sample(X, 3, "full", random_seed=5, **FAST)
    other = bayes.sample(X, 3, "full", random_seed=6, **FAST)
    for group in ("posterior", "posterior_predictive", "latent"):
        xr.testing.assert_equal(first[group].to_dataset(), second[group].to_dataset())
    assert not np.array_equal(first["posterior"]["means"].values,
                              other["posterior"]["means"].values)


@pytest.mark.slow
def test_jittered_start_with_ordered_means_samples(separated_data):
    X, _ = separated_data
    tree = bayes.sample(X, 3, "full", init="jitter", random_seed=2, **FAST)
    assert tree.attrs["init"] == "jitter"
    assert np.all(np.isfinite(tree["sample_stats"]["lp"].values))
    assert np.all(np.diff(tree["posterior"]["means"].values[..., 0], axis=-1) > 0)


@pytest.mark.slow
@pytest.mark.parametrize("sampler", ["nutpie", "numpyro"])
def test_optional_samplers_give_the_same_posterior(sampler, separated_fit, separated_data):
    pytest.importorskip(sampler, reason=f"optional extra: pip install 'gmm-compare[{sampler}]'")
    X, _ = separated_data
    tree = bayes.sample(X, 3, "full", sampler=sampler, draws=300, tune=300, chains=2,
                        cores=1, random_seed=4, posterior_predictive=False)
    assert tree.attrs["sampler"] == sampler
    assert {"posterior", "log_likelihood", "latent", "observed_data"} <= set(tree.children)
    reference = separated_fit["posterior"]
    for name in ("weights", "means"):
        sd = reference[name].std(("chain", "draw")).values
        difference = np.abs(tree["posterior"][name].mean(("chain", "draw")).values
                            - reference[name].mean(("chain", "draw")).values)
        np.testing.assert_array_less(difference, 0.5 * sd, err_msg=name)
