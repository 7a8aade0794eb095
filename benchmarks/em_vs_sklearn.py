"""Seconds per EM iteration: emgmm's fused iteration against scikit-learn's GaussianMixture.

    python benchmarks/em_vs_sklearn.py            # the full table (a few minutes)
    python benchmarks/em_vs_sklearn.py --quick    # smaller sizes, to check the script
    python benchmarks/em_vs_sklearn.py --whole-fit  # only the whole default fit against sklearn's
    python benchmarks/em_vs_sklearn.py --small      # only fits on 500 rows (Python overhead)

Both engines start from the same parameters on the same data. scikit-learn's iteration is
timed as its own loop body, ``_e_step`` then ``_m_step`` (what ``fit`` repeats), after
``_initialize`` has loaded the ``*_init`` arrays. Timings interleave the two engines'
iterations in one process, so that both see the same load on a shared machine, with a
short pause before each timed iteration (idle OpenBLAS threads spin for a while). Memory is
measured with one engine per fresh subprocess: the peak resident memory (``VmHWM``, reset
just before the first iteration, so that data generation and kernel compilation do not
count) minus the resident size before the first iteration (data already in memory) is the
"extra" memory of the fit. The mean log-likelihood trajectories of the two engines are
compared iteration by iteration (at the timed sizes, and over 20 iterations on smaller
data). Threads and BLAS are left as the environment sets them (``OPENBLAS_*`` included).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import warnings

import numpy as np

BIG = [("full", 1_000_000, 10, 10), ("diag", 1_000_000, 10, 10), ("full", 200_000, 50, 5)]
TRAJECTORY = [("full", 100_000, 10, 10), ("diag", 100_000, 10, 10), ("full", 50_000, 50, 5),
              ("tied", 50_000, 5, 4), ("spherical", 50_000, 5, 4)]
SCALING = [100_000, 1_000_000, 10_000_000]
QUICK_FACTOR = 20
PAUSE_SECONDS = 2.0


# --- data and start ------------------------------------------------------------------------


def mixture_data(n_samples: int, n_features: int, n_components: int, seed: int = 0) -> np.ndarray:
    """Rows of a random Gaussian mixture, written chunk by chunk into one array (no copies)."""
    rng = np.random.default_rng(seed)
    centres = 4.0 * rng.standard_normal((n_components, n_features))
    factors = rng.standard_normal((n_components, n_features, n_features)) / np.sqrt(n_features)
    factors += np.eye(n_features)
    weights = rng.dirichlet(np.full(n_components, 5.0))
    X = np.empty((n_samples, n_features))
    for start in range(0, n_samples, 100_000):
        rows = X[start:start + 100_000]
        labels = rng.choice(n_components, size=rows.shape[0], p=weights)
        noise = rng.standard_normal(rows.shape)
        rows[:] = centres[labels] + np.einsum("nd,nde->ne", noise, factors[labels])
    return X


def start_params(X: np.ndarray, n_components: int, covariance_type: str, seed: int = 1):
    """Equal weights, random rows as means, the covariance of the first 10^4 rows."""
    from emgmm.params import GaussianMixtureParams

    rng = np.random.default_rng(seed)
    head = X[:10_000]
    means = X[rng.choice(head.shape[0], n_components, replace=False)]
    covariance = np.cov(head, rowvar=False).reshape(X.shape[1], X.shape[1])
    covariances = {
        "full": np.repeat(covariance[None], n_components, axis=0),
        "tied": covariance,
        "diag": np.repeat(np.diag(covariance)[None], n_components, axis=0),
        "spherical": np.full(n_components, np.diag(covariance).mean()),
    }[covariance_type]
    return GaussianMixtureParams(np.full(n_components, 1.0 / n_components), means, covariances,
                                 covariance_type)


# --- the two engines -------------------------------------------------------------------------


def sklearn_stepper(X, start, reg_covar: float = 1e-6):
    """One call = one iteration of scikit-learn's EM loop body; returns the mean log-likelihood."""
    from sklearn.mixture import GaussianMixture

    precisions = (np.linalg.inv(start.covariances) if start.covariance_type in ("full", "tied")
                  else 1.0 / start.covariances)
    model = GaussianMixture(
        start.n_components, covariance_type=start.covariance_type, reg_covar=reg_covar,
        weights_init=start.weights, means_init=start.means, precisions_init=precisions,
    )
    model._initialize(X, None)

    def step() -> float:
        log_prob_norm, log_resp = model._e_step(X)
        model._m_step(X, log_resp)
        return float(log_prob_norm)

    return step


