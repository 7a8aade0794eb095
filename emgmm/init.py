"""Starting values: hierarchical, k-means++, k-means (Lloyd), random, random_from_data,
user-given.

``hierarchical`` is in the spirit of mclust's default start (model-based hierarchical
agglomeration on SVD-transformed data, Fraley 1998): Ward's agglomeration (the merge that
least increases the within-cluster sum of squares, i.e. mclust's agglomeration for the
spherical equal-volume model) of the rows whitened by their principal components (so that
the start does not depend on the data's units or correlations, as mclust's ``hcUse =
"SVD"``), cut at K clusters. It runs on at most ``HIERARCHICAL_MAX_ROWS`` = 2000 rows (a
uniform subsample beyond that); the other rows go to the nearest cluster centre in the
whitened space. Cost: :math:`O(n^2)` time and :math:`n^2/2` distances (16 MB at
:math:`n = 2000`; about 0.1 s of CPU) for the agglomeration, one chunked pass over X for
the whitening and one for the nearest centres (numba, :mod:`emgmm.fast.kmeans`).

Every method produces initial responsibilities ``gamma`` (N, K) and one M-step turns them
into ``theta_0``, as in scikit-learn. ``kmeans``, ``k-means++`` and ``random_from_data``
give hard labels: their M-step (:func:`gaussian_parameters_from_labels`) works from the
labels and row chunks, so that a start needs no (N, K) or (N, D) array beyond X; the soft
``random`` start goes through :func:`emgmm.steps.m_step`. User-given
weights / means / precisions (or covariances) replace the corresponding estimates; with all
three given no data-driven start is computed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

from emgmm._chunks import CHUNK_ROWS, feature_variances, row_chunks
from emgmm._validation import AUTO_STARTS, INIT_METHODS, check_choice
from emgmm.covariance_types import covariance_type as covariance_type_of
from emgmm.fast.kmeans import candidate_potentials, distances_to_nearest, nearest_centres
from emgmm.params import GaussianMixtureParams, covariance_shape
from emgmm.statistics import cluster_means, params_from_statistics, statistics_from_labels
from emgmm.steps import m_step


def nearest_centers(X: np.ndarray, centers: np.ndarray, chunk_rows: int | None = None,
                    n_threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest centre and the squared distance to it, for each row
    (:func:`emgmm.fast.kmeans.nearest_centres`: numba, threads over chunks of ``chunk_rows``
    rows, no (N, K) array)."""
    found = nearest_centres(X, centers, chunk_size=chunk_rows, n_threads=n_threads)
    return found.labels, found.closest


def kmeans_plusplus(X: np.ndarray, n_clusters: int, rng: np.random.Generator,
                    chunk_rows: int | None = None, n_threads: int | None = None) -> np.ndarray:
    """Indices of k-means++ seeds (Arthur and Vassilvitskii 2007), greedy variant.

    The first seed is uniform; each further seed is drawn with probability proportional to
    the squared distance :math:`d_i` to the nearest seed so far, keeping the best of
    ``2 + floor(log K)`` candidates (the one that lowers the potential
    :math:`\\sum_i d_i` most). Two passes over X per seed (the candidates' potentials, then
    the distances to the chosen one) on the numba kernels of :mod:`emgmm.fast.kmeans`.
    """
    n_samples = X.shape[0]
    n_trials = 2 + int(np.log(n_clusters))
    options = dict(chunk_size=chunk_rows, n_threads=n_threads)
    indices = [int(rng.integers(n_samples))]
    closest = distances_to_nearest(X, X[indices[0]], **options)
    for _ in range(1, n_clusters):
        potential = closest.sum()
        if potential <= 0.0:  # every point coincides with a seed: pick a fresh row uniformly
            remaining = np.setdiff1d(np.arange(n_samples), indices)
            indices.append(int(rng.choice(remaining)))
            continue
        candidates = np.searchsorted(np.cumsum(closest), rng.uniform(size=n_trials) * potential)
        candidates = np.minimum(candidates, n_samples - 1)
        potentials = candidate_potentials(X, X[candidates], closest, **options)
        best = int(candidates[np.argmin(potentials)])
        indices.append(best)
        distances_to_nearest(X, X[best], closest, **options)
    return np.asarray(indices)


