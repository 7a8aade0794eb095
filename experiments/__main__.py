"""``python -m experiments ...`` is the ``gmm-compare`` command."""

from experiments.cli import main

# Guarded: process-pool workers started with spawn/forkserver import this module too.
if __name__ == "__main__":
    raise SystemExit(main())
