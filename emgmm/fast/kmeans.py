"""The k-means passes on the numba kernels (:mod:`emgmm.fast.kmeans_kernel`), threaded over
row chunks: nearest centres with the per-cluster sums of Lloyd's update in the same read of
X, the k-means++ distance to the nearest seed, and the potentials of k-means++ candidates.

Memory: per-row outputs (labels, distances: two arrays of shape (n_samples,)) and
per-chunk sums; never an (n_samples, n_centres) array. Per-chunk sums are added in chunk
order, so no number depends on the number of threads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emgmm.fast.iteration import default_chunk_size
from emgmm.fast.kmeans_kernel import assign_chunks, closest_chunks, potential_chunks
from emgmm.fast.threads import run_over_chunks

__all__ = ["NearestCentres", "candidate_potentials", "distances_to_nearest", "nearest_centres"]


@dataclass(frozen=True)
class NearestCentres:
    """One assignment pass.

    Attributes
    ----------
    labels : array of shape (n_samples,), int64
        Index of the nearest centre (the first at the smallest distance).
    closest : array of shape (n_samples,)
        Squared distance to it.
    counts : array of shape (n_centres,)
        Rows per label.
    sums : array of shape (n_centres, n_features)
        Sum of the rows of each label.
    changed : int
        Rows whose label differs from the ``labels`` passed in.
    """

    labels: np.ndarray
    closest: np.ndarray
    counts: np.ndarray
    sums: np.ndarray
    changed: int


def _chunking(X: np.ndarray, n_centres: int, chunk_size: int | None) -> tuple[int, int]:
    n_samples, n_features = X.shape
    chunk_size = int(chunk_size or default_chunk_size(n_samples, n_centres, n_features))
    return chunk_size, -(-n_samples // chunk_size)


def _as_float_rows(values: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.float64)


def nearest_centres(X: np.ndarray, centres: np.ndarray, *, labels: np.ndarray | None = None,
                    chunk_size: int | None = None, n_threads: int | None = None) -> NearestCentres:
    """The nearest of ``centres`` (K, D) for every row of ``X``, with Lloyd's sums.

    .. math:: z_i = \\arg\\min_k \\|x_i - c_k\\|^2, \\quad n_k = \\#\\{i : z_i = k\\}, \\quad
              t_k = \\sum_{i : z_i = k} x_i

    ``labels`` (int64, shape (n_samples,)), when given, is overwritten with the new labels
    and ``changed`` counts the rows that moved.
    """
    centres = _as_float_rows(centres)
    n_samples, n_features = X.shape
    n_centres = centres.shape[0]
    chunk_size, n_chunks = _chunking(X, n_centres, chunk_size)
    labels = np.full(n_samples, -1, dtype=np.int64) if labels is None else labels
    closest = np.empty(n_samples)
    counts = np.zeros((n_chunks, n_centres))
    sums = np.zeros((n_chunks, n_centres, n_features))
    changed = np.zeros(n_chunks, dtype=np.int64)

    def run(chunks: tuple[int, int]) -> None:
        assign_chunks(X, centres, chunk_size, chunks[0], chunks[1], labels, closest, counts, sums,
                      changed)

    run_over_chunks(run, n_chunks, n_threads)
    return NearestCentres(labels, closest, counts.sum(axis=0), sums.sum(axis=0), int(changed.sum()))


def distances_to_nearest(X: np.ndarray, centre: np.ndarray, closest: np.ndarray | None = None, *,
                         chunk_size: int | None = None, n_threads: int | None = None) -> np.ndarray:
    """``min(closest_i, ||x_i - centre||^2)`` for every row, written into ``closest`` (a new
    array of the distances to ``centre`` when None); shape (n_samples,)."""
    centre = _as_float_rows(centre)
    chunk_size, n_chunks = _chunking(X, 1, chunk_size)
    replace = closest is None
    closest = np.empty(X.shape[0]) if replace else closest

    def run(chunks: tuple[int, int]) -> None:
        closest_chunks(X, centre, chunk_size, chunks[0], chunks[1], closest, replace)

    run_over_chunks(run, n_chunks, n_threads)
    return closest


def candidate_potentials(X: np.ndarray, candidates: np.ndarray, closest: np.ndarray, *,
                         chunk_size: int | None = None, n_threads: int | None = None) -> np.ndarray:
    """The k-means++ potential with each candidate seed added,
    :math:`\\phi_t = \\sum_i \\min(d_i, \\|x_i - c_t\\|^2)` for the current distances
    :math:`d_i` to the nearest seed; shape (n_candidates,)."""
    candidates = _as_float_rows(candidates)
    chunk_size, n_chunks = _chunking(X, candidates.shape[0], chunk_size)
    potentials = np.zeros((n_chunks, candidates.shape[0]))

    def run(chunks: tuple[int, int]) -> None:
        potential_chunks(X, candidates, closest, chunk_size, chunks[0], chunks[1], potentials)

    run_over_chunks(run, n_chunks, n_threads)
    return potentials.sum(axis=0)