def kmeans(
    X: np.ndarray, n_clusters: int, rng: np.random.Generator, max_iter: int = 300, tol: float = 1e-4,
    chunk_rows: int | None = None, n_threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means from k-means++ seeds.

    Each pass assigns every row to its nearest centre and sums the rows of each cluster in
    the same read of X (:func:`emgmm.fast.kmeans.nearest_centres`); the new centres are
    :math:`c_k = \\frac{1}{n_k} \\sum_{z_i = k} x_i`. Stops when the labels stop changing
    (the labels then belong to the final centres: no further pass) or the centres move less
    than ``tol`` times the mean per-feature variance (squared). An empty cluster takes the
    point farthest from its centre. No (N, K) array is formed.

    Returns
    -------
    labels : array of shape (n_samples,)
    centers : array of shape (n_clusters, n_features)
    """
    options = dict(chunk_size=chunk_rows, n_threads=n_threads)
    centers = X[kmeans_plusplus(X, n_clusters, rng, chunk_rows, n_threads)].astype(float)
    threshold = tol * np.mean(feature_variances(X))
    labels = np.full(X.shape[0], -1, dtype=np.int64)
    for _ in range(max_iter):
        found = nearest_centres(X, centers, labels=labels, **options)
        if found.changed == 0:
            return labels, centers
        counts, sums, closest = found.counts, found.sums, found.closest
        for k in np.flatnonzero(counts == 0):
            farthest = int(np.argmax(closest))
            # The farthest row moves to the empty cluster (and out of its own cluster's sums).
            counts[labels[farthest]] -= 1.0
            sums[labels[farthest]] -= X[farthest]
            counts[k], sums[k] = 1.0, X[farthest]
            labels[farthest] = k
            closest[farthest] = 0.0  # now the centre of its own cluster
        new_centers = sums / np.maximum(counts, 1.0)[:, None]
        shift = np.sum((new_centers - centers) ** 2)
        centers = new_centers
        if shift <= threshold:
            break
    return nearest_centers(X, centers, chunk_rows, n_threads)[0], centers


def gaussian_parameters_from_labels(X: np.ndarray, labels: np.ndarray, n_components: int,
                                    covariance_type: str, reg_covar: float,
                                    chunk_rows: int = CHUNK_ROWS) -> GaussianMixtureParams:
    """The M-step on one-hot responsibilities, without forming them.

    Equal (to rounding) to :func:`emgmm.steps.m_step` on ``one_hot(labels)``: the sums of
    :func:`emgmm.statistics.statistics_from_labels` (chunk by chunk, about each label's mean)
    go through the one M-step, :func:`emgmm.statistics.params_from_statistics`.
    """
    stats = statistics_from_labels(X, labels, n_components, covariance_type, chunk_rows)
    return params_from_statistics(stats, reg_covar)


def one_hot(labels: np.ndarray, n_components: int) -> np.ndarray:
    """Responsibilities that put all mass on ``labels``, shape (n_samples, n_components)."""
    resp = np.zeros((labels.shape[0], n_components))
    resp[np.arange(labels.shape[0]), labels] = 1.0
    return resp


def _nearest_seed_labels(X: np.ndarray, seeds: np.ndarray, n_components: int) -> np.ndarray:
    labels = nearest_centers(X, X[seeds])[0]
    # Each seed keeps at least its own row, even when rows are duplicated.
    labels[seeds] = np.arange(n_components)
    return labels


def _labels_kmeans(X, n_components, rng):
    return kmeans(X, n_components, rng)[0]


def _labels_kmeans_plusplus(X, n_components, rng):
    return _nearest_seed_labels(X, kmeans_plusplus(X, n_components, rng), n_components)


def _labels_random_from_data(X, n_components, rng):
    seeds = rng.choice(X.shape[0], size=n_components, replace=False)
    return _nearest_seed_labels(X, seeds, n_components)


HIERARCHICAL_MAX_ROWS = 2000


# Directions whose standard deviation is below this fraction of the largest are dropped by
# the whitening: the eigenvalues of a Gram matrix carry rounding of about D eps of the largest.
WHITENING_RELATIVE_SCALE = 1e-6


def whitening(X: np.ndarray, chunk_rows: int = CHUNK_ROWS) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, transform)`` with ``(X - mean) @ transform`` centred, rotated onto the
    principal axes and scaled to unit variance, of shapes (n_features,) and
    (n_features, n_features).

    The axes are the eigenvectors of the scatter :math:`\\sum_i (x_i - \\bar x)(x_i - \\bar x)^T`
    (summed chunk by chunk; a D x D eigenproblem instead of an SVD of the N x D data, far
    slower: docs/em-speed.md); a direction with standard deviation
    below ``WHITENING_RELATIVE_SCALE`` of the largest is mapped to zero.
    """
    mean = X.mean(axis=0)
    scatter = np.zeros((X.shape[1], X.shape[1]))
    for rows in row_chunks(X.shape[0], chunk_rows):
        centred = X[rows] - mean
        scatter += centred.T @ centred
    eigenvalues, rotation = np.linalg.eigh(scatter)
    scale = np.sqrt(np.maximum(eigenvalues, 0.0) / max(X.shape[0] - 1, 1))
    inverse_scale = np.zeros_like(scale)
    kept = scale > WHITENING_RELATIVE_SCALE * max(scale.max(), 1e-300)
    inverse_scale[kept] = 1.0 / scale[kept]
    return mean, rotation * inverse_scale


def whitened(X: np.ndarray) -> np.ndarray:
    """X centred and rotated onto its principal axes, each scaled to unit variance
    (:func:`whitening`; directions of no variance are left at zero), array of shape
    (n_samples, n_features)."""
    mean, transform = whitening(X)
    return (X - mean) @ transform


def hierarchical_labels(X: np.ndarray, n_components: int, rng: np.random.Generator,
                        max_rows: int = HIERARCHICAL_MAX_ROWS) -> np.ndarray:
    """Labels from Ward's agglomeration of the whitened rows cut at ``n_components`` clusters
    (module docstring); rows beyond a subsample of ``max_rows`` go to the nearest centre
    (whitened chunk by chunk: no copy of X)."""

    n_samples = X.shape[0]
    if n_components == 1:  # no tree to cut (and none at all for a single row)
        return np.zeros(n_samples, dtype=np.intp)
    mean, transform = whitening(X)
    sample = np.sort(rng.choice(n_samples, size=max_rows, replace=False)) if n_samples > max_rows \
        else np.arange(n_samples)
    Z = (X[sample] - mean) @ transform
    tree = linkage(Z, method="ward")
    sample_labels = fcluster(tree, t=n_components, criterion="maxclust") - 1
    found = int(sample_labels.max()) + 1
    if found < n_components:  # ties in the tree: fewer clusters than asked; split by k-means++
        return _labels_kmeans_plusplus(X, n_components, rng)
    if sample.size == n_samples:
        return sample_labels
    centres = cluster_means(Z, sample_labels, np.bincount(sample_labels, minlength=n_components))
    labels = np.empty(n_samples, dtype=np.intp)
    for rows in row_chunks(n_samples):
        labels[rows] = nearest_centers((X[rows] - mean) @ transform, centres)[0]
    labels[sample] = sample_labels
    return labels


def _labels_hierarchical(X, n_components, rng):
    return hierarchical_labels(X, n_components, rng)


def _resp_random(X, n_components, rng):
    resp = rng.uniform(size=(X.shape[0], n_components))
    return resp / resp.sum(axis=1, keepdims=True)


# Starts that assign every row to one component (hard labels) ...
_INITIAL_LABELS: dict[str, Callable] = {
    "hierarchical": _labels_hierarchical,
    "kmeans": _labels_kmeans,
    "k-means++": _labels_kmeans_plusplus,
    "random_from_data": _labels_random_from_data,
}
# ... and those with soft responsibilities.
_INITIAL_SOFT_RESPONSIBILITIES: dict[str, Callable] = {"random": _resp_random}


def _estimated_start(X, n_components, covariance_type, reg_covar, init_params, rng):
    """``(weights, means, covariances)`` of the data-driven start: one M-step on the start's
    responsibilities (hard labels: :func:`gaussian_parameters_from_labels`)."""
    check_choice(init_params, "init_params", INIT_METHODS)
    if init_params == "auto":  # one start: the first of the kinds fit_em tries
        init_params = AUTO_STARTS[0]
    if init_params in _INITIAL_LABELS:
        labels = _INITIAL_LABELS[init_params](X, n_components, rng)
        params = gaussian_parameters_from_labels(X, labels, n_components, covariance_type, reg_covar)
        return params.weights, params.means, params.covariances
    resp = _INITIAL_SOFT_RESPONSIBILITIES[init_params](X, n_components, rng)
    params = m_step(X, resp, covariance_type, reg_covar)
    return params.weights, params.means, params.covariances


def _check_init_shape(name: str, value, expected: tuple[int, ...]) -> np.ndarray:
    value = np.asarray(value, dtype=float)
    if value.shape != expected:
        raise ValueError(f"{name} must have shape {expected}, got {value.shape}")
    if not np.all(np.isfinite(value)):
        raise ValueError(f"{name} contains NaN or infinity")
    return value


def initial_params(
    X: np.ndarray,
    n_components: int,
    covariance_type: str,
    reg_covar: float,
    init_params: str,
    rng: np.random.Generator,
    *,
    weights_init=None,
    means_init=None,
    precisions_init=None,
    covariances_init=None,
) -> GaussianMixtureParams:
    """``theta_0``: one M-step on the starting responsibilities, then user-given overrides.

    ``weights_init`` (K,), ``means_init`` (K, D) and ``precisions_init`` or
    ``covariances_init`` (layout of ``covariance_type``) replace the estimates. The
    responsibilities are only computed (and ``rng`` only advanced) when something is missing.
    """
    n_features = X.shape[1]
    cov_shape = covariance_shape(covariance_type, n_components, n_features)
    if precisions_init is not None and covariances_init is not None:
        raise ValueError("pass either precisions_init or covariances_init, not both")
    weights = None if weights_init is None else _check_init_shape("weights_init", weights_init, (n_components,))
    means = None if means_init is None else _check_init_shape("means_init", means_init, (n_components, n_features))
    covariances = None
    if precisions_init is not None:
        covariances = covariance_type_of(covariance_type).covariances_from_precisions(
            _check_init_shape("precisions_init", precisions_init, cov_shape))
    elif covariances_init is not None:
        covariances = _check_init_shape("covariances_init", covariances_init, cov_shape)
    if weights is not None and (np.any(weights < 0) or not np.isclose(weights.sum(), 1.0)):
        raise ValueError(f"weights_init must be non-negative and sum to 1, got sum {weights.sum()}")
    if weights is None or means is None or covariances is None:
        est_weights, est_means, est_covariances = _estimated_start(
            X, n_components, covariance_type, reg_covar, init_params, rng)
        weights = est_weights if weights is None else weights
        means = est_means if means is None else means
        covariances = est_covariances if covariances is None else covariances
    return GaussianMixtureParams(weights, means, covariances, covariance_type)
