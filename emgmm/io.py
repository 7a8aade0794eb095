"""Save and load fitted mixtures as ``.npz`` arrays plus one JSON metadata entry (no pickle).

File format (``format = "emgmm.model"``, ``version = 1``), a NumPy ``.npz`` archive with:

=======================  ===============================================================
entry                    content
=======================  ===============================================================
``weights``              (K,) mixing weights
``means``                (K, D) component means
``covariances``          covariances in the layout of the covariance type
``precisions_cholesky``  the same layout; ``U`` with ``U U^T = Sigma^{-1}`` (informative:
                         recomputed from ``covariances`` on load)
``lower_bounds``         (n_iter,) mean log-likelihood per iteration (empty for params)
``metadata``             0-d unicode array holding a JSON object: ``format``, ``version``,
                         ``kind`` (``GaussianMixtureEM`` or ``GaussianMixtureParams``),
                         ``covariance_type``, ``n_components``, ``n_features``,
                         ``estimator_params`` (constructor arguments that are JSON values;
                         arrays as nested lists), ``fit`` (``converged``, ``n_iter``,
                         ``lower_bound`` (null when not finite), ``reseeded``,
                         ``decreases``, ``engine``, ``degenerate``) and ``emgmm_version``
=======================  ===============================================================

Every entry loads with ``numpy.load(path, allow_pickle=False)``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from importlib import metadata as package_metadata
from pathlib import Path

import numpy as np

from emgmm.atomic import atomic_path
from emgmm.estimator import GaussianMixtureEM
from emgmm.fit import EMResult
from emgmm.map_prior import ConjugatePrior
from emgmm.params import GaussianMixtureParams

FORMAT = "emgmm.model"
FORMAT_VERSION = 1
PRIOR_KEY = "conjugate_prior"


def _json_value(value):
    """A JSON-compatible version of a constructor argument, or None if it has none."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, ConjugatePrior):  # MAP-EM's prior: its fields, read back by load_model
        return {PRIOR_KEY: {field.name: _json_value(getattr(value, field.name))
                            for field in dataclasses.fields(value)}}
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, (np.ndarray, list, tuple)):
        return np.asarray(value, dtype=float).tolist()
    return None  # e.g. a numpy Generator as random_state: not reproducible from a file


def _finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _version() -> str:
    try:
        return package_metadata.version("gmm-compare")
    except package_metadata.PackageNotFoundError:
        return "unknown"


def save_model(path: str | os.PathLike, model: GaussianMixtureEM | GaussianMixtureParams) -> Path:
    """Write a fitted :class:`GaussianMixtureEM` (or bare parameters) to ``path``.

    The file is written to a temporary name and renamed, so a crash never leaves a
    half-written model. Returns the path written (exactly ``path``, no suffix added).
    """
    if isinstance(model, GaussianMixtureParams):
        params, history, kind, estimator_params, fit = model, np.empty(0), "GaussianMixtureParams", {}, {}
    elif isinstance(model, GaussianMixtureEM):
        if not hasattr(model, "params_"):
            raise ValueError("the model is not fitted: call fit(X) before save_model")
        params, result = model.params_, model.history_
        history, kind = result.log_likelihood_history, "GaussianMixtureEM"
        estimator_params = {name: _json_value(value) for name, value in model.get_params().items()}
        fit = {
            "converged": bool(result.converged),
            "n_iter": int(result.n_iter),
            "lower_bound": _finite_or_none(result.lower_bound),
            "reseeded": [list(item) for item in result.reseeded],
            "decreases": [list(item) for item in result.decreases],
            "engine": result.engine,
            "degenerate": result.degenerate,
            "log_prior": float(result.log_prior),
        }
    else:
        raise ValueError(f"save_model needs a GaussianMixtureEM or GaussianMixtureParams, got {type(model).__name__}")
    meta = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "kind": kind,
        "covariance_type": params.covariance_type,
        "n_components": params.n_components,
        "n_features": params.n_features,
        "estimator_params": estimator_params,
        "fit": fit,
        "emgmm_version": _version(),
    }
    path = Path(path)
    with atomic_path(path) as temporary, open(temporary, "wb") as stream:
        np.savez(
            stream,
            weights=params.weights,
            means=params.means,
            covariances=params.covariances,
            precisions_cholesky=params.precisions_cholesky,
            lower_bounds=np.asarray(history, dtype=float),
            metadata=np.array(json.dumps(meta)),
        )
    return path


def load_model(path: str | os.PathLike) -> GaussianMixtureEM | GaussianMixtureParams:
    """Read a file written by :func:`save_model`; returns the same kind of object."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError) as error:
        raise ValueError(f"{path} is not a readable emgmm model file: {error}") from None
    missing = {"weights", "means", "covariances", "lower_bounds", "metadata"} - set(arrays)
    if missing:
        raise ValueError(f"{path} is not an emgmm model file: missing entries {sorted(missing)}")
    meta = json.loads(str(arrays["metadata"]))
    if meta.get("format") != FORMAT or meta.get("version") != FORMAT_VERSION:
        raise ValueError(
            f"{path} has format {meta.get('format')!r} version {meta.get('version')!r}; "
            f"this emgmm reads {FORMAT!r} version {FORMAT_VERSION}"
        )
    params = GaussianMixtureParams(
        arrays["weights"].copy(), arrays["means"].copy(), arrays["covariances"].copy(), meta["covariance_type"]
    )
    if meta["kind"] == "GaussianMixtureParams":
        return params
    fit = meta["fit"]
    estimator_params = {k: v for k, v in meta["estimator_params"].items() if v is not None}
    if isinstance(estimator_params.get("prior"), dict):
        estimator_params["prior"] = ConjugatePrior(**estimator_params["prior"][PRIOR_KEY])
    model = GaussianMixtureEM(**estimator_params)
    result = EMResult(
        params=params,
        log_likelihood_history=arrays["lower_bounds"],
        n_iter=fit["n_iter"],
        converged=fit["converged"],
        lower_bound=-np.inf if fit["lower_bound"] is None else fit["lower_bound"],
        reseeded=tuple(tuple(item) for item in fit["reseeded"]),
        decreases=tuple((int(i), float(c)) for i, c in fit["decreases"]),
        engine=fit["engine"],
        degenerate=fit.get("degenerate"),  # files written before the field have none
        log_prior=fit.get("log_prior", 0.0),
    )
    model._set_fitted(result, params.n_features)
    return model
