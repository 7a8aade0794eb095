"""Per-block sufficient statistics, packed into one vector so that blocks add up.

A block's :class:`emgmm.statistics.SufficientStatistics` (about a shift :math:`m_k` shared
by all blocks: the means entering the iteration, or the centres of a k-means pass) is
packed as ``[log-likelihood, n_samples, N_k, s_k, S_k]`` (flattened); the statistics of
several starts are concatenated, so that one pass computes every start's statistics and
the reduction is a plain sum of vectors. Since the shift is the same for every block, the
sums of the blocks are the statistics of the whole data about it.
"""

from __future__ import annotations

import numpy as np

from emgmm.covariance_types import covariance_type as covariance_type_of
from emgmm.fast import accumulate_statistics
from emgmm.init import nearest_centers
from emgmm.params import GaussianMixtureParams
from emgmm.statistics import SufficientStatistics

__all__ = ["add", "block_em_statistics", "block_label_statistics", "pack", "packed_size", "split", "unpack"]


def add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The combination of two blocks' packed statistics."""
    return a + b


def _second_shape(covariance_type: str, n_components: int, n_features: int) -> tuple[int, ...]:
    matrix = covariance_type_of(covariance_type).matrix
    return (n_components, n_features) + ((n_features,) if matrix else ())


def packed_size(covariance_type: str, n_components: int, n_features: int) -> int:
    """Length of one start's packed statistics."""
    return (2 + n_components + n_components * n_features
            + int(np.prod(_second_shape(covariance_type, n_components, n_features))))


def pack(stats: SufficientStatistics) -> np.ndarray:
    """``[log-likelihood, n_samples, N_k, s_k, S_k]`` as one vector."""
    return np.concatenate([[stats.log_likelihood, stats.n_samples], stats.counts,
                           stats.first_moments.ravel(), stats.second_moments.ravel()])


def unpack(vector: np.ndarray, shift: np.ndarray, covariance_type: str) -> SufficientStatistics:
    """The :class:`SufficientStatistics` about ``shift`` (K, D) packed in ``vector``."""
    n_components, n_features = shift.shape
    counts_end = 2 + n_components
    first_end = counts_end + n_components * n_features
    return SufficientStatistics(
        log_likelihood=float(vector[0]),
        n_samples=round(vector[1]),
        counts=vector[2:counts_end].copy(),
        first_moments=vector[counts_end:first_end].reshape(n_components, n_features),
        second_moments=vector[first_end:].reshape(_second_shape(covariance_type, n_components, n_features)),
        shift=shift,
        covariance_type=covariance_type,
    )


def split(vector: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    """The packed statistics of each start, from their concatenation."""
    return np.split(vector, np.cumsum(sizes)[:-1])


def block_em_statistics(block: np.ndarray, starts: tuple[GaussianMixtureParams, ...]) -> np.ndarray:
    """E-step of every start on ``block`` fused with its statistics about the start's means
    (:func:`emgmm.fast.accumulate_statistics`, one thread: the workers are the parallelism)."""
    return np.concatenate([pack(accumulate_statistics(block, params, n_threads=1))
                           for params in starts])


def _label_statistics(block: np.ndarray, centres: np.ndarray, covariance_type: str) -> np.ndarray:
    n_components, n_features = centres.shape
    labels, closest = nearest_centers(block, centres)
    residuals = block - centres[labels]
    counts = np.bincount(labels, minlength=n_components).astype(float)
    # One bincount per feature: the residual sums of every label in a pass over a column.
    first = np.stack([np.bincount(labels, weights=column, minlength=n_components)
                      for column in residuals.T], axis=1)
    if covariance_type_of(covariance_type).matrix:
        second = np.zeros((n_components, n_features, n_features))
        for k in np.unique(labels):
            own = residuals[labels == k]
            second[k] = own.T @ own
    else:
        second = np.stack([np.bincount(labels, weights=column**2, minlength=n_components)
                           for column in residuals.T], axis=1)
    # The k-means potential sum_i min_k |x_i - c_k|^2 takes the log-likelihood's place.
    return pack(SufficientStatistics(float(closest.sum()), block.shape[0], counts, first, second,
                                     centres, covariance_type))


def block_label_statistics(block: np.ndarray, centres: tuple[np.ndarray, ...],
                           covariance_type: str) -> np.ndarray:
    """For each set of centres: the statistics of the hard labels ``argmin_k |x_i - c_k|``
    about the centres, with the k-means potential in the log-likelihood's slot."""
    return np.concatenate([_label_statistics(block, c, covariance_type) for c in centres])
