"""MAP-EM on a Dask array: the in-memory MAP-EM's numbers (reference engine) to 1e-10."""

import warnings

import dask.array as da
import numpy as np
import pytest

from emgmm.covariance_types import COVARIANCE_TYPES
from emgmm.dask import fit_em_dask
from emgmm.fit import fit_em
from emgmm.map_prior import default_conjugate_prior
from tests.emgmm.dask.helpers import assert_same_params, blob_data, given_start

CHUNKINGS = {"even": (40, 2), "smaller-than-K": (2, 2), "uneven": (97, 1)}


def fits(X, chunks, covariance_type, prior, **options):
    start = given_start(X, covariance_type)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the same warnings on both paths are tested elsewhere
        expected = fit_em(X, 3, covariance_type=covariance_type, prior=prior, **start, **options)
        result = fit_em_dask(da.from_array(X, chunks=chunks), 3, covariance_type=covariance_type,
                             prior=prior, **start, **options)
    return result, expected


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("chunking", list(CHUNKINGS))
def test_map_em_on_dask_equals_map_em_in_memory(covariance_type, chunking):
    X = blob_data()
    # a strong prior (kappa = 50, many prior degrees of freedom): the mode is far from the MLE
    prior = default_conjugate_prior(X, 3, covariance_type, shrinkage=50.0, dof=60.0,
                                    weights_concentration=20.0)
    result, expected = fits(X, CHUNKINGS[chunking], covariance_type, prior, tol=1e-10)
    assert expected.n_iter > 5 and result.n_iter == expected.n_iter
    assert result.converged == expected.converged
    assert_same_params(result.params, expected.params)
    for name in ("lower_bound", "log_prior"):
        assert getattr(result, name) == pytest.approx(getattr(expected, name), rel=0, abs=1e-10)
    np.testing.assert_allclose(result.log_likelihood_history, expected.log_likelihood_history,
                               rtol=0, atol=1e-10)
    # the prior matters: maximum likelihood from the same start ends elsewhere
    ml, _ = fits(X, CHUNKINGS[chunking], covariance_type, None, tol=1e-10)
    assert np.max(np.abs(ml.params.means - result.params.means)) > 1e-2


def test_map_em_on_dask_refuses_a_prior_of_another_shape():
    X = blob_data()
    prior = default_conjugate_prior(X, 2, "full")
    with pytest.raises(ValueError, match="prior"):
        fit_em_dask(da.from_array(X, chunks=(40, 2)), 3, covariance_type="full", prior=prior)
