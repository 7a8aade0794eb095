"""Degenerate fits (emgmm.degenerate): flagged on every fit, missing in select_model's table.

The real-data cases are the ones the issue reported: with default settings a component
collapses onto one galaxy velocity, onto four iris flowers, or onto the 14 Old Faithful
eruptions that share one waiting time; mclust reports such fits as NA.
"""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emgmm import DegenerateFitWarning, GaussianMixtureEM, GaussianMixtureParams, degeneracy, select_model
from emgmm.degenerate import RIDGE_FACTOR, degenerate_components, smallest_eigenvalues
from emgmm.fit import EMResult
from emgmm.multistart import preferred
from emgmm.io import load_model, save_model

DATASETS = Path(__file__).resolve().parents[2] / "experiments" / "datasets"


def _data(name: str) -> np.ndarray:
    frame = pd.read_csv(DATASETS / f"{name}.csv").select_dtypes("number")
    X = frame.to_numpy(dtype=float)
    return X / 1000.0 if name == "galaxies" else X  # mclust's units: 1000 km/s


def _fit_quietly(X, n_components, **options):
    """One seeded start (``init_params="auto"`` would prefer a non-degenerate one of three)."""
    options = {"init_params": "kmeans", "random_state": 0, **options}
    with pytest.warns(DegenerateFitWarning):
        return GaussianMixtureEM(n_components, **options).fit(X)


# --- the rule on parameters ----------------------------------------------------------------


def test_count_rule_per_covariance_type():
    means = np.zeros((2, 3))
    for covariance_type, needed in [("full", 4.0), ("diag", 2.0), ("spherical", 2.0), ("tied", 1.0)]:
        shape = {"full": (2, 3, 3), "tied": (3, 3), "diag": (2, 3), "spherical": (2,)}[covariance_type]
        covariances = np.ones(shape) if covariance_type in ("diag", "spherical") else np.broadcast_to(np.eye(3), shape).copy()
        weights = np.array([1.0 - (needed - 0.5) / 100, (needed - 0.5) / 100])  # N_k = needed - 0.5
        params = GaussianMixtureParams(weights, means, covariances, covariance_type)
        assert [k for k, _ in degenerate_components(params, 100, 1e-6)] == [1], covariance_type
        weights = np.array([0.5, 0.5])
        assert degeneracy(GaussianMixtureParams(weights, means, covariances, covariance_type), 100, 1e-6) is None


def test_eigenvalue_rule_sees_a_rotated_flat_direction():
    """A full covariance flat along (1, 1)/sqrt 2: no diagonal entry is small."""
    rotation = np.array([[1.0, 1.0], [-1.0, 1.0]]) / np.sqrt(2.0)
    flat = rotation.T @ np.diag([1.0, 5e-6]) @ rotation
    params = GaussianMixtureParams(np.array([0.5, 0.5]), np.zeros((2, 2)), np.stack([np.eye(2), flat]), "full")
    np.testing.assert_allclose(smallest_eigenvalues(params), [1.0, 5e-6])
    assert np.all(np.diag(flat) > 0.4)
    found = degenerate_components(params, 100, reg_covar=1e-6)
    assert [k for k, _ in found] == [1] and "eigenvalue" in found[0][1]
    assert degeneracy(params, 100, reg_covar=1e-6 * 5e-6 / RIDGE_FACTOR / 2) is None


def test_non_degenerate_start_beats_a_higher_degenerate_one(blobs):
    params = GaussianMixtureEM(3, random_state=0).fit(blobs).params_
    good = EMResult(params, np.array([-3.0]), 1, True, -3.0)
    bad = EMResult(params, np.array([-1.0]), 1, True, -1.0, degenerate="component 0 ...")
    assert preferred(good, bad) and not preferred(bad, good)
    assert preferred(EMResult(params, np.array([-2.0]), 1, True, -2.0), good)


# --- constructed data ---------------------------------------------------------------------


def test_tied_value_column_is_flagged():
    """15 rows share the value 5.0 in the second column: a diag component on them has
    N_k = 15 but variance reg_covar in that column."""
    rng = np.random.default_rng(0)
    tied = np.column_stack([rng.normal(8.0, 1.0, 15), np.full(15, 5.0)])
    X = np.vstack([rng.normal(size=(200, 2)), tied])
    # the whole start is given: weights and variances drawn from a k-means start can lead
    # this data set to a non-degenerate optimum instead
    model = _fit_quietly(X, 2, covariance_type="diag", weights_init=[200 / 215, 15 / 215],
                         means_init=[[0.0, 0.0], [8.0, 5.0]], precisions_init=np.ones((2, 2)))
    assert model.degenerate_ is not None and "eigenvalue" in model.degenerate_
    assert model.history_.degenerate == model.degenerate_
    assert model.weights_.min() * X.shape[0] == pytest.approx(15.0, abs=1e-3)


