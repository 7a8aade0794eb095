"""Run directories with real fits, shared by the report tests (built once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.experiments.report import fixtures as report_fixtures


@pytest.fixture(scope="session")
def em_only_run(tmp_path_factory) -> Path:
    """Two cells, EM fitted, MCMC recorded as not run (no PyMC compilation)."""
    return report_fixtures.write_run_dir(tmp_path_factory.mktemp("em-only"), with_mcmc=False)


@pytest.fixture(scope="session")
def mcmc_run(tmp_path_factory) -> Path:
    """Two cells: the first with a real PyMC posterior (2-D, K=3, full, 2 x 200 draws)."""
    return report_fixtures.write_run_dir(tmp_path_factory.mktemp("mcmc"), with_mcmc=True)
