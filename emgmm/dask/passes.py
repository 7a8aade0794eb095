"""EM iterations over Dask blocks, several runs sharing every pass over the data.

:func:`em_pass` is one pass: each block computes the packed statistics of every requested
parameter set (:func:`emgmm.dask.block_statistics.block_em_statistics`), the vectors are
summed in the fixed tree of :func:`emgmm.dask.blocks.run_pass`, and the M-step
:func:`emgmm.statistics.params_from_statistics` (MAP-EM:
:func:`emgmm.map_em.map_params_from_statistics`) runs here, on the client.

:class:`SharedPasses` lets ``n`` runs of the one EM loop (:func:`emgmm.fit.run_em`, each
in its own thread) share passes: a run's iteration function registers its parameters and
waits; when every run still going has registered, one pass computes them all. Each run
sees exactly the numbers it would see alone (its statistics do not depend on the others'),
so sharing changes the cost of ``n_init`` starts from ``n`` passes per iteration to one,
and no number.
"""

from __future__ import annotations

import threading

import numpy as np

from emgmm.dask.block_statistics import (
    add,
    block_em_statistics,
    packed_size,
    split,
    unpack,
)
from emgmm.dask.blocks import Blocks, run_pass
from emgmm.engines import EMIteration
from emgmm.map_em import map_params_from_statistics
from emgmm.map_prior import ConjugatePrior, log_prior_density
from emgmm.params import GaussianMixtureParams
from emgmm.statistics import SufficientStatistics, params_from_statistics

__all__ = ["SharedPasses", "em_pass", "iteration_outcome"]

NON_FINITE = ("the log-likelihood is not finite: increase reg_covar, or scale the input data")


def iteration_outcome(stats: SufficientStatistics, params: GaussianMixtureParams,
                      reg_covar: float, prior: ConjugatePrior | None = None
                      ) -> tuple[float, GaussianMixtureParams] | ValueError:
    """What :func:`emgmm.fit.run_em` expects of one iteration from the statistics at
    ``params``: maximum likelihood, ``(mean log-likelihood, M-step)``; MAP-EM (``prior``),
    ``(total objective sum_i log p(x_i) + log p(theta), MAP M-step)``
    (:func:`emgmm.map_em.map_em_iteration`); the ValueError of a non-finite log-likelihood."""
    if not np.isfinite(stats.log_likelihood):
        return ValueError(NON_FINITE)
    if prior is None:
        return stats.log_likelihood / stats.n_samples, params_from_statistics(stats, reg_covar)
    return (stats.log_likelihood + log_prior_density(params, prior),
            map_params_from_statistics(stats, prior, reg_covar))


def em_pass(blocks: Blocks, starts: list[GaussianMixtureParams], reg_covar: float,
            prior: ConjugatePrior | None = None
            ) -> list[tuple[float, GaussianMixtureParams] | ValueError]:
    """One EM (MAP-EM with ``prior``) iteration of every start in one pass
    (:func:`iteration_outcome` of each)."""
    total = run_pass(blocks, block_em_statistics, add, tuple(starts))
    sizes = [packed_size(p.covariance_type, p.n_components, p.n_features) for p in starts]
    return [iteration_outcome(unpack(vector, np.ascontiguousarray(params.means),
                                     params.covariance_type), params, float(reg_covar), prior)
            for params, vector in zip(starts, split(total, sizes))]


class SharedPasses:
    """Passes over ``blocks`` shared by ``n_runs`` EM runs in threads (module docstring)."""

    def __init__(self, blocks: Blocks, n_runs: int, prior: ConjugatePrior | None = None) -> None:
        self._blocks = blocks
        self._prior = prior
        self._condition = threading.Condition()
        self._waiting: dict[int, tuple[GaussianMixtureParams, float]] = {}
        self._outcomes: dict[int, object] = {}
        self._active = n_runs
        self._failed: BaseException | None = None

    @property
    def failure(self) -> BaseException | None:
        """The error of the first run that failed, None while none has."""
        return self._failed

    def iteration(self, run: int) -> EMIteration:
        """The iteration function of run ``run`` (its ``X`` argument is not used)."""

        def iterate(X, params: GaussianMixtureParams, reg_covar: float):
            return self._request(run, params, reg_covar)

        return iterate

    def finished(self, run: int, error: BaseException | None = None) -> None:
        """Run ``run`` ended (with ``error``: every other run stops at its next iteration)."""
        with self._condition:
            self._active -= 1
            if error is not None and self._failed is None:
                self._failed = error
            self._pass_when_ready()
            self._condition.notify_all()

    def _request(self, run: int, params: GaussianMixtureParams, reg_covar: float):
        with self._condition:
            self._check_failed()
            self._waiting[run] = (params, reg_covar)
            self._pass_when_ready()
            while run not in self._outcomes:
                self._check_failed()
                self._condition.wait()
            outcome = self._outcomes.pop(run)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def _check_failed(self) -> None:
        if self._failed is not None:
            raise RuntimeError(f"stopped: another start failed ({self._failed})")

    def _pass_when_ready(self) -> None:
        # Called with the lock held: one pass once every active run waits for one.
        if not self._waiting or len(self._waiting) < self._active:
            return
        runs = sorted(self._waiting)
        requests = [self._waiting[run] for run in runs]
        self._waiting.clear()
        try:
            outcomes = em_pass(self._blocks, [params for params, _ in requests], requests[0][1],
                               self._prior)
        # Whatever the pass raised (the scheduler went away, a worker error) fails every run.
        except Exception as error:  # noqa: BLE001
            outcomes = [error] * len(runs)
        self._outcomes.update(zip(runs, outcomes))
        self._condition.notify_all()
