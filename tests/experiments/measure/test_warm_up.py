"""Kernels compiled once per process before the timed fits (experiments.measure.warm_up)."""

from __future__ import annotations

import numpy as np

from experiments.config import parse_config
from experiments.measure import warm_up
from experiments.measure.sbc import build_sbc_tasks, warm_up_sbc
from experiments.measure.vb import fit_vb_model, vb_options, warm_up_vb


def test_warm_up_once_runs_each_key_once_per_process(monkeypatch):
    monkeypatch.setattr(warm_up, "WARMED", set())
    shapes = []
    assert warm_up.warm_up_once("a", lambda X: shapes.append(X.shape), 3, 2) > 0.0
    assert warm_up.warm_up_once("a", lambda X: shapes.append(X.shape), 3, 2) == 0.0
    warm_up.warm_up_once("b", lambda X: shapes.append(X.shape), 2, 1)
    assert shapes == [(36, 2), (16, 1)]  # 4 K (D + 1) rows


def test_tiny_mixture_is_fixed_and_separated():
    X = warm_up.tiny_mixture(2, 3)
    np.testing.assert_array_equal(X, warm_up.tiny_mixture(2, 3))
    assert X.shape == (32, 3) and np.ptp(X[:, 0]) > 8.0


def test_a_failed_warm_up_is_tried_again(monkeypatch):
    monkeypatch.setattr(warm_up, "WARMED", set())

    def fails(X):
        raise RuntimeError("no kernel")

    for _ in range(2):
        try:
            warm_up.warm_up_once("c", fails, 2, 2)
        except RuntimeError:
            pass
    assert "c" not in warm_up.WARMED


CONFIG = {
    "experiment": {"name": "warm", "seed": 5, "replicates": 1, "methods": ["em", "vb"]},
    "data": {"n_samples": 80, "n_features": 2, "n_components": 2, "overlap": 0.001},
    "sbc": {"enabled": True, "n_simulations": 2},
}


def test_vb_warm_up_compiles_before_the_timed_fit_and_changes_no_result(monkeypatch):
    options = vb_options(parse_config(CONFIG))
    X = np.random.default_rng(3).normal(size=(80, 2)) + np.repeat([[0.0, 0.0], [6.0, 6.0]],
                                                                   40, axis=0)
    before = fit_vb_model(X, 2, options.covariance_type, options.fit, 7)
    monkeypatch.setattr(warm_up, "WARMED", set())
    assert warm_up_vb(options) > 0.0
    assert warm_up_vb(options) == 0.0
    after = fit_vb_model(X, 2, options.covariance_type, options.fit, 7)
    np.testing.assert_array_equal(before.lower_bounds_, after.lower_bounds_)


def test_sbc_warm_up_fits_the_simulations_shape_once(monkeypatch, tmp_path):
    task = build_sbc_tasks(parse_config(CONFIG), tmp_path)[0]
    fitted = []
    monkeypatch.setattr(warm_up, "WARMED", set())
    monkeypatch.setattr("experiments.measure.sbc.fit_em_solution",
                        lambda X, k, covariance_type, seed: fitted.append(
                            (X.shape[1], k, covariance_type, seed)))
    warm_up_sbc(task)
    warm_up_sbc(task)
    s = task.settings
    assert fitted == [(s.n_features, s.n_components, s.covariance_type, 0)]
