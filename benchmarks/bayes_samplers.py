"""Compile time, sampling time and min ESS/s of the NUTS samplers on one mixture problem.

Problem: N=500, D=2, K=3 well-separated full-covariance mixture, 2 chains x (1000 tune +
1000 draws), EM starts, chains run one after the other (``cores=1``).

Every sampler runs in a fresh subprocess twice with its own PyTensor cache directory: the
first run is cold (empty cache: PyTensor/numba or JAX compilation from scratch), the
second warm (cache filled by the first). Compile time is the ``compile_time`` attr (model
build and compilation; for numpyro the wall time of ``pm.sample`` minus the sampling time
it reports); min ESS/s is the smallest bulk ESS over
``weights``, ``means`` and ``covariances`` divided by the sampling time.

``--sequence`` instead times what a sweep does: 6 fits of that shape on 6 different data
sets (seeds 0-5, 2 chains x (300 tune + 300 draws)) in one process, cold (empty cache) and
then warm, reporting each fit's total, compile and sampling seconds.

Usage::

    python benchmarks/bayes_samplers.py [--samplers pymc nutpie numpyro] [--json out.json]
    python benchmarks/bayes_samplers.py --sequence [--samplers pymc]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

SAMPLERS = ("pymc", "nutpie", "numpyro")
PARAMETERS = ("weights", "means", "covariances")


def benchmark_data(seed: int = 0):
    """N=500 draws of a well-separated 2-D, 3-component mixture."""
    import numpy as np

    rng = np.random.default_rng(seed)
    means = np.array([[-4.0, 0.0], [0.0, 3.0], [4.0, -1.0]])
    labels = rng.choice(3, size=500, p=[0.3, 0.3, 0.4])
    return means[labels] + rng.standard_normal((500, 2)) @ np.array([[0.8, 0.0], [0.3, 0.6]])


def measure(sampler: str) -> dict:
    """One timed run of ``bayes.sample`` (executed inside the worker subprocess)."""
    import time

    import arviz as az

    import bayes

    start = time.perf_counter()
    tree = bayes.sample(benchmark_data(), 3, "full", sampler=sampler, draws=1000, tune=1000,
                        chains=2, cores=1, random_seed=1, posterior_predictive=False)
    total = time.perf_counter() - start
    ess = az.ess(tree, var_names=list(PARAMETERS), method="bulk")
    rhat = az.rhat(tree, var_names=list(PARAMETERS))
    sampling = tree.attrs["sampling_time"]
    min_ess = min(float(ess[name].min()) for name in PARAMETERS)
    return {
        "sampler": sampler,
        "total_s": total,
        "compile_s": tree.attrs["compile_time"],
        "sampling_s": sampling,
        "min_ess_bulk": min_ess,
        "min_ess_per_s": min_ess / sampling,
        "max_rhat": max(float(rhat[name].max()) for name in PARAMETERS),
        "divergences": int(tree["sample_stats"]["diverging"].sum()),
    }


def measure_sequence(sampler: str, n_fits: int = 6) -> dict:
    """``n_fits`` fits of one shape on different data sets in this process (a sweep's cell)."""
    import time

    import bayes

    fits = []
    for seed in range(n_fits):
        start = time.perf_counter()
        tree = bayes.sample(benchmark_data(seed), 3, "full", sampler=sampler, draws=300,
                            tune=300, chains=2, cores=1, random_seed=seed,
                            posterior_predictive=False)
        total = time.perf_counter() - start
        sampling = tree.attrs["sampling_time"]
        fits.append({"total_s": total, "sampling_s": sampling,
                     "compile_s": total - sampling - tree.attrs["init_time"]})
    return {"sampler": sampler, "fits": fits, "total_s": sum(f["total_s"] for f in fits)}


def run_worker(sampler: str, cache_dir: str, mode: str = "--worker") -> dict:
    """Measure in a subprocess whose PyTensor cache lives in ``cache_dir``."""
    root = str(Path(__file__).resolve().parents[1])
    python_path = os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), root]))
    env = dict(os.environ, PYTENSOR_FLAGS=f"base_compiledir={cache_dir}", PYTHONPATH=python_path)
    result = subprocess.run(
        [sys.executable, __file__, mode, sampler],
        env=env, capture_output=True, text=True, check=True, cwd=root,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def markdown_table(rows: list[dict]) -> str:
    """The README table: one line per sampler and cache state."""
    lines = [
        "| sampler | cache | compile (s) | sampling (s) | total (s) | min bulk ESS | "
        "min ESS/s | max R-hat | divergences |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['sampler']} | {row['cache']} | {row['compile_s']:.1f} | "
            f"{row['sampling_s']:.1f} | {row['total_s']:.1f} | {row['min_ess_bulk']:.0f} | "
            f"{row['min_ess_per_s']:.0f} | {row['max_rhat']:.3f} | {row['divergences']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samplers", nargs="+", choices=SAMPLERS, default=list(SAMPLERS))
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--sequence", action="store_true",
                        help="time 6 fits of one shape on different data, cold then warm")
    parser.add_argument("--worker", choices=SAMPLERS, help=argparse.SUPPRESS)
    parser.add_argument("--sequence-worker", choices=SAMPLERS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(measure(args.worker)))
        return
    if args.sequence_worker:
        print(json.dumps(measure_sequence(args.sequence_worker)))
        return
    rows = []
    for sampler in args.samplers:
        module = None if sampler == "pymc" else sampler
        if module and importlib.util.find_spec(module) is None:
            print(f"skipping {sampler}: not installed (pip install 'gmm-compare[{sampler}]')")
            continue
        mode = "--sequence-worker" if args.sequence else "--worker"
        with tempfile.TemporaryDirectory(prefix=f"pytensor-{sampler}-") as cache_dir:
            for cache in ("cold", "warm"):
                row = run_worker(sampler, cache_dir, mode) | {"cache": cache}
                rows.append(row)
                print(json.dumps(row), flush=True)
    if not args.sequence:
        print(markdown_table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
