"""EM on Dask arrays equals the in-memory EM from the same start, whatever the chunking and
the scheduler; the estimator's methods on Dask arrays are lazy and equal the in-memory ones."""

import inspect

import dask
import dask.array as da
import numpy as np
import pytest
from distributed import Client, LocalCluster

from emgmm import GaussianMixtureEM
from emgmm.covariance_types import COVARIANCE_TYPES
from emgmm.dask import fit_em_dask
from emgmm.fit import fit_em
from tests.emgmm.dask.helpers import assert_same_params, blob_data, given_start

# Chunkings of the 239 rows: one block; blocks of 2 rows (fewer than K = 3); 50-row blocks
# with an uneven last one; irregular blocks including a single row.
CHUNKINGS = [(239,), 2, 50, ((100, 1, 60, 78), (2,))]


@pytest.fixture(scope="module")
def X():
    return blob_data()


@pytest.fixture(autouse=True)
def synchronous():
    with dask.config.set(scheduler="synchronous"):
        yield


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("chunks", CHUNKINGS, ids=["one-block", "2-rows", "50-rows", "irregular"])
def test_same_start_same_parameters_as_in_memory(X, covariance_type, chunks):
    start = given_start(X, covariance_type)
    expected = fit_em(X, 3, covariance_type=covariance_type, engine="fast", **start)
    dask_X = da.from_array(X, chunks=chunks if isinstance(chunks, tuple) and len(chunks) == 2
                           else (chunks, 2))
    result = fit_em_dask(dask_X, 3, covariance_type=covariance_type, **start)
    assert expected.n_iter > 10 and result.converged
    assert result.n_iter == expected.n_iter
    assert_same_params(result.params, expected.params)
    np.testing.assert_allclose(result.log_likelihood_history, expected.log_likelihood_history,
                               rtol=0, atol=1e-12)
    assert result.engine == "dask"


def test_column_blocks_are_joined(X):
    start = given_start(X, "full")
    by_rows = fit_em_dask(da.from_array(X, chunks=(60, 2)), 3, **start)
    by_both = fit_em_dask(da.from_array(X, chunks=(60, 1)), 3, **start)
    np.testing.assert_array_equal(by_both.params.covariances, by_rows.params.covariances)


def test_integer_data_is_cast(X):
    rounded = np.round(X * 10)
    start = given_start(rounded, "diag")
    expected = fit_em(rounded, 3, covariance_type="diag", engine="fast", **start)
    result = fit_em_dask(da.from_array(rounded.astype(np.int32), chunks=50), 3,
                         covariance_type="diag", **start)
    assert_same_params(result.params, expected.params)


def test_workers_and_schedulers_give_identical_bits(X):
    """The reduction tree is fixed by the blocks: 1 or 2 workers, threads or processes,
    give the same numbers to the last bit."""
    start = given_start(X, "full")
    dask_X = da.from_array(X, chunks=(30, 2))
    reference = fit_em_dask(dask_X, 3, **start)
    with dask.config.set(scheduler="threads", num_workers=2):
        threaded = fit_em_dask(dask_X, 3, **start)
    for processes in (False, True):
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=processes,
                          dashboard_address=":0") as cluster, Client(cluster):
            distributed = fit_em_dask(dask_X, 3, **start)
        for other in (threaded, distributed):
            for name in ("weights", "means", "covariances"):
                np.testing.assert_array_equal(getattr(other.params, name), getattr(reference.params, name))


