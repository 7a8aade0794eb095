"""Session-wide test settings."""

import os

from threadpoolctl import threadpool_limits

# Single-threaded BLAS: on two cores, OpenBLAS threads spinning against each other made
# small linear algebra (2x2 triangular solves) milliseconds slow; results do not change.
threadpool_limits(1)
os.environ.setdefault("MPLBACKEND", "Agg")
