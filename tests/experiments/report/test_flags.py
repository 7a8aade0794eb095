"""Warnings that stand out: thresholds on results.csv columns and recorded messages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from experiments.config import parse_config
from experiments.report.flags import row_flags, run_flags
from experiments.report.load import Replicate
from experiments.run.rundir import ReplicateRecord

TWO_CHAINS = {"data": {"n_samples": 100, "n_features": 2, "n_components": 2},
              "mcmc": {"chains": 2}}


def test_row_flags_thresholds():
    assert row_flags({"max_rhat": 1.009}, 400) == []
    assert row_flags({"max_rhat": 1.01}, 400) == ["R-hat 1.010 >= 1.01"]
    assert row_flags({"divergences": 3.0}, 400) == ["3 divergent transitions"]
    assert row_flags({"min_ess_bulk": 120.0, "min_ess_tail": 500.0}, 400) == [
        "bulk ESS 120 < 400"]
    assert row_flags({"converged": False}, 400) == ["EM did not converge"]
    assert row_flags({"converged": "True"}, 400) == []
    assert row_flags({"label_switching_repaired": True}, 400) == ["label switching repaired by relabelling"]
    assert row_flags({"error": float("nan"), "max_rhat": float("nan")}, 400) == []


def test_run_flags_collect_rows_and_count_recorded_messages_once():
    results = pd.DataFrame({"cell_id": ["a", "a", "b"], "replicate": [0, 0, 0],
                            "method": ["em", "mcmc", "mcmc"], "converged": [False, None, None],
                            "max_rhat": [np.nan, 1.002, 1.05], "divergences": [np.nan, 0, 2]})
    replicates = [Replicate(c, 0, Path(c), None, None,
                            ReplicateRecord(c, 0, 0, {}, warnings=("BLAS missing",)), None)
                  for c in ("a", "b")]
    flags = run_flags(results, replicates, parse_config(TWO_CHAINS))
    assert flags.to_dict("records") == [
        {"cell_id": "a", "replicate": 0, "method": "em", "warning": "EM did not converge"},
        {"cell_id": "b", "replicate": 0, "method": "mcmc", "warning": "R-hat 1.050 >= 1.01"},
        {"cell_id": "b", "replicate": 0, "method": "mcmc",
         "warning": "2 divergent transitions"},
        {"cell_id": "a", "replicate": 0, "method": "", "warning": "BLAS missing"},
        {"cell_id": "b", "replicate": 0, "method": "", "warning": "BLAS missing"},
    ]