def test_estimator_on_dask_matches_numpy(X):
    start = given_start(X, "tied")
    dask_X = da.from_array(X, chunks=(70, 2))
    model = GaussianMixtureEM(3, covariance_type="tied", **start).fit(X)
    on_dask = GaussianMixtureEM(3, covariance_type="tied", **start)
    labels = on_dask.fit_predict(dask_X)
    assert isinstance(labels, da.Array)
    assert_same_params(on_dask.params_, model.params_)
    assert on_dask.n_iter_ == model.n_iter_ and on_dask.converged_
    for method in ("predict", "predict_proba", "score_samples"):
        lazy = getattr(on_dask, method)(dask_X)
        assert isinstance(lazy, da.Array)
        np.testing.assert_allclose(lazy.compute(), getattr(model, method)(X), rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(labels.compute(), model.predict(X))
    for method in ("score", "bic", "aic", "icl"):
        value = getattr(on_dask, method)(dask_X)
        assert isinstance(value, float)
        np.testing.assert_allclose(value, getattr(model, method)(X), rtol=1e-10)


def test_sampled_labels_on_dask_are_lazy_categorical_draws_independent_of_chunking(X):
    """Z drawn on a Dask array: same labels for any chunking and scheduler, new ones for a
    new seed, the MAP label where gamma_ik > 1 - 1e-9, and label counts within 4 sd of
    sum_i gamma_ik (their mean under Categorical(gamma_i))."""
    rows = np.concatenate([X] * 20)  # 4780 rows: enough draws for the count test
    model = GaussianMixtureEM(3, covariance_type="full", random_state=0).fit(rows)
    resp = model.predict_proba(rows)
    draws = model.sample_latent(da.from_array(rows, chunks=1000), rng=11)
    assert isinstance(draws, da.Array) and draws.shape == (rows.shape[0],)
    labels = draws.compute()
    for chunks, scheduler in [(((4000, 1, 779), (2,)), "threads"), (333, "synchronous")]:
        again = model.sample_latent(da.from_array(rows, chunks=chunks), rng=11)
        np.testing.assert_array_equal(again.compute(scheduler=scheduler), labels)
    assert np.any(model.sample_latent(da.from_array(rows, chunks=1000), rng=12).compute() != labels)
    certain = resp.max(axis=1) > 1 - 1e-9
    assert certain.sum() >= 50
    np.testing.assert_array_equal(labels[certain], resp[certain].argmax(axis=1))
    counts = np.bincount(labels, minlength=3)
    spread = np.sqrt((resp * (1 - resp)).sum(axis=0))
    assert np.all(np.abs(counts - resp.sum(axis=0)) < 4 * np.maximum(spread, 1.0))


def test_warm_start_continues_like_in_memory(X):
    dask_X = da.from_array(X, chunks=(100, 2))
    start = given_start(X, "diag")
    kwargs = {"covariance_type": "diag", "max_iter": 5, "warm_start": True, **start}
    in_memory, on_dask = GaussianMixtureEM(3, **kwargs), GaussianMixtureEM(3, **kwargs)
    with pytest.warns(UserWarning, match="did not converge"):
        in_memory.fit(X)
    with pytest.warns(UserWarning, match="did not converge"):
        on_dask.fit(dask_X)
    in_memory.set_params(max_iter=1000).fit(X)
    on_dask.set_params(max_iter=1000).fit(dask_X)
    assert on_dask.n_iter_ == in_memory.n_iter_
    assert_same_params(on_dask.params_, in_memory.params_)


def test_predict_on_unfitted_or_other_width_is_one_line(X):
    model = GaussianMixtureEM(3)
    with pytest.raises(ValueError, match="not fitted yet"):
        model.predict(da.from_array(X))
    model.fit(da.from_array(X, chunks=100))
    with pytest.raises(ValueError, match="X has 3 features"):
        model.score_samples(da.ones((10, 3)))


def test_fit_em_dask_defaults_are_fit_em_defaults():
    in_memory = inspect.signature(fit_em).parameters
    on_dask = inspect.signature(fit_em_dask).parameters
    shared = [name for name in on_dask if name in in_memory]
    assert {"tol", "reg_covar", "max_iter", "init_params", "prior", "screening"} <= set(shared)
    assert {name: on_dask[name].default for name in shared} == {
        name: in_memory[name].default for name in shared}
