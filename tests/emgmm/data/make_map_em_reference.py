"""Write ``map_em_reference.npz``: outputs of the former ``emgmm.map_em.fit_map_em``.

Run once from a checkout of the commit before MAP-EM moved into ``emgmm.fit.fit_em``
(``PYTHONPATH=<that checkout> python tests/emgmm/data/make_map_em_reference.py``); the
test ``tests/emgmm/test_map_em.py`` checks that ``fit_em(..., prior=...)`` reproduces
every array. Cases: the two calls of ``experiments/map_fit.py`` (``map_fit``: k-means
start, tol 1e-6, reg_covar 1e-6; ``map_refit``: warm start, tol 1e-8, reg_covar 0), for each
covariance type, plus a run stopped by ``max_iter``.
"""

from pathlib import Path

import numpy as np

from emgmm.map_prior import default_conjugate_prior


def problem(seed: int, n: int = 300) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([
        rng.multivariate_normal([0, 0, 0], np.eye(3), n // 2),
        rng.multivariate_normal([3, 1, -1], [[0.5, -0.2, 0.0], [-0.2, 0.6, 0.1], [0.0, 0.1, 0.4]], n // 3),
        rng.multivariate_normal([-2, 3, 1], 0.3 * np.eye(3), n - n // 2 - n // 3),
    ])


CASES = {
    # name: (seed, covariance_type, fit keyword arguments)
    **{f"fit_{ct}": (1, ct, dict(init_params="kmeans", random_state=7, tol=1e-6,
                                 max_iter=100, reg_covar=1e-6))
       for ct in ("full", "tied", "diag", "spherical")},
    **{f"refit_{ct}": (2, ct, dict(init_params="random_from_data", random_state=3, tol=1e-8,
                                   max_iter=500, reg_covar=0.0))
       for ct in ("full", "tied", "diag", "spherical")},
    "max_iter_full": (3, "full", dict(init_params="random_from_data", random_state=0, tol=1e-12,
                                      max_iter=5, reg_covar=1e-6)),
}


def main() -> None:
    # Only in the old checkout: the test imports CASES and problem() from this module.
    from emgmm.map_em import fit_map_em

    arrays = {}
    for name, (seed, covariance_type, kwargs) in CASES.items():
        X = problem(seed)
        prior = default_conjugate_prior(X, 3, covariance_type)
        result = fit_map_em(X, 3, prior, covariance_type=covariance_type, **kwargs)
        arrays[f"{name}/weights"] = result.params.weights
        arrays[f"{name}/means"] = result.params.means
        arrays[f"{name}/covariances"] = result.params.covariances
        arrays[f"{name}/objective_history"] = result.objective_history
        arrays[f"{name}/log_likelihood"] = np.float64(result.log_likelihood)
        arrays[f"{name}/log_prior"] = np.float64(result.log_prior)
        arrays[f"{name}/n_iter"] = np.int64(result.n_iter)
        arrays[f"{name}/converged"] = np.bool_(result.converged)
    np.savez(Path(__file__).with_name("map_em_reference.npz"), **arrays)


if __name__ == "__main__":
    main()
