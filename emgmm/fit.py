"""The one EM loop: ``fit_em(X, K, ...) -> EMResult``.

Each iteration is a function ``(X, params, reg_covar) -> (mean log-likelihood at params,
next params)``, picked by ``engine`` (:mod:`emgmm.engines`): ``"reference"``
(:func:`emgmm.steps.reference_em_iteration`, a readable E-step + M-step) or ``"fast"``
(``emgmm.fast.fused_em_iteration``, numba). ``"auto"`` uses the fast one when it imports.

Convergence follows scikit-learn: stop at iteration t when
:math:`|\\ell_t - \\ell_{t-1}| < \\mathrm{tol}` with
:math:`\\ell_t = \\frac1N \\sum_i \\log p(x_i \\mid \\theta_{t-1})`, the mean log-likelihood at
the parameters entering iteration t. The criterion is scikit-learn's; the default
``tol = 1e-7`` (with ``max_iter = 1000``) is not. The change of the *mean* log-likelihood
depends neither on the data's units (they shift :math:`\\ell` by a constant) nor on N,
unlike mclust's relative change :math:`|\\Delta L| / (1 + |L|)`; the value 1e-7 stops
within 1e-3 of the optimum far more often than 1e-3 did (README "EM core" gives the
measurement); what no stopping rule sees is a long plateau near a saddle: finding the better
optimum is the starts' job. EM never decreases :math:`\\ell` (Dempster, Laird and
Rubin 1977); a decrease larger than ``DECREASE_RTOL`` relative (rounding) is recorded in
``EMResult.decreases`` and never counted as convergence; it is warned about when
``reg_covar = 0`` (where EM is exactly monotone) or when it exceeds ``tol`` (with
``reg_covar > 0`` the ridge makes the M-step inexact, and drops far below ``tol`` near
convergence are expected). After each
iteration collapsed components are re-seeded (:mod:`emgmm.collapse`); the convergence test
is suspended for the iteration of the re-seeding and the next one.

MAP-EM (``fit_em(..., prior=...)``, Fraley and Raftery 2007) runs in the same loop with the
iteration :func:`emgmm.map_em.map_em_iteration`, which returns the *total* objective
:math:`O_t = \\sum_i \\log p(x_i \\mid \\theta_{t-1}) + \\log p(\\theta_{t-1})`. Its conventions
(pinned by ``tests/emgmm/data/map_em_reference.npz``):

- the objective scale is :math:`N`: convergence is :math:`|O_t - O_{t-1}| < \\mathrm{tol}\\,N`
  on the totals (not the change of their means), and it holds whatever the sign of the
  change (a drop beyond rounding is still recorded in ``EMResult.decreases``; at
  ``reg_covar = 0`` MAP-EM is exactly monotone);
- the result is the parameters at which the last objective was evaluated: the loop runs
  up to ``max_iter + 1`` evaluations, discards the M-step of the last one, and ``n_iter``
  counts the M-steps kept. ``log_likelihood_history`` holds :math:`O/N` at the start and
  after every kept M-step (``n_iter + 1`` entries), ``lower_bound`` the mean
  log-likelihood (without the prior) at the returned parameters and ``log_prior``
  :math:`\\log p(\\theta)` there.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from emgmm._validation import as_generator, check_data, check_data_for_fit, check_fit_settings
from emgmm.collapse import collapsed_components, reseed_components, variance_floor
from emgmm.criteria import n_parameters
from emgmm.degenerate import degeneracy
from emgmm.engines import EMIteration, available_engines, engine_e_step, select_engine
from emgmm.fit_warnings import ConvergenceWarning, LikelihoodDecreaseWarning, warn_about_fit
from emgmm.init import initial_params
from emgmm.map_em import map_em_iteration
from emgmm.map_prior import ConjugatePrior, check_compatible, log_prior_density
from emgmm.multistart import (
    Screening,
    joined,
    preferred,
    screening_rows,
    search_methods,
    start_key,
    start_methods,
)
from emgmm.params import GaussianMixtureParams

__all__ = [
    "ConvergenceWarning",
    "EMResult",
    "LikelihoodDecreaseWarning",
    "available_engines",
    "engine_e_step",
    "fit_em",
    "run_em",
    "select_engine",
]

DECREASE_RTOL = 1e-10


@dataclass(frozen=True)
class EMResult:
    """Outcome of one EM run (the best of ``n_init`` starts).

    Attributes
    ----------
    params : GaussianMixtureParams
        Parameters after the last M-step (or the state of an iteration with its own, e.g.
        the variational posterior of :mod:`emgmm.variational`).
    log_likelihood_history : array of shape (n_iter,), or (n_iter + 1,) for MAP-EM
        Mean per-sample log-likelihood at the parameters entering each iteration
        (scikit-learn's ``lower_bounds_``). MAP-EM: the per-sample MAP objective
        :math:`(\\log p(X \\mid \\theta) + \\log p(\\theta)) / N` at the start and after every
        M-step.
    n_iter : int
        Number of EM iterations run (MAP-EM: M-steps leading to ``params``).
    converged : bool
        Whether the change of the objective fell below ``tol`` (see :mod:`emgmm.fit`).
    lower_bound : float
        Last entry of ``log_likelihood_history`` (``-inf`` when ``max_iter=0``). MAP-EM:
        the mean per-sample log-likelihood :math:`\\log p(X \\mid \\theta) / N` at ``params``,
        without the prior.
    params_history : tuple of GaussianMixtureParams
        The start and the parameters after every iteration when ``record_params=True``,
        otherwise empty.
    reseeded : tuple of (iteration, component)
        Components re-seeded after a collapse (iteration 0 is the start).
    decreases : tuple of (iteration, change)
        Iterations where the mean log-likelihood dropped by more than rounding.
    engine : str
        The iteration engine used (``"reference"`` or ``"fast"``).
    init_index : int
        Which of the ``n_init`` starts this is.
    log_prior : float
        MAP-EM: :func:`emgmm.map_prior.log_prior_density` at ``params`` (up to its
        constant); 0 for maximum likelihood.
    degenerate : str or None
        Why ``params`` is a degenerate fit (:mod:`emgmm.degenerate`: a component with too
        few points, or with no spread in some direction), or None when it is not.
    """

    params: GaussianMixtureParams
    log_likelihood_history: np.ndarray
    n_iter: int
    converged: bool
    lower_bound: float
    params_history: tuple[GaussianMixtureParams, ...] = ()
    reseeded: tuple[tuple[int, int], ...] = ()
    decreases: tuple[tuple[int, float], ...] = ()
    engine: str = "reference"
    init_index: int = 0
    log_prior: float = 0.0
    degenerate: str | None = None

    def __post_init__(self) -> None:
        history = np.asarray(self.log_likelihood_history, dtype=float)
        history.setflags(write=False)
        object.__setattr__(self, "log_likelihood_history", history)

    @property
    def objective(self) -> float:
        """The per-sample objective the run climbed, at its end: the last history entry."""
        return float(self.log_likelihood_history[-1]) if self.log_likelihood_history.size else self.lower_bound


def _collapsed(params, n_samples: int, floor: float) -> np.ndarray:
    # An iteration with its own state (variational Bayes) keeps its components: none collapses.
    if not isinstance(params, GaussianMixtureParams):
        return np.empty(0, dtype=int)
    return collapsed_components(params, n_samples, floor)


def _is_decrease(change: float, previous: float) -> bool:
    return change < -DECREASE_RTOL * max(abs(previous), 1.0)


def run_em(
    X: np.ndarray,
    start: GaussianMixtureParams,
    iterate: EMIteration,
    *,
    tol: float,
    reg_covar: float,
    max_iter: int,
    rng: np.random.Generator,
    record_params: bool = False,
    previous_lower_bound: float = -np.inf,
    engine_name: str = "reference",
    init_index: int = 0,
    verbose: int = 0,
    prior: ConjugatePrior | None = None,
    feature_variances: np.ndarray | None = None,
) -> EMResult:
    """EM from one start ``theta_0`` (inputs already validated).

    With ``prior``, ``iterate`` returns the total MAP objective and the MAP-EM conventions
    of the module docstring apply. ``start`` may be the state of an iteration that is not
    a :class:`GaussianMixtureParams` (variational Bayes, :mod:`emgmm.variational`): such a
    state is never re-seeded nor checked for degeneracy, and the loop otherwise runs as for
    maximum likelihood on the objective that ``iterate`` returns. ``X`` is only indexed by
    ``iterate`` and to draw a row when re-seeding: data out of memory (:mod:`emgmm.dask`)
    passes its per-feature variances as ``feature_variances`` (otherwise computed from ``X``).
    """
    n_samples = X.shape[0]
    is_map = prior is not None
    scale = float(n_samples) if is_map else 1.0  # objective units: totals (MAP) or means
    floor = variance_floor(X, feature_variances)
    reseeded: list[tuple[int, int]] = []
    decreases: list[tuple[int, float]] = []
    params = start
    collapsed = _collapsed(params, n_samples, floor)
    if collapsed.size:
        params = reseed_components(X, params, collapsed, reg_covar, rng, feature_variances)
        reseeded += [(0, int(k)) for k in collapsed]
    params_history = [params] if record_params else []
    history: list[float] = []
    objective, converged, n_iter = previous_lower_bound * scale, False, 0
    evaluated = params  # the parameters at which ``objective`` was computed
    checks_suspended = bool(collapsed.size)
    for n_iter in range(1, max_iter + 1 + is_map):
        previous, evaluated = objective, params
        objective, params = iterate(X, params, reg_covar)
        if not np.isfinite(objective):
            raise ValueError(
                "the log-likelihood became non-finite: increase reg_covar or scale the input data"
            )
        history.append(objective / scale)
        collapsed = _collapsed(params, n_samples, floor)
        if collapsed.size:
            params = reseed_components(X, params, collapsed, reg_covar, rng, feature_variances)
            reseeded += [(n_iter, int(k)) for k in collapsed]
        if record_params:
            params_history.append(params)
        change = objective - previous
        if verbose >= 2:
            name = "MAP objective" if is_map else (
                "mean log-likelihood" if isinstance(start, GaussianMixtureParams) else "objective")
            print(f"  iteration {n_iter}: {name} {objective / scale:.10g} (change {change / scale:.3g})")
        checks_apply = not (checks_suspended or collapsed.size)
        checks_suspended = bool(collapsed.size)
        decreased = checks_apply and _is_decrease(change, previous)
        if decreased:
            decreases.append((n_iter, float(change / scale)))
        # Maximum likelihood: a decrease never counts as convergence; MAP-EM: |change| alone.
        if checks_apply and abs(change) < tol * scale and (is_map or not decreased):
            converged = True
            break
    log_prior = 0.0
    lower_bound = objective
    if is_map:  # the result is ``evaluated``; the last M-step is discarded
        n_iter, params = n_iter - 1, evaluated
        params_history = params_history[: n_iter + 1]
        log_prior = log_prior_density(params, prior)
        lower_bound = (objective - log_prior) / scale
    if verbose >= 1:
        print(f"start {init_index}: {n_iter} iterations, converged={converged}, lower bound {lower_bound:.10g}")
    return EMResult(
        params=params,
        log_likelihood_history=np.asarray(history),
        n_iter=n_iter,
        converged=converged,
        lower_bound=float(lower_bound),
        params_history=tuple(params_history),
        reseeded=tuple(reseeded),
        decreases=tuple(decreases),
        engine=engine_name,
        init_index=init_index,
        log_prior=float(log_prior),
        degenerate=degeneracy(params, n_samples, reg_covar, floor)
        if isinstance(params, GaussianMixtureParams) else None,
    )


def _check_start(start: GaussianMixtureParams, n_components: int, n_features: int, covariance_type: str) -> None:
    if (start.n_components, start.n_features, start.covariance_type) != (n_components, n_features, covariance_type):
        raise ValueError(
            f"start has K={start.n_components}, D={start.n_features}, {start.covariance_type!r} but the fit "
            f"asks for K={n_components}, D={n_features}, {covariance_type!r}: pass a matching start"
        )


def fit_em(
    X: np.ndarray,
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
    chunk_size: int | None = None,
    record_params: bool = False,
    verbose: int = 0,
    prior: ConjugatePrior | None = None,
    screening: Screening = Screening(),
) -> EMResult:
    """Fit a Gaussian mixture by EM; the best (highest objective) of ``n_init`` starts,
    non-degenerate starts (:mod:`emgmm.degenerate`) before degenerate ones. A start equal
    to one already run without re-seeding is not run again: its run would be the same
    (:func:`emgmm.multistart.start_key`).

    Each start ``theta_0`` comes from ``init_params`` and the user-given ``*_init`` arrays
    (:func:`emgmm.init.initial_params`), or is ``start`` itself (warm start; then
    ``n_init`` is ignored and ``previous_lower_bound`` seeds the convergence test; with a
    ``prior``, it is a per-sample MAP objective, ``EMResult.objective``). Each
    iteration computes

    .. math::

        \\gamma_{ik} = \\frac{\\pi_k \\mathcal{N}(x_i \\mid \\mu_k, \\Sigma_k)}
                           {\\sum_j \\pi_j \\mathcal{N}(x_i \\mid \\mu_j, \\Sigma_j)}, \\quad
        N_k = \\sum_i \\gamma_{ik}, \\quad \\pi_k = \\frac{N_k}{N}, \\quad
        \\mu_k = \\frac{1}{N_k} \\sum_i \\gamma_{ik} x_i, \\quad
        \\Sigma_k = \\frac{1}{N_k} \\sum_i \\gamma_{ik} (x_i - \\mu_k)(x_i - \\mu_k)^T + \\varepsilon I

    which maximises :math:`Q(\\theta) = \\sum_i \\sum_k \\gamma_{ik}[\\log \\pi_k +
    \\log \\mathcal{N}(x_i \\mid \\mu_k, \\Sigma_k)]`. See the module docstring for convergence,
    decreases and collapsed components.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    n_components : int
        K >= 1.
    random_state : None, int, SeedSequence or numpy Generator
        Drives the initialisation and re-seeding; one stream across the ``n_init`` starts.
    engine : {'auto', 'reference', 'fast'}
    chunk_size : int, optional
        Rows per chunk for the fast engine.
    record_params : bool
        Keep the start and every iteration's parameters in ``EMResult.params_history``.
    prior : ConjugatePrior, optional
        Run MAP-EM under this prior (:mod:`emgmm.map_em`; e.g.
        :func:`emgmm.map_prior.default_conjugate_prior`) instead of maximum likelihood, on
        the reference engine (``engine`` 'auto' or 'reference'); see the module docstring
        for what the result then holds.
    screening : Screening
        When ``init_params="auto"`` gives each start only a few iterations and continues the
        best (:class:`emgmm.multistart.Screening`: from 50,000 rows, 10 iterations; beyond
        20,000 rows (or 20 per free parameter) on a subsample of that size, the best then
        continued on all the rows, whose iterations alone make ``n_iter`` and the history).

    Returns
    -------
    EMResult

    Warns
    -----
    ConvergenceWarning
        If the best start did not converge within ``max_iter`` (``max_iter > 0``).
    CollapsedComponentWarning, LikelihoodDecreaseWarning
        If the best start re-seeded a component or saw the log-likelihood drop.
    DegenerateFitWarning
        If every start ended in a degenerate fit (``EMResult.degenerate`` says why).
    """
    X = check_data(X)
    check_fit_settings(
        n_components=n_components, covariance_type=covariance_type, tol=tol, reg_covar=reg_covar,
        max_iter=max_iter, n_init=n_init, init_params=init_params,
    )
    check_data_for_fit(X, n_components, reg_covar)
    if prior is None:
        engine_name, iterate = select_engine(engine, chunk_size)
    elif engine in ("auto", "reference"):
        check_compatible(covariance_type, n_components, X.shape[1], prior)
        engine_name, iterate = "reference", functools.partial(map_em_iteration, prior=prior)
    else:
        raise ValueError(f"MAP-EM (prior=...) runs on the reference engine: pass engine='auto' or "
                         f"'reference', got {engine!r}")
    rng = as_generator(random_state)
    if start is not None:
        _check_start(start, n_components, X.shape[1], covariance_type)
    best: EMResult | None = None
    given = (weights_init, means_init, precisions_init, covariances_init)
    # A warm start is one run from ``start`` (not one per kind of start of "auto").
    methods = ["start"] if start is not None else start_methods(X, init_params, n_init, given=given)
    searches = [] if start is not None else search_methods(X, init_params, n_init, given, screening)
    screen = prior is None and screening.applies(init_params, len(methods), X.shape[0])
    run_iter = min(max_iter, screening.iterations) if screen else max_iter
    # Large data: the starts are screened on a subsample (emgmm.multistart).
    rows = (screening_rows(X.shape[0], n_parameters(covariance_type, n_components, X.shape[1]),
                           screening, rng) if screen else None)
    data = X if rows is None else X[rows]
    record_starts = record_params and rows is None
    ran_from: dict[bytes, int] = {}  # start_key -> index of the start that ran it
    for init_index, method in enumerate(methods + searches):
        theta0 = start if start is not None else initial_params(
            data, n_components, covariance_type, reg_covar, method, rng,
            weights_init=weights_init, means_init=means_init,
            precisions_init=precisions_init, covariances_init=covariances_init,
        )
        key = start_key(theta0)
        if key in ran_from:  # the same run again (emgmm.multistart.start_key)
            if verbose >= 1:
                print(f"start {init_index}: the parameters of start {ran_from[key]}, not run again")
            continue
        result = run_em(
            data, theta0, iterate, tol=tol, reg_covar=reg_covar, max_iter=run_iter, rng=rng,
            record_params=record_starts, previous_lower_bound=previous_lower_bound,
            engine_name=engine_name, init_index=init_index, verbose=verbose, prior=prior,
        )
        if not result.reseeded:  # no random numbers drawn: the run is a function of its start
            ran_from[key] = init_index
        if best is None or preferred(result, best, search=init_index >= len(methods)):
            best = result
    if screen and not best.converged and best.n_iter < max_iter:
        rest = run_em(
            data, best.params, iterate, tol=tol, reg_covar=reg_covar, max_iter=max_iter - best.n_iter,
            rng=rng, record_params=record_starts, previous_lower_bound=best.lower_bound,
            engine_name=engine_name, init_index=best.init_index, verbose=verbose,
        )
        best = joined(best, rest)
    if rows is not None:  # the subsample's estimate, continued on all the rows
        best = run_em(
            X, best.params, iterate, tol=tol, reg_covar=reg_covar, max_iter=max_iter, rng=rng,
            record_params=record_params, engine_name=engine_name, init_index=best.init_index,
            verbose=verbose,
        )
    warn_about_fit(best, max_iter, tol, reg_covar)
    return best
