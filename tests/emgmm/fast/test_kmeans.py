"""The k-means starts on the numba kernels against straightforward numpy implementations.

The references below are written from the algorithms' definitions (Lloyd 1982; Arthur and
Vassilvitskii 2007, greedy variant with ``2 + floor(log K)`` candidates), with whole
(N, K) distance matrices and no chunks or threads.
"""

import numpy as np
import pytest

from emgmm._chunks import feature_variances
from emgmm.fast.kmeans import candidate_potentials, distances_to_nearest, nearest_centres
from emgmm.init import kmeans, kmeans_plusplus


def reference_distances(X, centres):
    """(N, K) squared distances, the differences squared and summed feature by feature."""
    distances = np.zeros((X.shape[0], centres.shape[0]))
    for a in range(X.shape[1]):
        distances += (X[:, a, None] - centres[None, :, a]) ** 2
    return distances


def reference_plusplus(X, n_clusters, rng):
    n_samples = X.shape[0]
    n_trials = 2 + int(np.log(n_clusters))
    indices = [int(rng.integers(n_samples))]
    closest = reference_distances(X, X[indices])[:, 0]
    for _ in range(1, n_clusters):
        potential = closest.sum()
        candidates = np.searchsorted(np.cumsum(closest), rng.uniform(size=n_trials) * potential)
        candidates = np.minimum(candidates, n_samples - 1)
        potentials = np.minimum(closest[:, None], reference_distances(X, X[candidates])).sum(axis=0)
        best = int(candidates[np.argmin(potentials)])
        indices.append(best)
        closest = np.minimum(closest, reference_distances(X, X[[best]])[:, 0])
    return np.asarray(indices)


def reference_lloyd(X, centres, max_iter=300, tol=1e-4):
    threshold = tol * np.mean(np.var(X, axis=0))
    labels = np.full(X.shape[0], -1)
    for _ in range(max_iter):
        distances = reference_distances(X, centres)
        new_labels = np.argmin(distances, axis=1)
        if np.array_equal(new_labels, labels):
            return labels, centres
        labels = new_labels
        closest = distances[np.arange(X.shape[0]), labels]
        for k in np.flatnonzero(np.bincount(labels, minlength=centres.shape[0]) == 0):
            farthest = int(np.argmax(closest))
            labels[farthest] = k
            closest[farthest] = 0.0
        new_centres = np.array([X[labels == k].mean(axis=0) for k in range(centres.shape[0])])
        shift = np.sum((new_centres - centres) ** 2)
        centres = new_centres
        if shift <= threshold:
            break
    return np.argmin(reference_distances(X, centres), axis=1), centres


@pytest.fixture(scope="module")
def mixture():
    rng = np.random.default_rng(11)
    centres = 3.0 * rng.standard_normal((6, 5))
    labels = rng.integers(6, size=3000)
    return centres[labels] + rng.standard_normal((3000, 5))


def test_nearest_centres_equal_the_whole_distance_matrix(mixture):
    centres = mixture[[0, 7, 100, 2000]]
    distances = reference_distances(mixture, centres)
    found = nearest_centres(mixture, centres, chunk_size=333)
    np.testing.assert_array_equal(found.labels, np.argmin(distances, axis=1))
    np.testing.assert_array_equal(found.closest, distances.min(axis=1))
    np.testing.assert_array_equal(found.counts, np.bincount(found.labels, minlength=4))
    sums = np.array([mixture[found.labels == k].sum(axis=0) for k in range(4)])
    np.testing.assert_allclose(found.sums, sums, rtol=1e-12, atol=1e-12)
    assert found.changed == mixture.shape[0]
    again = nearest_centres(mixture, centres, labels=found.labels.copy())
    assert again.changed == 0


def test_plusplus_helpers_equal_numpy(mixture):
    closest = distances_to_nearest(mixture, mixture[5])
    np.testing.assert_array_equal(closest, reference_distances(mixture, mixture[[5]])[:, 0])
    candidates = mixture[[1, 50, 900]]
    expected = np.minimum(closest[:, None], reference_distances(mixture, candidates)).sum(axis=0)
    np.testing.assert_allclose(candidate_potentials(mixture, candidates, closest, chunk_size=100),
                               expected, rtol=1e-12)
    distances_to_nearest(mixture, mixture[9], closest)
    np.testing.assert_array_equal(
        closest, np.minimum(reference_distances(mixture, mixture[[5, 9]]).min(axis=1), np.inf))


@pytest.mark.parametrize("n_clusters", [1, 2, 6, 20])
def test_plusplus_seeds_equal_the_reference_on_the_same_stream(mixture, n_clusters):
    seeds = kmeans_plusplus(mixture, n_clusters, np.random.default_rng(3), chunk_rows=500)
    np.testing.assert_array_equal(seeds, reference_plusplus(mixture, n_clusters, np.random.default_rng(3)))


@pytest.mark.parametrize("n_clusters", [2, 6, 15])
def test_lloyd_equals_numpy_lloyd_from_the_same_seeds(mixture, n_clusters):
    labels, centres = kmeans(mixture, n_clusters, np.random.default_rng(5), chunk_rows=700)
    seeds = reference_plusplus(mixture, n_clusters, np.random.default_rng(5))
    expected_labels, expected_centres = reference_lloyd(mixture, mixture[seeds])
    np.testing.assert_array_equal(labels, expected_labels)
    np.testing.assert_allclose(centres, expected_centres, rtol=0, atol=1e-10)


def test_lloyd_refills_an_empty_cluster_as_the_reference():
    # Two far points and a heap of duplicates: a seed on a duplicate loses all its rows.
    X = np.vstack([np.zeros((50, 2)), [[10.0, 0.0]], [[0.0, 10.0]]])
    seeds_rng = np.random.default_rng(0)
    labels, centres = kmeans(X, 3, seeds_rng)
    expected_labels, expected_centres = reference_lloyd(
        X, X[reference_plusplus(X, 3, np.random.default_rng(0))])
    np.testing.assert_array_equal(labels, expected_labels)
    np.testing.assert_allclose(centres, expected_centres, atol=1e-12)
    assert np.bincount(labels, minlength=3).min() >= 1


def test_same_bits_for_one_and_two_threads_and_any_task_split(mixture):
    one = kmeans(mixture, 6, np.random.default_rng(8), chunk_rows=128, n_threads=1)
    two = kmeans(mixture, 6, np.random.default_rng(8), chunk_rows=128, n_threads=2)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])
    seeds_one = kmeans_plusplus(mixture, 6, np.random.default_rng(9), chunk_rows=128, n_threads=1)
    seeds_two = kmeans_plusplus(mixture, 6, np.random.default_rng(9), chunk_rows=128, n_threads=2)
    np.testing.assert_array_equal(seeds_one, seeds_two)


def test_kmeans_memory_stays_within_a_fraction_of_the_data():
    """Peak of the Python-level allocations (tracemalloc) of a k-means start at N = 2e5,
    D = 10, K = 20: per-row labels and distances, per-chunk sums and the chunk temporaries
    of the feature variances, under the size of the data; an (N, K) distance matrix alone
    would be twice the data."""
    import tracemalloc

    rng = np.random.default_rng(0)
    X = rng.standard_normal((200_000, 10)) + 4.0 * rng.integers(3, size=(200_000, 1))
    kmeans(X[:1000], 10, np.random.default_rng(0))  # compile or load the kernels first
    feature_variances(X)
    tracemalloc.start()
    kmeans(X, 20, np.random.default_rng(0))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 0.8 * X.nbytes
