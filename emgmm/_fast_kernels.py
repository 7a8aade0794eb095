"""Numba kernels of the fused EM pass: E-step and sufficient statistics in one read of X.

This module holds the diagonal kernel and the small linear algebra; the full-covariance
kernel is in :mod:`emgmm._fast_full_kernel`.

Each kernel walks the rows of a range of chunks once, in blocks of ``BLOCK_ROWS`` rows. For
every row ``x_i`` it computes the weighted log-densities :math:`\\ell_{ik} = \\log\\pi_k +
\\log\\mathcal N(x_i \\mid m_k, \\Sigma_k)`, their log-sum-exp, the responsibilities
:math:`\\gamma_{ik} = \\exp(\\ell_{ik} - \\log p(x_i))`, and adds the row's contribution to
the statistics of its chunk, taken about the *current* means :math:`m_k` (shifted sums, so
that no large raw moment is ever subtracted from another):

.. math::

    N_k = \\sum_i \\gamma_{ik}, \\qquad
    s_k = \\sum_i \\gamma_{ik} (x_i - m_k), \\qquad
    S_k = \\sum_i \\gamma_{ik} (x_i - m_k)(x_i - m_k)^T .

Only the upper triangle of :math:`S_k` is accumulated (``full``/``tied``) or only its
diagonal (``diag``/``spherical``). Statistics are stored per chunk and summed in chunk order
by the caller, so the result does not depend on how chunks are spread over threads.

The kernels are serial and release the GIL (``nogil=True``): the caller runs disjoint chunk
ranges in a thread pool. Two sets of floating-point flags are used. ``CONTRACT`` only fuses
a multiply and an add into one instruction (no sum is reordered); it compiles the E-steps.
``SIMD_SUMS`` also allows reassociation, so that the compiler splits a sum over the rows of
a block into SIMD partial sums; it compiles only the row sums of the statistics. The order
of every sum is still fixed by the compiled code and by the chunk and block layout, so
results are deterministic, do not depend on the number of threads, and equal the readable
reference implementation up to rounding (they may differ in the last bits between CPUs with
different vector widths).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from emgmm._fast_softmax import CONTRACT, block_responsibilities

# Rows per block inside a chunk: long enough to vectorise over, short enough for L1.
BLOCK_ROWS = 64
# float64 values per 64-byte cache line.
LINE = 8
# CONTRACT (from _fast_softmax) fuses multiply-adds only; SIMD_SUMS also lets the compiler
# split row sums into SIMD partial sums (in an order fixed at compile time).
SIMD_SUMS = {"contract", "reassoc"}


@njit(cache=True, nogil=True)
def _whole_lines(n_values):
    """``n_values`` rounded up to a whole number of cache lines (in float64 values)."""
    return (n_values + LINE - 1) // LINE * LINE


@njit(cache=True, nogil=True)
def _carve(space, at, n_values):
    """``space[at:at + n_values]`` and the next offset on a cache line."""
    return space[at:at + n_values], at + _whole_lines(n_values)


@njit(cache=True, nogil=True)
def kernel_work(n_components, n_features):
    """Every work buffer of a kernel call, carved from one zeroed allocation.

    Returns ``(block, residuals, whitened, squared_norms, weighted, largest, totals,
    exponents, scale_bits, scales, responsibilities, scaled)`` with shapes (D, B), (K, D, B),
    (D, B), (B,), (K, B), (B,), (B,), (B,), (B,) int64 and its float64 view, (K, B), (D, B)
    for B = ``BLOCK_ROWS``. Each buffer starts on a cache line and the space ends with an
    unused line, so two threads' buffers never share a cache line, and the relative layout
    of the buffers does not depend on what malloc returns. Per full D=10 K=10 iteration at
    N=1e6: 0.078-0.081 s; with separately allocated buffers 0.094 s, or 0.104-0.111 s for
    the rest of the process after a first single-threaded call, and 0.130 s when the
    buffers of the two threads shared cache lines.
    """
    b, k, d = BLOCK_ROWS, n_components, n_features
    total = (3 * _whole_lines(d * b) + _whole_lines(k * d * b) + 2 * _whole_lines(k * b)
             + 5 * _whole_lines(b))
    # Room to skip to a cache-line boundary, and an unused line at the end.
    raw = np.zeros(total + 2 * LINE)
    # Skip to the first cache-line boundary (addresses are multiples of 8 bytes).
    at = (LINE - (raw.ctypes.data // 8) % LINE) % LINE
    block, at = _carve(raw, at, d * b)
    residuals, at = _carve(raw, at, k * d * b)
    whitened, at = _carve(raw, at, d * b)
    squared_norms, at = _carve(raw, at, b)
    weighted, at = _carve(raw, at, k * b)
    largest, at = _carve(raw, at, b)
    totals, at = _carve(raw, at, b)
    exponents, at = _carve(raw, at, b)
    scales, at = _carve(raw, at, b)
    responsibilities, at = _carve(raw, at, k * b)
    scaled, at = _carve(raw, at, d * b)
    return (block.reshape((d, b)), residuals.reshape((k, d, b)), whitened.reshape((d, b)),
            squared_norms, weighted.reshape((k, b)), largest, totals, exponents,
            scales.view(np.int64), scales, responsibilities.reshape((k, b)),
            scaled.reshape((d, b)))


@njit(cache=True, fastmath=False, nogil=True)
def transpose_block(X, start, n_rows, block):
    """Rows ``start .. start + n_rows`` of X as the columns of ``block`` (n_features, B)."""
    for r in range(n_rows):
        for a in range(X.shape[1]):
            block[a, r] = X[start + r, a]


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
def store_log_densities(weighted, n_rows, largest, totals, start, out_weighted, out_log_norm):
    """Rows ``start .. start + n_rows`` of the outputs of a log-density kernel: the block's
    :math:`\\ell_{ik}` (transposed back) and :math:`\\log p(x_i) = c_i + \\log \\sum_k e^{\\ell_{ik} - c_i}`
    from the work space of ``block_responsibilities``."""
    for r in range(n_rows):
        out_log_norm[start + r] = largest[r] + np.log(totals[r])
        for k in range(weighted.shape[0]):
            out_weighted[start + r, k] = weighted[k, r]


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

    As :func:`emgmm._fast_full_kernel.full_chunk_statistics`, with ``precisions_cholesky``
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
