"""Starting values: every init method, k-means against scikit-learn, chunked distances."""

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from emgmm import COVARIANCE_TYPES, fit_em, initial_params, kmeans, kmeans_plusplus

INITS = ("kmeans", "k-means++", "random", "random_from_data")


@pytest.mark.parametrize("init_params", INITS)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_every_init_gives_a_valid_start_and_fit(init_params, covariance_type, blobs):
    start = initial_params(blobs, 3, covariance_type, 1e-6, init_params, np.random.default_rng(0))
    assert np.all(np.isfinite(start.means)) and np.all(np.isfinite(start.precisions_cholesky))
    result = fit_em(blobs, 3, covariance_type=covariance_type, init_params=init_params, random_state=0,
                    engine="reference")
    assert result.converged and np.isfinite(result.lower_bound)


def test_random_from_data_and_kmeans_plusplus_start_at_data_rows(blobs):
    rng = np.random.default_rng(4)
    seeds = kmeans_plusplus(blobs, 3, rng)
    assert len(set(seeds.tolist())) == 3
    # k-means++ spreads the seeds: one per well-separated blob.
    assert len(set((seeds // 100).tolist())) == 3


def test_kmeans_agrees_with_sklearn(blobs):
    labels, centers = kmeans(blobs, 3, np.random.default_rng(0))
    reference = KMeans(3, n_init=1, random_state=0).fit(blobs)
    assert adjusted_rand_score(labels, reference.labels_) == 1.0
    order = np.argsort(centers[:, 0] + 10 * centers[:, 1])
    ref_order = np.argsort(reference.cluster_centers_[:, 0] + 10 * reference.cluster_centers_[:, 1])
    np.testing.assert_allclose(centers[order], reference.cluster_centers_[ref_order], atol=1e-10)


def test_chunked_kmeans_gives_the_labels_of_one_chunk(blobs):
    whole = kmeans(blobs, 3, np.random.default_rng(2))
    chunked = kmeans(blobs, 3, np.random.default_rng(2), chunk_rows=7)
    np.testing.assert_array_equal(whole[0], chunked[0])
    np.testing.assert_allclose(whole[1], chunked[1], rtol=1e-12)
