"""The first pass, the starts on a Dask array, and several starts sharing each pass."""

from pathlib import Path

import dask
import dask.array as da
import numpy as np
import pytest

from emgmm.collapse import CollapsedComponentWarning
from emgmm.dask import fit_em_dask
from emgmm.dask.blocks import blocks_of, check_dask_data
from emgmm.dask.fit import run_shared
from emgmm.dask.starts import lloyd_passes
from emgmm.dask.summary import summarise
from emgmm.fit import fit_em
from emgmm.fit_warnings import ConvergenceWarning
from emgmm.init import gaussian_parameters_from_labels, kmeans, nearest_centers
from emgmm.multistart import Screening, start_count
from emgmm.params import GaussianMixtureParams
from emgmm.statistics import params_from_statistics
from tests.emgmm.dask.helpers import assert_same_params, blob_data, given_start

GALAXIES = Path(__file__).resolve().parents[3] / "experiments" / "datasets" / "galaxies.csv"


@pytest.fixture(autouse=True)
def synchronous():
    with dask.config.set(scheduler="synchronous"):
        yield


@pytest.fixture(scope="module")
def X():
    return blob_data(n_per=200)


def _blocks(X, chunks):
    return blocks_of(check_dask_data(da.from_array(X, chunks=(chunks, X.shape[1]))))


def test_first_pass_moments_and_sample_do_not_depend_on_the_chunking(X):
    summaries = [summarise(_blocks(X, chunks), seed=7, sample_rows=50) for chunks in (599, 64, 5)]
    for summary in summaries:
        np.testing.assert_allclose(summary.mean, X.mean(axis=0), rtol=1e-13)
        np.testing.assert_allclose(summary.variances, X.var(axis=0), rtol=1e-12)
        np.testing.assert_array_equal(summary.minimum, X.min(axis=0))
        np.testing.assert_array_equal(summary.maximum, X.max(axis=0))
        np.testing.assert_array_equal(summary.sample, summaries[0].sample)
        assert summary.n_samples == 599 and summary.first_bad_block is None
    # 50 distinct rows of X, and another seed draws other rows.
    assert np.unique(summaries[0].sample, axis=0).shape == (50, 2)
    assert all(any(np.array_equal(row, x) for x in X) for row in summaries[0].sample[:5])
    other = summarise(_blocks(X, 64), seed=8, sample_rows=50).sample
    assert not np.array_equal(other, summaries[0].sample)


def test_lloyd_passes_end_at_the_in_memory_m_step_of_their_labels(X):
    blocks = _blocks(X, 37)
    summary = summarise(blocks, seed=1, sample_rows=100)
    seeds = kmeans(summary.sample, 3, np.random.default_rng(0))[1]
    for covariance_type in ("full", "diag"):
        stats = lloyd_passes(blocks, [seeds, seeds[::-1] + 0.5], covariance_type, summary)
        for final in stats:
            labels = nearest_centers(X, final.shift)[0]
            expected = gaussian_parameters_from_labels(X, labels, 3, covariance_type, 1e-6)
            assert_same_params(params_from_statistics(final, 1e-6), expected)
            # Converged: the centres are (to the stopping tolerance) their clusters' means.
            assert np.sum((final.means - final.shift) ** 2) <= 1e-4 * np.mean(X.var(axis=0))


def test_starts_share_every_pass_and_run_as_alone(X):
    dask_X = check_dask_data(da.from_array(X, chunks=(100, 2)))
    blocks = blocks_of(dask_X)
    starts = [GaussianMixtureParams(given["weights_init"], given["means_init"],
                                    np.linalg.inv(given["precisions_init"]), "full")
              for given in (given_start(X, "full"), given_start(X[::-1], "full"),
                            given_start(X[::2], "full"))]
    options = {"tol": 1e-7, "reg_covar": 1e-6, "max_iter": 200, "previous_lower_bound": -np.inf,
               "feature_variances": X.var(axis=0)}
    computes = []
    with dask.callbacks.Callback(start=lambda dsk: computes.append(1)):
        together = run_shared(dask_X, blocks, starts, [np.random.default_rng(i) for i in range(3)],
                              [0, 1, 2], **options)
    assert len(computes) == max(result.n_iter for result in together)
    assert len({result.n_iter for result in together}) > 1  # runs that stop early leave the pass
    for index, (start, result) in enumerate(zip(starts, together)):
        alone = run_shared(dask_X, blocks, [start], [np.random.default_rng(index)], [index], **options)[0]
        assert result.init_index == index and alone.n_iter == result.n_iter
        np.testing.assert_array_equal(alone.params.covariances, result.params.covariances)


