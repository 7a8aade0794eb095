"""A scheduler that goes away in the middle of a fit: one clear error, no model kept."""

import threading

import dask
import dask.array as da
import pytest
from distributed import Client, LocalCluster

from emgmm import GaussianMixtureEM
from emgmm.dask import SchedulerLostError
from emgmm.dask import passes as dask_passes
from tests.emgmm.dask.helpers import blob_data, given_start

# Seconds the client and the workers try to reconnect to a lost scheduler (default 30).
RECONNECT = {"distributed.comm.timeouts.connect": "3s"}


def test_scheduler_closed_after_the_first_pass_fails_the_fit_cleanly(monkeypatch):
    X = da.from_array(blob_data(), chunks=(40, 2))
    em_pass = dask_passes.em_pass
    closed = threading.Event()
    with dask.config.set(RECONNECT), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                         dashboard_address=":0") as cluster, Client(cluster) as client:

        def first_pass_then_close(*args, **kwargs):
            outcome = em_pass(*args, **kwargs)
            if not closed.is_set():  # the scheduler is closed from another thread
                closer = threading.Thread(target=cluster.sync, args=(cluster.scheduler.close,))
                closer.start()
                closer.join()
                closed.set()
            return outcome

        monkeypatch.setattr(dask_passes, "em_pass", first_pass_then_close)
        address = cluster.scheduler_address
        model = GaussianMixtureEM(3, tol=1e-12, max_iter=200, **given_start(blob_data(), "full"))
        with pytest.raises(SchedulerLostError) as caught:
            model.fit(X)
        assert client.status != "running"
    message = str(caught.value)
    assert closed.is_set() and isinstance(caught.value, RuntimeError)
    assert "\n" not in message and address in message and "fit again" in message
    assert not hasattr(model, "params_")  # no partial model
    with pytest.raises(ValueError, match="not fitted"):
        model.predict(X)
