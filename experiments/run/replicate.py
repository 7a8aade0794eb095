"""One cell x replicate: load the data set, run every enabled method, save, record.

:func:`run_replicate` is the unit of work every executor runs. It takes a picklable
:class:`ReplicateTask` that carries everything it needs (its own seeds and the enabled
methods with their options), writes the replicate's artifacts atomically
(``metrics.json`` last, :class:`experiments.run.rundir.ReplicateRecord`) and returns the
record. It never raises for a failure of a method: the error (one line) goes into that
method's row and the sweep goes on.

Seeds: the task carries the plan's :class:`experiments.run.plan.ReplicateSeeds`, three
integer seeds from independent ``SeedSequence`` children for the data, EM and MCMC, so each
stage's randomness is independent of the others and of the executor.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from experiments.errors import one_line
from experiments.measure import metrics
from experiments.measure.base import Method, ReplicateInput
from experiments.run.files import save_npz_atomic, write_text_atomic
from experiments.run.rundir import ReplicateRecord, RunDirectory
from experiments.simulate.sources import DATA_SOURCES, SYNTHETIC


@dataclass(frozen=True)
class ReplicateTask:
    """Everything one cell x replicate needs, picklable for process and Dask workers.

    Attributes
    ----------
    run_dir : str
    cell_id : str
    cell_index : int
        Position of the cell in the plan (orders results.csv).
    replicate : int
    parameters : dict
        The cell's grid values, copied into every row of results.csv.
    data_spec : experiments.simulate.generate.DataSpec
    seeds : experiments.run.plan.ReplicateSeeds
        Integer seeds ``data``, ``em`` and ``mcmc``.
    methods : tuple of (Method, options)
        The enabled methods (:data:`experiments.measure.methods.METHODS` order) and their
        options.
    data_source : str
        Key of :data:`experiments.simulate.sources.DATA_SOURCES`.
    """

    run_dir: str
    cell_id: str
    cell_index: int
    replicate: int
    parameters: dict
    data_spec: Any
    seeds: Any
    methods: tuple[tuple[Method, Any], ...]
    data_source: str = SYNTHETIC.name

    @property
    def files(self):
        return RunDirectory(Path(self.run_dir)).replicate(self.cell_id, self.replicate)

    @property
    def method_names(self) -> tuple[str, ...]:
        return tuple(method.name for method, _ in self.methods)

    def record(self, rows=(), permutations=None, messages=(), error=None) -> ReplicateRecord:
        """This replicate's :class:`ReplicateRecord` with the given contents."""
        seeds = {"data": self.seeds.data, "em": self.seeds.em, "mcmc": self.seeds.mcmc}
        return ReplicateRecord(self.cell_id, self.cell_index, self.replicate, seeds, rows,
                               permutations, messages, error)

    def failure_record(self, error: str, columns: dict | None = None) -> ReplicateRecord:
        """Every method's row carrying ``error`` (the data set or the worker failed)."""
        rows = [self.row(name, {**(columns or {}), "error": error})
                for name in self.method_names]
        return self.record(rows, error=error)

    def row(self, method: str, columns: dict) -> dict:
        return {"cell_id": self.cell_id, "replicate": self.replicate, **self.parameters,
                "method": method, **columns}


def run_replicate(task: ReplicateTask) -> ReplicateRecord:
    """Run one cell x replicate, write its artifacts, return its ``metrics.json`` record."""
    files = task.files
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # PyTensor's note about its C backend's BLAS concerns no result of the run.
        warnings.filterwarnings("ignore", message=".*could not link to a BLAS installation")
        record = _run_methods(task, files)
    record = task.record(record.rows, record.permutations,
                         sorted({one_line(w.message) for w in caught}), record.error)
    write_text_atomic(files.metrics, record.to_json())
    return record


def _run_methods(task: ReplicateTask, files) -> ReplicateRecord:
    """Load the data set, then run the methods in order; the first error is the record's."""
    try:
        source = DATA_SOURCES[task.data_source]
        dataset = source.load(task.data_spec, np.random.default_rng(task.seeds.data))
        save_npz_atomic(files.data, **dataset.arrays.as_dict())
        shared = dict(dataset.columns)
        if dataset.has_truth:  # data files have none: the column stays empty
            shared["log_likelihood_truth"] = metrics.mixture_mean_log_likelihood(
                dataset.X, dataset.truth)
    except Exception as error:  # noqa: BLE001 - recorded, the sweep goes on
        return task.failure_record(one_line(error))
    rows, stages, failures, permutations = [], {}, {}, {}
    for method, options in task.methods:
        failed = [failures[name] for name in method.requires if name in failures]
        if failed:
            failures[method.name] = failed[0]
            rows.append(task.row(method.name, {**shared, "error": failed[0]}))
            continue
        inputs = ReplicateInput(dataset, task.seeds, files, dict(stages))
        try:
            result = method.run(inputs, options)
        except Exception as error:  # noqa: BLE001 - the other methods' results stand
            failures[method.name] = one_line(error)
            rows.append(task.row(method.name, {**shared, "error": failures[method.name]}))
            continue
        stages[method.name] = result.stage
        if result.permutation is not None:
            permutations[method.name] = list(result.permutation)
        rows.append(task.row(method.name, {**shared, **result.columns}))
    return task.record(rows, permutations, error=next(iter(failures.values()), None))
