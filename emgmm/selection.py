"""Model selection over the number of components and covariance types.

:func:`select_model` fits every (K, covariance type) pair, scores each with BIC, AIC and ICL
(:mod:`emgmm.criteria`, lower is better) and returns the table plus the best fitted model,
in the spirit of mclust's ``Mclust()`` search. Fits that cannot be computed (e.g. more
components than rows) appear in the table with ``error`` set, and degenerate fits
(:mod:`emgmm.degenerate`: a component on too few points or with no spread in some
direction, whose likelihood is an artefact of ``reg_covar``) with ``degenerate`` set. Both
are *missing*, as mclust's NA: their criteria are ``inf`` (the log-likelihood of a
degenerate fit is kept, for information), so they are never chosen, by
:attr:`ModelSelection.best` nor by any ``argmin`` over a criterion column, and a
:class:`~emgmm.degenerate.DegenerateFitWarning` names each degenerate cell. They never stop
the search.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, fields

import numpy as np

from emgmm._validation import check_choice, check_data
from emgmm.criteria import aic, bic, icl, n_parameters
from emgmm.degenerate import DegenerateFitWarning
from emgmm.estimator import GaussianMixtureEM
from emgmm.params import COVARIANCE_TYPES
from emgmm.steps import mixture_log_likelihood

CRITERIA = ("bic", "aic", "icl")


@dataclass(frozen=True)
class SelectionRow:
    """One fitted (K, covariance type) pair; criteria are ``inf`` (missing) when ``error``
    or ``degenerate`` is set."""

    n_components: int
    covariance_type: str
    n_parameters: int
    log_likelihood: float
    bic: float
    aic: float
    icl: float
    converged: bool
    n_iter: int
    n_reseeded: int
    warnings: tuple[str, ...] = ()
    error: str | None = None
    degenerate: str | None = None

    @property
    def missing(self) -> bool:
        """The fit failed or is degenerate: it has no criteria and is never chosen."""
        return self.error is not None or self.degenerate is not None

    def as_dict(self) -> dict[str, object]:
        """This row as a dict of its fields (``ModelSelection.as_dict`` gives the columns)."""
        return {f.name: getattr(self, f.name) for f in fields(SelectionRow)}


@dataclass(frozen=True)
class ModelSelection:
    """Result of :func:`select_model`.

    Attributes
    ----------
    rows : tuple of SelectionRow
        One row per (K, covariance type), in the order fitted.
    criterion : {'bic', 'aic', 'icl'}
    best : SelectionRow
        The row with the lowest ``criterion`` among the rows that are not missing (first
        one on ties: the order fitted).
    best_model : GaussianMixtureEM
        The fitted estimator of ``best``.
    runner_up : SelectionRow or None
        The second-best row that is not missing (None when ``best`` is the only one).
    difference : float
        ``criterion`` of ``runner_up`` minus that of ``best`` (>= 0; ``inf`` without a
        runner-up): how decisively ``best`` wins. For BIC it equals the difference
        mclust's ``summary()`` prints (mclust's BIC is minus ours).
    """

    rows: tuple[SelectionRow, ...]
    criterion: str
    best: SelectionRow
    best_model: GaussianMixtureEM
    runner_up: SelectionRow | None = None
    difference: float = np.inf

    def ranked(self, criterion: str | None = None) -> list[SelectionRow]:
        """The rows that are not missing, best first by ``criterion`` (default: the
        selection's); a stable sort, so ties keep the order fitted."""
        name = self.criterion if criterion is None else check_choice(criterion, "criterion", CRITERIA)
        return sorted((row for row in self.rows if not row.missing), key=lambda row: getattr(row, name))

    def choice(self, criterion: str | None = None) -> SelectionRow:
        """The best row by ``criterion`` (default: the selection's), degenerate and failed
        fits excluded: e.g. ``choice("icl").n_components``."""
        return self.ranked(criterion)[0]

    def as_dict(self) -> dict[str, np.ndarray]:
        """The whole table as a dict of column arrays, one entry per row
        (``pandas.DataFrame(selection.as_dict())``); ``SelectionRow.as_dict`` gives one row."""
        return {f.name: _column([getattr(row, f.name) for row in self.rows]) for f in fields(SelectionRow)}


def _column(values: list) -> np.ndarray:
    if all(isinstance(v, (int, float, bool, str, np.number)) for v in values):
        return np.array(values)
    # Mixed or tuple-valued cells (warnings, error): a 1-D object array, one cell per row.
    column = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        column[i] = value
    return column


def _failed_row(n_components: int, covariance_type: str, n_features: int, error: str) -> SelectionRow:
    return SelectionRow(
        n_components, covariance_type, n_parameters(covariance_type, n_components, n_features),
        -np.inf, np.inf, np.inf, np.inf, False, 0, 0, (), error,
    )


def _fit_row(X, n_components, covariance_type, estimator_params) -> tuple[SelectionRow, GaussianMixtureEM | None]:
    model = GaussianMixtureEM(n_components, covariance_type=covariance_type, **estimator_params)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.fit(X)
        except ValueError as error:
            return _failed_row(n_components, covariance_type, X.shape[1], str(error)), None
    params = model.params_
    degenerate = model.degenerate_
    scored = degenerate is None  # a degenerate fit is missing: no criteria
    row = SelectionRow(
        n_components=n_components,
        covariance_type=covariance_type,
        n_parameters=n_parameters(covariance_type, n_components, X.shape[1]),
        log_likelihood=mixture_log_likelihood(X, params),
        bic=bic(X, params) if scored else np.inf,
        aic=aic(X, params) if scored else np.inf,
        icl=icl(X, params) if scored else np.inf,
        converged=bool(model.converged_),
        n_iter=int(model.n_iter_),
        n_reseeded=len(model.history_.reseeded),
        warnings=tuple(str(w.message) for w in caught),
        degenerate=degenerate,
    )
    return row, model


def select_model(
    X: np.ndarray,
    n_components_range: Iterable[int] = range(1, 7),
    covariance_types: Iterable[str] = COVARIANCE_TYPES,
    *,
    criterion: str = "bic",
    **estimator_params,
) -> ModelSelection:
    """Fit every K in ``n_components_range`` for every covariance type; pick the best.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    n_components_range : iterable of int
    covariance_types : iterable of {'full', 'tied', 'diag', 'spherical'}
    criterion : {'bic', 'aic', 'icl'}
        Lower is better for all three (:mod:`emgmm.criteria`).
    **estimator_params
        Passed to every :class:`GaussianMixtureEM` (``n_init``, ``random_state``, ...). An
        int ``random_state`` gives every fit the same seed, so the table is reproducible.

    Returns
    -------
    ModelSelection

    Raises
    ------
    ValueError
        If no pair could be fitted without degeneracy, or on bad arguments.

    Warns
    -----
    DegenerateFitWarning
        Once per degenerate (K, covariance type), naming it; the row is missing.
    """
    X = check_data(X)
    check_choice(criterion, "criterion", CRITERIA)
    ks = [int(k) for k in n_components_range]
    types = list(covariance_types)
    if not ks or not types:
        raise ValueError("n_components_range and covariance_types must not be empty")
    for covariance_type in types:
        check_choice(covariance_type, "covariance_type", COVARIANCE_TYPES)
    rows, models = [], []
    for covariance_type in types:
        for n_components in ks:
            row, model = _fit_row(X, n_components, covariance_type, estimator_params)
            rows.append(row)
            models.append(model)
    for row in rows:
        if row.degenerate is not None:
            warnings.warn(
                f"{row.covariance_type} K={row.n_components} is a degenerate fit and is left out "
                f"of the choice ({row.degenerate})", DegenerateFitWarning, stacklevel=2)
    ranked = sorted((i for i, row in enumerate(rows) if not row.missing),
                    key=lambda i: getattr(rows[i], criterion))
    if not ranked:
        first = next((row.error or row.degenerate for row in rows), None)
        raise ValueError(f"no model could be fitted without degeneracy; first problem: {first}")
    best = ranked[0]
    runner_up = rows[ranked[1]] if len(ranked) > 1 else None
    difference = (getattr(runner_up, criterion) - getattr(rows[best], criterion)) if runner_up else np.inf
    return ModelSelection(tuple(rows), criterion, rows[best], models[best], runner_up, float(difference))


__all__ = ["CRITERIA", "ModelSelection", "SelectionRow", "aic", "bic", "icl", "n_parameters", "select_model"]
