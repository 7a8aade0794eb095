"""save_model / load_model: npz arrays plus JSON metadata, no pickle."""

import json

import numpy as np
import pytest
from sklearn.base import clone

from emgmm import COVARIANCE_TYPES, GaussianMixtureEM, GaussianMixtureParams, load_model, save_model
from emgmm.map_prior import default_conjugate_prior


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fitted_estimator_round_trip(tmp_path, blobs, covariance_type):
    model = GaussianMixtureEM(3, covariance_type=covariance_type, random_state=0, engine="reference",
                              means_init=[[0, 0], [6, 0], [0, 7]]).fit(blobs)
    path = save_model(tmp_path / "model.npz", model)
    assert path == tmp_path / "model.npz" and [p.name for p in tmp_path.iterdir()] == ["model.npz"]
    loaded = load_model(path)
    assert isinstance(loaded, GaussianMixtureEM) and loaded.get_params() == {
        **model.get_params(), "means_init": [[0.0, 0.0], [6.0, 0.0], [0.0, 7.0]]
    }
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_", "lower_bounds_"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(model, name))
    for name in ("converged_", "n_iter_", "lower_bound_"):
        assert getattr(loaded, name) == getattr(model, name)
    np.testing.assert_array_equal(loaded.predict_proba(blobs), model.predict_proba(blobs))


@pytest.mark.parametrize("covariance_type", ["full", "spherical"])
def test_map_estimator_round_trip_keeps_its_prior(tmp_path, blobs, covariance_type):
    """A MAP-EM estimator's ConjugatePrior and log-prior survive save/load (JSON, no
    pickle), so a refit of the loaded model is the same MAP-EM; "default" stays a name."""
    prior = default_conjugate_prior(blobs, 3, covariance_type)
    for given in (prior, "default"):
        model = GaussianMixtureEM(3, covariance_type=covariance_type, prior=given,
                                  random_state=0).fit(blobs)
        loaded = load_model(save_model(tmp_path / "map.npz", model))
        assert loaded.history_.log_prior == model.history_.log_prior != 0.0
        if given == "default":
            assert loaded.prior == "default"
            continue
        for field in ("weights_concentration", "mean", "scale", "shrinkage", "dof"):
            np.testing.assert_array_equal(getattr(loaded.prior, field), getattr(prior, field))
        np.testing.assert_array_equal(clone(loaded).fit(blobs).means_, model.means_)


def test_file_is_plain_npz_with_json_metadata(tmp_path, blobs):
    model = GaussianMixtureEM(2, random_state=0, engine="reference").fit(blobs)
    save_model(tmp_path / "m.npz", model)
    with np.load(tmp_path / "m.npz", allow_pickle=False) as archive:
        meta = json.loads(str(archive["metadata"]))
        assert set(archive.files) == {
            "weights", "means", "covariances", "precisions_cholesky", "lower_bounds", "metadata"
        }
    assert meta["format"] == "emgmm.model" and meta["version"] == 1
    assert meta["kind"] == "GaussianMixtureEM" and meta["n_components"] == 2
    assert meta["fit"]["n_iter"] == model.n_iter_ and meta["estimator_params"]["random_state"] == 0


def test_params_round_trip(tmp_path):
    params = GaussianMixtureParams(np.array([0.3, 0.7]), np.array([[0.0], [1.0]]), np.array([0.5, 2.0]), "spherical")
    loaded = load_model(save_model(tmp_path / "p.npz", params))
    assert isinstance(loaded, GaussianMixtureParams)
    np.testing.assert_array_equal(loaded.covariances, params.covariances)
    assert loaded.covariance_type == "spherical"


def test_unfitted_model_and_foreign_files_are_refused(tmp_path):
    with pytest.raises(ValueError, match="not fitted"):
        save_model(tmp_path / "x.npz", GaussianMixtureEM(2))
    np.savez(tmp_path / "other.npz", a=np.zeros(2))
    with pytest.raises(ValueError, match="not an emgmm model file"):
        load_model(tmp_path / "other.npz")
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(ValueError, match="not a readable emgmm model file"):
        load_model(tmp_path / "junk.npz")
