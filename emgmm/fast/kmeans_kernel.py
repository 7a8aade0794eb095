"""Numba kernels of the k-means starts: nearest centres and k-means++ potentials in one read
of X per call, over row chunks, without an (n_samples, n_centres) array.

Each kernel walks the rows of a range of chunks, in blocks of ``BLOCK_ROWS`` rows
transposed to (n_features, B) so that the loops run over rows (SIMD). Squared distances are
formed from differences,

.. math:: d_{ik} = \\sum_{a=1}^{D} (x_{ia} - c_{ka})^2 ,

summed over the features in order (no :math:`\\|x\\|^2 - 2 x^T c + \\|c\\|^2` expansion: no
cancellation, and each distance is the same number whichever chunk or thread computes it).
Per-chunk sums (counts, coordinate sums, potentials) go to a row of an output indexed by
the chunk and are added in chunk order by the caller, so results do not depend on the
number of threads. The kernels are serial and release the GIL; the caller spreads chunk
ranges over :func:`emgmm.fast.threads.run_over_chunks`. No fast-math flag is used: every
sum keeps its written order.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from emgmm.fast.workspace import BLOCK_ROWS, transpose_block


@njit(cache=True, nogil=True)
def _block_distances(block, n_rows, centre, distance):
    """``distance[r] = sum_a (block[a, r] - centre[a])^2`` for the rows of a block."""
    distance[:n_rows] = 0.0
    for a in range(block.shape[0]):
        row, value = block[a], centre[a]
        for r in range(n_rows):
            difference = row[r] - value
            distance[r] += difference * difference


@njit(cache=True, nogil=True)
def _chunk_rows(chunk, chunk_size, n_samples):
    start = chunk * chunk_size
    return start, min(start + chunk_size, n_samples)


@njit(cache=True, nogil=True)
def assign_chunks(X, centres, chunk_size, first_chunk, stop_chunk, labels, closest, counts, sums,
                  changed):
    """Nearest centre of every row of chunks ``first_chunk .. stop_chunk - 1``.

    Writes ``labels[i]`` (the first centre at the smallest distance, as ``np.argmin``) and
    ``closest[i]`` (that distance); adds to the chunk's row of ``counts`` (n_chunks, K), of
    ``sums`` (n_chunks, K, D, the rows' coordinates per label, in row order) and of
    ``changed`` (n_chunks,: rows whose label differs from the one ``labels`` held).
    """
    n_samples, n_features = X.shape
    n_centres = centres.shape[0]
    block = np.empty((n_features, BLOCK_ROWS))
    distance = np.empty(BLOCK_ROWS)
    best = np.empty(BLOCK_ROWS)
    best_label = np.zeros(BLOCK_ROWS, dtype=np.int64)
    for chunk in range(first_chunk, stop_chunk):
        chunk_start, chunk_stop = _chunk_rows(chunk, chunk_size, n_samples)
        for start in range(chunk_start, chunk_stop, BLOCK_ROWS):
            n_rows = min(BLOCK_ROWS, chunk_stop - start)
            transpose_block(X, start, n_rows, block)
            _block_distances(block, n_rows, centres[0], best)
            best_label[:n_rows] = 0
            for k in range(1, n_centres):
                _block_distances(block, n_rows, centres[k], distance)
                for r in range(n_rows):
                    if distance[r] < best[r]:
                        best[r] = distance[r]
                        best_label[r] = k
            for r in range(n_rows):
                i, k = start + r, best_label[r]
                if labels[i] != k:
                    changed[chunk] += 1
                    labels[i] = k
                closest[i] = best[r]
                counts[chunk, k] += 1.0
                for a in range(n_features):
                    sums[chunk, k, a] += block[a, r]


@njit(cache=True, nogil=True)
def closest_chunks(X, centre, chunk_size, first_chunk, stop_chunk, closest, replace):
    """``closest[i] = min(closest[i], d(x_i, centre))`` (``= d(x_i, centre)`` when ``replace``)
    for the rows of chunks ``first_chunk .. stop_chunk - 1``."""
    n_samples, n_features = X.shape
    block = np.empty((n_features, BLOCK_ROWS))
    distance = np.empty(BLOCK_ROWS)
    for chunk in range(first_chunk, stop_chunk):
        chunk_start, chunk_stop = _chunk_rows(chunk, chunk_size, n_samples)
        for start in range(chunk_start, chunk_stop, BLOCK_ROWS):
            n_rows = min(BLOCK_ROWS, chunk_stop - start)
            transpose_block(X, start, n_rows, block)
            _block_distances(block, n_rows, centre, distance)
            for r in range(n_rows):
                if replace or distance[r] < closest[start + r]:
                    closest[start + r] = distance[r]


@njit(cache=True, nogil=True)
def potential_chunks(X, candidates, closest, chunk_size, first_chunk, stop_chunk, potentials):
    """The k-means++ potential with each candidate added, per chunk:
    ``potentials[chunk, t] = sum_i min(closest[i], d(x_i, candidates[t]))`` over the chunk's
    rows (in row order)."""
    n_samples, n_features = X.shape
    block = np.empty((n_features, BLOCK_ROWS))
    distance = np.empty(BLOCK_ROWS)
    for chunk in range(first_chunk, stop_chunk):
        chunk_start, chunk_stop = _chunk_rows(chunk, chunk_size, n_samples)
        for start in range(chunk_start, chunk_stop, BLOCK_ROWS):
            n_rows = min(BLOCK_ROWS, chunk_stop - start)
            transpose_block(X, start, n_rows, block)
            for t in range(candidates.shape[0]):
                _block_distances(block, n_rows, candidates[t], distance)
                total = potentials[chunk, t]
                for r in range(n_rows):
                    total += min(closest[start + r], distance[r])
                potentials[chunk, t] = total