def emgmm_stepper(X, start, reg_covar: float = 1e-6):
    """One call = one :func:`emgmm.fast.fused_em_iteration`; returns the mean log-likelihood."""
    from emgmm.fast import fused_em_iteration

    state = {"params": start}

    def step() -> float:
        log_likelihood, state["params"] = fused_em_iteration(X, state["params"], reg_covar)
        return log_likelihood

    return step


STEPPERS = {"sklearn": sklearn_stepper, "emgmm": emgmm_stepper}


def side_by_side(X, start, engines, n_iter: int, pause: float = 0.0) -> dict:
    """Iterations of the engines interleaved (alternating which goes first), so that both see
    the same machine load; ``{engine: {"seconds": [...], "history": [...]}}``."""
    steps = {name: STEPPERS[name](X, start) for name in engines}
    out = {name: {"seconds": [], "history": []} for name in engines}
    for iteration in range(n_iter):
        order = list(engines) if iteration % 2 == 0 else list(reversed(engines))
        for name in order:
            # Let the BLAS threads of the previous engine stop spinning (OpenBLAS keeps its
            # idle threads busy-waiting for a while after each call) before timing the next.
            time.sleep(pause)
            tic = time.perf_counter()
            log_likelihood = steps[name]()
            out[name]["seconds"].append(time.perf_counter() - tic)
            out[name]["history"].append(log_likelihood)
    return out


