"""``gmm-compare``'s entry point: a serial run's spare worker starts before the CLI loads.

Importing :mod:`experiments.cli` (the config schema, emgmm, SciPy, pandas) takes over a
second. When the command may be a serial run (:func:`experiments.run.spare.may_run_serially`),
the spare core's worker is started first, so that its own imports and then its compiling
ahead overlap the CLI's imports and config checks; the CLI keeps it or stops it
(:func:`experiments.run.spare.spare_core`). ``python -m experiments`` runs the same.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from contextlib import nullcontext


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``gmm-compare`` with ``argv`` (default: the command line); its exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    from experiments.run.spare import SpareCore, may_run_serially

    with SpareCore() if may_run_serially(argv) else nullcontext() as spare:
        from experiments.cli import main as cli_main

        return cli_main(argv, spare=spare)
