"""Row chunks for whole-data summaries that must not copy X (its size is the memory budget)."""

from __future__ import annotations

import numpy as np

# Rows per chunk: temporaries of (chunk, K) or (chunk, D), never (N, K) or (N, D).
CHUNK_ROWS = 65_536


def row_chunks(n_samples: int, chunk_rows: int = CHUNK_ROWS) -> list[slice]:
    """Consecutive slices of at most ``chunk_rows`` rows covering ``range(n_samples)``."""
    return [slice(start, min(start + chunk_rows, n_samples)) for start in range(0, n_samples, chunk_rows)]


def feature_variances(X: np.ndarray) -> np.ndarray:
    """``np.var(X, axis=0)``, the squared deviations summed chunk by chunk (no copy of X)."""
    mean = X.mean(axis=0)
    total = np.zeros(X.shape[1])
    for rows in row_chunks(X.shape[0]):
        deviations = X[rows] - mean
        total += np.einsum("ij,ij->j", deviations, deviations)
    return total / X.shape[0]
