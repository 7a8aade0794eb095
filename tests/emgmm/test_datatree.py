"""GaussianMixtureEM.to_datatree: the EM fit named like bayes.sample's posterior."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

from emgmm import GaussianMixtureEM
from emgmm._validation import NotFittedError
from emgmm.uncertainty import information_standard_errors


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    rng = np.random.default_rng(3)
    return np.vstack([rng.normal([0.0, 0.0], 1.0, (120, 2)),
                      rng.normal([6.0, 1.0], [1.0, 0.5], (80, 2))])


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_groups_hold_the_estimate_with_full_covariances(data, covariance_type):
    model = GaussianMixtureEM(2, covariance_type=covariance_type, random_state=0).fit(data)
    tree = model.to_datatree(data)
    em = tree["em"].to_dataset()
    np.testing.assert_array_equal(em["weights"].values, model.weights_)
    np.testing.assert_array_equal(em["means"].values, model.means_)
    np.testing.assert_array_equal(em["covariances"].values, model.params_.full_covariances())
    latent = tree["latent"].to_dataset()
    np.testing.assert_allclose(latent["membership"].values, model.predict_proba(data))
    np.testing.assert_array_equal(latent["map_label"].values, model.predict(data))
    history = tree["em_fit"]["log_likelihood"].values
    np.testing.assert_array_equal(history, model.lower_bounds_)
    assert tree.attrs["covariance_type"] == covariance_type
    assert tree.attrs["n_iter"] == model.n_iter_


def test_names_and_dims_are_the_bayesian_models(data):
    import pymc as pm  # building the model (no compilation) gives its variables' dims

    from bayes.model import build_model

    model = build_model(data, 2, "full")
    dims = {name: tuple(model.named_vars_to_dims[name])
            for name in ("weights", "means", "covariances")}
    em = GaussianMixtureEM(2, random_state=0).fit(data).to_datatree()["em"]
    assert {name: em[name].dims for name in dims} == dims
    assert isinstance(model, pm.Model)


def test_standard_errors_group_expands_the_layout(data):
    model = GaussianMixtureEM(2, covariance_type="diag", random_state=0).fit(data)
    uncertainty = information_standard_errors(data, model.params_)
    errors = model.to_datatree(uncertainty=uncertainty)["em_standard_errors"].to_dataset()
    np.testing.assert_array_equal(errors["means"].values, uncertainty.standard_errors["means"])
    covariances = errors["covariances"].values
    diagonal = np.diagonal(covariances, axis1=1, axis2=2)
    np.testing.assert_array_equal(diagonal, uncertainty.standard_errors["covariances"])
    assert np.all(covariances[:, 0, 1] == 0.0)  # fixed at zero by the type: no uncertainty


def test_round_trip_through_netcdf(data, tmp_path):
    model = GaussianMixtureEM(2, random_state=0).fit(data)
    tree = model.to_datatree(data)
    tree.to_netcdf(tmp_path / "em.nc", engine="h5netcdf")
    with xr.open_datatree(tmp_path / "em.nc", engine="h5netcdf") as loaded:
        for group in ("em", "em_fit", "latent"):
            xr.testing.assert_identical(loaded[group].to_dataset(), tree[group].to_dataset())
        assert loaded.attrs["lower_bound"] == model.lower_bound_


def test_em_lines_draw_on_arviz_plots(data):
    import arviz as az
    import matplotlib

    matplotlib.use("Agg")
    model = GaussianMixtureEM(2, random_state=0).fit(data)
    em = model.to_datatree()["em"].to_dataset()
    rng = np.random.default_rng(0)
    draws = model.means_[None, None] + rng.normal(0.0, 0.1, (2, 50, 2, 2))
    posterior = xr.Dataset({"means": (("chain", "draw", "component", "dim"), draws)},
                           coords={"component": [0, 1], "dim": [0, 1]})
    collection = az.plot_dist(xr.DataTree(children={"posterior": xr.DataTree(posterior)}),
                              var_names=["means"], backend="matplotlib")
    az.add_lines(collection, em[["means"]])
    lines = collection.viz["ref_line"]["means"]
    for component in (0, 1):
        for dim in (0, 1):
            line = lines.sel(component=component, dim=dim).item()
            assert line.get_xdata()[0] == pytest.approx(model.means_[component, dim])


def test_unfitted_model_says_so():
    with pytest.raises(NotFittedError, match="not fitted"):
        GaussianMixtureEM(2).to_datatree()


def test_emgmm_imports_without_xarray():
    # xarray is loaded by to_datatree only: emgmm imports with numpy, scipy and numba alone
    code = ("import sys\n"
            "sys.modules['xarray'] = None\n"
            "import emgmm, emgmm.variational\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
