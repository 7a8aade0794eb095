"""``[report]``: whether to build the HTML report, how many cells get detailed figures,
and what the sweep figures show (:mod:`experiments.report.sweep_figures`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from experiments.config.checks import (
    ConfigError,
    boolean,
    choice,
    integer,
    list_of,
    setting,
    text,
)
from experiments.run.rundir import METRIC_COLUMNS

# the default of ``sweep_metrics``: parameter errors, ARI, coverage, runtime, ESS per second
DEFAULT_SWEEP_METRICS = ("means_error", "covariances_error", "weights_error", "ari",
                         "coverage", "runtime_s", "ess_per_second")


@dataclass(frozen=True)
class ReportSettings:
    """``[report]``.

    Attributes
    ----------
    enabled : bool
    max_detailed_cells : int
        Cells (first replicate) drawn with every figure; the others get their table.
    sweep_metrics : tuple of str
        results.csv columns drawn against each varying grid axis, in this order (those
        without a value in the run are skipped).
    sweep_facet : str, optional
        A grid axis whose values get one panel row each in the other axes' sweep figures
        (default: the other axis when exactly two vary).
    """

    enabled: bool = setting(True, boolean)
    max_detailed_cells: int = setting(6, integer(0))
    sweep_metrics: tuple[str, ...] = setting(DEFAULT_SWEEP_METRICS,
                                             list_of(choice(METRIC_COLUMNS)))
    sweep_facet: str | None = setting(None, text)


def check_report(report: ReportSettings, grid_axes) -> ReportSettings:
    """Cross-check with ``[data]``: ``sweep_facet`` must be a grid axis (a list-valued key)."""
    if report.sweep_facet is not None and report.sweep_facet not in grid_axes:
        axes = ", ".join(grid_axes) or "none: no [data] key is a list"
        raise ConfigError("report.sweep_facet", f"must be a grid axis of [data] ({axes}), "
                                                f"got {report.sweep_facet!r}")
    return report


def parse_report(raw: Any, grid_axes, section: Any) -> ReportSettings:
    """``[report]`` from its raw table, checked by ``section`` (the schema's reader)."""
    return check_report(ReportSettings(**section(raw, ReportSettings, "report")), grid_axes)
