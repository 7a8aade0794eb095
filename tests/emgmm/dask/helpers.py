"""Shared pieces of the Dask tests: a start every fit can begin from, and the comparison."""

import warnings

import numpy as np

from emgmm.fit import fit_em


def blob_data(n_per: int = 80, seed: int = 1) -> np.ndarray:
    """Three overlapping 2-D clusters, 3 * n_per - 1 rows (an uneven count)."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [2.5, 0.0], [0.0, 3.0]])
    scales = np.array([[1.0, 0.6], [0.7, 1.2], [0.8, 0.8]])
    return np.vstack([rng.normal(size=(n_per, 2)) * s + c for c, s in zip(centres, scales)])[:-1]


def given_start(X: np.ndarray, covariance_type: str, n_components: int = 3) -> dict:
    """weights_init, means_init and precisions_init from one in-memory EM iteration after a
    random start: far from the optimum, so that the fits below run tens of iterations."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one iteration does not converge, by design
        rough = fit_em(X, n_components, covariance_type=covariance_type, max_iter=1,
                       init_params="random", random_state=3).params
    return {"weights_init": rough.weights, "means_init": rough.means,
            "precisions_init": rough.kind.precisions_from_cholesky(rough.precisions_cholesky)}


def assert_same_params(a, b, atol: float = 1e-10) -> None:
    for name in ("weights", "means", "covariances"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=0, atol=atol, err_msg=name)
