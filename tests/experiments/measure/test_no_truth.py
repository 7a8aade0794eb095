"""Metrics without truth, against independent computations (scipy, brute force, ArviZ)."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from emgmm import GaussianMixtureParams
from emgmm.criteria import bic
from experiments.measure import no_truth


def random_posterior(rng, n_chains=2, n_draws=150, K=3, D=2) -> xr.Dataset:
    weights = rng.dirichlet(np.ones(K) * 5, size=(n_chains, n_draws))
    means = rng.normal(size=(n_chains, n_draws, K, D)) * 2
    A = rng.normal(size=(n_chains, n_draws, K, D, D)) * 0.4
    covariances = A @ np.swapaxes(A, -1, -2) + 0.3 * np.eye(D)
    return xr.Dataset({
        "weights": (("chain", "draw", "component"), weights),
        "means": (("chain", "draw", "component", "dim"), means),
        "covariances": (("chain", "draw", "component", "dim", "dim2"), covariances),
    })


def test_posterior_heldout_lpd_matches_scipy_loop():
    rng = np.random.default_rng(0)
    posterior = random_posterior(rng, n_draws=300)  # 600 draws: more than one chunk
    X = rng.normal(size=(7, 2)) * 2
    w = posterior["weights"].values.reshape(-1, 3)
    mu = posterior["means"].values.reshape(-1, 3, 2)
    cov = posterior["covariances"].values.reshape(-1, 3, 2, 2)
    density = np.array([[sum(w[s, k] * multivariate_normal(mu[s, k], cov[s, k]).pdf(x)
                             for k in range(3)) for x in X] for s in range(len(w))])
    expected = np.mean(np.log(density.mean(axis=0)))
    assert no_truth.posterior_heldout_lpd(X, posterior) == pytest.approx(expected, rel=1e-10)


def test_posterior_heldout_lpd_of_one_repeated_draw_is_the_plug_in_density():
    rng = np.random.default_rng(1)
    params = GaussianMixtureParams(np.array([0.3, 0.7]), rng.normal(size=(2, 3)),
                                   np.stack([np.eye(3), 2 * np.eye(3)]), "full")
    posterior = xr.Dataset({
        "weights": (("chain", "draw", "component"), np.broadcast_to(params.weights, (1, 4, 2))),
        "means": (("chain", "draw", "component", "dim"),
                  np.broadcast_to(params.means, (1, 4, 2, 3))),
        "covariances": (("chain", "draw", "component", "dim", "dim2"),
                        np.broadcast_to(params.covariances, (1, 4, 2, 3, 3))),
    })
    X = rng.normal(size=(20, 3))
    from experiments.measure.metrics import mixture_mean_log_likelihood

    assert no_truth.posterior_heldout_lpd(X, posterior) == pytest.approx(
        mixture_mean_log_likelihood(X, params), rel=1e-12)


def brute_force_accuracy(classes, labels) -> float:
    size = max(classes.max(), labels.max()) + 1
    return max(np.mean(np.asarray(mapping)[labels] == classes)
               for mapping in itertools.permutations(range(size)))


@pytest.mark.parametrize(("n_classes", "n_components"), [(3, 3), (3, 2), (2, 4)])
def test_class_accuracy_is_the_best_matching(n_classes, n_components):
    rng = np.random.default_rng(n_classes * 10 + n_components)
    classes = rng.integers(0, n_classes, 60)
    labels = np.where(rng.random(60) < 0.7, classes % n_components,
                      rng.integers(0, n_components, 60))
    found = no_truth.class_agreement(classes, labels)
    assert found["class_accuracy"] == pytest.approx(brute_force_accuracy(classes, labels))
    from sklearn.metrics import adjusted_rand_score

    assert found["class_ari"] == adjusted_rand_score(classes, labels)
    relabelled = no_truth.class_agreement(classes, (labels + 1) % n_components)
    assert relabelled["class_accuracy"] == pytest.approx(found["class_accuracy"])


def test_loo_columns_count_pareto_k_above_threshold():
    import arviz as az

    rng = np.random.default_rng(2)
    log_lik = rng.normal(size=(2, 200, 40))
    # importance ratios exp(-log_lik) of point 0 are Pareto-tailed with shape k = 2
    log_lik[:, :, 0] = -rng.exponential(scale=2.0, size=(2, 200))
    tree = xr.DataTree.from_dict({
        "posterior": xr.Dataset({"mu": (("chain", "draw"), rng.normal(size=(2, 200)))}),
        "log_likelihood": xr.Dataset({"y": (("chain", "draw", "obs"), log_lik)}),
    })
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ArviZ warns about the large k, as it should
        columns = no_truth.loo_columns(tree)
        reference = az.loo(tree, pointwise=True)
    k = np.asarray(reference.pareto_k)
    assert columns["elpd_loo"] == pytest.approx(float(reference.elpd))
    assert columns["elpd_loo_se"] == pytest.approx(float(reference.se))
    assert columns["pareto_k_max"] == pytest.approx(k.max()) and columns["pareto_k_max"] > 0.7
    assert columns["pareto_k_bad"] == int((k > 0.7).sum()) >= 1
    # elpd is the sum of the pointwise PSIS estimates, each at most log mean exp
    assert columns["elpd_loo"] <= np.sum(logsumexp(log_lik.reshape(-1, 40), axis=0)
                                         - np.log(400)) + 1e-9


def test_reference_order_sorts_by_first_mean_coordinate():
    params = GaussianMixtureParams(np.array([0.2, 0.5, 0.3]),
                                   np.array([[3.0, 0.0], [-1.0, 5.0], [3.0, 1.0]]),
                                   np.ones(3), "spherical")
    order = no_truth.reference_order(params)
    assert order.tolist() == [1, 0, 2]  # the tie at 3.0 broken by weight


def test_em_columns_without_test_rows_or_labels():
    rng = np.random.default_rng(4)
    from experiments.run.rundir import DataArrays

    X = rng.normal(size=(50, 2))
    arrays = DataArrays(X, np.full(50, -1), np.empty(0), np.empty((0, 2)), np.empty((0, 2, 2)))
    params = GaussianMixtureParams(np.array([1.0]), X.mean(axis=0, keepdims=True),
                                   np.cov(X.T, bias=True)[None], "full")
    columns = no_truth.em_columns(arrays, params, np.zeros(50, dtype=int))
    assert set(columns) == {"log_likelihood", "bic", "icl"}
    assert columns["bic"] == bic(X, params)
    assert columns["icl"] == pytest.approx(columns["bic"])  # one component: no entropy


def test_k_choices_per_replicate():
    rows = []
    for rep in (0, 1):
        for k, (b, i, e) in {1: (30, 30, -20), 2: (10, 12, -9), 3: (11, 9, -8 - rep * 5)}.items():
            rows.append({"replicate": rep, "n_components": k, "method": "em", "bic": b,
                         "icl": i})
            rows.append({"replicate": rep, "n_components": k, "method": "mcmc",
                         "elpd_loo": e})
    choices = no_truth.k_choices(pd.DataFrame(rows)).set_index("replicate")
    assert choices.loc[0, ["bic", "icl", "elpd_loo"]].tolist() == [2, 3, 3]
    assert choices.loc[1, ["bic", "icl", "elpd_loo"]].tolist() == [2, 3, 2]
    assert no_truth.k_choices(pd.DataFrame(rows).drop(columns="n_components")).empty
