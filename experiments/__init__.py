"""Experiments: configs -> data -> EM and Bayesian fits -> comparison table -> report.

Run ``gmm-compare run`` (or ``python -m experiments run``) for the bundled quickstart; from
Python, ``experiments.run(config, out=...)`` runs an experiment and :func:`load_run` reads a
finished run (:mod:`experiments.api`; ``run_config`` is the same function as ``run``).
"""

import importlib

__all__ = ["load_run", "run", "run_config"]


def __getattr__(name: str):
    # the API pulls in the runner and the report: imported on first use, not by the CLI's
    # subcommands that need neither
    if name == "run":  # the subpackage experiments.run, callable (experiments/run/__init__.py)
        return importlib.import_module("experiments.run")
    if name in __all__:
        from experiments import api

        return getattr(api, name)
    raise AttributeError(f"module 'experiments' has no attribute {name!r}")
