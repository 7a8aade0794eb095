import numpy as np
import pytest
from scipy import linalg

from emgmm.triangular import solve_triangular, triangular_inverse


def _triangular(dim: int, lower: bool, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    matrix = rng.normal(size=(dim, dim)) + dim * np.eye(dim)
    return np.tril(matrix) if lower else np.triu(matrix)


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("dim", [1, 2, 7, 40])
def test_solve_equals_scipy_for_vectors_and_matrices(dim, lower):
    matrix = _triangular(dim, lower, dim)
    rng = np.random.default_rng(1)
    for rhs in (rng.normal(size=dim), rng.normal(size=(dim, 5))):
        expected = linalg.solve_triangular(matrix, rhs, lower=lower)
        np.testing.assert_allclose(solve_triangular(matrix, rhs, lower=lower), expected,
                                   rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("dim", [1, 2, 7, 40])
def test_inverse_is_triangular_and_inverts(dim, lower):
    matrix = _triangular(dim, lower, 10 + dim)
    # the other triangle holds garbage: the inverse must ignore it and come out triangular
    noisy = matrix + (np.triu(np.ones((dim, dim)), 1) if lower else np.tril(np.ones((dim, dim)), -1))
    inverse = triangular_inverse(noisy, lower=lower)
    np.testing.assert_array_equal(inverse, np.tril(inverse) if lower else np.triu(inverse))
    np.testing.assert_allclose(inverse @ matrix, np.eye(dim), atol=1e-12)
    np.testing.assert_allclose(inverse, np.linalg.inv(matrix), rtol=1e-10, atol=1e-14)


def test_zero_diagonal_is_a_linalg_error():
    matrix = np.array([[1.0, 0.0], [2.0, 0.0]])
    with pytest.raises(linalg.LinAlgError, match="zero diagonal entry 2"):
        triangular_inverse(matrix, lower=True)
    with pytest.raises(linalg.LinAlgError, match="zero diagonal"):
        solve_triangular(matrix, np.ones(2), lower=True)
