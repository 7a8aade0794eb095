"""Compare two run directories' results.csv and summary.csv, timing columns left out.

    python benchmarks/compare_results.py BEFORE_RUN_DIR AFTER_RUN_DIR

Every other column must be identical bit for bit (floats compared as their exact repr);
prints the differing columns per method and exits 1 when anything differs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from experiments.run.rundir import RESULTS_FILE, SUMMARY_FILE, TIMING_COLUMNS


def differences(before: pd.DataFrame, after: pd.DataFrame, by_method: bool) -> list[str]:
    problems = []
    if list(before.columns) != list(after.columns):
        problems.append(f"columns differ: {list(before.columns)} vs {list(after.columns)}")
    if len(before) != len(after):
        return problems + [f"row counts differ: {len(before)} vs {len(after)}"]
    timing = {c for c in before.columns
              if any(c == t or c.startswith(f"{t}_") for t in TIMING_COLUMNS)}
    for column in before.columns.intersection(after.columns):
        if column in timing:
            continue
        left, right = before[column].map(repr), after[column].map(repr)
        differ = left != right
        if differ.any():
            methods = sorted(set(before.loc[differ, "method"])) if by_method else []
            problems.append(f"{column}: {int(differ.sum())} row(s) differ {methods}")
    return problems


def main(before_dir: str, after_dir: str) -> int:
    status = 0
    for name in (RESULTS_FILE, SUMMARY_FILE):
        before = pd.read_csv(Path(before_dir) / name, dtype=str, keep_default_na=False)
        after = pd.read_csv(Path(after_dir) / name, dtype=str, keep_default_na=False)
        problems = differences(before, after, by_method="method" in before)
        print(f"{name}: {'identical (timing columns left out)' if not problems else 'DIFFERENT'}"
              f" [{len(before)} rows]")
        for problem in problems:
            print(f"  {problem}")
        status = max(status, int(bool(problems)))
    return status


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:3]))
