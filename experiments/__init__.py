"""Experiments: configs -> data -> EM and Bayesian fits -> comparison table -> report.

Run ``gmm-compare run`` (or ``python -m experiments run``) for the bundled quickstart; from
Python, :func:`run_config` runs an experiment and :func:`load_run` reads a finished run
(:mod:`experiments.api`).
"""

__all__ = ["load_run", "run_config"]


def __getattr__(name: str):
    # the API pulls in the runner and the report: imported on first use, not by the CLI's
    # subcommands that need neither
    if name in __all__:
        from experiments import api

        return getattr(api, name)
    raise AttributeError(f"module 'experiments' has no attribute {name!r}")
