"""Numba kernel of the fused EM pass for full (and tied) precisions, vectorised across rows.

Same contract as :func:`emgmm._fast_kernels.diag_chunk_statistics` (see that module for the
statistics). Rows are processed in blocks of ``BLOCK_ROWS``; inside a block the residuals
are stored transposed, ``(x_i - m_k)`` as column i of a (D, B) array, so that every inner
loop runs over the rows of the block with independent accumulators. The compiler then
emits SIMD code without reassociating any sum (``fastmath=False``):

* E-step, :math:`y_i = (x_i - m_k) U_k`: for each pair ``a <= j`` of the triangular
  :math:`U_k`, ``Y[j, :] += D[a, :] * U[a, j]`` over the rows of the block, four values
  of ``a`` per pass (``U_k`` must hold exact zeros below its diagonal).
* M-step, upper triangle of :math:`S_k = \\sum_i \\gamma_{ik} (x_i - m_k)(x_i - m_k)^T`:
  for few features, per-row partial sums ``P[(a, b), :] += W[a, :] * D[b, :]`` (one lane per
  row position in the block), added up once per chunk; for many features (longer rows of
  :math:`S_k`), rank-one updates of each row of :math:`S_k`, four rows of the block at a
  time, vectorised along the row.

The order of every sum is fixed by the chunk and block layout, so results are
deterministic and differ from the reference implementation only by rounding.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from emgmm._fast_kernels import (
    BLOCK_ROWS,
    padded_empty,
    padded_zeros3,
    softmax_work,
    transpose_block,
)
from emgmm._fast_softmax import block_responsibilities

# Up to this many features the M-step keeps per-row partial sums (short rows of S_k
# vectorise badly); above it, rank-one updates along the rows of S_k are faster.
LANE_SUMS_MAX_FEATURES = 24


@njit(cache=True, fastmath=False, nogil=True)
def _block_log_densities(block, n_rows, means, precisions_cholesky, log_constants, residuals,
                         whitened, squared_norms, weighted):
    """E-step of one (transposed) block: residuals and ``log pi_k + log N(x_i | m_k, Sigma_k)``."""
    n_components, n_features = means.shape
    for k in range(n_components):
        residual = residuals[k]
        for a in range(n_features):
            residual_a, column, mean = residual[a], block[a], means[k, a]
            for r in range(n_rows):
                residual_a[r] = column[r] - mean
        whitened[:, :n_rows] = 0.0
        # Four rows of U_k at a time (a quarter of the loads and stores of y); U_k is upper
        # triangular with exact zeros below the diagonal, so starting every column j at the
        # group's first row only adds exact zeros.
        grouped = n_features - n_features % 4
        for a in range(0, grouped, 4):
            res0, res1, res2, res3 = residual[a], residual[a + 1], residual[a + 2], residual[a + 3]
            for j in range(a, n_features):
                u0 = precisions_cholesky[k, a, j]
                u1 = precisions_cholesky[k, a + 1, j]
                u2 = precisions_cholesky[k, a + 2, j]
                u3 = precisions_cholesky[k, a + 3, j]
                whitened_j = whitened[j]
                for r in range(n_rows):
                    whitened_j[r] += (res0[r] * u0 + res1[r] * u1) + (res2[r] * u2 + res3[r] * u3)
        for a in range(grouped, n_features):
            residual_a = residual[a]
            for j in range(a, n_features):
                factor = precisions_cholesky[k, a, j]
                whitened_j = whitened[j]
                for r in range(n_rows):
                    whitened_j[r] += residual_a[r] * factor
        squared_norms[:n_rows] = 0.0
        for j in range(n_features):
            whitened_j = whitened[j]
            for r in range(n_rows):
                squared_norms[r] += whitened_j[r] * whitened_j[r]
        for r in range(n_rows):
            weighted[k, r] = log_constants[k] - 0.5 * squared_norms[r]


@njit(cache=True, fastmath=False, nogil=True)
def full_chunk_statistics(
    X, means, precisions_cholesky, log_constants, chunk_size, first_chunk, stop_chunk,
    log_likelihood, counts, first_moments, second_moments,
):
    """Fused E-step and statistics for full precisions (tied: repeated per component).

    Parameters
    ----------
    X : array of shape (n_samples, n_features), C-contiguous float64
    means : array of shape (n_components, n_features)
        Current means :math:`m_k`; also the shift of the statistics.
    precisions_cholesky : array of shape (n_components, n_features, n_features)
        Upper-triangular :math:`U_k` with :math:`U_k U_k^T = \\Sigma_k^{-1}`.
    log_constants : array of shape (n_components,)
        :math:`\\log\\pi_k - \\tfrac D2 \\log 2\\pi + \\sum_j \\log (U_k)_{jj}`.
    chunk_size, first_chunk, stop_chunk : int
        Rows ``[c * chunk_size, (c + 1) * chunk_size)`` of chunks ``first_chunk <= c < stop_chunk``.
    log_likelihood : array of shape (n_chunks,)
        Out: :math:`\\sum_i \\log p(x_i)` per chunk.
    counts, first_moments, second_moments : arrays of shape (n_chunks, K), (n_chunks, K, D), (n_chunks, K, D, D)
        Out: :math:`N_k`, :math:`s_k` and the upper triangle of :math:`S_k` per chunk.
    """
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    n_pairs = n_features * (n_features + 1) // 2
    lane_sums = n_features <= LANE_SUMS_MAX_FEATURES
    # Every work buffer has unused tail room (see PAD).
    block = padded_empty(n_features, BLOCK_ROWS)
    residuals = padded_zeros3(n_components, n_features, BLOCK_ROWS)
    whitened = padded_empty(n_features, BLOCK_ROWS)
    squared_norms = padded_empty(1, BLOCK_ROWS)[0]
    weighted, largest, totals, exponents, scale_bits, scales, responsibilities = softmax_work(
        n_components)
    scaled = padded_empty(n_features, BLOCK_ROWS)
    row = padded_empty(1, n_features)[0]
    rows4 = padded_empty(4, n_features)
    pair_sums = padded_zeros3(n_components, n_pairs if lane_sums else 0, BLOCK_ROWS)
    for chunk in range(first_chunk, stop_chunk):
        total = 0.0
        stop = min(n_samples, (chunk + 1) * chunk_size)
        for start in range(chunk * chunk_size, stop, BLOCK_ROWS):
            n_rows = min(BLOCK_ROWS, stop - start)
            transpose_block(X, start, n_rows, block)
            _block_log_densities(block, n_rows, means, precisions_cholesky, log_constants,
                                 residuals, whitened, squared_norms, weighted)
            total += block_responsibilities(weighted[:, :n_rows], n_rows, largest, totals, exponents,
                                            scale_bits, scales, responsibilities[:, :n_rows])
            for k in range(n_components):
                resp = responsibilities[k]
                residual = residuals[k]
                count = 0.0
                for r in range(n_rows):
                    count += resp[r]
                counts[chunk, k] += count
                for a in range(n_features):
                    scaled_a = scaled[a]
                    residual_a = residual[a]
                    first = 0.0
                    for r in range(n_rows):
                        scaled_a[r] = resp[r] * residual_a[r]
                        first += scaled_a[r]
                    first_moments[chunk, k, a] += first
                if lane_sums:
                    pair = 0
                    for a in range(n_features):
                        scaled_a = scaled[a]
                        for b in range(a, n_features):
                            residual_b = residual[b]
                            sums = pair_sums[k, pair]
                            for r in range(n_rows):
                                sums[r] += scaled_a[r] * residual_b[r]
                            pair += 1
                else:
                    second = second_moments[chunk, k]
                    # Four rank-one updates at a time: a quarter of the loads and stores of S_k.
                    grouped = n_rows - n_rows % 4
                    for r in range(0, grouped, 4):
                        for a in range(n_features):
                            for q in range(4):
                                rows4[q, a] = residual[a, r + q]
                        for a in range(n_features):
                            w0, w1 = scaled[a, r], scaled[a, r + 1]
                            w2, w3 = scaled[a, r + 2], scaled[a, r + 3]
                            second_a = second[a, a:]
                            t0, t1, t2, t3 = rows4[0, a:], rows4[1, a:], rows4[2, a:], rows4[3, a:]
                            for b in range(second_a.shape[0]):
                                second_a[b] += (w0 * t0[b] + w1 * t1[b]) + (w2 * t2[b] + w3 * t3[b])
                    for r in range(grouped, n_rows):
                        for a in range(n_features):
                            row[a] = residual[a, r]
                        for a in range(n_features):
                            weight = scaled[a, r]
                            second_a = second[a, a:]
                            row_tail = row[a:]
                            for b in range(row_tail.shape[0]):
                                second_a[b] += weight * row_tail[b]
        if lane_sums:
            # Add up the per-row partial sums once per chunk, in a fixed order.
            for k in range(n_components):
                pair = 0
                for a in range(n_features):
                    for b in range(a, n_features):
                        value = 0.0
                        for r in range(BLOCK_ROWS):
                            value += pair_sums[k, pair, r]
                        second_moments[chunk, k, a, b] += value
                        pair += 1
            pair_sums[:] = 0.0
        log_likelihood[chunk] = total
