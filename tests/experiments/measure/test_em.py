"""The ``em`` method's timing: kernels compiled by a warm-up, outside ``runtime_s``."""

from __future__ import annotations

import numpy as np

from emgmm import GaussianMixtureParams
from experiments.measure import warm_up
from experiments.measure.em import EMOptions, fit_stage, warm_up_kernels


def options(covariance_type: str = "diag") -> EMOptions:
    return EMOptions(estimator="ml", covariance_type=covariance_type,
                     fit={"tol": 1e-6, "reg_covar": 1e-6, "max_iter": 200, "n_init": 2,
                          "init_params": "kmeans"},
                     intervals=(), n_bootstrap=0, interval_prob=0.9)


def blobs(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.vstack([rng.normal(0.0, 1.0, (60, 3)), rng.normal(5.0, 1.0, (40, 3))])


def test_warm_up_runs_once_per_process_and_kind(monkeypatch):
    monkeypatch.setattr(warm_up, "WARMED", set())
    first = warm_up_kernels(2, 3, options())
    assert first > 0.0
    assert warm_up_kernels(5, 7, options()) == 0.0  # other N, D, K: same kernels
    assert warm_up_kernels(2, 3, options("full")) > 0.0


def test_warm_up_does_not_change_the_fit(monkeypatch):
    X = blobs()
    truth_means = np.array([[0.0] * 3, [5.0] * 3])
    truth = GaussianMixtureParams(np.array([0.6, 0.4]), truth_means,
                                  np.stack([np.eye(3)] * 2), "full")
    monkeypatch.setattr(warm_up, "WARMED", set())
    cold = fit_stage(X, truth, 2, options(), seed=5)
    warm = fit_stage(X, truth, 2, options(), seed=5)
    assert cold.compile_time > 0.0 and warm.compile_time == 0.0
    np.testing.assert_array_equal(cold.aligned.means, warm.aligned.means)
    np.testing.assert_array_equal(cold.responsibilities, warm.responsibilities)
    np.testing.assert_array_equal(cold.result.log_likelihood_history,
                                  warm.result.log_likelihood_history)
