"""Seconds per EM iteration: the Dask EM on a 2-worker LocalCluster, the in-memory numba EM,
and (with ``--spark``) Spark MLlib's GaussianMixture on ``local[2]``, in one run.

    python benchmarks/dask_vs_spark.py                 # N = 10^6, D = 10, K = 10, full
    python benchmarks/dask_vs_spark.py --spark         # the same, with the Spark column
    python benchmarks/dask_vs_spark.py --n 20000 --iterations 3 --spark   # a quick check

All three fit the same data (a random 10-component mixture, ``em_vs_sklearn.mixture_data``)
held in memory: a numpy array; a Dask array persisted in the workers (2 worker processes,
1 thread each; ``--chunk-rows`` rows per block); a cached Spark DataFrame of vectors.

- numba: ``emgmm.fast.fused_em_iteration`` (threads over the process's cores), each
  iteration from the previous one's parameters;
- dask: one pass of :func:`emgmm.dask.passes.em_pass` (per-block statistics in the workers,
  fixed-order tree reduction, M-step on the client), the same iterations;
- spark: ``pyspark.ml.clustering.GaussianMixture(k, tol=0, maxIter=m)``; its time per
  iteration is ``(t(2 + m) - t(2)) / m`` (two fits, so that its start and setup cancel).

``--out-of-core``: the data on disk instead. For each N of ``--sizes`` (default 10^6, 10^7,
10^8) the rows of a random mixture are written block by block (never all in memory) to an
uncompressed Zarr store under ``--store-dir`` (8 GB at N = 10^8, D = 10), then, on a
LocalCluster of 2 worker processes limited to ``--memory-limit`` (2 GB) each: one pass that
only sums every block (the read rate of the store, the limit of any one-pass algorithm),
then ``--ooc-iterations`` EM passes streaming the store (after a warm-up on one block). Printed
per N: write and read times, read rate, seconds per iteration and per iteration and 10^6
rows (constant when the time is linear in N), and the peak resident memory (VmHWM) of every
worker and of this process. The store is deleted afterwards. A store much smaller than the
free memory is read from the page cache after it was written: the read rate is then the
cache's, not the disk's.

    python benchmarks/dask_vs_spark.py --out-of-core                  # 10^6, 10^7, 10^8
    python benchmarks/dask_vs_spark.py --out-of-core --sizes 1e6,1e7  # a quicker check

Spark is not a dependency of the project: ``--spark`` needs ``pyspark`` and a Java runtime
already installed (``pip install pyspark``; e.g. ``apt-get install openjdk-17-jre-headless``)
and otherwise prints why the column is skipped. ``PYSPARK_PYTHON`` is set to this Python.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
import warnings

import numpy as np
from em_vs_sklearn import mixture_data, start_params


def numba_seconds(X: np.ndarray, start, iterations: int) -> tuple[float, list[float]]:
    """Seconds per in-memory iteration (after one warm-up), and the log-likelihoods."""
    from emgmm.fast import fused_em_iteration

    params = fused_em_iteration(X, start, 1e-6)[1]  # compiles or loads the kernels
    params, trace = start, []
    began = time.perf_counter()
    for _ in range(iterations):
        log_likelihood, params = fused_em_iteration(X, params, 1e-6)
        trace.append(log_likelihood)
    return (time.perf_counter() - began) / iterations, trace


def dask_seconds(X: np.ndarray, start, iterations: int, chunk_rows: int,
                 n_workers: int) -> tuple[float, list[float]]:
    """Seconds per Dask iteration on a LocalCluster (data persisted in the workers)."""
    import dask.array as da
    from distributed import Client, LocalCluster, wait

    from emgmm.dask.blocks import blocks_of, check_dask_data
    from emgmm.dask.passes import em_pass

    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        dask_X = check_dask_data(da.from_array(X, chunks=(chunk_rows, X.shape[1]))).persist()
        wait(dask_X)
        blocks = blocks_of(dask_X)
        em_pass(blocks, [start], 1e-6)  # the workers load the kernels
        params, trace = start, []
        began = time.perf_counter()
        for _ in range(iterations):
            (log_likelihood, params), = em_pass(blocks, [params], 1e-6)
            trace.append(log_likelihood)
        seconds = (time.perf_counter() - began) / iterations
        client.cancel(dask_X)
    return seconds, trace


# ---------------------------------------------------------------------------------------
# Out of core: a Zarr store on disk
# ---------------------------------------------------------------------------------------


def peak_resident_bytes() -> int:
    """This process's peak resident memory, VmHWM of /proc/self/status (KiB there)."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def write_store(path: str, n_samples: int, n_features: int, n_components: int,
                block_rows: int, seed: int = 0) -> None:
    """A random mixture's rows in an uncompressed Zarr store, one block of ``block_rows`` at a
    time; block ``b`` draws from its own generator ``default_rng([seed, b])``."""
    import zarr

    rng = np.random.default_rng(seed)
    centres = 4.0 * rng.standard_normal((n_components, n_features))
    factors = np.eye(n_features) + rng.standard_normal(
        (n_components, n_features, n_features)) / np.sqrt(n_features)
    weights = rng.dirichlet(np.full(n_components, 5.0))
    store = zarr.create_array(path, shape=(n_samples, n_features), chunks=(block_rows, n_features),
                              dtype="f8", compressors=None)
    for block, start in enumerate(range(0, n_samples, block_rows)):
        block_rng = np.random.default_rng([seed, block])
        n_rows = min(block_rows, n_samples - start)
        labels = block_rng.choice(n_components, size=n_rows, p=weights)
        noise = block_rng.standard_normal((n_rows, n_features))
        store[start:start + n_rows] = centres[labels] + np.einsum("nd,nde->ne", noise,
                                                                  factors[labels])


