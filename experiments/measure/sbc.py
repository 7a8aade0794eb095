"""Simulation-based calibration of the Bayesian model as tasks of the run (``[sbc]``).

Each simulation (a prior draw, a data set, a fit, the ranks; :func:`bayes.sbc_model.run_bayes_sbc`
with one simulation) is one :class:`SBCTask` run by the same executors as the replicates.
Its seed is child ``s`` of ``SeedSequence([seed, SBC_STREAM])``, so the ranks do not depend
on the executor and raising ``n_simulations`` keeps the existing ones. Each task writes
``RUN_DIR/sbc/sim-<s>.json`` atomically; a rerun skips the simulations whose file records
no error. :func:`write_sbc_tables` then writes

- ``sbc_ranks.csv``: one row per simulation, one column per ranked scalar
  (``weights[0]``, ``means[1,0]``, ``covariances[0]``, ...), plus ``n_posterior_draws``;
- ``sbc_summary.csv``: per scalar the Pearson chi-square statistic and p-value of the
  uniformity of its ranks over ``sbc.bins`` bins (:func:`bayes.sbc.sbc_uniformity_test`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd

import bayes
from bayes.initvals import fit_em_solution
from bayes.priors import Priors
from bayes.sbc import sbc_uniformity_test
from experiments.errors import one_line
from experiments.measure.warm_up import warm_up_once
from experiments.run.files import json_text, write_atomic, write_text_atomic
from experiments.run.rundir import RunDirectory

SBC_STREAM = 0x5BC  # second entropy word: SBC seeds independent of the replicate seeds


@dataclass(frozen=True)
class SBCTask:
    """One SBC simulation, picklable for process and Dask workers.

    Attributes
    ----------
    run_dir : str
    simulation : int
    seed : int
    settings : experiments.config.study.SBCSettings
    """

    run_dir: str
    simulation: int
    seed: int
    settings: object

    @property
    def path(self) -> Path:
        return simulation_path(Path(self.run_dir), self.simulation)


@dataclass(frozen=True)
class SBCRecord:
    """``sbc/sim-<s>.json``: one simulation's ranks, or the one line of why it failed.

    Attributes
    ----------
    simulation : int
    seed : int
    error : str or None
        None when the fit succeeded (the simulation is finished; a rerun skips it).
    parameter_names : tuple of str
        The ranked scalars (``weights[0]``, ``means[1,0]``, ...); empty after a failure.
    ranks : tuple of int
        The rank of each scalar's prior draw among its posterior draws.
    n_posterior_draws : int
    """

    simulation: int
    seed: int
    error: str | None = None
    parameter_names: tuple[str, ...] = ()
    ranks: tuple[int, ...] = ()
    n_posterior_draws: int = 0

    def __post_init__(self):
        object.__setattr__(self, "parameter_names", tuple(self.parameter_names))
        object.__setattr__(self, "ranks", tuple(self.ranks))

    def to_json(self) -> str:
        # a failure keeps the three keys it has always had
        payload = {f.name: getattr(self, f.name) for f in fields(self)}
        payload |= {"parameter_names": list(self.parameter_names), "ranks": list(self.ranks)}
        return json_text(payload if self.error is None else
                         {key: payload[key] for key in ("simulation", "seed", "error")})

    @classmethod
    def read(cls, path: Path) -> SBCRecord:
        """The record at ``path``; ValueError when the file holds no record."""
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(payload, dict) or not {"simulation", "seed"} <= payload.keys():
            raise ValueError(f"{path} holds no SBC record")
        return cls(**{f.name: payload[f.name] for f in fields(cls) if f.name in payload})


def simulation_path(run_dir: Path, simulation: int) -> Path:
    """``RUN_DIR/sbc/sim-<s>.json``."""
    return RunDirectory(run_dir).sbc_simulation(simulation)


def simulation_seeds(seed: int, n_simulations: int) -> list[int]:
    """32-bit seeds of the simulations: children of ``SeedSequence([seed, SBC_STREAM])``."""
    root = np.random.SeedSequence([seed, SBC_STREAM])
    return [int(child.generate_state(1, np.uint32)[0]) for child in root.spawn(n_simulations)]


def build_sbc_tasks(config, run_dir: Path) -> list[SBCTask]:
    """One task per simulation when ``[sbc] enabled``; otherwise none."""
    settings = config.sbc
    if not settings.enabled:
        return []
    seeds = simulation_seeds(config.seed, settings.n_simulations)
    return [SBCTask(str(run_dir), s, seed, settings) for s, seed in enumerate(seeds)]


def sbc_priors(settings):
    """The fully specified ``bayes.Priors`` of the SBC model."""
    return Priors(weights_concentration=settings.weights_concentration,
                  means_loc=settings.means_loc, means_scale=settings.means_scale,
                  scale_prior=settings.scale_prior, scale_param=settings.scale_param,
                  lkj_eta=settings.lkj_eta)


def run_sbc_simulation(task: SBCTask) -> SBCRecord:
    """Run one simulation, write its JSON record (atomically) and return it.

    A failed fit is recorded in ``error`` (one line) and retried by a rerun.
    """
    s = task.settings
    try:
        result = bayes.run_bayes_sbc(
            1, s.n_samples, s.n_components, sbc_priors(s), n_features=s.n_features,
            covariance_type=s.covariance_type, draws=s.draws, tune=s.tune, chains=s.chains,
            thin=s.thin, rng=task.seed)
        record = SBCRecord(task.simulation, task.seed,
                           parameter_names=tuple(result.parameter_names),
                           ranks=tuple(result.ranks[0].tolist()),
                           n_posterior_draws=int(result.n_posterior_draws))
    except Exception as error:  # noqa: BLE001 - recorded; the run goes on
        record = SBCRecord(task.simulation, task.seed, error=one_line(error))
    write_text_atomic(task.path, record.to_json())
    return record


def warm_up_sbc(task: SBCTask) -> float:
    """Compile the kernels of the EM fit that starts each simulation's sampler
    (:func:`bayes.initvals.fit_em_solution`), once per process and model shape; its seconds
    (:mod:`experiments.measure.warm_up`)."""
    s = task.settings
    key = ("sbc", s.n_components, s.covariance_type)
    return warm_up_once(key, lambda X: fit_em_solution(X, s.n_components, s.covariance_type, 0),
                        s.n_components, s.n_features)


def sbc_failure_record(task: SBCTask, error: BaseException) -> SBCRecord:
    """The record of a simulation whose worker died before writing one."""
    record = SBCRecord(task.simulation, task.seed, error=one_line(error))
    write_text_atomic(task.path, record.to_json())
    return record


def is_sbc_finished(task: SBCTask) -> bool:
    """True if the simulation's record exists and holds no error."""
    if not task.path.is_file():
        return False
    try:
        return SBCRecord.read(task.path).error is None
    except ValueError:
        return False


