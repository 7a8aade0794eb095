"""BIC, AIC, ICL and the K x covariance-type search."""

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture

from emgmm import COVARIANCE_TYPES, GaussianMixtureEM, bic, icl, n_parameters, select_model
from emgmm.steps import e_step


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("n_components, n_features", [(1, 1), (3, 2), (4, 5)])
def test_parameter_count_matches_sklearn(covariance_type, n_components, n_features):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, n_features))
    reference = GaussianMixture(n_components, covariance_type=covariance_type, random_state=0).fit(X)
    assert n_parameters(covariance_type, n_components, n_features) == reference._n_parameters()


def test_icl_is_bic_plus_twice_the_map_classification_entropy():
    rng = np.random.default_rng(0)  # overlapping clusters: the classification entropy matters
    X = np.r_[rng.normal(0.0, 1.0, 200), rng.normal(2.0, 1.0, 200)].reshape(-1, 1)
    params = GaussianMixtureEM(2, random_state=0, engine="reference").fit(X).params_
    resp = np.exp(e_step(X, params)[1])
    expected = bic(X, params) - 2.0 * np.sum(np.log(resp.max(axis=1)))
    assert icl(X, params) == pytest.approx(expected, rel=1e-12)
    assert icl(X, params) > bic(X, params) + 1.0


def test_select_model_finds_three_blobs_and_returns_the_table(blobs):
    selection = select_model(blobs, range(1, 6), ("full", "spherical"), random_state=0, engine="reference")
    assert len(selection.rows) == 10
    assert selection.best.n_components == 3
    assert selection.best.bic == min(row.bic for row in selection.rows)
    assert selection.best_model.bic(blobs) == pytest.approx(selection.best.bic, rel=1e-12)
    table = selection.as_dict()
    assert set(table) >= {"n_components", "covariance_type", "bic", "aic", "icl", "converged"}
    assert all(len(column) == 10 for column in table.values())
    np.testing.assert_array_equal(table["n_components"], [1, 2, 3, 4, 5] * 2)
    row = selection.best.as_dict()
    assert row["n_components"] == 3 and row["bic"] == selection.best.bic
    assert list(row) == list(table)
    again = select_model(blobs, range(1, 6), ("full", "spherical"), random_state=0, engine="reference")
    assert again.rows == selection.rows


def test_select_model_by_icl_and_aic(blobs):
    for criterion in ("icl", "aic"):
        selection = select_model(blobs, [2, 3], criterion=criterion, random_state=0, engine="reference")
        assert selection.criterion == criterion
        assert getattr(selection.best, criterion) == min(getattr(row, criterion) for row in selection.rows)


def test_select_model_reports_fits_that_fail_without_stopping(blobs):
    X = blobs[:4]
    selection = select_model(X, [1, 2, 6], ["diag"], random_state=0, engine="reference")
    failed = selection.rows[2]
    assert failed.error.startswith("n_samples=4 is smaller than n_components=6")
    assert failed.bic == np.inf and selection.best.error is None


def test_select_model_rejects_bad_arguments(blobs):
    with pytest.raises(ValueError, match="criterion must be one of"):
        select_model(blobs, [1], criterion="dic")
    with pytest.raises(ValueError, match="must not be empty"):
        select_model(blobs, [])
    with pytest.raises(ValueError, match="no model could be fitted"):
        select_model(blobs[:2], [5])
