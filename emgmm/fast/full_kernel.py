"""Numba kernel of the fused EM pass for full (and tied) precisions, in register tiles.

Same contract as :func:`emgmm.fast.diag_kernel.diag_chunk_statistics` (the statistics are
described in :mod:`emgmm.fast.workspace`). Rows are processed in blocks of ``BLOCK_ROWS``; inside a block the residuals
are stored transposed, :math:`d_i = x_i - m_k` as column i of a (D, B) array, so that the
rows of the block are contiguous. Both halves of the work are cut into 4 x 4 tiles, so
that every value loaded from memory takes part in four multiply-adds:

* E-step, :math:`y_i = d_i U_k` (:math:`U_k` upper triangular, exact zeros below the
  diagonal): for four output features ``j..j+3`` and four input features ``a..a+3``,
  ``Y[j + q, :] += sum_p D[a + p, :] * U[a + p, j + q]``, vectorised along the rows of the
  block. Tiles that straddle the diagonal only add exact zeros.
* M-step, upper triangle of :math:`S_k = \\sum_i \\gamma_{ik} d_i d_i^T`: for four rows
  ``a..a+3`` and four columns ``b..b+3``, sixteen sums over the rows of the block,
  ``sum_r W[a + p, r] * D[b + q, r]`` with :math:`W = \\gamma_k \\odot D`, kept in
  registers and added to :math:`S_k` once per block.

The row sums of the M-step (and of :math:`N_k`, :math:`s_k`) are compiled with
``SIMD_SUMS`` (the compiler splits each sum into SIMD partial sums, in an order fixed at
compile time); the E-step with ``CONTRACT`` only (see :mod:`emgmm.fast.workspace`). The
tiles replaced one rank-one update of :math:`S_k` per four rows (README, "EM speed").
:func:`precision_cholesky_full` is the small linear algebra of the kernel inputs.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from emgmm.fast.softmax import block_responsibilities
from emgmm.fast.workspace import (
    BLOCK_ROWS,
    CONTRACT,
    SIMD_SUMS,
    kernel_work,
    store_log_densities,
    transpose_block,
)

# Features per side of a register tile.
TILE = 4


@njit(cache=True, fastmath=CONTRACT, nogil=True)
def _whitened_tile(residual, precisions_cholesky, k, j, n_rows, whitened):
    """Columns ``j..j+3`` of :math:`y = d U_k` for the rows of the block (four at a time in a)."""
    w0, w1, w2, w3 = whitened[j], whitened[j + 1], whitened[j + 2], whitened[j + 3]
    w0[:n_rows] = 0.0
    w1[:n_rows] = 0.0
    w2[:n_rows] = 0.0
    w3[:n_rows] = 0.0
    u = precisions_cholesky[k]
    # Rows a > j + 3 of U_k are zero in these columns; the last tile of a straddles the diagonal.
    for a in range(0, j + TILE, TILE):
        d0, d1, d2, d3 = residual[a], residual[a + 1], residual[a + 2], residual[a + 3]
        u00, u01, u02, u03 = u[a, j], u[a, j + 1], u[a, j + 2], u[a, j + 3]
        u10, u11, u12, u13 = u[a + 1, j], u[a + 1, j + 1], u[a + 1, j + 2], u[a + 1, j + 3]
        u20, u21, u22, u23 = u[a + 2, j], u[a + 2, j + 1], u[a + 2, j + 2], u[a + 2, j + 3]
        u30, u31, u32, u33 = u[a + 3, j], u[a + 3, j + 1], u[a + 3, j + 2], u[a + 3, j + 3]
        for r in range(n_rows):
            x0, x1, x2, x3 = d0[r], d1[r], d2[r], d3[r]
            w0[r] += (x0 * u00 + x1 * u10) + (x2 * u20 + x3 * u30)
            w1[r] += (x0 * u01 + x1 * u11) + (x2 * u21 + x3 * u31)
            w2[r] += (x0 * u02 + x1 * u12) + (x2 * u22 + x3 * u32)
            w3[r] += (x0 * u03 + x1 * u13) + (x2 * u23 + x3 * u33)


@njit(cache=True, fastmath=CONTRACT, nogil=True)
def _block_log_densities(block, n_rows, means, precisions_cholesky, log_constants, residuals,
                         whitened, squared_norms, weighted):
    """E-step of one (transposed) block: residuals and ``log pi_k + log N(x_i | m_k, Sigma_k)``."""
    n_components, n_features = means.shape
    tiled = n_features - n_features % TILE
    for k in range(n_components):
        residual = residuals[k]
        for a in range(n_features):
            residual_a, column, mean = residual[a], block[a], means[k, a]
            for r in range(n_rows):
                residual_a[r] = column[r] - mean
        squared_norms[:n_rows] = 0.0
        for j in range(0, tiled, TILE):
            _whitened_tile(residual, precisions_cholesky, k, j, n_rows, whitened)
        for j in range(tiled, n_features):
            whitened_j = whitened[j]
            whitened_j[:n_rows] = 0.0
            for a in range(j + 1):
                residual_a, factor = residual[a], precisions_cholesky[k, a, j]
                for r in range(n_rows):
                    whitened_j[r] += residual_a[r] * factor
        # ||y_i||^2 = (x_i - m_k)^T Sigma_k^{-1} (x_i - m_k)
        for j in range(n_features):
            whitened_j = whitened[j]
            for r in range(n_rows):
                squared_norms[r] += whitened_j[r] * whitened_j[r]
        for r in range(n_rows):
            weighted[k, r] = log_constants[k] - 0.5 * squared_norms[r]


@njit(cache=True, fastmath=SIMD_SUMS, nogil=True)
def _weighted_residuals(resp, residual, n_rows, scaled, first_moments):
    """:math:`W = \\gamma_k \\odot D`; adds :math:`\\sum_r \\gamma_{rk}` (returned) and
    :math:`\\sum_r W_{ar}` (into ``first_moments``) over the rows of the block."""
    count = 0.0
    for r in range(n_rows):
        count += resp[r]
    for a in range(residual.shape[0]):
        scaled_a, residual_a = scaled[a], residual[a]
        first = 0.0
        for r in range(n_rows):
            scaled_a[r] = resp[r] * residual_a[r]
            first += scaled_a[r]
        first_moments[a] += first
    return count


@njit(cache=True, fastmath=SIMD_SUMS, nogil=True)
def _add_scatter(scaled, residual, n_rows, second):
    """Upper triangle of ``second += W D^T`` over the rows of the block, in 4 x 4 tiles."""
    n_features = residual.shape[0]
    tiled = n_features - n_features % TILE
    for a in range(0, tiled, TILE):
        w0, w1, w2, w3 = scaled[a], scaled[a + 1], scaled[a + 2], scaled[a + 3]
        for b in range(a, tiled, TILE):
            x0, x1, x2, x3 = residual[b], residual[b + 1], residual[b + 2], residual[b + 3]
            s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = 0.0
            s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = 0.0
            for r in range(n_rows):
                p0, p1, p2, p3 = w0[r], w1[r], w2[r], w3[r]
                q0, q1, q2, q3 = x0[r], x1[r], x2[r], x3[r]
                s00 += p0 * q0
                s01 += p0 * q1
                s02 += p0 * q2
                s03 += p0 * q3
                s10 += p1 * q0
                s11 += p1 * q1
                s12 += p1 * q2
                s13 += p1 * q3
                s20 += p2 * q0
                s21 += p2 * q1
                s22 += p2 * q2
                s23 += p2 * q3
                s30 += p3 * q0
                s31 += p3 * q1
                s32 += p3 * q2
                s33 += p3 * q3
            second[a, b] += s00
            second[a, b + 1] += s01
            second[a, b + 2] += s02
            second[a, b + 3] += s03
            second[a + 1, b + 1] += s11
            second[a + 1, b + 2] += s12
            second[a + 1, b + 3] += s13
            second[a + 2, b + 2] += s22
            second[a + 2, b + 3] += s23
            second[a + 3, b + 3] += s33
            if b > a:  # the lower triangle of a diagonal tile stays zero
                second[a + 1, b] += s10
                second[a + 2, b] += s20
                second[a + 2, b + 1] += s21
                second[a + 3, b] += s30
                second[a + 3, b + 1] += s31
                second[a + 3, b + 2] += s32
    # The columns past the last whole tile: one row sum per pair.
    for a in range(n_features):
        w = scaled[a]
        for b in range(max(a, tiled), n_features):
            x = residual[b]
            total = 0.0
            for r in range(n_rows):
                total += w[r] * x[r]
            second[a, b] += total


@njit(cache=True, fastmath=CONTRACT, nogil=True)
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
        Out: :math:`N_k`, :math:`s_k` and the upper triangle of :math:`S_k` per chunk (the
        lower triangle is left as it was).
    """
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    (block, residuals, whitened, squared_norms, weighted, largest, totals, exponents, scale_bits,
     scales, responsibilities, scaled) = kernel_work(n_components, n_features)
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
                counts[chunk, k] += _weighted_residuals(responsibilities[k], residuals[k], n_rows,
                                                        scaled, first_moments[chunk, k])
                _add_scatter(scaled, residuals[k], n_rows, second_moments[chunk, k])
        log_likelihood[chunk] = total


