"""Warnings that stand out: thresholds on results.csv columns and recorded messages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from experiments.config import parse_config
from experiments.report.flags import (
    ADVICE,
    diagnostics_verdict,
    failed_checks,
    row_flags,
    run_flags,
)
from experiments.report.load import Replicate
from experiments.run.rundir import ReplicateRecord

TWO_CHAINS = {"data": {"n_samples": 100, "n_features": 2, "n_components": 2},
              "mcmc": {"chains": 2}}


def test_row_flags_thresholds():
    assert failed_checks({"max_rhat": 1.009}, 400) == {}
    assert failed_checks({"max_rhat": 1.01}, 400) == {"max_rhat": "R-hat 1.010 >= 1.01"}
    assert failed_checks({"divergences": 3.0}, 400) == {"divergences": "3 divergent transitions"}
    assert failed_checks({"min_ess_bulk": 120.0, "min_ess_tail": 500.0}, 400) == {
        "min_ess_bulk": "bulk ESS 120 < 400"}
    assert failed_checks({"converged": False}, 400) == {"converged": "EM did not converge"}
    assert failed_checks({"converged": "True"}, 400) == {}
    assert failed_checks({"label_switching_repaired": True}, 400) == {
        "label_switching_repaired": "label switching repaired by relabelling"}
    assert failed_checks({"error": float("nan"), "max_rhat": float("nan")}, 400) == {}


def test_every_warning_says_what_to_try():
    row = {"max_rhat": 1.32, "divergences": 4, "min_ess_bulk": 6, "min_ess_tail": 6,
           "converged": False, "label_switching_repaired": True}
    flags = row_flags(row, 400)
    assert len(flags) == len(ADVICE) == 6
    for flag, column in zip(flags, ADVICE, strict=True):
        assert flag.endswith(ADVICE[column])
    assert flags[0].startswith("R-hat 1.320 >= 1.01: the chains disagree: run more tune")
    assert "target_accept" in flags[1]
    assert row_flags({"error": "boom"}, 400) == ["failed: boom"]


def test_diagnostics_verdict_marks_cells_whose_sampler_failed():
    results = pd.DataFrame({
        "cell_id": ["a", "a", "a", "a", "b", "b"], "replicate": [0, 0, 1, 1, 0, 0],
        "method": ["em", "mcmc", "em", "mcmc", "em", "mcmc"],
        "max_rhat": [np.nan, 1.30, np.nan, 1.001, np.nan, 1.001],
        "min_ess_bulk": [np.nan, 6.0, np.nan, 900.0, np.nan, 900.0],
        "divergences": [np.nan, 0, np.nan, 0, np.nan, 0]})
    verdict = diagnostics_verdict(results, 400)
    assert verdict == {("a", "mcmc"): "failed in 1 of 2 (R-hat, bulk ESS)", ("b", "mcmc"): "ok"}


def test_run_flags_collect_rows_and_count_recorded_messages_once():
    results = pd.DataFrame({"cell_id": ["a", "a", "b"], "replicate": [0, 0, 0],
                            "method": ["em", "mcmc", "mcmc"], "converged": [False, None, None],
                            "max_rhat": [np.nan, 1.002, 1.05], "divergences": [np.nan, 0, 2]})
    replicates = [Replicate(c, 0, Path(c),
                            ReplicateRecord(c, 0, 0, {}, warnings=("BLAS missing",)), None)
                  for c in ("a", "b")]
    flags = run_flags(results, replicates, parse_config(TWO_CHAINS))
    assert flags.to_dict("records") == [
        {"cell_id": "a", "replicate": 0, "method": "em",
         "warning": "EM did not converge: " + ADVICE["converged"]},
        {"cell_id": "b", "replicate": 0, "method": "mcmc",
         "warning": "R-hat 1.050 >= 1.01: " + ADVICE["max_rhat"]},
        {"cell_id": "b", "replicate": 0, "method": "mcmc",
         "warning": "2 divergent transitions: " + ADVICE["divergences"]},
        {"cell_id": "a", "replicate": 0, "method": "", "warning": "BLAS missing"},
        {"cell_id": "b", "replicate": 0, "method": "", "warning": "BLAS missing"},
    ]


def test_comparison_table_shows_the_verdict():
    from experiments.report.html import comparison_block

    summary = pd.DataFrame({"cell_id": ["a", "a"], "method": ["em", "mcmc"],
                            "means_error_mean": [0.1, 0.2], "means_error_std": [0.01, 0.02]})
    html = comparison_block(summary, {("a", "mcmc"): "failed in 1 of 2 (R-hat)"})
    assert "<th>sampler diagnostics</th>" in html
    assert "failed in 1 of 2 (R-hat)" in html and "measure the sampler" in html
    assert "sampler diagnostics" not in comparison_block(summary, {})