def _block_sum(block: np.ndarray) -> np.ndarray:
    return np.array([block.sum()])


def out_of_core_row(path: str, n_components: int, iterations: int, memory_limit: str) -> dict:
    """Read pass, EM passes and peak memory on a 2-worker LocalCluster for the store ``path``."""
    import dask
    from distributed import Client, LocalCluster

    from emgmm.dask import open_zarr
    from emgmm.dask.blocks import blocks_of, check_dask_data, run_pass
    from emgmm.dask.passes import em_pass

    X = check_dask_data(open_zarr(path))
    blocks = blocks_of(X)
    # No pausing at 80 % of the limit: the peak is compared with the limit itself.
    with dask.config.set({"distributed.worker.memory.pause": False}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                         memory_limit=memory_limit, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        start = start_params(X[:10_000].compute(), n_components, "full")
        first_block = blocks_of(X[:X.chunks[0][0]])
        for _ in range(4):  # warm-up on one block: the workers import emgmm, load kernels
            run_pass(first_block, _block_sum, np.add)
            em_pass(first_block, [start], 1e-6)
        began = time.perf_counter()
        run_pass(blocks, _block_sum, np.add)
        read_s = time.perf_counter() - began
        params = start
        began = time.perf_counter()
        for _ in range(iterations):
            (_, params), = em_pass(blocks, [params], 1e-6)
        iteration_s = (time.perf_counter() - began) / iterations
        workers = sorted(client.run(peak_resident_bytes).values())
    return {"read_s": read_s, "iteration_s": iteration_s, "workers": workers}


def out_of_core(sizes: list[int], n_features: int, n_components: int, iterations: int,
                block_rows: int, store_dir: str, memory_limit: str) -> None:
    """The ``--out-of-core`` table (module docstring)."""
    print(f"out of core: D = {n_features}, K = {n_components}, full covariances, blocks of "
          f"{block_rows:,} rows, {iterations} timed passes; 2 workers x {memory_limit}; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'N':>12} {'GB':>6} {'write s':>8} {'read s':>8} {'read GB/s':>9} "
          f"{'s / iter':>9} {'s/iter/1e6':>10} {'worker peaks GB':>16}")
    for n_samples in sizes:
        path = os.path.join(store_dir, f"mixture-{n_samples}.zarr")
        try:
            began = time.perf_counter()
            write_store(path, n_samples, n_features, n_components, block_rows)
            write_s = time.perf_counter() - began
            row = out_of_core_row(path, n_components, iterations, memory_limit)
        finally:
            shutil.rmtree(path, ignore_errors=True)
        gigabytes = 8 * n_samples * n_features / 1e9
        peaks = ", ".join(f"{peak / 1e9:.2f}" for peak in row["workers"])
        print(f"{n_samples:>12,} {gigabytes:>6.2f} {write_s:>8.1f} {row['read_s']:>8.2f} "
              f"{gigabytes / row['read_s']:>9.2f} {row['iteration_s']:>9.2f} "
              f"{row['iteration_s'] / (n_samples / 1e6):>10.3f} {peaks:>16}", flush=True)
    print(f"this process's peak resident memory: {peak_resident_bytes() / 1e9:.2f} GB; load "
          f"average {os.getloadavg()[0]:.1f}")


def spark_missing() -> str | None:
    """Why Spark cannot run here, or None."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install pyspark)"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime (e.g. apt-get install openjdk-17-jre-headless)"
    return None


def spark_seconds(X: np.ndarray, n_components: int, iterations: int) -> float:
    """Seconds per Spark MLlib GaussianMixture iteration on local[2], cached DataFrame."""
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    import pandas as pd

    # pyspark warns that it has not been tested with this pandas version (the columns below work).
    warnings.filterwarnings("ignore", category=FutureWarning, module="pyspark")
    from pyspark.ml.clustering import GaussianMixture
    from pyspark.ml.feature import VectorAssembler
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[2]").appName("gmm-benchmark")
             .config("spark.driver.memory", "6g")
             .config("spark.sql.execution.arrow.pyspark.enabled", "true")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    try:
        columns = [f"x{j}" for j in range(X.shape[1])]
        frame = spark.createDataFrame(pd.DataFrame(X, columns=columns)).repartition(2)
        data = VectorAssembler(inputCols=columns, outputCol="features").transform(frame)
        data = data.select("features").cache()
        data.count()

        def fit_seconds(max_iter: int) -> float:
            began = time.perf_counter()
            GaussianMixture(k=n_components, tol=0.0, maxIter=max_iter, seed=0).fit(data)
            return time.perf_counter() - began

        fit_seconds(2)  # warm-up: the JVM compiles
        return (fit_seconds(2 + iterations) - fit_seconds(2)) / iterations
    finally:
        spark.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=float, default=1e6, help="rows (default 1e6)")
    parser.add_argument("--d", type=int, default=10, help="features (default 10)")
    parser.add_argument("--k", type=int, default=10, help="components (default 10)")
    parser.add_argument("--iterations", type=int, default=10, help="timed iterations (default 10)")
    parser.add_argument("--chunk-rows", type=int, default=62_500, help="rows per Dask block")
    parser.add_argument("--workers", type=int, default=2, help="Dask worker processes (default 2)")
    parser.add_argument("--spark", action="store_true", help="add Spark MLlib (local[2])")
    parser.add_argument("--out-of-core", action="store_true",
                        help="stream Zarr stores on disk instead (see the module docstring)")
    parser.add_argument("--sizes", default="1e6,1e7,1e8", help="--out-of-core: rows of each store")
    parser.add_argument("--ooc-iterations", type=int, default=3,
                        help="--out-of-core: timed passes per store (default 3)")
    parser.add_argument("--ooc-block-rows", type=int, default=250_000,
                        help="--out-of-core: rows per Zarr chunk (default 250,000: 20 MB)")
    parser.add_argument("--store-dir", default="/tmp", help="--out-of-core: where the stores go")
    parser.add_argument("--memory-limit", default="2GB", help="--out-of-core: per worker")
    args = parser.parse_args(argv)
    if args.out_of_core:
        sizes = [int(float(size)) for size in args.sizes.split(",")]
        out_of_core(sizes, args.d, args.k, args.ooc_iterations, args.ooc_block_rows,
                    args.store_dir, args.memory_limit)
        return
    n_samples = int(args.n)
    X = mixture_data(n_samples, args.d, args.k)
    start = start_params(X, args.k, "full")
    print(f"N = {n_samples:,}, D = {args.d}, K = {args.k}, full covariances; "
          f"{args.iterations} timed iterations; {os.cpu_count()} cores")
    numba, numba_trace = numba_seconds(X, start, args.iterations)
    dask, dask_trace = dask_seconds(X, start, args.iterations, args.chunk_rows, args.workers)
    difference = np.max(np.abs(np.subtract(numba_trace, dask_trace)))
    print(f"largest difference of the mean log-likelihoods, numba vs dask: {difference:.2e}")
    rows = [("numba, in memory", numba), (f"dask, LocalCluster {args.workers} workers", dask)]
    if args.spark:
        missing = spark_missing()
        if missing:
            print(f"Spark skipped: {missing}")
        else:
            rows.append(("Spark MLlib, local[2]", spark_seconds(X, args.k, args.iterations)))
    print(f"{'engine':<30} {'s / iteration':>14} {'/ numba':>9} {'/ dask':>8}")
    for name, seconds in rows:
        print(f"{name:<30} {seconds:>14.4f} {seconds / numba:>9.2f} {seconds / dask:>8.2f}")


if __name__ == "__main__":
    main()
