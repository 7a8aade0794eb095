"""The one M-step from sufficient statistics: responsibilities, hard labels, weights."""

import numpy as np
import pytest

from emgmm import COVARIANCE_TYPES
from emgmm.init import gaussian_parameters_from_labels, one_hot
from emgmm.statistics import (
    EMPTY_COMPONENT_GUARD,
    mixture_weights,
    params_from_statistics,
    statistics_from_labels,
    statistics_from_responsibilities,
)
from emgmm.steps import estimate_gaussian_parameters


def naive_m_step(X, resp, covariance_type, reg_covar):
    """The M-step written out per component with numpy (the pre-registry reference path)."""
    nk = resp.sum(axis=0) + EMPTY_COMPONENT_GUARD
    means = resp.T @ X / nk[:, None]
    scatter = np.stack([(resp[:, k] * (X - means[k]).T) @ (X - means[k]) for k in range(len(nk))])
    eye = np.eye(X.shape[1])
    covariances = {
        "full": scatter / nk[:, None, None] + reg_covar * eye,
        "tied": scatter.sum(axis=0) / nk.sum() + reg_covar * eye,
        "diag": np.diagonal(scatter, axis1=1, axis2=2) / nk[:, None] + reg_covar,
        "spherical": (np.diagonal(scatter, axis1=1, axis2=2) / nk[:, None] + reg_covar).mean(axis=1),
    }[covariance_type]
    return nk / nk.sum(), means, covariances


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_m_step_from_responsibility_statistics_equals_the_naive_m_step(covariance_type):
    rng = np.random.default_rng(7)
    X = 20.0 + rng.normal(size=(400, 3)) * [1.0, 3.0, 0.2]
    resp = rng.dirichlet(np.ones(4), size=400)
    stats = statistics_from_responsibilities(X, resp, covariance_type)
    # The shift is the new means: the first moments about it vanish to rounding.
    np.testing.assert_allclose(stats.first_moments, 0.0, atol=1e-9)
    params = params_from_statistics(stats, 1e-6)
    weights, means, covariances = naive_m_step(X, resp, covariance_type, 1e-6)
    np.testing.assert_allclose(params.weights, weights, rtol=1e-12)
    np.testing.assert_allclose(params.means, means, rtol=1e-12)
    np.testing.assert_allclose(params.covariances, covariances, rtol=1e-12)


def test_mixture_weights_are_counts_over_n_and_the_dirichlet_mode():
    counts = np.array([10.0, 30.0, 60.0])
    np.testing.assert_array_equal(mixture_weights(counts), counts / counts.sum())
    np.testing.assert_allclose(mixture_weights(counts, np.array([3.0, 1.0, 1.0])), [12 / 102, 30 / 102, 60 / 102])


def test_labels_statistics_are_those_of_one_hot_responsibilities():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(200, 2))
    labels = rng.integers(0, 3, size=200)
    from_labels = statistics_from_labels(X, labels, 3, "full", chunk_rows=16)
    from_resp = statistics_from_responsibilities(X, one_hot(labels, 3), "full")
    np.testing.assert_array_equal(from_labels.counts, from_resp.counts)
    np.testing.assert_allclose(from_labels.means, from_resp.means, rtol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_m_step_from_labels_equals_the_one_hot_reference_m_step(covariance_type):
    rng = np.random.default_rng(6)
    X = 50.0 + rng.normal(size=(1000, 3)) * [1.0, 2.0, 0.5]
    labels = rng.integers(0, 3, size=1000)  # label 3 of 4 stays empty
    # chunk_rows=64: several chunks, partial last one
    params = gaussian_parameters_from_labels(X, labels, 4, covariance_type, 1e-6, chunk_rows=64)
    nk, means, covariances = estimate_gaussian_parameters(X, one_hot(labels, 4), covariance_type, 1e-6)
    np.testing.assert_allclose(params.weights, nk / nk.sum(), rtol=1e-12)
    np.testing.assert_allclose(params.means, means, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(params.covariances, covariances, rtol=1e-10, atol=1e-12)
