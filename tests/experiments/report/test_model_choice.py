"""The report's "Choice of the number of components" section from a real run with
[selection] (EM only: no compilation), and its pictures against independent values."""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import pytest

import experiments
from emgmm import GaussianMixtureEM
from experiments.report import model_choice
from experiments.run.rundir import ReplicateFiles
from tests.experiments.conftest import TINY_TOML

SELECTION = TINY_TOML.replace("[report]\nenabled = false",
                              "[selection]\nenabled = true\nk_values = [1, 2, 3]\n\n"
                              "[report]\nenabled = true")


@pytest.fixture(scope="module")
def selection_run(tmp_path_factory):
    directory = tmp_path_factory.mktemp("choice")
    config = directory / "choice.toml"
    config.write_text(SELECTION.format(name="choice", replicates=1, n_samples=150,
                                       overlaps=[0.01], n_init=1))
    return experiments.run_config(config, out=directory / "run")


def test_section_has_table_curves_and_the_chosen_fit(selection_run):
    html = (selection_run.path / "report" / "index.html").read_text()
    assert '<h2 id="model-choice">Choice of the number of components</h2>' in html
    assert 'href="#model-choice"' in html
    assert html.index('id="model-choice"') < html.index('id="cells"')
    figures = {p.name for p in (selection_run.path / "report" / "figures").iterdir()}
    rep = selection_run.replicates[0]
    for suffix in ("criteria", "classification"):
        assert f"{rep.anchor}-choice-{suffix}.png" in figures
    assert "BIC correct" in html


def test_criteria_curves_draw_the_saved_table(selection_run):
    files = ReplicateFiles(selection_run.replicates[0].path)
    table = pd.read_csv(files.selection_table)
    figure = model_choice.plot_criteria(table)
    bic_axis = figure.axes[0]
    lines = {line.get_label(): line for line in bic_axis.get_lines()}
    assert set(lines) == {"full (VVV)", "tied (EEE)", "diag (VVI)", "spherical (VII)"}
    full = table[table["covariance_type"] == "full"]
    np.testing.assert_allclose(lines["full (VVV)"].get_ydata(),
                               np.where(np.isfinite(full["bic"]), full["bic"], np.nan))


def test_classification_uncertainty_and_density():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal([0, 0, 0], 1.0, (100, 3)), rng.normal([4, 4, 4], 1.0, (100, 3))])
    model = GaussianMixtureEM(2, random_state=0).fit(X)
    weights, means, covariances = model_choice.marginal_2d(model)
    # the marginal density on (x1, x2) integrates the third coordinate out: compare with
    # the full model's density integrated numerically over x3
    points = np.array([[0.0, 0.0], [4.0, 4.0], [2.0, 2.0]])
    density = model_choice.mixture_density_2d(points, weights, means, covariances)
    x3 = np.linspace(-12.0, 16.0, 4001)
    integrated = [np.trapezoid(np.exp(model.score_samples(
        np.column_stack([np.full_like(x3, p[0]), np.full_like(x3, p[1]), x3]))), x3)
        for p in points]
    np.testing.assert_allclose(density, integrated, rtol=1e-6)
    figure = model_choice.plot_classification(X, model)
    assert len(figure.axes) == 2
    one_d = GaussianMixtureEM(2, random_state=0).fit(X[:, :1])
    assert len(model_choice.plot_classification(X[:, :1], one_d).axes) == 2


def test_loo_compare_plot_from_the_saved_table(tmp_path):
    rng = np.random.default_rng(0)
    trees = {f"K={k}": az.from_dict({
        "posterior": {"mu": rng.normal(size=(1, 200))},
        "log_likelihood": {"obs": rng.normal(-k, 0.01, size=(1, 200, 30))}}) for k in (1, 2)}
    path = tmp_path / "loo.csv"
    az.compare(trees).to_csv(path, index_label="model")
    saved = pd.read_csv(path, index_col="model")
    collection = model_choice.plot_loo_compare(saved)
    assert collection is not None
