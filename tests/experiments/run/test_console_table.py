"""The console table names a selection column for what it shows: the fraction of
replicates in which a criterion chose the true K, not a K."""

from __future__ import annotations

import pandas as pd
from rich.console import Console

from experiments.run.tables import console_table, summarize


def test_selection_columns_say_they_are_fractions_choosing_the_true_k():
    results = pd.DataFrame({
        "cell_id": ["c00", "c00"], "replicate": [0, 1], "method": ["selection"] * 2,
        "k_true": [3, 3], "k_bic": [3, 2], "k_bic_correct": [True, False], "error": ["", ""]})
    summary = summarize(results)
    table = console_table(summary, results)
    headers = [str(column.header) for column in table.columns]
    assert "BIC chose true K" in headers and "K by BIC" not in headers
    console = Console(width=200, record=True)
    console.print(table)
    row = next(line for line in console.export_text().splitlines() if "selection" in line)
    assert "0.5 ± 0.71" in row  # half the replicates; sd of (1, 0)