def test_kmeans_starts_and_auto_find_the_in_memory_optimum(X):
    expected = fit_em(X, 3, random_state=0)
    dask_X = da.from_array(X, chunks=(128, 2))
    for init_params in ("kmeans", "k-means++", "hierarchical", "random_from_data"):
        result = fit_em_dask(dask_X, 3, init_params=init_params, n_init=2, random_state=1, sample_rows=200)
        assert result.converged
        np.testing.assert_allclose(result.lower_bound, expected.lower_bound, rtol=0, atol=1e-7)
    screened = fit_em_dask(dask_X, 3, random_state=2, screening=Screening(min_rows=100, iterations=2))
    np.testing.assert_allclose(screened.lower_bound, expected.lower_bound, rtol=0, atol=1e-7)
    assert screened.n_iter > 2 and screened.converged


def test_auto_on_small_data_adds_the_in_memory_search_starts(capsys):
    """Below 50,000 rows ``"auto"`` runs the search starts of the in-memory fit too (as many
    starts as ``start_count`` says). On the 82 galaxy velocities (K = 4, full) the three
    AUTO_STARTS alone end at a mean log-likelihood of -2.4654; with the search starts the
    Dask fit reaches the in-memory optimum, -2.4080."""
    X = np.loadtxt(GALAXIES, delimiter=",", skiprows=1, usecols=-1, ndmin=2) / 1000.0
    dask_X = da.from_array(X, chunks=40)
    result = fit_em_dask(dask_X, 4, random_state=1, verbose=1)
    assert capsys.readouterr().out.count("start ") == start_count(82, "auto", 1) > 3
    three = fit_em_dask(dask_X, 4, random_state=1, screening=Screening(min_rows=82))
    expected = fit_em(X, 4, random_state=1)
    assert result.degenerate is None and expected.degenerate is None
    np.testing.assert_allclose(result.lower_bound, expected.lower_bound, rtol=0, atol=1e-6)
    assert three.lower_bound < result.lower_bound - 0.05


def test_same_seed_same_fit_whatever_the_chunking(X):
    fits = [fit_em_dask(da.from_array(X, chunks=(chunks, 2)), 3, init_params="kmeans", n_init=2,
                        random_state=5, sample_rows=150) for chunks in (599, 50)]
    assert fits[0].n_iter == fits[1].n_iter
    assert_same_params(fits[0].params, fits[1].params)


def test_collapse_and_convergence_warnings_as_in_memory(X):
    start = {"weights_init": [0.5, 0.5 - 1e-5, 1e-5],
             "means_init": [[0.0, 0.0], [2.5, 1.0], [80.0, 80.0]],
             "covariances_init": np.stack([np.eye(2)] * 3)}
    with pytest.warns(CollapsedComponentWarning), pytest.warns(ConvergenceWarning):
        in_memory = fit_em(X, 3, max_iter=4, **start)
    with pytest.warns(CollapsedComponentWarning), pytest.warns(ConvergenceWarning):
        on_dask = fit_em_dask(da.from_array(X, chunks=(90, 2)), 3, max_iter=4, **start)
    assert on_dask.reseeded == in_memory.reseeded == ((1, 2),)


def test_a_failing_pass_fails_the_fit_with_its_error(X, monkeypatch):
    def gone(*args):
        raise OSError("Timed out trying to connect to tcp://127.0.0.1:8786")

    monkeypatch.setattr("emgmm.dask.passes.em_pass", gone)
    with pytest.raises(OSError, match="Timed out trying to connect"):
        fit_em_dask(da.from_array(X, chunks=(100, 2)), 3, init_params="k-means++", n_init=3)
