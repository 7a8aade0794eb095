"""Report figures: pure pieces against independent implementations (scikit-learn, emgmm)."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.report import comparison_figures as cmp
from experiments.report import em_figures as emf
from experiments.run.rundir import DataArrays, EMFitArrays

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_calibration_curve_matches_scikit_learn():
    from sklearn.calibration import calibration_curve

    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(3), size=400)
    labels = np.array([rng.choice(3, p=p) for p in probabilities])
    mean_predicted, frequency, counts = cmp.calibration_curve(probabilities, labels, 10)
    onehot = (labels[:, None] == np.arange(3)).ravel()
    true_ref, pred_ref = calibration_curve(onehot, probabilities.ravel(), n_bins=10,
                                           strategy="quantile")
    np.testing.assert_allclose(mean_predicted, pred_ref, rtol=1e-12)
    np.testing.assert_allclose(frequency, true_ref, rtol=1e-12)
    assert counts.max() - counts.min() <= 1  # equal counts: 1200 pairs in 10 bins


def test_calibration_bins_and_band():
    assert cmp.calibration_bins(900) == 10 and cmp.calibration_bins(60) == 3
    low, high = cmp.wilson_band(np.array([0.0, 0.5, 1.0]), np.array([40, 40, 40]))
    assert np.all(low <= [0.0, 0.5, 1.0]) and np.all(high >= [0.0, 0.5, 1.0])
    assert high[0] > 0.0 and low[2] < 1.0  # no zero-width band at the ends
    z, n, p = 1.6448536269514722, 40, 0.5  # Wilson (1927) by its formula
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    np.testing.assert_allclose([low[1], high[1]], [centre - half, centre + half], rtol=1e-9)




def test_responsibilities_at_match_emgmm_e_step():
    import emgmm

    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 3))
    params = emgmm.GaussianMixtureParams(
        weights=np.array([0.2, 0.5, 0.3]),
        means=rng.normal(size=(3, 3)),
        covariances=np.stack([np.eye(3) * s for s in (0.5, 1.0, 2.0)]),
        covariance_type="full",
    )
    _, log_resp = emgmm.e_step(X, params)
    ours = emf.responsibilities_at(X, params.weights, params.means, params.covariances)
    np.testing.assert_allclose(ours, np.exp(log_resp), atol=1e-12)


def test_principal_projection_matches_pca_and_projects_covariances():
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 4)) @ rng.normal(size=(4, 4))
    projection = emf.principal_projection(X)
    ours = projection.points(X)
    reference = PCA(n_components=2).fit_transform(X)
    signs = np.sign((ours * reference).sum(axis=0))  # principal axes are defined up to sign
    np.testing.assert_allclose(ours * signs, reference, atol=1e-9)
    covariance = np.cov(X.T, bias=True)
    projected = projection.covariances(covariance[None])[0]
    np.testing.assert_allclose(projected, np.cov(ours.T, bias=True), atol=1e-9)


def test_ellipse_axes_follow_the_covariance():
    from matplotlib.figure import Figure

    ax = Figure().subplots()
    emf.draw_ellipses(ax, np.zeros((1, 2)), np.array([[[1.0, 0.0], [0.0, 4.0]]]), n_std=(2.0,))
    (ellipse,) = ax.patches
    # major half-axis 2 * sqrt(4) = 4 along x[1] (90 degrees), minor 2 * sqrt(1) = 2
    assert ellipse.width == pytest.approx(8.0)
    assert ellipse.height == pytest.approx(4.0)
    assert abs(ellipse.angle) % 180 == pytest.approx(90.0)


@pytest.mark.parametrize("n_features", [1, 5])
def test_em_pictures_for_one_and_many_dimensions(n_features):
    import emgmm

    rng = np.random.default_rng(n_features)
    means = rng.normal(scale=6.0, size=(3, n_features))
    labels = rng.integers(0, 3, size=150)
    X = means[labels] + rng.normal(size=(150, n_features))
    result = emgmm.fit_em(X, 3, init_params="random_from_data", random_state=0,
                          record_params=True)
    history = result.params_history
    snapshots = [i for i in (0, 1, 2, 5, 20) if i < len(history) - 1] + [len(history) - 1]
    full = [history[i].full_covariances() for i in snapshots]
    resp = emgmm.responsibilities(X, result.params)
    em = EMFitArrays(resp, resp.argmax(1), np.asarray(result.log_likelihood_history),
               np.array(snapshots), np.stack([history[i].weights for i in snapshots]),
               np.stack([history[i].means for i in snapshots]), np.stack(full))
    truth = DataArrays(X, labels, np.full(3, 1 / 3), means,
                  np.repeat(np.eye(n_features)[None], 3, axis=0))
    projection = emf.principal_projection(X)
    assert projection.points(X).shape == (150, 2)
    figure = emf.plot_em_snapshots(truth, em, projection)
    assert len(figure.axes) == len(snapshots)
    assert all(len(ax.patches) == 2 * 3 for ax in figure.axes)  # 1- and 2-sd ellipses
    flipped = np.where(np.arange(150) < 5, (em.map_labels + 1) % 3, em.map_labels)
    labels_figure = emf.plot_labels_before_after(truth, em, projection, flipped, em.means)
    assert len(labels_figure.axes) == 3
    assert f"EM != MCMC ({(flipped != em.map_labels).sum()})" in [
        t.get_text() for t in labels_figure.axes[2].get_legend().get_texts()]


def test_posterior_predictive_check_draws_one_panel_per_dimension_up_to_four():
    import xarray as xr

    from experiments.report import mcmc_figures as mcf
    from experiments.report.render import figure_png

    rng = np.random.default_rng(3)
    coords = {"dim": np.arange(6)}
    tree = xr.DataTree.from_dict({
        "posterior_predictive": xr.Dataset(
            {"X": (("chain", "draw", "obs", "dim"), rng.normal(size=(2, 20, 30, 6)))}, coords),
        "observed_data": xr.Dataset({"X": (("obs", "dim"), rng.normal(size=(30, 6)))}, coords),
    })
    collection = mcf.plot_ppc(tree)
    assert list(collection.viz["plot"]["dim"].values) == [0, 1, 2, 3]
    assert figure_png(collection).startswith(PNG_MAGIC)


def test_marginals_draw_em_and_truth_as_arviz_reference_lines():
    import xarray as xr

    from experiments.report import mcmc_figures as mcf

    rng = np.random.default_rng(0)
    coords = {"component": [0, 1], "dim": [0, 1]}
    posterior = xr.Dataset({"means": (("chain", "draw", "component", "dim"),
                                      rng.normal(0.0, 0.1, (2, 100, 2, 2)))}, coords)
    em = xr.Dataset({"means": (("component", "dim"), np.full((2, 2), 0.05))}, coords)
    tree = xr.DataTree(children={"posterior": xr.DataTree(posterior), "em": xr.DataTree(em)})
    truth = np.array([[0.0, -0.02], [0.01, 0.03]])
    collection = mcf.plot_marginals_with_references(tree, "means", truth)
    ax = collection.viz["plot"]["means"].sel(component=1, dim=1).item()
    references = [(line.get_xdata()[0], line.get_color()) for line in ax.get_lines()
                  if line.get_color() in ("crimson", "black")]
    assert references == [(0.05, "crimson"), (0.03, "black")]
    without_em = xr.DataTree(children={"posterior": xr.DataTree(posterior)})
    collection = mcf.plot_marginals_with_references(without_em, "means", None)
    ax = collection.viz["plot"]["means"].sel(component=0, dim=0).item()
    assert not [line for line in ax.get_lines() if line.get_color() in ("crimson", "black")]
