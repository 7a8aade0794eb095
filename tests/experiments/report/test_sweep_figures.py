"""Sweep figures: chosen metrics, log axes, bounded metrics, facets, replicate bands."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from experiments.config import ConfigError, parse_config
from experiments.report import sweep_figures as sweeps

DATA = {"overlap": [0.01, 0.1], "n_samples": [100, 1000], "n_features": 2, "n_components": 2}


def results_table() -> pd.DataFrame:
    """2 overlaps x 2 sample sizes x 5 replicates x (em, mcmc), ARI a known function."""
    rows = []
    for overlap in (0.01, 0.1):
        for n in (100, 1000):
            for r in range(5):
                for method, shift in (("em", 0.0), ("mcmc", 0.05)):
                    rows.append({"overlap": overlap, "n_samples": n, "replicate": r,
                                 "method": method, "ari": 1.0 - overlap * 5 - shift + 0.01 * r,
                                 "coverage": np.nan if method == "em" else 0.9,
                                 "runtime_s": 0.01 * n})
    return pd.DataFrame(rows)


def test_metrics_come_from_the_config_in_its_order():
    config = parse_config({"data": DATA, "report": {"sweep_metrics": ["runtime_s", "ari",
                                                                      "max_rhat"]}})
    assert config.report.sweep_metrics == ("runtime_s", "ari", "max_rhat")
    # max_rhat has no value in this run: skipped
    assert sweeps.chosen_metrics(results_table(), config.report.sweep_metrics) == [
        "runtime_s", "ari"]
    default = parse_config({"data": DATA}).report.sweep_metrics
    assert default[:3] == ("means_error", "covariances_error", "weights_error")


@pytest.mark.parametrize(("report", "words"), [
    ({"sweep_metrics": ["aRi"]}, ["report.sweep_metrics[0]", "ari"]),
    ({"sweep_metrics": []}, ["report.sweep_metrics", "non-empty"]),
    ({"sweep_facet": "n_features"}, ["report.sweep_facet", "grid axis", "n_samples, overlap"]),
])
def test_bad_sweep_settings_are_one_line(report, words):
    with pytest.raises(ConfigError) as raised:
        parse_config({"data": DATA, "report": report})
    message = str(raised.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_facet_is_the_other_axis_of_two_or_the_chosen_one():
    assert sweeps.facet_for("overlap", ["overlap", "n_samples"], None) == "n_samples"
    assert sweeps.facet_for("overlap", ["overlap", "n_samples", "weights"], None) is None
    assert sweeps.facet_for("overlap", ["overlap", "n_samples", "weights"], "weights") == \
        "weights"
    assert sweeps.facet_for("overlap", ["overlap"], None) is None


def test_panels_per_facet_value_with_log_x_and_bounded_y():
    results = results_table()
    figure = sweeps.plot_sweep(results, "overlap", ["ari", "runtime_s"], facet="n_samples")
    axes = [ax for ax in figure.axes if ax.get_visible()]
    assert len(axes) == 4  # 2 sample sizes x 2 metrics
    assert [ax.get_title() for ax in axes] == [
        "ari | n_samples = 100", "runtime_s | n_samples = 100",
        "ari | n_samples = 1000", "runtime_s | n_samples = 1000"]
    assert all(ax.get_xscale() == "log" for ax in axes)
    assert axes[0].get_ylim() == sweeps.BOUNDED["ari"]
    assert axes[1].get_ylim() != sweeps.BOUNDED["ari"]
    em, mcmc = axes[0].get_lines()[:2]  # one line per method in the same panel
    np.testing.assert_allclose(em.get_xdata(), [0.01, 0.1])
    expected = results[(results.method == "em") & (results.n_samples == 100)].groupby(
        "overlap")["ari"].mean()
    np.testing.assert_allclose(em.get_ydata(), expected.to_numpy())
    assert mcmc.get_ydata()[0] == pytest.approx(expected.iloc[0] - 0.05)


def test_band_spans_the_replicate_percentiles():
    results = results_table()
    rows = results[(results.method == "em") & (results.n_samples == 100)]
    band = sweeps.replicate_band(rows, rows["overlap"], "ari")
    values = rows[rows.overlap == 0.01]["ari"].to_numpy()
    assert band.loc[0.01, "low"] == pytest.approx(np.quantile(values, 0.1))
    assert band.loc[0.01, "high"] == pytest.approx(np.quantile(values, 0.9))


def test_linear_axis_for_a_narrow_range_and_labels_for_infinity():
    assert not sweeps.log_scaled("weights_ratio", pd.Series([1.0, 2.0, 3.0]))
    assert sweeps.log_scaled("n_samples", pd.Series([60.0, 100.0]))
    assert sweeps.log_scaled("df", pd.Series([1.0, 30.0]))
    results = pd.DataFrame({"student_t_df": [np.inf, np.inf, 3.0, 3.0],
                            "method": ["em", "mcmc"] * 2, "ari": [0.9, 0.92, 0.6, 0.65]})
    assert sweeps.sweep_parameters(results, ("student_t_df",)) == ["student_t_df"]
    figure = sweeps.plot_sweep(results, "student_t_df", ["ari"])
    ax = figure.axes[0]
    assert sorted(t.get_text() for t in ax.get_xticklabels()) == ["3.0", "inf"]
    np.testing.assert_allclose(np.sort(ax.get_lines()[0].get_ydata().astype(float)), [0.6, 0.9])


def test_caption_says_what_is_averaged():
    caption = sweeps.sweep_caption("overlap", None, ["n_samples", "weights"])
    assert "averaged over n_samples, weights" in caption and "10% to the 90%" in caption


def test_coverage_panel_puts_em_intervals_beside_the_posterior_in_fixed_colours():
    results = results_table()
    em = results["method"] == "em"
    results["coverage_bootstrap"] = np.where(em, 0.8 + results["replicate"] * 0.01, np.nan)
    assert sweeps.chosen_metrics(results.drop(columns="coverage"), ["coverage"]) == ["coverage"]
    figure = sweeps.plot_sweep(results, "overlap", ["ari", "coverage"], facet="n_samples")
    ari, coverage = figure.axes[:2]
    lines = {line.get_label(): line for line in coverage.get_lines()}
    assert set(lines) == {"em bootstrap", "mcmc"}
    np.testing.assert_allclose(lines["em bootstrap"].get_ydata(), [0.82, 0.82])
    np.testing.assert_allclose(lines["mcmc"].get_ydata(), [0.9, 0.9])
    assert lines["em bootstrap"].get_linestyle() == "--"
    colours = {line.get_label(): line.get_color() for line in ari.get_lines()}
    assert lines["em bootstrap"].get_color() == colours["em"]
    assert lines["mcmc"].get_color() == colours["mcmc"]
    assert coverage.get_ylim() == sweeps.BOUNDED["coverage"]
    legend = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert legend == ["em", "mcmc", "em bootstrap"]
