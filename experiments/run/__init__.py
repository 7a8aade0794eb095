"""Running a sweep: the run directory (:mod:`.rundir`), atomic writes (:mod:`.files`), cells
and seeds (:mod:`.plan`), tasks, executors, one replicate, the runner and the tables.

The package is also the Python entry point: ``experiments.run(config, out=...)`` runs an
experiment as ``gmm-compare run`` does and returns the loaded run
(:func:`experiments.api.run_config`).
"""

from __future__ import annotations

import os
import sys
from types import ModuleType


class _CallablePackage(ModuleType):
    """This package, callable: ``experiments.run`` names both the package and the entry
    point, and a module's ``__class__`` may be set to a ModuleType subclass (Python's data
    model, "Customizing module attribute access")."""

    def __call__(self, config, out: str | os.PathLike, **options):
        """``experiments.run(config, out, *, executor="serial", workers=1, report=True,
        quiet=True)``: :func:`experiments.api.run_config`."""
        from experiments.api import run_config

        return run_config(config, out, **options)


sys.modules[__name__].__class__ = _CallablePackage
