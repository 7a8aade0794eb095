"""The covariance-type registry against independent computations (numpy, scipy, counting)."""

import numpy as np
import pytest
from scipy import linalg

from emgmm import COVARIANCE_TYPES as EXPORTED_TYPES
from emgmm.covariance_types import (
    COVARIANCE_TYPES,
    CovarianceType,
    add_to_diagonal,
    covariance_type,
)

K, D = 3, 4


def random_covariances(name, rng, n_components=K, n_features=D):
    """Well-conditioned covariances in the layout of ``name``, built without the registry."""
    def spd():
        a = rng.normal(size=(n_features, n_features))
        return a @ a.T + n_features * np.eye(n_features)

    return {
        "full": lambda: np.stack([spd() for _ in range(n_components)]),
        "tied": spd,
        "diag": lambda: rng.uniform(0.5, 3.0, size=(n_components, n_features)),
        "spherical": lambda: rng.uniform(0.5, 3.0, size=n_components),
    }[name]()


def dense(name, covariances, n_components=K, n_features=D):
    """Full (K, D, D) matrices by hand, per type."""
    if name == "full":
        return covariances
    if name == "tied":
        return np.stack([covariances] * n_components)
    if name == "diag":
        return np.stack([np.diag(c) for c in covariances])
    return np.stack([c * np.eye(n_features) for c in covariances])


def test_the_registry_lists_the_four_types_once():
    assert COVARIANCE_TYPES == ("full", "tied", "diag", "spherical")
    assert EXPORTED_TYPES is COVARIANCE_TYPES
    for name in COVARIANCE_TYPES:
        kind = covariance_type(name)
        assert isinstance(kind, CovarianceType) and kind.name == name


@pytest.mark.parametrize("name", ["", "Full", "diagonal", None])
def test_unknown_name_raises_with_the_valid_names(name):
    with pytest.raises(ValueError, match="must be one of .*'full', 'tied', 'diag', 'spherical'"):
        covariance_type(name)


@pytest.mark.parametrize("name", COVARIANCE_TYPES)
@pytest.mark.parametrize(("n_components", "n_features"), [(1, 1), (3, 2), (4, 5)])
def test_parameter_count_is_the_number_of_free_entries(name, n_components, n_features):
    """Count distinct free entries of the dense matrices: symmetric entries once, shared once."""
    rng = np.random.default_rng(0)
    covariances = random_covariances(name, rng, n_components, n_features)
    full = dense(name, covariances, n_components, n_features)
    upper = np.triu_indices(n_features)
    # The free entries: for each stored (distinct) covariance its upper triangle if it is a
    # matrix, its diagonal if it is diagonal, one number if it is isotropic.
    stored = full[:1] if name == "tied" else full
    per_matrix = {"full": len(upper[0]), "tied": len(upper[0]), "diag": n_features, "spherical": 1}[name]
    assert covariance_type(name).n_parameters(n_components, n_features) == len(stored) * per_matrix
    assert covariance_type(name).shape(n_components, n_features) == covariances.shape


@pytest.mark.parametrize("name", COVARIANCE_TYPES)
def test_to_full_matches_the_dense_matrices(name):
    rng = np.random.default_rng(1)
    covariances = random_covariances(name, rng)
    np.testing.assert_array_equal(covariance_type(name).to_full(covariances, K, D), dense(name, covariances))


@pytest.mark.parametrize("name", COVARIANCE_TYPES)
def test_precision_cholesky_against_numpy_inverse(name):
    """U U^T = Sigma^{-1} (numpy inverse), U upper triangular; and back again."""
    rng = np.random.default_rng(2)
    kind = covariance_type(name)
    covariances = random_covariances(name, rng)
    factors = kind.precision_cholesky(covariances)
    assert factors.shape == covariances.shape
    full_factors = kind.to_full(factors, K, D)
    for upper, sigma in zip(full_factors, dense(name, covariances)):
        np.testing.assert_allclose(upper @ upper.T, np.linalg.inv(sigma), rtol=1e-10, atol=1e-12)
        np.testing.assert_array_equal(upper, np.triu(upper))
    np.testing.assert_allclose(kind.covariances_from_precision_cholesky(factors), covariances, rtol=1e-10)
    precisions = kind.precisions_from_cholesky(factors)
    np.testing.assert_allclose(kind.to_full(precisions, K, D), np.linalg.inv(dense(name, covariances)),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(kind.covariances_from_precisions(precisions), covariances, rtol=1e-10)


@pytest.mark.parametrize("name", COVARIANCE_TYPES)
def test_log_det_of_the_precision_factor_against_scipy(name):
    rng = np.random.default_rng(3)
    kind = covariance_type(name)
    covariances = random_covariances(name, rng)
    log_det = kind.log_det_precision_cholesky(kind.precision_cholesky(covariances), K, D)
    expected = [-0.5 * np.linalg.slogdet(sigma)[1] for sigma in dense(name, covariances)]
    np.testing.assert_allclose(log_det, expected, rtol=1e-12)


@pytest.mark.parametrize("name", COVARIANCE_TYPES)
def test_not_positive_definite_raises_one_line(name):
    kind = covariance_type(name)
    covariances = random_covariances(name, np.random.default_rng(4))
    broken = -covariances if not kind.matrix else covariances - 100.0 * np.eye(D)
    with pytest.raises(ValueError, match="positive"):
        kind.precision_cholesky(broken)


@pytest.mark.parametrize("name", COVARIANCE_TYPES)
def test_smallest_variance_is_the_smallest_cholesky_pivot(name):
    kind = covariance_type(name)
    covariances = random_covariances(name, np.random.default_rng(5))
    stored = dense(name, covariances)[:1] if kind.shared else dense(name, covariances)
    expected = [np.min(np.diag(linalg.cholesky(sigma, lower=True)) ** 2) for sigma in stored]
    np.testing.assert_allclose(kind.smallest_variances(covariances), expected, rtol=1e-12)


@pytest.mark.parametrize("name", COVARIANCE_TYPES)
def test_from_scatter_is_the_maximum_likelihood_covariance(name):
    """C_k / N_k + reg on the layout of the type; tied pools, spherical averages the diagonal."""
    rng = np.random.default_rng(6)
    kind = covariance_type(name)
    scatter = np.stack([np.cov(rng.normal(size=(30, D)), rowvar=False, bias=True) * 30 for _ in range(K)])
    counts = np.array([30.0, 40.0, 50.0])
    per_component = scatter / counts[:, None, None] + 0.1 * np.eye(D)
    expected = {
        "full": per_component,
        "tied": scatter.sum(axis=0) / counts.sum() + 0.1 * np.eye(D),
        "diag": np.stack([np.diag(c) for c in per_component]),
        "spherical": np.array([np.mean(np.diag(c)) for c in per_component]),
    }[name]
    argument = scatter.copy() if kind.matrix else np.stack([np.diag(s) for s in scatter])
    np.testing.assert_allclose(kind.from_scatter(argument, counts, 0.1), expected, rtol=1e-12)


@pytest.mark.parametrize("layout", ["contiguous", "strided"])
def test_add_to_diagonal_adds_to_the_diagonal_only(layout):
    rng = np.random.default_rng(4)
    matrices = rng.normal(size=(K, D, D))
    expected = matrices + 0.25 * np.eye(D)
    target = matrices.copy() if layout == "contiguous" else np.swapaxes(matrices, 1, 2).copy().swapaxes(1, 2)
    assert target.flags.c_contiguous == (layout == "contiguous")
    out = add_to_diagonal(target, 0.25)
    assert out is target
    np.testing.assert_array_equal(out, expected)
