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
    args = parser.parse_args(argv)
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
