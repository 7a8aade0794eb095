"""Numba kernels of the fused EM pass: E-step and sufficient statistics in one read of X.

This module holds the diagonal kernel and the small linear algebra; the full-covariance
kernel is in :mod:`emgmm._fast_full_kernel`.

Each kernel walks the rows of a range of chunks once. For every row ``x_i`` it computes the
weighted log-densities :math:`\\ell_{ik} = \\log\\pi_k + \\log\\mathcal N(x_i \\mid m_k,
\\Sigma_k)`, their log-sum-exp, the responsibilities
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
ranges in a thread pool. ``fastmath=False`` keeps IEEE semantics (no reassociation), so the
numbers equal the readable reference implementation up to rounding.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, fastmath=False, nogil=True)
def _normalise_row(weighted, responsibilities):
    """Log-sum-exp of one row of ``log pi_k + log N(x_i | ...)`` and the responsibilities.

    .. math:: \\log p(x_i) = c + \\log \\sum_k e^{\\ell_{ik} - c}, \\quad
              \\gamma_{ik} = e^{\\ell_{ik} - c} / \\sum_j e^{\\ell_{ij} - c}, \\quad
              c = \\max_k \\ell_{ik}

    Subtracting the maximum first means no exp() overflows and the sum is at least 1; each
    exponential is computed once and serves both results. A row where every component
    has zero weight gives NaN, which the caller reports.
    """
    largest = weighted[0]
    for k in range(1, weighted.shape[0]):
        if weighted[k] > largest:
            largest = weighted[k]
    total = 0.0
    for k in range(weighted.shape[0]):
        responsibilities[k] = np.exp(weighted[k] - largest)
        total += responsibilities[k]
    for k in range(weighted.shape[0]):
        responsibilities[k] /= total
    return largest + np.log(total)


@njit(cache=True, fastmath=False, nogil=True)
def diag_chunk_statistics(
    X, means, precisions_cholesky, log_constants, chunk_size, first_chunk, stop_chunk,
    log_likelihood, counts, first_moments, second_moments,
):
    """Fused E-step and statistics for diagonal (and spherical, repeated per feature) precisions.

    As :func:`emgmm._fast_full_kernel.full_chunk_statistics`, with ``precisions_cholesky``
    of shape (n_components, n_features) holding :math:`1/\\sigma_{kd}` and
    ``second_moments`` of shape (n_chunks, K, D) holding the diagonal of :math:`S_k`.
    One row at a time: with O(D) work per row and component there is nothing to block.
    """
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    weighted = np.empty(n_components)
    resp = np.empty(n_components)
    diff = np.empty((n_components, n_features))
    for chunk in range(first_chunk, stop_chunk):
        total = 0.0
        for i in range(chunk * chunk_size, min(n_samples, (chunk + 1) * chunk_size)):
            for k in range(n_components):
                squared_norm = 0.0
                for a in range(n_features):
                    d = X[i, a] - means[k, a]
                    diff[k, a] = d
                    z = d * precisions_cholesky[k, a]
                    squared_norm += z * z
                weighted[k] = log_constants[k] - 0.5 * squared_norm
            total += _normalise_row(weighted, resp)
            for k in range(n_components):
                counts[chunk, k] += resp[k]
                for a in range(n_features):
                    scaled = resp[k] * diff[k, a]
                    first_moments[chunk, k, a] += scaled
                    second_moments[chunk, k, a] += scaled * diff[k, a]
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