@njit(cache=True, fastmath=CONTRACT, nogil=True)
def full_chunk_log_densities(X, means, precisions_cholesky, log_constants, chunk_size, first_chunk,
                             stop_chunk, out_weighted, out_log_norm):
    """The E-step alone for full precisions: :math:`\\ell_{ik}` into ``out_weighted``
    (n_samples, K) and :math:`\\log p(x_i)` into ``out_log_norm`` for the rows of the chunks."""
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    (block, residuals, whitened, squared_norms, weighted, largest, totals, exponents, scale_bits,
     scales, responsibilities, _) = kernel_work(n_components, n_features)
    for start in range(first_chunk * chunk_size, min(n_samples, stop_chunk * chunk_size), BLOCK_ROWS):
        n_rows = min(BLOCK_ROWS, n_samples - start, stop_chunk * chunk_size - start)
        transpose_block(X, start, n_rows, block)
        _block_log_densities(block, n_rows, means, precisions_cholesky, log_constants, residuals,
                             whitened, squared_norms, weighted)
        block_responsibilities(weighted[:, :n_rows], n_rows, largest, totals, exponents,
                               scale_bits, scales, responsibilities[:, :n_rows])
        store_log_densities(weighted, n_rows, largest, totals, start, out_weighted, out_log_norm)


