import numpy as np
import pytest
from scipy import linalg

from emgmm.triangular import triangular_inverse


def _triangular(dim: int, lower: bool, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    matrix = rng.normal(size=(dim, dim)) + dim * np.eye(dim)
    return np.tril(matrix) if lower else np.triu(matrix)


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("dim", [1, 2, 7, 40])
def test_inverse_is_triangular_and_inverts(dim, lower):
    matrix = _triangular(dim, lower, 10 + dim)
    # the other triangle holds other numbers: the inverse ignores them and is triangular
    noisy = matrix + (np.triu(np.ones((dim, dim)), 1) if lower else np.tril(np.ones((dim, dim)), -1))
    inverse = triangular_inverse(noisy, lower=lower)
    np.testing.assert_array_equal(inverse, np.tril(inverse) if lower else np.triu(inverse))
    np.testing.assert_allclose(inverse @ matrix, np.eye(dim), atol=1e-12)
    np.testing.assert_allclose(inverse, np.linalg.inv(matrix), rtol=1e-10, atol=1e-14)
    # the same numbers as scipy's triangular solve against the identity, bit for bit
    expected = linalg.solve_triangular(noisy, np.eye(dim), lower=lower)
    np.testing.assert_array_equal(inverse, expected)


def test_zero_diagonal_is_a_linalg_error():
    matrix = np.array([[1.0, 0.0], [2.0, 0.0]])
    with pytest.raises(linalg.LinAlgError, match="zero diagonal entry 2"):
        triangular_inverse(matrix, lower=True)


def test_random_cholesky_factors_invert_exactly_as_scipy():
    rng = np.random.default_rng(0)
    for _ in range(300):
        dim = int(rng.integers(1, 9))
        root = rng.normal(size=(dim, dim))
        chol = np.linalg.cholesky(root @ root.T + 0.1 * np.eye(dim))
        np.testing.assert_array_equal(triangular_inverse(chol, lower=True),
                                      linalg.solve_triangular(chol, np.eye(dim), lower=True))
