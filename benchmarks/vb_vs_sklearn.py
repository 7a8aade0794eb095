"""Seconds per variational Bayes iteration: emgmm against scikit-learn's BayesianGaussianMixture.

    python benchmarks/vb_vs_sklearn.py                     # N = 10^6, D = 10, K = 10, full
    python benchmarks/vb_vs_sklearn.py --n-samples 100000  # smaller, to check the script

Both start from the same responsibilities (scikit-learn's ``init_params="random"`` draw)
under the same (default) prior. scikit-learn's iteration is timed as its own loop body,
``_e_step``, ``_m_step`` and ``_compute_lower_bound`` (what ``fit`` repeats), emgmm's as
one :func:`emgmm.variational.vb_iteration` on the fast engine. Iterations of the two
alternate in one process with a short pause before each (idle OpenBLAS threads spin for a
while), so both see the same machine load; the ratio of the median seconds is printed,
with the largest relative difference of the two lower-bound trajectories. The data are
those of ``benchmarks/em_vs_sklearn.py``. Threads and BLAS are left as the environment
sets them.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from em_vs_sklearn import mixture_data

PAUSE_SECONDS = 2.0


def random_responsibilities(n_samples: int, n_components: int, seed: int = 0) -> np.ndarray:
    """scikit-learn's ``init_params="random"`` responsibilities of its first start."""
    resp = np.random.RandomState(seed).uniform(size=(n_samples, n_components))
    return resp / resp.sum(axis=1, keepdims=True)


def sklearn_stepper(X, resp, covariance_type: str):
    """One call = one iteration of scikit-learn's loop body; returns its lower bound."""
    from sklearn.mixture import BayesianGaussianMixture

    model = BayesianGaussianMixture(n_components=resp.shape[1], covariance_type=covariance_type)
    model._check_parameters(X)
    model._initialize(X, resp)

    def step() -> float:
        log_prob_norm, log_resp = model._e_step(X)
        model._m_step(X, log_resp)
        return float(np.ravel(model._compute_lower_bound(log_resp, log_prob_norm))[0])

    return step


def emgmm_stepper(X, resp, covariance_type: str):
    """One call = one :func:`emgmm.variational.vb_iteration` (fast engine)."""
    from emgmm.variational import (
        default_variational_prior,
        posterior_from_responsibilities,
        vb_iteration,
    )

    prior = default_variational_prior(X, resp.shape[1], covariance_type)
    state = {"posterior": posterior_from_responsibilities(X, resp, prior, 1e-6)}

    def step() -> float:
        bound, state["posterior"] = vb_iteration(X, state["posterior"], 1e-6, prior=prior, engine="fast")
        return bound

    return step


def side_by_side(X, resp, covariance_type: str, n_iter: int, pause: float) -> dict:
    """Alternating iterations of both; ``{name: (seconds, bounds)}``."""
    steps = {"sklearn": sklearn_stepper(X, resp, covariance_type),
             "emgmm": emgmm_stepper(X, resp, covariance_type)}
    out = {name: ([], []) for name in steps}
    for iteration in range(n_iter):
        order = list(steps) if iteration % 2 == 0 else list(steps)[::-1]
        for name in order:
            time.sleep(pause)
            start = time.perf_counter()
            bound = steps[name]()
            out[name][0].append(time.perf_counter() - start)
            out[name][1].append(bound)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=1_000_000)
    parser.add_argument("--n-features", type=int, default=10)
    parser.add_argument("--n-components", type=int, default=10)
    parser.add_argument("--covariance-type", default="full")
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--pause", type=float, default=PAUSE_SECONDS)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    print(f"python {platform.python_version()}, {os.cpu_count()} cpus, load {os.getloadavg()}")
    X = mixture_data(args.n_samples, args.n_features, args.n_components)
    resp = random_responsibilities(args.n_samples, args.n_components)
    # Compile (or load) the numba kernels before timing.
    emgmm_stepper(X[:2000], resp[:2000] / resp[:2000].sum(1, keepdims=True), args.covariance_type)()
    out = side_by_side(X, resp, args.covariance_type, args.iterations, args.pause)
    seconds = {name: float(np.median(times)) for name, (times, _) in out.items()}
    ours, theirs = (np.asarray(out[name][1]) for name in ("emgmm", "sklearn"))
    difference = float(np.max(np.abs(ours - theirs) / np.abs(theirs)))
    print(f"N={args.n_samples} D={args.n_features} K={args.n_components} {args.covariance_type}: "
          f"seconds per iteration (median of {args.iterations}) sklearn {seconds['sklearn']:.3f}, "
          f"emgmm {seconds['emgmm']:.3f}; ratio {seconds['sklearn'] / seconds['emgmm']:.1f}x; "
          f"largest relative difference of the lower bounds {difference:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
