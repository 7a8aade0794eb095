"""What a method is: the record a method registers and what it gets and gives per replicate.

A method fits one replicate's data set and measures the fit; it owns one config section,
the results.csv columns of its rows (``method`` = its name) and, optionally, a part of
each replicate's section of the report. :mod:`experiments.measure.methods` holds the
registry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from experiments.run.rundir import ReplicateFiles
from experiments.simulate.sources import Dataset


@dataclass(frozen=True)
class ReplicateInput:
    """What a method gets for one cell x replicate.

    Attributes
    ----------
    dataset : experiments.simulate.sources.Dataset
    seeds : experiments.run.plan.ReplicateSeeds
        The replicate's integer seeds (``data``, ``em``, ``mcmc``).
    files : experiments.run.rundir.ReplicateFiles
        Where the method saves its artifacts (atomically).
    stages : mapping
        Stages of the methods that ran before in this replicate, by method name (only
        those that succeeded): the MCMC method reads the EM stage.
    """

    dataset: Dataset
    seeds: Any
    files: ReplicateFiles
    stages: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MethodResult:
    """What a method gives back for one replicate.

    Attributes
    ----------
    columns : dict
        Its results.csv columns (a subset of :attr:`Method.columns`).
    stage : frozen dataclass or None
        Its fitted stage, passed on to the methods that require it.
    permutation : tuple of int or None
        The order mapping its estimated components onto the true ones (metrics.json).
    """

    columns: dict
    stage: Any = None
    permutation: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Method:
    """A registered method.

    Attributes
    ----------
    name : str
        The ``method`` value of its results.csv rows.
    section : str
        Its config section (``[em]``, ``[mcmc]``, ``[selection]``).
    options : callable ``(config, progressbar) -> options or None``
        Its picklable, frozen options from the validated config; None: not enabled.
    run : callable ``(ReplicateInput, options) -> MethodResult``
        Fit, align, save its artifacts and measure; raising records a one-line error on
        its row and the replicate goes on.
    columns : tuple of str
        The results.csv columns (experiments.run.rundir.METRIC_COLUMNS) it fills.
    requires : tuple of str
        Methods whose stage it reads; it is not run when one of them failed (its row
        then carries that error).
    report : str, optional
        ``"module:function"`` of its blocks in a detailed replicate section of the report,
        a function ``(experiments.report.method_sections.SectionInput) -> list of str``;
        a reference resolved by the report, so that the fitting code never imports the
        report (and its plotting dependencies).
    compile_ahead : callable ``(config) -> None``, optional
        Compiles, without fitting, what its fits of ``config`` will compile (on a spare
        core at the start of a serial run: :mod:`experiments.report.early`).
    warm_up : callable ``(options) -> float``, optional
        Compiles its numba kernels in this process with a tiny fit, once; returns the
        seconds (:mod:`experiments.measure.warm_up`). Its ``run`` calls it before timing a
        fit, and a serial run calls it before its first task.
    """

    name: str
    section: str
    options: Callable[[Any, bool], Any]
    run: Callable[[ReplicateInput, Any], MethodResult]
    columns: tuple[str, ...]
    requires: tuple[str, ...] = ()
    report: str | None = None
    compile_ahead: Callable[[Any], None] | None = None
    warm_up: Callable[[Any], float] | None = None
