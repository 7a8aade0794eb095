"""Triangular solves and inverses through LAPACK directly (``dtrtrs``, ``dtrtri``).

``scipy.linalg.solve_triangular`` on the small matrices of a mixture (D x D per component,
every iteration) spends its time outside the solve: with a multi-threaded OpenBLAS its
cost per call was 0.1-4 ms for D = 2 (the LAPACK routine itself takes under a
microsecond), which made the reference engine's fits on a few dozen rows take minutes.
The LAPACK routines give the same numbers (same algorithm).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import LinAlgError, lapack


def _checked(result: tuple[np.ndarray, int], routine: str) -> np.ndarray:
    value, info = result
    if info > 0:
        raise LinAlgError(f"singular triangular matrix: zero diagonal entry {info} ({routine})")
    if info < 0:
        raise ValueError(f"illegal argument {-info} to LAPACK {routine}")
    return value


def solve_triangular(matrix: np.ndarray, rhs: np.ndarray, *, lower: bool) -> np.ndarray:
    """:math:`T^{-1} B` for a triangular ``matrix`` T (lower or upper) and ``rhs`` B
    (a vector or a matrix); raises ``LinAlgError`` when T has a zero diagonal entry."""
    matrix = np.asarray(matrix, dtype=np.float64)
    rhs = np.asarray(rhs, dtype=np.float64)
    return _checked(lapack.dtrtrs(matrix, rhs, lower=int(lower)), "dtrtrs")


def triangular_inverse(matrix: np.ndarray, *, lower: bool) -> np.ndarray:
    """:math:`T^{-1}` of a triangular ``matrix`` (triangular like T)."""
    inverse = _checked(lapack.dtrtri(np.asarray(matrix, dtype=np.float64), lower=int(lower)),
                       "dtrtri")
    # dtrtri leaves the other triangle of its input as it was: zero it.
    return np.tril(inverse) if lower else np.triu(inverse)
