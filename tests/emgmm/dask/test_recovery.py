"""A worker that dies in the middle of an EM pass: Dask reruns its task, no number changes."""

import os

import dask
import dask.array as da
import numpy as np
from distributed import Client, LocalCluster

from emgmm.dask import fit_em_dask
from emgmm.dask.block_statistics import block_em_statistics
from tests.emgmm.dask.helpers import blob_data, given_start

MARKER = "EMGMM_TEST_DIE_ONCE"


def block_statistics_dying_once(block, starts):
    """:func:`block_em_statistics`, except that the first call (over all processes) kills
    its worker process."""
    try:
        os.close(os.open(os.environ[MARKER], os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return block_em_statistics(block, starts)
    os._exit(1)


def test_worker_killed_mid_pass_gives_the_same_fit(tmp_path, monkeypatch):
    X = blob_data()
    start = given_start(X, "full")
    dask_X = da.from_array(X, chunks=(40, 2))
    with dask.config.set(scheduler="synchronous"):
        expected = fit_em_dask(dask_X, 3, **start)
    marker = tmp_path / "died"
    monkeypatch.setenv(MARKER, str(marker))  # read by the worker processes started below
    monkeypatch.setattr("emgmm.dask.passes.block_em_statistics", block_statistics_dying_once)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster):
        result = fit_em_dask(dask_X, 3, **start)
    assert marker.exists()  # a worker did die
    assert result.n_iter == expected.n_iter
    for name in ("weights", "means", "covariances"):
        np.testing.assert_array_equal(getattr(result.params, name), getattr(expected.params, name))
