"""The run directory's owner: paths, payload round trips, and the documented columns."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from experiments.run.rundir import (
    ERROR_COLUMN,
    ID_COLUMNS,
    METRIC_COLUMNS,
    RESULT_COLUMNS,
    DataArrays,
    EMFitArrays,
    OutputDirError,
    ReplicateRecord,
    RunDirectory,
    check_output_dir,
)

README = Path(__file__).parents[3] / "README.md"


def readme_columns() -> list[str]:
    """Column names in the first cell of README's "results.csv columns" table."""
    section = README.read_text().split("## results.csv columns", 1)[1].split("\n## ", 1)[0]
    names = []
    for line in section.splitlines():
        if line.startswith("| `"):
            names += re.findall(r"`([^`]+)`", line.split("|")[1])
    return names


def test_readme_lists_exactly_the_columns_the_module_defines():
    documented = readme_columns()
    assert len(documented) == len(set(documented))
    assert set(documented) == set(RESULT_COLUMNS)
    assert RESULT_COLUMNS == (*ID_COLUMNS, *METRIC_COLUMNS, ERROR_COLUMN)


def test_layout_on_disk():
    run = RunDirectory("RUN")
    files = run.replicate("c00-overlap=0.01", 2)
    assert [p.as_posix() for p in (files.data, files.em_model, files.em_fit, files.mcmc,
                                   files.metrics)] == [
        f"RUN/cells/c00-overlap=0.01/rep-2/{name}"
        for name in ("data.npz", "em_model.npz", "em_fit.npz", "mcmc.nc", "metrics.json")]
    assert (files.cell_id, files.replicate) == ("c00-overlap=0.01", 2)
    assert [p.as_posix() for p in (run.config, run.versions, run.results, run.summary,
                                   run.sbc_ranks, run.sbc_summary, run.report_index,
                                   run.figures, run.sbc_simulation(3))] == [
        "RUN/config.toml", "RUN/versions.json", "RUN/results.csv", "RUN/summary.csv",
        "RUN/sbc_ranks.csv", "RUN/sbc_summary.csv", "RUN/report/index.html",
        "RUN/report/figures", "RUN/sbc/sim-0003.json"]


def test_replicates_are_found_in_cell_then_replicate_order(tmp_path):
    run = RunDirectory(tmp_path)
    for cell, rep in (("c01", 0), ("c00", 10), ("c00", 2)):
        run.replicate(cell, rep).path.mkdir(parents=True)
    assert [(f.cell_id, f.replicate) for f in run.replicates()] == [
        ("c00", 2), ("c00", 10), ("c01", 0)]


def test_record_round_trip_keeps_the_metrics_json_format():
    record = ReplicateRecord("c00", 0, 1, {"data": 1, "em": 2, "mcmc": 3},
                             rows=[{"cell_id": "c00", "method": "em", "ari": np.float64(0.5)}],
                             permutations={"em": [1, 0]}, warnings=["w"], error=None)
    text = record.to_json()
    assert list(json.loads(text)) == [
        "cell_id", "cell_index", "replicate", "seeds", "rows", "permutations", "warnings",
        "error"]
    again = ReplicateRecord.from_json(text)
    assert again == record and again.finished and again.row("em")["ari"] == 0.5
    with pytest.raises(ValueError, match="rows"):
        ReplicateRecord.from_json('{"cell_id": "c", "cell_index": 0, "replicate": 0, '
                                  '"seeds": {}}')


def test_npz_payloads_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    data = DataArrays(rng.normal(size=(5, 2)), np.arange(5) % 2, np.array([0.5, 0.5]),
                      rng.normal(size=(2, 2)), np.stack([np.eye(2)] * 2))
    np.savez(tmp_path / "data.npz", **data.as_dict())
    loaded = DataArrays.load(tmp_path / "data.npz")
    assert all(np.array_equal(a, b) for a, b in zip(loaded.as_dict().values(),
                                                     data.as_dict().values()))
    em = EMFitArrays(np.full((5, 2), 0.5), np.zeros(5, int), np.arange(3.0), np.array([0, 2]),
                     np.ones((2, 2)), np.zeros((2, 2, 2)), np.ones((2, 2, 2, 2)))
    np.savez(tmp_path / "em_fit.npz", **em.as_dict())
    assert np.array_equal(EMFitArrays.load(tmp_path / "em_fit.npz").means, em.means)


def test_an_existing_run_of_another_config_is_refused(tmp_path):
    check_output_dir(tmp_path / "new" / "run", "a")  # creatable: fine, nothing created
    assert not (tmp_path / "new").exists()
    RunDirectory(tmp_path).config.write_text("a")
    check_output_dir(tmp_path, "a")
    with pytest.raises(OutputDirError, match="different config"):
        check_output_dir(tmp_path, "b")
