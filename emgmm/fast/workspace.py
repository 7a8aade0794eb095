"""Work space of the numba kernels of the fused EM pass (E-step and statistics in one read of X).

This module holds what the kernels share: the work space, the block transpose and the
output of the log-densities; the kernels are in :mod:`emgmm.fast.diag_kernel` and
:mod:`emgmm.fast.full_kernel`, the log-sum-exp in :mod:`emgmm.fast.softmax`.

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

from emgmm.fast.softmax import CONTRACT

# Rows per block inside a chunk: long enough to vectorise over, short enough for L1.
BLOCK_ROWS = 64
# float64 values per 64-byte cache line.
LINE = 8
# CONTRACT (from emgmm.fast.softmax) fuses multiply-adds only; SIMD_SUMS also lets the
# compiler split row sums into SIMD partial sums (in an order fixed at compile time).
SIMD_SUMS = {"contract", "reassoc"}

__all__ = ["BLOCK_ROWS", "CONTRACT", "SIMD_SUMS", "kernel_work", "store_log_densities", "transpose_block"]


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
    of the buffers does not depend on what malloc returns (README, "EM speed", has the
    timings that led to this layout).
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


@njit(cache=True, fastmath=CONTRACT, nogil=True)
def store_log_densities(weighted, n_rows, largest, totals, start, out_weighted, out_log_norm):
    """Rows ``start .. start + n_rows`` of the outputs of a log-density kernel: the block's
    :math:`\\ell_{ik}` (transposed back) and :math:`\\log p(x_i) = c_i + \\log \\sum_k e^{\\ell_{ik} - c_i}`
    from the work space of ``block_responsibilities``."""
    for r in range(n_rows):
        out_log_norm[start + r] = largest[r] + np.log(totals[r])
        for k in range(weighted.shape[0]):
            out_weighted[start + r, k] = weighted[k, r]
