"""The report's "Choice of the number of components" section from a real run with
[selection] (EM only: no compilation), and its pictures against independent values."""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import pytest

import experiments
from emgmm import GaussianMixtureEM
from experiments.report import build_report, model_choice
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


def test_a_data_file_run_over_k_gets_the_section_from_its_cells(tmp_path):
    from tests.experiments.report import fixtures as report_fixtures

    run_dir = report_fixtures.write_file_run(tmp_path, with_mcmc=False,
                                             n_components="[1, 2, 3]")
    html = build_report(run_dir).read_text()
    assert '<h2 id="model-choice">Choice of the number of components</h2>' in html
    assert html.index('id="model-choice"') < html.index('id="cells"')
    figures = {p.stem for p in (run_dir / "report" / "figures").iterdir()}
    assert {"choice-cells-criteria", "choice-cells-classification"} <= figures
    run = experiments.load_run(run_dir)
    em = run.results[run.results["method"] == "em"]
    table = model_choice.cell_criteria_table(run.results, run.config.em.covariance_type)
    np.testing.assert_allclose(table["bic"], em.sort_values("n_components")["bic"])
    lines = {line.get_label(): line for line in
             model_choice.plot_criteria(table).axes[0].get_lines()}
    np.testing.assert_allclose(lines["full (VVV)"].get_ydata(), table["bic"])
    chosen = model_choice.lowest_bic_replicate(run)
    assert chosen.cell_id == em.loc[em["bic"].idxmin(), "cell_id"]
    assert chosen.em_model().n_components == 3  # three separated classes


def test_cells_loo_comparison_is_arviz_compare_of_the_saved_posteriors(tmp_path):
    from types import SimpleNamespace

    rng = np.random.default_rng(1)
    trees, replicates, rows = {}, [], []
    for k in (1, 2, 3):
        tree = az.from_dict({"posterior": {"mu": rng.normal(size=(2, 100))},
                             "log_likelihood": {"obs": rng.normal(-3.0 + 0.2 * k, 0.3,
                                                                  size=(2, 100, 40))}})
        path = tmp_path / f"k{k}.nc"
        tree.to_netcdf(path, engine="h5netcdf")
        trees[f"K={k}"] = tree
        replicates.append(SimpleNamespace(cell_id=f"c{k}", mcmc_path=path))
        rows += [{"cell_id": f"c{k}", "method": m, "n_components": k} for m in ("em", "mcmc")]
    run = SimpleNamespace(results=pd.DataFrame(rows), replicates=replicates)
    comparison = model_choice.cells_loo_comparison(run)
    expected = az.compare(trees)
    assert list(comparison.index) == list(expected.index) and comparison.index[0] == "K=3"
    np.testing.assert_allclose(comparison["elpd"], expected["elpd"])
    assert model_choice.plot_loo_compare(comparison) is not None


def test_criteria_against_k_keep_covariance_types_apart():
    from experiments.report.data_figures import plot_criteria_against_k

    rows = [{"method": "em", "n_components": k, "covariance_type": kind,
             "bic": 100.0 * k + (0.0 if kind == "full" else 1000.0), "icl": np.nan}
            for k in (1, 2, 3) for kind in ("full", "diag")]
    axis = plot_criteria_against_k(pd.DataFrame(rows)).axes[0]
    lines = {line.get_label(): line.get_ydata() for line in axis.get_lines()}
    np.testing.assert_allclose(lines["em, full"], [100.0, 200.0, 300.0])
    np.testing.assert_allclose(lines["em, diag"], [1100.0, 1200.0, 1300.0])
