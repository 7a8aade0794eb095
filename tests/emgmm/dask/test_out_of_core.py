"""Data larger than a worker's memory limit: a Zarr store on disk, streamed once per pass."""

import dask
import dask.array as da
import numpy as np
import pytest
from distributed import Client, LocalCluster

from emgmm.dask import fit_em_dask, open_zarr
from emgmm.fit import fit_em
from tests.emgmm.dask.helpers import assert_same_params

N_SAMPLES, N_FEATURES, BLOCK_ROWS = 10_000_000, 10, 100_000
# Per worker; a worker process with emgmm loaded takes ~260 MiB before reading any block.
MEMORY_LIMIT = 600 * 2**20


def _peak_resident_bytes() -> int:
    """The worker's peak resident memory, VmHWM of /proc/self/status (KiB there).

    Not ``getrusage``'s ``ru_maxrss``: that survives ``execve``, so a worker started from a
    test process that once held 2 GB reports 2 GB; VmHWM belongs to the process image.
    """
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """800 MB of float64 in a Zarr store: two clusters, written block by block."""
    path = tmp_path_factory.mktemp("out-of-core") / "x.zarr"
    rng = da.random.default_rng(0)
    noise = rng.standard_normal((N_SAMPLES, N_FEATURES), chunks=(BLOCK_ROWS, N_FEATURES))
    shifted = rng.random((N_SAMPLES, 1), chunks=(BLOCK_ROWS, 1)) < 0.3
    with dask.config.set(scheduler="threads"):
        da.to_zarr(noise + 3.0 * shifted, str(path))
    return path


def test_fit_streams_data_larger_than_each_worker_limit(store):
    X = open_zarr(store)
    assert X.nbytes > MEMORY_LIMIT
    start = {"weights_init": [0.5, 0.5], "means_init": np.stack([np.full(N_FEATURES, -0.5),
                                                                 np.full(N_FEATURES, 2.0)]),
             "covariances_init": np.stack([np.eye(N_FEATURES)] * 2)}
    # No pausing at 80 % of the limit: the test measures the peak against the limit itself.
    with dask.config.set({"distributed.worker.memory.pause": False}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                         memory_limit=MEMORY_LIMIT, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        with pytest.warns(UserWarning, match="did not converge"):
            result = fit_em_dask(X, 2, max_iter=3, **start)
        peaks = client.run(_peak_resident_bytes)
        assert len(peaks) == 2 and max(peaks.values()) < MEMORY_LIMIT
    with pytest.warns(UserWarning, match="did not converge"):
        expected = fit_em(X.compute(), 2, max_iter=3, engine="fast", **start)
    assert_same_params(result.params, expected.params)
