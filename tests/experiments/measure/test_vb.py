"""The ``vb`` method end to end (EM + VB, no compilation) and its pruning."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import multivariate_normal

import experiments
from emgmm import BayesianGaussianMixtureVB
from experiments.config import bundled_configs, parse_config

CONFIG = {
    "experiment": {"name": "vb", "seed": 5, "replicates": 1, "methods": ["em", "vb"]},
    "data": {"n_samples": 300, "n_features": 2, "n_components": 3, "overlap": 0.001},
    "em": {"n_init": 2},
    "vb": {"draws": 400},
    "report": {"enabled": True},
}


@pytest.fixture(scope="module")
def vb_run(tmp_path_factory):
    return experiments.run_config(CONFIG, out=tmp_path_factory.mktemp("vb") / "run")


def test_vb_rows_measure_the_variational_posterior(vb_run):
    rows = vb_run.results.set_index("method")
    assert list(vb_run.results["method"]) == ["em", "vb"]
    vb = rows.loc["vb"]
    assert vb["n_effective_components"] == 3 and bool(vb["converged"])
    assert vb["ari"] > 0.95 and 0 <= vb["coverage"] <= 1
    # well separated: VB's posterior mean is EM's estimate to within a small error
    assert abs(vb["means_error"] - rows.loc["em", "means_error"]) < 0.05
    assert np.isfinite(vb["elbo_final"])
    assert pd.isna(vb["sd_ratio_means"])  # no MCMC in this run: no comparison


def test_vb_file_holds_draws_latent_and_bound(vb_run):
    rep = vb_run.replicates[0]
    with rep.open_posterior("vb") as tree:
        assert tree["posterior"]["means"].dims == ("chain", "draw", "component", "dim")
        assert tree["posterior"]["means"].sizes["draw"] == 400
        assert tree["latent"]["membership"].shape == (300, 3)
        bound = tree["variational"]["lower_bound"].values
        assert np.all(np.diff(bound) >= -1e-9 * np.abs(bound[1:]))  # never decreases
        assert tree.attrs["weight_threshold"] == 0.01
    figures = {p.name for p in (vb_run.path / "report" / "figures").iterdir()}
    for suffix in ("vb-marginals", "vb-bound", "vb-pruning"):
        assert any(suffix in name for name in figures), suffix


def test_a_method_that_did_not_run_has_no_posterior(vb_run):
    with pytest.raises(ValueError, match="has no advi posterior"):
        vb_run.replicates[0].open_posterior("advi")


def test_pruning_with_a_larger_truncation(tmp_path):
    config = {**CONFIG, "vb": {"truncation": 8, "weight_concentration": 1e-3, "draws": 100}}
    run = experiments.run_config(config, out=tmp_path / "run", report=False)
    vb = run.results.set_index("method").loc["vb"]
    assert vb["n_effective_components"] == 3
    assert pd.isna(vb["means_error"])  # 8 fitted components against 3 true ones


@pytest.mark.parametrize(("section", "words"), [
    ({"truncation": -1}, ["vb.truncation"]),
    ({"weight_concentration_prior_type": "beta"}, ["vb.weight_concentration_prior_type"]),
    ({"tol": 0}, ["vb.tol"]),
])
def test_bad_vb_settings_are_one_line(section, words):
    with pytest.raises(ValueError) as raised:
        parse_config({**CONFIG, "vb": section})
    assert "\n" not in str(raised.value)
    assert all(word in str(raised.value) for word in words)


def test_vb_needs_em_in_the_list():
    with pytest.raises(ValueError, match="'vb' needs 'em'"):
        parse_config({**CONFIG, "experiment": {**CONFIG["experiment"], "methods": ["vb"]}})


def test_vb_estimator_is_the_one_the_method_fits(vb_run):
    rep = vb_run.replicates[0]
    model = BayesianGaussianMixtureVB(3, tol=1e-6, max_iter=1000, n_init=1,
                                      weight_concentration_prior_type="dirichlet_distribution",
                                      weight_concentration_prior=1.0)
    assert model.fit(rep.X).n_effective_components_ == 3



def test_vb_on_a_data_file_is_aligned_to_em_and_measured_without_truth(tmp_path):
    """Iris (bundled, species as known classes), K = 2, 20% held out: the VB row has the
    no-truth columns (its held-out density checked against a scipy loop over its draws),
    its posterior is in EM's component order, and it splits the flowers as EM does
    (setosa against the rest)."""
    iris = bundled_configs()["iris"].parent.parent / "datasets" / "iris.csv"
    config = {"experiment": {"name": "vb-file", "seed": 2, "methods": ["em", "vb"]},
              "data": {"file": str(iris), "label_column": "Species", "n_components": 2,
                       "test_fraction": 0.2},
              "em": {"covariance_type": "full", "init_params": "auto", "tol": 1e-7,
                     "max_iter": 1000},
              "vb": {"draws": 200}}
    run = experiments.run_config(config, out=tmp_path / "run", report=False)
    rows = run.results.set_index("method")
    assert rows["error"].isna().all() or (rows["error"].astype(str) == "").all()
    em, vb = rows.loc["em"], rows.loc["vb"]
    for column in ("log_likelihood", "heldout_lpd", "class_ari", "class_accuracy"):
        assert np.isfinite(vb[column]), column
    assert pd.isna(vb["means_error"]) and pd.isna(vb["coverage"])  # no truth: empty
    assert vb["class_ari"] == pytest.approx(em["class_ari"], abs=1e-9)
    rep = run.replicates[0]
    X_test = rep.truth.X_test
    assert X_test.shape == (30, 4)
    with rep.open_posterior("vb") as tree:
        posterior = tree["posterior"].load()
    weights = posterior["weights"].values.reshape(-1, 2)
    means = posterior["means"].values.reshape(-1, 2, 4)
    covariances = posterior["covariances"].values.reshape(-1, 2, 4, 4)
    density = np.zeros(len(X_test))
    for w, mu, sigma in zip(weights, means, covariances, strict=True):
        density += sum(w[k] * multivariate_normal(mu[k], sigma[k]).pdf(X_test)
                       for k in range(2))
    expected = np.mean(np.log(density / len(weights)))
    assert vb["heldout_lpd"] == pytest.approx(expected, rel=1e-8)
    # in EM's order: each VB component mean is nearest to the EM mean of the same index
    em_means = rep.em_model().means_
    vb_means = means.mean(axis=0)
    distances = np.linalg.norm(vb_means[:, None, :] - em_means[None, :, :], axis=-1)
    assert list(distances.argmin(axis=1)) == [0, 1]