def test_single_outlier_point_is_flagged_and_not_chosen():
    rng = np.random.default_rng(1)
    X = np.r_[rng.normal(0.0, 1.0, 100), 50.0].reshape(-1, 1)
    model = _fit_quietly(X, 2, means_init=[[0.0], [50.0]])
    assert "fewer than the 2 a full component needs" in model.degenerate_
    with pytest.warns(DegenerateFitWarning, match=r"full K=2 is a degenerate fit"):
        selection = select_model(X, [1, 2], ["full"], means_init=None, random_state=0)
    two = selection.rows[1]
    assert two.degenerate is not None and two.missing
    assert two.bic == two.aic == two.icl == np.inf
    assert two.log_likelihood > selection.rows[0].log_likelihood + 20  # what made BIC want it
    assert selection.best.n_components == 1 and selection.runner_up is None
    assert selection.difference == np.inf


def test_near_duplicate_cluster_is_flagged():
    """Ten rows within 1e-5 of one point: N_k = 10 >= D + 1, but no spread."""
    rng = np.random.default_rng(2)
    X = np.vstack([rng.normal(size=(150, 2)), [6.0, 6.0] + 1e-5 * rng.normal(size=(10, 2))])
    model = _fit_quietly(X, 2, means_init=[[0.0, 0.0], [6.0, 6.0]])
    assert "eigenvalue" in model.degenerate_


def test_ordinary_fits_are_not_degenerate(blobs):
    for covariance_type in ("full", "tied", "diag", "spherical"):
        assert GaussianMixtureEM(3, covariance_type=covariance_type, random_state=0).fit(blobs).degenerate_ is None


def test_degenerate_survives_save_and_load(tmp_path):
    rng = np.random.default_rng(1)
    X = np.r_[rng.normal(0.0, 1.0, 100), 50.0].reshape(-1, 1)
    model = _fit_quietly(X, 2, means_init=[[0.0], [50.0]])
    path = save_model(tmp_path / "model.npz", model)
    assert load_model(path).degenerate_ == model.degenerate_


def test_selection_reports_the_difference_to_the_runner_up(blobs):
    selection = select_model(blobs, range(1, 5), ["full", "spherical"], random_state=0)
    ranked = selection.ranked()
    assert selection.best == ranked[0] == selection.choice("bic")
    assert selection.runner_up == ranked[1]
    assert selection.difference == pytest.approx(ranked[1].bic - ranked[0].bic) and selection.difference > 0
    assert selection.choice("icl").icl == min(row.icl for row in selection.rows)


# --- the bundled real data ---------------------------------------------------------------


@pytest.mark.parametrize("name, covariance_type, n_components, options", [
    ("galaxies", "full", 6, {}),                                       # one component on ~2 velocities
    ("iris", "full", 8, {}),                                           # a full component on 4 flowers
    ("faithful", "diag", 5, {"tol": 1e-9, "max_iter": 1000, "random_state": 2}),  # 14 tied waiting times
])
def test_reported_real_data_collapses_are_flagged(name, covariance_type, n_components, options):
    options = {"random_state": 0, **options}
    model = _fit_quietly(_data(name), n_components, covariance_type=covariance_type, **options)
    assert model.degenerate_ is not None


@pytest.mark.parametrize("name, any_degenerate", [("galaxies", False), ("iris", None), ("faithful", None)])
def test_select_model_never_chooses_a_degenerate_fit_on_real_data(name, any_degenerate):
    """Galaxies: the AUTO_STARTS of full K >= 5 end on components on a few tied velocities,
    and the search rounds of tiny data (emgmm.multistart.search_rounds) replace every one of
    them with a non-degenerate fit; on the other data sets whatever is found is excluded."""
    X = _data(name)
    types = ["tied", "full"] if X.shape[1] == 1 else ["tied", "full", "diag", "spherical"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        selection = select_model(X, range(1, 10), types, random_state=0)
    degenerate = [row for row in selection.rows if row.degenerate is not None]
    assert any_degenerate is None or bool(degenerate) == any_degenerate
    assert selection.best.degenerate is None
    named = " ".join(str(w.message) for w in caught if w.category is DegenerateFitWarning)
    for row in degenerate:
        assert f"{row.covariance_type} K={row.n_components} is a degenerate fit" in named
        assert row.bic == np.inf
    assert selection.difference > 0
