"""The bundled quickstart gives the same results.csv as when its expected values were stored.

``tests/experiments/data/quickstart_results.csv`` is the results.csv of
``gmm-compare run quickstart --out DIR`` on the commit that stored it. Every column but
the timing columns (``experiments.run.rundir.TIMING_COLUMNS``) must match bit for bit: a
restructuring of the code must not change a number, and since the MCMC draws do not depend
on PyTensor's compile cache (``bayes.compiled``), neither must the state of the cache.
Regenerate the file only for a change of results that is intended and explained in its
commit: ``gmm-compare run quickstart --out DIR && cp DIR/results.csv`` to that path. A
column added later (a new method's metric) must be empty on the quickstart's rows.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from experiments.run.rundir import TIMING_COLUMNS

EXPECTED = Path(__file__).resolve().parents[1] / "data" / "quickstart_results.csv"


def comparable(path: Path) -> pd.DataFrame:
    """results.csv as text (every digit counts), timing columns left out."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    return table.drop(columns=[c for c in TIMING_COLUMNS if c in table.columns])


@pytest.mark.slow
def test_quickstart_results_are_pinned(quickstart_run):
    # quickstart_run (tests/experiments/conftest.py): `experiments.run_config("quickstart")`
    actual, expected = comparable(quickstart_run / "results.csv"), comparable(EXPECTED)
    # a column added since the file was stored (a new method's metric) must be empty on
    # the quickstart's rows; every stored column must hold the same text
    added = [c for c in actual.columns if c not in expected.columns]
    assert (actual[added] == "").all().all(), actual[added]
    assert [c for c in actual.columns if c in expected.columns] == list(expected.columns)
    pd.testing.assert_frame_equal(actual[list(expected.columns)], expected)