def collect_sbc_ranks(run_dir: Path, n_simulations: int) -> pd.DataFrame:
    """Ranks of the finished simulations ``0..n_simulations-1`` (one row each)."""
    rows = []
    for simulation in range(n_simulations):
        path = simulation_path(run_dir, simulation)
        if not path.is_file():
            continue
        record = SBCRecord.read(path)
        if record.error is None:
            rows.append({"simulation": simulation,
                         "n_posterior_draws": record.n_posterior_draws,
                         **dict(zip(record.parameter_names, record.ranks))})
    return pd.DataFrame.from_records(rows)


def sbc_summary(ranks: pd.DataFrame, n_bins: int) -> pd.DataFrame:
    """Chi-square statistic and p-value of the uniformity of each scalar's ranks."""
    columns = ["parameter", "n_simulations", "n_posterior_draws", "bins", "statistic", "pvalue"]
    if len(ranks) < 2:
        return pd.DataFrame(columns=columns)
    names = [c for c in ranks.columns if c not in ("simulation", "n_posterior_draws")]
    n_draws = int(ranks["n_posterior_draws"].iloc[0])
    statistic, pvalue = sbc_uniformity_test(ranks[names].to_numpy(int), n_draws, n_bins)
    return pd.DataFrame({"parameter": names, "n_simulations": len(ranks),
                         "n_posterior_draws": n_draws, "bins": n_bins,
                         "statistic": np.atleast_1d(statistic),
                         "pvalue": np.atleast_1d(pvalue)})[columns]


def write_sbc_tables(run_dir: Path, settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rebuild ``sbc_ranks.csv`` and ``sbc_summary.csv`` from the simulation records."""
    ranks = collect_sbc_ranks(run_dir, settings.n_simulations)
    summary = sbc_summary(ranks, settings.bins)
    paths = RunDirectory(run_dir)
    write_atomic(paths.sbc_ranks, lambda p: ranks.to_csv(p, index=False))
    write_atomic(paths.sbc_summary, lambda p: summary.to_csv(p, index=False))
    return ranks, summary
