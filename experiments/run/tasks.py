"""From a validated config to the list of replicate tasks the executors run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path

from experiments.config import ExperimentConfig
from experiments.config.methods import method_selected
from experiments.measure.base import Method
from experiments.measure.methods import METHODS
from experiments.measure.sbc import SBCTask, warm_up_sbc
from experiments.run.plan import plan_cells
from experiments.run.replicate import ReplicateTask


def grid_columns(grid_values: dict) -> dict:
    """Grid values as results.csv cells: lists (e.g. weights) become ``"[0.3, 0.7]"``."""
    return {key: str(list(value)) if isinstance(value, (tuple, list)) else value
            for key, value in grid_values.items()}


def enabled_methods(config: ExperimentConfig, methods: Mapping[str, Method] = METHODS,
                    progressbar: bool = False) -> tuple[tuple[Method, object], ...]:
    """The methods ``config`` enables, in registry order, each with its options."""
    chosen = ((method, method.options(config, progressbar)) for method in methods.values()
              if method_selected(config, method.name))
    return tuple((method, options) for method, options in chosen if options is not None)


def compile_ahead(config: ExperimentConfig, methods: Mapping[str, Method] = METHODS) -> None:
    """Compile, without fitting, what the enabled methods' fits of ``config`` will compile
    (:attr:`Method.compile_ahead`). A failure is left for the fit itself to meet and report."""
    for method, _ in enabled_methods(config, methods):
        if method.compile_ahead is not None:
            try:
                method.compile_ahead(config)
            except Exception:  # noqa: BLE001 - the run's own fit compiles and reports it
                pass


def warm_up(tasks: Sequence[ReplicateTask | SBCTask]) -> None:
    """Run in this process the warm-up of every method of ``tasks``
    (:attr:`Method.warm_up`) and of their SBC simulations, each once
    (:mod:`experiments.measure.warm_up`). A failure is left for the fit itself to meet
    and report."""
    for task in tasks:
        hooks = ([partial(method.warm_up, options) for method, options in task.methods
                  if method.warm_up is not None] if isinstance(task, ReplicateTask)
                 else [partial(warm_up_sbc, task)])
        for hook in hooks:
            try:
                hook()
            except Exception:  # noqa: BLE001 - the run's own fit meets and reports it
                pass


def build_tasks(config: ExperimentConfig, run_dir: Path, progressbar: bool = False,
                methods: Mapping[str, Method] = METHODS) -> list[ReplicateTask]:
    """One task per cell x replicate, in plan order, each with the plan's seeds.

    ``methods`` is the registry to draw from (tests pass a modified one).
    """
    tasks = []
    for cell in plan_cells(config):
        # a data-file grid may sweep model settings (covariance type, sampler, priors)
        enabled = enabled_methods(config.data.cell_config(config, cell.grid_values), methods,
                                  progressbar)
        tasks += [ReplicateTask(
            run_dir=str(run_dir), cell_id=cell.cell_id, cell_index=cell.index,
            replicate=seeds.replicate, parameters=grid_columns(cell.grid_values),
            data_spec=cell.data_spec, seeds=seeds, methods=enabled,
            data_source=config.data.source,
        ) for seeds in cell.seeds]
    return tasks
