"""Starting values: every init method, k-means against scikit-learn, chunked distances."""

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

import emgmm.fit
from emgmm import (COVARIANCE_TYPES, GaussianMixtureEM, fit_em, initial_params, kmeans,
                   kmeans_plusplus)
from emgmm.map_prior import default_conjugate_prior
from emgmm.multistart import (SEARCH_STARTS, Screening, search_methods, search_rounds,
                              start_count, start_key, start_methods)
from emgmm.params import GaussianMixtureParams
from emgmm.init import hierarchical_labels, whitened

INITS = ("auto", "hierarchical", "kmeans", "k-means++", "random", "random_from_data")


@pytest.mark.parametrize("init_params", INITS)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_every_init_gives_a_valid_start_and_fit(init_params, covariance_type, blobs):
    start = initial_params(blobs, 3, covariance_type, 1e-6, init_params, np.random.default_rng(0))
    assert np.all(np.isfinite(start.means)) and np.all(np.isfinite(start.precisions_cholesky))
    result = fit_em(blobs, 3, covariance_type=covariance_type, init_params=init_params, random_state=0,
                    engine="reference")
    assert result.converged and np.isfinite(result.lower_bound)


def test_random_from_data_and_kmeans_plusplus_start_at_data_rows(blobs):
    rng = np.random.default_rng(4)
    seeds = kmeans_plusplus(blobs, 3, rng)
    assert len(set(seeds.tolist())) == 3
    # k-means++ spreads the seeds: one per well-separated blob.
    assert len(set((seeds // 100).tolist())) == 3


def test_kmeans_agrees_with_sklearn(blobs):
    labels, centers = kmeans(blobs, 3, np.random.default_rng(0))
    reference = KMeans(3, n_init=1, random_state=0).fit(blobs)
    assert adjusted_rand_score(labels, reference.labels_) == 1.0
    order = np.argsort(centers[:, 0] + 10 * centers[:, 1])
    ref_order = np.argsort(reference.cluster_centers_[:, 0] + 10 * reference.cluster_centers_[:, 1])
    np.testing.assert_allclose(centers[order], reference.cluster_centers_[ref_order], atol=1e-10)


def test_chunked_kmeans_gives_the_labels_of_one_chunk(blobs):
    whole = kmeans(blobs, 3, np.random.default_rng(2))
    chunked = kmeans(blobs, 3, np.random.default_rng(2), chunk_rows=7)
    np.testing.assert_array_equal(whole[0], chunked[0])
    np.testing.assert_allclose(whole[1], chunked[1], rtol=1e-12)


def test_hierarchical_start_recovers_blobs_and_ignores_units(blobs):
    truth = np.repeat(np.arange(3), 100)
    labels = hierarchical_labels(blobs, 3, np.random.default_rng(0))
    assert adjusted_rand_score(truth, labels) > 0.95
    # Whitening by principal components: a change of units and a rotation change nothing.
    rotation = np.array([[0.6, -0.8], [0.8, 0.6]])
    moved = hierarchical_labels(blobs @ rotation * [1000.0, 0.01] + 5.0, 3, np.random.default_rng(0))
    assert adjusted_rand_score(labels, moved) == 1.0
    np.testing.assert_allclose(np.cov(whitened(blobs), rowvar=False), np.eye(2), atol=1e-12)


def test_hierarchical_start_subsamples_large_data_and_assigns_the_rest(make_blobs):
    X = make_blobs(seed=1, n_per=1000)
    truth = np.repeat(np.arange(3), 1000)
    labels = hierarchical_labels(X, 3, np.random.default_rng(0), max_rows=300)
    assert labels.shape == (3000,) and adjusted_rand_score(truth, labels) > 0.95
    again = hierarchical_labels(X, 3, np.random.default_rng(0), max_rows=300)
    np.testing.assert_array_equal(labels, again)


def test_auto_runs_every_kind_of_start_and_keeps_the_best(blobs):
    assert start_methods(blobs, "auto", 2, (None,) * 4) == ["hierarchical", "k-means++", "kmeans",
                                                             "k-means++", "kmeans"]
    assert start_methods(np.zeros((3000, 2)), "auto", 2, (None,) * 4) == ["hierarchical", "k-means++", "kmeans"] * 2
    assert start_methods(blobs, "kmeans", 3, (None,) * 4) == ["kmeans"] * 3
    assert len(start_methods(blobs, "auto", 1, (np.ones(3) / 3, np.zeros((3, 2)), None, np.ones(3)))) == 1
    best = fit_em(blobs, 3, random_state=0)
    each = [fit_em(blobs, 3, init_params=method, random_state=0).lower_bound
            for method in ("hierarchical", "k-means++", "kmeans")]
    assert best.lower_bound >= max(each) - 1e-9


def test_auto_on_large_data_screens_the_starts_and_continues_the_best(blobs):
    """Screening (a few EM iterations per start, then the best continued) as on large data."""
    result = fit_em(blobs, 3, random_state=0, record_params=True,
                    screening=Screening(min_rows=10, iterations=2))
    assert result.converged and result.n_iter > 2
    assert result.log_likelihood_history.size == result.n_iter == len(result.params_history) - 1
    assert np.all(np.diff(result.log_likelihood_history) > -1e-9)
    unscreened = fit_em(blobs, 3, init_params="hierarchical", random_state=0)
    assert result.lower_bound == pytest.approx(unscreened.lower_bound, abs=1e-6)


def test_auto_on_more_rows_than_the_sample_screens_a_subsample_then_fits_all_rows(make_blobs):
    """Beyond ``sample_rows`` the starts run on a subsample; EM then continues on all rows
    (its iterations alone are the history) and reaches the optimum of the unscreened fit."""
    X = make_blobs(seed=3, n_per=400)
    screening = Screening(min_rows=10, iterations=2, sample_rows=150)
    result = fit_em(X, 3, random_state=0, record_params=True, screening=screening)
    assert result.converged
    assert result.log_likelihood_history.size == result.n_iter == len(result.params_history) - 1
    assert np.all(np.diff(result.log_likelihood_history) > -1e-9)
    full = fit_em(X, 3, init_params="kmeans", random_state=0)
    assert result.lower_bound == pytest.approx(full.lower_bound, abs=1e-6)
    # The first iteration starts from the subsample's estimate: not yet the optimum.
    assert result.log_likelihood_history[0] < full.lower_bound - 1e-6
    again = fit_em(X, 3, random_state=0, screening=screening)
    assert again.lower_bound == result.lower_bound


def test_auto_adds_search_starts_on_small_data_that_win_only_when_not_degenerate(blobs, capsys):
    none = (None,) * 4
    assert [search_rounds(n) for n in (82, 150, 300, 2_000, 49_999)] == [16, 13, 6, 1, 1]
    rounds = search_rounds(blobs.shape[0])
    assert rounds == min(max(2_000 // blobs.shape[0], 1), 16)
    assert search_methods(blobs, "auto", 2, none, Screening()) == list(SEARCH_STARTS) * 2 * rounds
    assert search_methods(np.zeros((50_000, 2)), "auto", 1, none, Screening()) == []
    assert search_methods(blobs, "kmeans", 1, none, Screening()) == []
    best = fit_em(blobs, 3, random_state=1, verbose=1)
    lines = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("start ") for line in lines) == 3 + len(SEARCH_STARTS) * rounds
    # The search starts only add candidates: the three-kind round's result is never better.
    three = fit_em(blobs, 3, random_state=1, screening=Screening(min_rows=10, iterations=1000))
    assert best.lower_bound >= three.lower_bound - 1e-9


def test_a_degenerate_search_start_never_replaces_the_best():
    """0/1 data: every fit has a component with no spread in some column (degenerate), and
    the fit of the three-kind round is kept whatever the search starts find (the soft
    random start reaches a higher likelihood here by collapsing a component onto a point)."""
    rng = np.random.default_rng(1)
    X = (rng.random((200, 3)) < np.where(np.arange(200) < 100, 0.9, 0.1)[:, None]).astype(float)
    with pytest.warns():
        auto = fit_em(X, 2, random_state=0)
        three = fit_em(X, 2, random_state=0, screening=Screening(min_rows=10, iterations=1000))
    assert auto.degenerate is not None and auto.init_index < 3
    assert auto.lower_bound == three.lower_bound


@pytest.mark.parametrize("n_rows, init_params, n_init", [
    (120, "auto", 2), (400, "auto", 1), (120, "kmeans", 3), (120, "k-means++", 1)])
def test_start_count_is_the_number_of_starts_a_fit_makes(monkeypatch, n_rows, init_params,
                                                        n_init):
    """``start_count`` (what ``gmm-compare validate`` reports) counts the starts that
    ``fit_em`` really initialises, search starts of tiny data included."""
    calls = []
    original = emgmm.fit.initial_params

    def counted(*args, **kwargs):
        calls.append(args[4])
        return original(*args, **kwargs)

    monkeypatch.setattr(emgmm.fit, "initial_params", counted)
    X = np.random.default_rng(0).normal(size=(n_rows, 2)) + np.repeat([[0, 0], [4, 0]],
                                                                      [n_rows // 2] * 2, axis=0)
    GaussianMixtureEM(2, init_params=init_params, n_init=n_init, random_state=0).fit(X)
    assert len(calls) == start_count(n_rows, init_params, n_init)
    assert (len(calls) > 3 * n_init) == (init_params == "auto")


@pytest.mark.parametrize("covariance_type", ["spherical", "full"])
@pytest.mark.parametrize("prior", [None, "default"])
def test_a_start_equal_to_one_already_run_is_skipped_without_changing_the_fit(
        monkeypatch, covariance_type, prior):
    """On 60 rows in 1-D many k-means starts coincide: each distinct start runs once, and
    the fit is bit for bit the fit that runs every start (keys made unique)."""
    X = np.random.default_rng(4).normal(size=(60, 1)) + np.repeat([[0.0], [3.0]], 30, axis=0)
    runs = []
    original = emgmm.fit.run_em

    def counted(*args, **kwargs):
        runs.append(kwargs["init_index"])
        return original(*args, **kwargs)

    monkeypatch.setattr(emgmm.fit, "run_em", counted)
    settings = dict(covariance_type=covariance_type, n_init=2, random_state=3,
                    prior=None if prior is None else default_conjugate_prior(X, 2, covariance_type))
    skipping = fit_em(X, 2, **settings)
    skipped = start_count(60, "auto", 2) - len(runs)
    runs.clear()
    keys = iter(range(10**6))
    monkeypatch.setattr(emgmm.fit, "start_key", lambda params: next(keys))
    every = fit_em(X, 2, **settings)
    assert len(runs) == start_count(60, "auto", 2) and skipped > len(runs) // 4
    for name in ("weights", "means", "covariances"):
        assert np.array_equal(getattr(skipping.params, name), getattr(every.params, name))
    assert np.array_equal(skipping.log_likelihood_history, every.log_likelihood_history)
    assert (skipping.init_index, skipping.n_iter, skipping.degenerate) == (
        every.init_index, every.n_iter, every.degenerate)


def test_start_key_tells_apart_types_shapes_and_values():
    params = initial_params(np.arange(12.0).reshape(6, 2), 2, "full", 1e-6, "kmeans",
                            np.random.default_rng(0))
    same = GaussianMixtureParams(params.weights.copy(), params.means.copy(),
                                 params.covariances.copy(), "full")
    assert start_key(same) == start_key(params)
    nudged = params.means.copy()
    nudged[0, 0] = np.nextafter(nudged[0, 0], np.inf)
    assert start_key(GaussianMixtureParams(params.weights, nudged, params.covariances)) != \
        start_key(params)
    diagonal = GaussianMixtureParams(params.weights, params.means,
                                     np.stack([np.diag(c) for c in params.covariances]), "diag")
    assert start_key(diagonal) != start_key(params)