@njit(cache=True, fastmath=False, nogil=True)
def precision_cholesky_full(covariances, precisions_cholesky):
    """Upper-triangular :math:`U_k = L_k^{-T}` for :math:`\\Sigma_k = L_k L_k^T`, without BLAS.

    Small-matrix linear algebra in the kernel avoids the per-call overhead of LAPACK
    wrappers (and their thread start-up), which dominates EM on small problems.

    Parameters
    ----------
    covariances : array of shape (n_components, n_features, n_features)
    precisions_cholesky : array of shape (n_components, n_features, n_features)
        Out: :math:`U_k`, zero below the diagonal.

    Returns
    -------
    bool
        False if some :math:`\\Sigma_k` is not numerically positive definite.
    """
    n_components, n_features, _ = covariances.shape
    lower = np.zeros((n_features, n_features))
    for k in range(n_components):
        # Cholesky-Banachiewicz, row by row: L_ij = (S_ij - sum_{m<j} L_im L_jm) / L_jj.
        for i in range(n_features):
            for j in range(i + 1):
                total = covariances[k, i, j]
                for m in range(j):
                    total -= lower[i, m] * lower[j, m]
                if i == j:
                    if not total > 0.0:
                        return False
                    lower[i, i] = np.sqrt(total)
                else:
                    lower[i, j] = total / lower[j, j]
        # Forward substitution for Z = L^{-1} (lower triangular); U = Z^T.
        out = precisions_cholesky[k]
        out[:, :] = 0.0
        for j in range(n_features):
            out[j, j] = 1.0 / lower[j, j]
            for i in range(j + 1, n_features):
                total = 0.0
                for m in range(j, i):
                    total -= lower[i, m] * out[j, m]
                out[j, i] = total / lower[i, i]
    return True