def _status_bytes(field: str) -> int:
    """``VmRSS`` (resident now) or ``VmHWM`` (peak resident) of this process, in bytes."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith(field + ":"))
    return int(line.split()[1]) * 1024


def _reset_peak_memory() -> None:
    # Writing 5 to clear_refs resets VmHWM (Linux >= 4.0): the peak then covers only what follows.
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def run_job(engines: list, covariance_type: str, n_samples: int, n_features: int,
            n_components: int, n_iter: int) -> dict:
    """The engines on one size, in this process: timings, log-likelihoods and peak memory
    (meaningful for one engine at a time)."""
    X = mixture_data(n_samples, n_features, n_components)
    start = start_params(X, n_components, covariance_type)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # One untimed iteration on the full data (imports, kernel compilation or cache load,
        # scikit-learn's first BLAS calls), as the first iteration of a real fit would be.
        side_by_side(X, start, engines, 1)
    _reset_peak_memory()
    before = _status_bytes("VmRSS")
    pause = PAUSE_SECONDS if len(engines) > 1 else 0.0
    runs = side_by_side(X, start, engines, n_iter, pause=pause)
    peak = _status_bytes("VmHWM")
    return {"runs": runs, "peak_bytes": peak, "extra_bytes": peak - before, "data_bytes": X.nbytes}


def fit_job(n_samples: int, n_features: int, n_components: int) -> dict:
    """A whole default ``GaussianMixtureEM`` fit (start, EM, final labels) in this process:
    seconds and peak memory, as :func:`run_job` measures them."""
    from emgmm import GaussianMixtureEM

    X = mixture_data(n_samples, n_features, n_components)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        GaussianMixtureEM(n_components, max_iter=1).fit(X[:5000])  # kernel compilation or cache load
    _reset_peak_memory()
    before = _status_bytes("VmRSS")
    tic = time.perf_counter()
    model = GaussianMixtureEM(n_components, random_state=0).fit(X)
    seconds = time.perf_counter() - tic
    peak = _status_bytes("VmHWM")
    return {"seconds": seconds, "n_iter": model.n_iter_, "peak_bytes": peak,
            "extra_bytes": peak - before, "data_bytes": X.nbytes}


def in_subprocess(**job) -> dict:
    """:func:`run_job` in a fresh interpreter, so that its peak memory is its own."""
    command = [sys.executable, __file__, "--job", json.dumps(job)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark job {job} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- report ----------------------------------------------------------------------------------


def _mb(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:,.0f}"


def machine_description() -> str:
    env = " ".join(f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("OPENBLAS"))
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import numba
    import sklearn
    return (f"{cpu}, {len(os.sched_getaffinity(0))} cores available, {memory:.0f} GiB; "
            f"numpy {np.__version__}, scikit-learn {sklearn.__version__}, numba {numba.__version__}; "
            f"{env or 'no OPENBLAS_* variables'}")


def speed_table(sizes, n_iter: int) -> None:
    print(f"\n## Seconds per iteration, median of {n_iter} interleaved iterations, same data and start")
    print("| covariance | N | D | K | sklearn s/it | emgmm s/it | speed-up | sklearn peak extra MB "
          "| emgmm peak extra MB | data MB | max abs diff of mean log-lik |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for covariance_type, n, d, k in sizes:
        size = dict(covariance_type=covariance_type, n_samples=n, n_features=d, n_components=k)
        both = in_subprocess(engines=["sklearn", "emgmm"], n_iter=n_iter, **size)
        memory = {name: in_subprocess(engines=[name], n_iter=1, **size)
                  for name in ("sklearn", "emgmm")}
        ours, theirs = both["runs"]["emgmm"], both["runs"]["sklearn"]
        diff = np.max(np.abs(np.subtract(ours["history"], theirs["history"])))
        t_ours, t_theirs = np.median(ours["seconds"]), np.median(theirs["seconds"])
        print(f"| {covariance_type} | {n:,} | {d} | {k} | {t_theirs:.3f} | {t_ours:.3f} | "
              f"{t_theirs / t_ours:.1f}x | {_mb(memory['sklearn']['extra_bytes'])} | "
              f"{_mb(memory['emgmm']['extra_bytes'])} | {_mb(both['data_bytes'])} | {diff:.1e} |",
              flush=True)


def trajectory_table(sizes, n_iter: int = 20) -> None:
    print(f"\n## Mean log-likelihood trajectories over {n_iter} iterations from the same start")
    print("| covariance | N | D | K | max abs diff per sample | final mean log-lik |")
    print("|---|---|---|---|---|---|")
    for covariance_type, n, d, k in sizes:
        X = mixture_data(n, d, k)
        runs = side_by_side(X, start_params(X, k, covariance_type), ["sklearn", "emgmm"], n_iter)
        ours, theirs = runs["emgmm"]["history"], runs["sklearn"]["history"]
        diff = np.max(np.abs(np.subtract(ours, theirs)))
        print(f"| {covariance_type} | {n:,} | {d} | {k} | {diff:.1e} | {ours[-1]:.6f} |", flush=True)


def scaling_table(sample_sizes, n_iter: int = 3) -> None:
    print("\n## emgmm, full, D=10, K=10: cost and memory against N")
    print("| N | s/it | s/it per 10^6 rows | data MB | peak RSS MB | peak / data | extra MB |")
    print("|---|---|---|---|---|---|---|")
    for n in sample_sizes:
        job = in_subprocess(engines=["emgmm"], covariance_type="full", n_samples=n, n_features=10,
                            n_components=10, n_iter=n_iter)
        seconds = np.median(job["runs"]["emgmm"]["seconds"])
        print(f"| {n:,} | {seconds:.3f} | {seconds / n * 1e6:.3f} | {_mb(job['data_bytes'])} | "
              f"{_mb(job['peak_bytes'])} | {job['peak_bytes'] / job['data_bytes']:.2f} | "
              f"{_mb(job['extra_bytes'])} |", flush=True)
    n = sample_sizes[-1]
    job = in_subprocess(fit={"n_samples": n, "n_features": 10, "n_components": 10})
    print(f"\nWhole default fit (starts, EM) at N={n:,}: {job['seconds']:.1f} s, "
          f"{job['n_iter']} iterations, peak RSS {_mb(job['peak_bytes'])} MB = "
          f"{job['peak_bytes'] / job['data_bytes']:.2f} x data, extra {_mb(job['extra_bytes'])} MB "
          f"= {job['extra_bytes'] / job['data_bytes']:.2f} x data", flush=True)


def whole_fit(n_samples: int = 1_000_000, n_features: int = 10, n_components: int = 10,
              repeats: int = 3) -> None:
    """Whole fits (start, EM), full: scikit-learn's defaults, emgmm with its defaults
    (``init_params="auto"``: hierarchical + k-means++ + k-means starts screened on a
    subsample, tol 1e-7) and emgmm with scikit-learn's settings (k-means start, tol 1e-3),
    ``repeats`` rounds interleaved in this run (each round in the order above, after a pause);
    the speed-ups are the median of scikit-learn's seconds over the median of each row's.
    The load average is printed with the table: on a shared machine it changes the timings
    (scikit-learn's BLAS threads slow down most under load)."""
    from sklearn.mixture import GaussianMixture

    from emgmm import GaussianMixtureEM

    X = mixture_data(n_samples, n_features, n_components)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of the one-iteration warm-up
        GaussianMixtureEM(n_components, max_iter=1).fit(X[:5000])  # kernel compilation or cache load
    makers = {
        "sklearn GaussianMixture (defaults: kmeans, tol 1e-3)":
            lambda: GaussianMixture(n_components, random_state=0),
        "emgmm GaussianMixtureEM (defaults: auto, tol 1e-7)":
            lambda: GaussianMixtureEM(n_components, random_state=0),
        "emgmm GaussianMixtureEM (kmeans, tol 1e-3)":
            lambda: GaussianMixtureEM(n_components, init_params="kmeans", tol=1e-3, random_state=0),
    }
    seconds = {name: [] for name in makers}
    fitted = {}
    load_before = os.getloadavg()
    for _ in range(repeats):
        for name, make in makers.items():
            model = make()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                time.sleep(PAUSE_SECONDS)
                tic = time.perf_counter()
                model.fit(X)
                seconds[name].append(time.perf_counter() - tic)
            fitted[name] = model
    load_after = os.getloadavg()
    print(f"\n## Whole fit, full, N={n_samples:,}, D={n_features}, K={n_components}, median of "
          f"{repeats} interleaved rounds (load average {load_before[0]:.2f} before, "
          f"{load_after[0]:.2f} after)")
    print("| estimator | median seconds | each round | speed-up vs sklearn | iterations "
          "| final mean log-lik |")
    print("|---|---|---|---|---|---|")
    reference = float(np.median(seconds[next(iter(makers))]))
    for name, model in fitted.items():
        median = float(np.median(seconds[name]))
        rounds = ", ".join(f"{t:.2f}" for t in seconds[name])
        print(f"| {name} | {median:.2f} | {rounds} | {reference / median:.1f}x | {model.n_iter_} | "
              f"{model.lower_bound_:.7f} |", flush=True)


def small_problem(repeats: int = 50) -> None:
    """N=500, D=2, K=3, full: whole fits to convergence after a warm-up."""
    from sklearn.mixture import GaussianMixture

    from emgmm.fast import fused_em_iteration
    from emgmm.fit import fit_em

    X = mixture_data(500, 2, 3, seed=3)
    start = start_params(X, 3, "full")
    print("\n## Small problem: N=500, D=2, K=3, full, fit to convergence (tol=1e-3), after warm-up")

    def bare_loop():
        params, previous = start, -np.inf
        for n_iter in range(1, 101):
            log_likelihood, params = fused_em_iteration(X, params, 1e-6)
            if abs(log_likelihood - previous) < 1e-3:
                return n_iter
            previous = log_likelihood
        return n_iter

    precisions = np.linalg.inv(start.covariances)
    runs = {
        "emgmm.fast.fused_em_iteration loop": bare_loop,
        "emgmm.fit_em(engine='fast')": lambda: fit_em(X, 3, start=start, engine="fast").n_iter,
        "emgmm.fit_em(engine='reference')": lambda: fit_em(X, 3, start=start, engine="reference").n_iter,
        "sklearn GaussianMixture.fit": lambda: GaussianMixture(
            3, weights_init=start.weights, means_init=start.means, precisions_init=precisions,
        ).fit(X).n_iter_,
    }
    iterations = {name: run() for name, run in runs.items()}  # warm-up
    times = {name: [] for name in runs}
    for _ in range(repeats):  # interleaved rounds: every run sees the same load
        for name, run in runs.items():
            tic = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - tic)
    reference = float(np.median(times["sklearn GaussianMixture.fit"]))
    print(f"(load average {os.getloadavg()[0]:.2f})")
    print("| run | iterations | median ms | min ms | speed-up vs sklearn |")
    print("|---|---|---|---|---|")
    for name, seconds in times.items():
        median = float(np.median(seconds))
        print(f"| {name} | {iterations[name]} | {1e3 * median:.2f} | "
              f"{1e3 * np.min(seconds):.2f} | {reference / median:.1f}x |", flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"sizes divided by {QUICK_FACTOR}")
    parser.add_argument("--whole-fit", action="store_true",
                        help="only the whole-fit table (N = 10^6 unless --quick)")
    parser.add_argument("--small", action="store_true",
                        help="only the small-problem table (N = 500, D = 2, K = 3)")
    parser.add_argument("--job", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.job:
        job = json.loads(args.job)
        print(json.dumps(fit_job(**job["fit"]) if "fit" in job else run_job(**job)))
        return
    scale = QUICK_FACTOR if args.quick else 1
    shrink = lambda sizes: [(c, n // scale, d, k) for c, n, d, k in sizes]  # noqa: E731
    tic = time.perf_counter()
    if args.whole_fit:
        print(machine_description())
        whole_fit(1_000_000 // scale)
        return
    if args.small:
        print(machine_description())
        small_problem()
        return
    print(f"# EM speed: emgmm vs scikit-learn\n\n{machine_description()}")
    speed_table(shrink(BIG), n_iter=5)
    trajectory_table(shrink(TRAJECTORY))
    scaling_table([n // scale for n in SCALING])
    whole_fit(1_000_000 // scale)
    small_problem()
    print(f"\ntotal benchmark time {time.perf_counter() - tic:.0f} s")


if __name__ == "__main__":
    main()
