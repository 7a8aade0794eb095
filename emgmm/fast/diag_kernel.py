"""Numba kernels of the fused EM pass for diagonal (and spherical) precisions.

Same contract as :func:`emgmm.fast.full_kernel.full_chunk_statistics` (the statistics and
the floating-point flags are described in :mod:`emgmm.fast.workspace`). Blocks of
``BLOCK_ROWS`` rows are transposed so that the loops run over rows.
"""

from __future__ import annotations

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


@njit(cache=True, fastmath=SIMD_SUMS, nogil=True)
def diag_moments(resp, residual, n_rows, first_moments, second_moments):
    """Adds :math:`\\sum_r \\gamma_{rk} d_{ar}` and :math:`\\sum_r \\gamma_{rk} d_{ar}^2` over the
    rows of a block to ``first_moments[a]``, ``second_moments[a]``; returns :math:`\\sum_r \\gamma_{rk}`."""
    count = 0.0
    for r in range(n_rows):
        count += resp[r]
    for a in range(residual.shape[0]):
        residual_a = residual[a]
        first = 0.0
        second = 0.0
        for r in range(n_rows):
            scaled = resp[r] * residual_a[r]
            first += scaled
            second += scaled * residual_a[r]
        first_moments[a] += first
        second_moments[a] += second
    return count


@njit(cache=True, fastmath=CONTRACT, nogil=True)
def diag_block_log_densities(block, n_rows, means, precisions_cholesky, log_constants, residuals,
                             squared_norms, weighted):
    """E-step of one (transposed) block, diagonal precisions: residuals and
    ``log pi_k + log N(x_i | m_k, Sigma_k)`` with :math:`\\Sigma_k^{-1/2} = \\mathrm{diag}(1/\\sigma_{kd})`."""
    n_components, n_features = means.shape
    for k in range(n_components):
        squared_norms[:n_rows] = 0.0
        for a in range(n_features):
            residual, column = residuals[k, a], block[a]
            mean, precision = means[k, a], precisions_cholesky[k, a]
            for r in range(n_rows):
                residual[r] = column[r] - mean
                whitened = residual[r] * precision
                squared_norms[r] += whitened * whitened
        for r in range(n_rows):
            weighted[k, r] = log_constants[k] - 0.5 * squared_norms[r]


@njit(cache=True, fastmath=CONTRACT, nogil=True)
def diag_chunk_log_densities(X, means, precisions_cholesky, log_constants, chunk_size, first_chunk,
                             stop_chunk, out_weighted, out_log_norm):
    """The E-step alone for diagonal precisions: :math:`\\ell_{ik}` into ``out_weighted``
    (n_samples, K) and :math:`\\log p(x_i)` into ``out_log_norm`` for the rows of the chunks."""
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    (block, residuals, _, squared_norms, weighted, largest, totals, exponents, scale_bits, scales,
     responsibilities, _) = kernel_work(n_components, n_features)
    for start in range(first_chunk * chunk_size, min(n_samples, stop_chunk * chunk_size), BLOCK_ROWS):
        n_rows = min(BLOCK_ROWS, n_samples - start, stop_chunk * chunk_size - start)
        transpose_block(X, start, n_rows, block)
        diag_block_log_densities(block, n_rows, means, precisions_cholesky, log_constants,
                                 residuals, squared_norms, weighted)
        block_responsibilities(weighted[:, :n_rows], n_rows, largest, totals, exponents,
                               scale_bits, scales, responsibilities[:, :n_rows])
        store_log_densities(weighted, n_rows, largest, totals, start, out_weighted, out_log_norm)


@njit(cache=True, fastmath=CONTRACT, nogil=True)
def diag_chunk_statistics(
    X, means, precisions_cholesky, log_constants, chunk_size, first_chunk, stop_chunk,
    log_likelihood, counts, first_moments, second_moments,
):
    """Fused E-step and statistics for diagonal (and spherical, repeated per feature) precisions.

    As :func:`emgmm.fast.full_kernel.full_chunk_statistics`, with ``precisions_cholesky``
    of shape (n_components, n_features) holding :math:`1/\\sigma_{kd}` and
    ``second_moments`` of shape (n_chunks, K, D) holding the diagonal of :math:`S_k`.
    Blocks of ``BLOCK_ROWS`` rows are transposed so that the loops run over rows.
    """
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    (block, residuals, _, squared_norms, weighted, largest, totals, exponents, scale_bits, scales,
     responsibilities, _) = kernel_work(n_components, n_features)
    for chunk in range(first_chunk, stop_chunk):
        total = 0.0
        stop = min(n_samples, (chunk + 1) * chunk_size)
        for start in range(chunk * chunk_size, stop, BLOCK_ROWS):
            n_rows = min(BLOCK_ROWS, stop - start)
            transpose_block(X, start, n_rows, block)
            diag_block_log_densities(block, n_rows, means, precisions_cholesky, log_constants,
                                     residuals, squared_norms, weighted)
            total += block_responsibilities(weighted[:, :n_rows], n_rows, largest, totals, exponents,
                                            scale_bits, scales, responsibilities[:, :n_rows])
            for k in range(n_components):
                counts[chunk, k] += diag_moments(responsibilities[k], residuals[k], n_rows,
                                                 first_moments[chunk, k], second_moments[chunk, k])
        log_likelihood[chunk] = total
