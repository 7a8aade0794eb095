"""Starting values on a Dask array, without loading it: the seeded sample, then k-means passes.

Every start method of :mod:`emgmm.init` runs on the sample of the first pass
(:mod:`emgmm.dask.summary`, ``SAMPLE_ROWS`` rows drawn uniformly): hierarchical, k-means++,
random and random_from_data give :math:`\\theta_0` from the sample's M-step. ``kmeans``
runs k-means (k-means++ seeds and Lloyd) on the sample, then continues Lloyd's iterations
on all the data as map-reduce passes: each pass labels every row by its nearest centre
and sums, per label, the statistics of :mod:`emgmm.statistics` about the centres
(:func:`emgmm.dask.block_statistics.block_label_statistics`); the new centres are the
label means, and the last pass's statistics give :math:`\\theta_0` by the one M-step. The
``kmeans`` starts of ``n_init`` share every pass. As in memory, Lloyd stops when the
centres move by less than ``tol`` times the mean per-feature variance (squared distance),
and an empty cluster takes the sample row farthest from the other centres.
"""

from __future__ import annotations

import numpy as np

from emgmm.dask.block_statistics import (
    add,
    block_label_statistics,
    packed_size,
    split,
    unpack,
)
from emgmm.dask.blocks import Blocks, run_pass
from emgmm.dask.summary import DataSummary
from emgmm.init import initial_params, kmeans, nearest_centers
from emgmm.params import GaussianMixtureParams
from emgmm.statistics import SufficientStatistics, params_from_statistics

# Lloyd passes over all the data at most, and their stopping tolerance (emgmm.init.kmeans's).
LLOYD_MAX_PASSES = 100
LLOYD_TOL = 1e-4

__all__ = ["LLOYD_MAX_PASSES", "LLOYD_TOL", "dask_starts", "lloyd_passes"]


def _filled_empty(centres: np.ndarray, empty: np.ndarray, sample: np.ndarray) -> np.ndarray:
    """``centres`` with each empty cluster moved to the sample row farthest from the others."""
    centres = centres.copy()
    placed = ~empty
    for k in np.flatnonzero(empty):
        farthest = int(np.argmax(nearest_centers(sample, centres[placed])[1]))
        centres[k] = sample[farthest]
        placed[k] = True
    return centres


def lloyd_passes(blocks: Blocks, centres: list[np.ndarray], covariance_type: str,
                 summary: DataSummary, max_passes: int = LLOYD_MAX_PASSES,
                 tol: float = LLOYD_TOL) -> list[SufficientStatistics]:
    """Lloyd's iterations on all rows for every set of ``centres`` (sharing the passes);
    the hard-label statistics at each set's final centres."""
    threshold = tol * float(np.mean(summary.variances))
    centres = [np.asarray(c, dtype=float) for c in centres]
    final: list[SufficientStatistics | None] = [None] * len(centres)
    running = list(range(len(centres)))
    for _ in range(max_passes):
        current = [centres[i] for i in running]
        total = run_pass(blocks, block_label_statistics, add, tuple(current), covariance_type)
        n_components, n_features = current[0].shape
        sizes = [packed_size(covariance_type, n_components, n_features)] * len(current)
        still_running = []
        for i, vector in zip(running, split(total, sizes)):
            final[i] = stats = unpack(vector, centres[i], covariance_type)
            moved_to = _filled_empty(stats.means, stats.counts == 0, summary.sample)
            if np.sum((moved_to - centres[i]) ** 2) > threshold:
                centres[i] = moved_to
                still_running.append(i)
        running = still_running
        if not running:
            break
    return final


def dask_starts(blocks: Blocks, summary: DataSummary, n_components: int, covariance_type: str,
                reg_covar: float, methods: list[str], rng: np.random.Generator,
                given: dict) -> list[GaussianMixtureParams]:
    """:math:`\\theta_0` of each start method (module docstring); ``given`` holds the
    ``*_init`` arrays of :func:`emgmm.init.initial_params`, which replace the estimates
    (with any of them given, ``kmeans`` stays on the sample)."""
    starts: list[GaussianMixtureParams | None] = []
    kmeans_centres: dict[int, np.ndarray] = {}
    user_given = any(value is not None for value in given.values())
    for index, method in enumerate(methods):
        if method == "kmeans" and not user_given:
            kmeans_centres[index] = kmeans(summary.sample, n_components, rng)[1]
            starts.append(None)
        else:
            starts.append(initial_params(summary.sample, n_components, covariance_type, reg_covar,
                                         method, rng, **given))
    if kmeans_centres:
        statistics = lloyd_passes(blocks, list(kmeans_centres.values()), covariance_type, summary)
        for index, stats in zip(kmeans_centres, statistics):
            starts[index] = params_from_statistics(stats, reg_covar)
    return starts
