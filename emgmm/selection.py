"""Model selection over the number of components and covariance types.

:func:`select_model` fits every (K, covariance type) pair, scores each with BIC, AIC and ICL
(:mod:`emgmm.criteria`, lower is better) and returns the table plus the best fitted model,
in the spirit of mclust's ``Mclust()`` search. Fits that cannot be computed (e.g. more
components than rows) appear in the table with ``error`` set and infinite criteria; they
never stop the search.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, fields

import numpy as np

from emgmm._validation import check_choice, check_data
from emgmm.criteria import aic, bic, icl, n_parameters
from emgmm.estimator import GaussianMixtureEM
from emgmm.params import COVARIANCE_TYPES
from emgmm.steps import mixture_log_likelihood

CRITERIA = ("bic", "aic", "icl")


@dataclass(frozen=True)
class SelectionRow:
    """One fitted (K, covariance type) pair; criteria are ``inf`` when ``error`` is set."""

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


@dataclass(frozen=True)
class ModelSelection:
    """Result of :func:`select_model`.

    Attributes
    ----------
    rows : tuple of SelectionRow
        One row per (K, covariance type), in the order fitted.
    criterion : {'bic', 'aic', 'icl'}
    best : SelectionRow
        The row with the lowest ``criterion`` (first one on ties: fewer components).
    best_model : GaussianMixtureEM
        The fitted estimator of ``best``.
    """

    rows: tuple[SelectionRow, ...]
    criterion: str
    best: SelectionRow
    best_model: GaussianMixtureEM

    def as_dict(self) -> dict[str, np.ndarray]:
        """The table as a dict of column arrays (``pandas.DataFrame(...)`` accepts it)."""
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
    row = SelectionRow(
        n_components=n_components,
        covariance_type=covariance_type,
        n_parameters=n_parameters(covariance_type, n_components, X.shape[1]),
        log_likelihood=mixture_log_likelihood(X, params),
        bic=bic(X, params),
        aic=aic(X, params),
        icl=icl(X, params),
        converged=bool(model.converged_),
        n_iter=int(model.n_iter_),
        n_reseeded=len(model.history_.reseeded),
        warnings=tuple(str(w.message) for w in caught),
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
        If no pair could be fitted, or on bad arguments.
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
    scores = np.array([getattr(row, criterion) for row in rows])
    if not np.any(np.isfinite(scores)):
        raise ValueError(f"no model could be fitted; first error: {rows[0].error}")
    best = int(np.argmin(scores))
    return ModelSelection(tuple(rows), criterion, rows[best], models[best])


__all__ = ["CRITERIA", "ModelSelection", "SelectionRow", "aic", "bic", "icl", "n_parameters", "select_model"]
