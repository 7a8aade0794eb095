"""``fit_em_dask``: :func:`emgmm.fit.fit_em` for a Dask array, one pass per EM iteration.

The same EM loop (:func:`emgmm.fit.run_em`), convergence rule, collapse re-seeding,
start screening (:class:`emgmm.multistart.Screening`), choice of the best start and
warnings as in memory; what differs is where the data is read:

1. the first pass (:mod:`emgmm.dask.summary`) checks every block is finite (naming the
   first that is not), computes the per-feature variances (collapse floor and re-seeded
   covariances) and draws the seeded sample;
2. the starts come from the sample and shared k-means passes (:mod:`emgmm.dask.starts`);
3. the ``n_init`` starts run side by side, sharing every pass (:mod:`emgmm.dask.passes`).

From the same start the parameters equal the in-memory fit's to rounding: per-block
statistics are taken about the means entering the iteration, as in the fast engine, and
summed in a tree fixed by the number of blocks, so the numbers do not depend on the
scheduler or the number of workers.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from emgmm._validation import as_generator, check_fit_settings, check_magnitudes
from emgmm.dask.blocks import Blocks, blocks_of, check_dask_data
from emgmm.dask.passes import SharedPasses
from emgmm.dask.starts import dask_starts
from emgmm.dask.summary import SAMPLE_ROWS, DataSummary, summarise
from emgmm.fit import EMResult, _check_start, run_em
from emgmm.fit_warnings import warn_about_fit
from emgmm.map_prior import ConjugatePrior, check_compatible
from emgmm.multistart import Screening, joined, preferred, search_methods, start_methods
from emgmm.params import GaussianMixtureParams

ENGINE_NAME = "dask"
# The default screening of the starts (as fit_em's).
SCREENING = Screening()

__all__ = ["ENGINE_NAME", "check_summary", "fit_em_dask", "run_shared"]


def check_summary(summary: DataSummary, blocks: Blocks, n_components: int, reg_covar: float) -> None:
    """The data problems of :func:`emgmm._validation.check_data_for_fit`, from the first pass."""
    if summary.first_bad_block is not None:
        first, stop = blocks.rows(summary.first_bad_block)
        raise ValueError(f"X contains NaN or infinity in block {summary.first_bad_block} (rows "
                         f"{first} to {stop - 1}): remove or impute those entries")
    # values whose squares overflow or vanish, from the pass's column extremes
    check_magnitudes(np.maximum(summary.maximum, -summary.minimum),
                     summary.n_samples * summary.maximum.size)
    if summary.n_samples < n_components:
        raise ValueError(f"n_samples={summary.n_samples} is smaller than n_components={n_components}: "
                         "lower n_components or pass more data")
    every_row = summary.sample.shape[0] == summary.n_samples
    n_distinct = np.unique(summary.sample, axis=0).shape[0]
    if n_components > 1 and every_row and n_distinct < n_components:
        raise ValueError(f"X has only {n_distinct} distinct point(s) but n_components={n_components}: "
                         "lower n_components (duplicate rows cannot support separate components)")
    constant = np.flatnonzero(summary.maximum == summary.minimum)
    if reg_covar == 0.0 and constant.size:
        raise ValueError(f"column(s) {constant.tolist()} of X have zero variance and reg_covar=0: "
                         "drop those columns or set reg_covar > 0")


def run_shared(X, blocks: Blocks, starts: list[GaussianMixtureParams], rngs: list,
               init_indices: list[int], prior: ConjugatePrior | None = None,
               **options) -> list[EMResult]:
    """:func:`emgmm.fit.run_em` from every start, side by side (one thread each) sharing
    the passes over the data; the first failure is raised once every run has stopped."""
    passes = SharedPasses(blocks, len(starts), prior)

    def run(i: int) -> EMResult:
        try:
            result = run_em(X, starts[i], passes.iteration(i), rng=rngs[i],
                            init_index=init_indices[i], engine_name=ENGINE_NAME, prior=prior,
                            **options)
        except BaseException as error:
            passes.finished(i, error)
            raise
        passes.finished(i)
        return result

    with ThreadPoolExecutor(max_workers=len(starts), thread_name_prefix="emgmm-dask") as pool:
        futures = [pool.submit(run, i) for i in range(len(starts))]
        errors = [future.exception() for future in futures]
    if any(error is not None for error in errors):
        raise passes.failure
    return [future.result() for future in futures]


def fit_em_dask(
    X,
    n_components: int,
    *,
    covariance_type: str = "full",
    tol: float = 1e-7,
    reg_covar: float = 1e-6,
    max_iter: int = 1000,
    n_init: int = 1,
    init_params: str = "auto",
    weights_init=None,
    means_init=None,
    precisions_init=None,
    covariances_init=None,
    start: GaussianMixtureParams | None = None,
    previous_lower_bound: float = -np.inf,
    random_state=None,
    engine: str = "auto",
    record_params: bool = False,
    verbose: int = 0,
    prior: ConjugatePrior | None = None,
    screening: Screening = SCREENING,
    sample_rows: int = SAMPLE_ROWS,
) -> EMResult:
    """Fit a Gaussian mixture by EM to a Dask array (module docstring); the arguments and
    the result are those of :func:`emgmm.fit.fit_em`, MAP-EM under ``prior`` included.

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features)
        Any chunking along the rows; column blocks are joined.
    engine : {'auto', 'fast'}
        The blocks run the numba kernels of :mod:`emgmm.fast`.
    prior : ConjugatePrior, optional
        Run MAP-EM under this prior (:mod:`emgmm.map_em`): each pass gives the same
        statistics, the client runs the MAP M-step
        (:func:`emgmm.map_em.map_params_from_statistics`) and the objective adds
        :func:`emgmm.map_prior.log_prior_density`; no start screening, as in memory.
    sample_rows : int
        Rows of the seeded sample the starts are computed on.

    Returns
    -------
    EMResult
        With ``engine = "dask"``.
    """
    X = check_dask_data(X)
    check_fit_settings(n_components=n_components, covariance_type=covariance_type, tol=tol,
                       reg_covar=reg_covar, max_iter=max_iter, n_init=n_init, init_params=init_params)
    if engine not in ("auto", "fast"):
        raise ValueError(f"EM on a Dask array runs the fast (numba) kernels: pass engine='auto' or "
                         f"'fast', got {engine!r}")
    if prior is not None:
        check_compatible(covariance_type, n_components, X.shape[1], prior)
    rng = as_generator(random_state)
    blocks = blocks_of(X)
    summary = summarise(blocks, int(rng.integers(2**63)), sample_rows)
    check_summary(summary, blocks, n_components, reg_covar)
    given = {"weights_init": weights_init, "means_init": means_init,
             "precisions_init": precisions_init, "covariances_init": covariances_init}
    if start is not None:
        _check_start(start, n_components, X.shape[1], covariance_type)
        methods, starts = ["warm"], [start]
    else:
        methods = start_methods(X, init_params, n_init, given=tuple(given.values()))
        # small data: the search starts of the in-memory fit (kept only when not degenerate)
        searches = search_methods(X, init_params, n_init, tuple(given.values()), screening)
        starts = dask_starts(blocks, summary, n_components, covariance_type, reg_covar,
                             methods + searches, rng, given)
    screen = prior is None and screening.applies(init_params, len(methods), summary.n_samples)
    options = {"tol": tol, "reg_covar": reg_covar, "record_params": record_params,
               "verbose": verbose, "feature_variances": summary.variances}
    rngs = rng.spawn(len(starts))
    results = run_shared(X, blocks, starts, rngs, list(range(len(starts))), prior,
                         max_iter=min(max_iter, screening.iterations) if screen else max_iter,
                         previous_lower_bound=previous_lower_bound, **options)
    best = results[0]
    for index, result in enumerate(results[1:], start=1):
        if preferred(result, best, search=index >= len(methods)):
            best = result
    if screen and not best.converged and best.n_iter < max_iter:
        rest = run_shared(X, blocks, [best.params], [rngs[best.init_index]], [best.init_index],
                          max_iter=max_iter - best.n_iter, previous_lower_bound=best.lower_bound,
                          **options)[0]
        best = joined(best, rest)
    warn_about_fit(best, max_iter, tol, reg_covar)
    return best
