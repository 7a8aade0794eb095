"""Responsibilities of a block of rows from its weighted log-densities, vectorised across rows.

The log-sum-exp of every row needs one exponential per component; scalar calls of the C
library's ``exp`` cost about as much as the whole E-step of a full-covariance kernel. Here
the exponential is a short branch-free polynomial that the compiler turns into SIMD code
(several rows per instruction), accurate to a few units in the last place:

.. math::

    e^{x} = 2^{n} e^{r}, \\qquad n = \\operatorname{round}(x / \\ln 2), \\qquad
    r = x - n \\ln 2 \\in [-\\tfrac12 \\ln 2, \\tfrac12 \\ln 2], \\qquad
    e^{r} \\approx \\sum_{j=0}^{13} r^j / j!

(the Taylor remainder is below :math:`5 \\cdot 10^{-18}` on that interval). The arguments are
:math:`\\ell_{ik} - \\max_j \\ell_{ij} \\le 0`; below ``UNDERFLOW`` (where :math:`e^x <
10^{-304}`, far below any rounding of a sum that is at least 1) the result is 0, so a
component of zero weight (:math:`\\ell = -\\infty`) gets exactly zero responsibility. NaN
propagates, so the caller still sees a non-finite log-likelihood for non-finite data.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Below this argument exp() returns 0; 2^n stays a normal number above it.
UNDERFLOW = -700.0
LOG2_E = 1.4426950408889634
# ln 2 split in two (Cody and Waite): n * LN2_HIGH is exact for |n| < 2^11.
LN2_HIGH = 6.93147180369123816490e-01
LN2_LOW = 1.90821492927058770002e-10
EXPONENT_BIAS = 1023
MANTISSA_BITS = 52
# Only the contraction of a * b + c into one fused multiply-add: no reassociation.
CONTRACT = {"contract"}


@njit(cache=True, fastmath=CONTRACT, nogil=True)
def _exp_reduced(x):
    """:math:`e^r` for the reduced argument and the exponent :math:`n` (as a float)."""
    # Written as a comparison so that NaN is clipped too (its float-to-int cast is undefined).
    clipped = x if x > UNDERFLOW else UNDERFLOW
    n = np.floor(clipped * LOG2_E + 0.5)
    r = (clipped - n * LN2_HIGH) - n * LN2_LOW
    # Horner's rule on the Taylor polynomial of degree 13 (coefficients 1/j!).
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    return p, n


@njit(cache=True, fastmath=CONTRACT, nogil=True)
def block_responsibilities(weighted, n_rows, largest, totals, exponents, scale_bits, scales,
                           responsibilities):
    """``gamma_ik`` of one block and the block's :math:`\\sum_i \\log p(x_i)`.

    .. math:: \\log p(x_i) = c_i + \\log \\sum_k e^{\\ell_{ik} - c_i}, \\quad
              \\gamma_{ik} = e^{\\ell_{ik} - c_i} / \\sum_j e^{\\ell_{ij} - c_i}, \\quad
              c_i = \\max_k \\ell_{ik}

    Parameters
    ----------
    weighted : array of shape (n_components, block_rows)
        :math:`\\ell_{ik}` stored component-major (rows of the block along the last axis).
    n_rows : int
        Rows in use; the responsibilities of the other rows of the block are set to 0.
    largest, totals, exponents : arrays of at least block_rows elements
        Work space.
    scale_bits : int64 array of at least block_rows elements; ``scales`` is its float64 view
        Work space for :math:`2^n`.
    responsibilities : array of shape (n_components, block_rows)
        Out: :math:`\\gamma_{ik}`, exponentials computed once and reused.
    """
    n_components, block_rows = weighted.shape
    for r in range(block_rows):
        largest[r] = weighted[0, r]
    for k in range(1, n_components):
        row = weighted[k]
        for r in range(block_rows):
            # NaN > c is false: a NaN in later components is caught through exp(NaN - c).
            largest[r] = row[r] if row[r] > largest[r] else largest[r]
    totals[:block_rows] = 0.0
    for k in range(n_components):
        row, out = weighted[k], responsibilities[k]
        for r in range(block_rows):
            p, n = _exp_reduced(row[r] - largest[r])
            out[r] = p
            exponents[r] = n
        for r in range(block_rows):
            # 2^n assembled from its exponent bits.
            scale_bits[r] = np.int64(exponents[r] + EXPONENT_BIAS) << MANTISSA_BITS
        for r in range(block_rows):
            x = row[r] - largest[r]
            # x - x is 0, or NaN for NaN (propagated); -inf and deep underflow give exactly 0.
            value = out[r] * scales[r] + (x - x)
            out[r] = 0.0 if x < UNDERFLOW else value
            totals[r] += out[r]
    total = 0.0
    for r in range(n_rows):
        total += largest[r] + np.log(totals[r])
    for k in range(n_components):
        out = responsibilities[k]
        for r in range(block_rows):
            out[r] = out[r] / totals[r] if r < n_rows else 0.0
    return total
