"""Prior distributions of the Bayesian Gaussian mixture and their data-scaled defaults.

The model (see :mod:`bayes.model`) is

.. math::

    w &\\sim \\operatorname{Dirichlet}(\\alpha), \\\\
    \\mu_{kd} &\\sim \\mathcal{N}(m_d, s_d^2), \\\\
    \\sigma_{kd} &\\sim p_\\text{scale}(\\cdot \\mid \\tau_d), \\\\
    \\Omega_k &\\sim \\operatorname{LKJ}(\\eta) \\quad (\\texttt{full}, \\texttt{tied}), \\\\
    \\Sigma_k &= \\operatorname{diag}(\\sigma_k)\\, \\Omega_k \\operatorname{diag}(\\sigma_k),

with :math:`p_\\text{scale}` one of HalfNormal(:math:`\\tau`), Exponential(rate
:math:`\\tau`) or HalfCauchy(:math:`\\tau`) on the component standard deviations. Fields left
at ``None`` are filled from the data ``X`` (N, D) by :func:`resolve_priors`:

- ``means_loc`` :math:`m_d` = the sample mean of column d;
- ``means_scale`` :math:`s_d` = 2 x the sample standard deviation of column d (the component
  means lie inside the data cloud, whose spread includes the between-component spread);
- ``scale_param`` :math:`\\tau_d` = the sample standard deviation of column d for HalfNormal
  and HalfCauchy (a component cannot be wider than the whole data), and its inverse for
  the Exponential rate (prior mean of :math:`\\sigma_{kd}` = sd of column d). For
  ``spherical`` covariances the single scale uses the root-mean-square over columns.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass

import numpy as np

from emgmm.covariance_types import covariance_type as covariance_type_of

SCALE_PRIORS = ("halfnormal", "exponential", "halfcauchy")


def _as_positive(value, field: str, allow_none: bool = True):
    """A positive float or a tuple of positive floats, validated; ``None`` passes through."""
    if value is None:
        if allow_none:
            return None
        raise ValueError(f"Priors.{field} must be given, got None")
    array = np.asarray(value, dtype=float) if not isinstance(value, str) else None
    if array is None or array.ndim > 1 or array.size == 0:
        raise ValueError(
            f"Priors.{field} must be a positive number or a 1-D sequence, got {value!r}"
        )
    if not np.all(np.isfinite(array)) or np.any(array <= 0):
        raise ValueError(f"Priors.{field} must be finite and > 0, got {value!r}")
    return float(array) if array.ndim == 0 else tuple(float(v) for v in array)


def _as_finite(value, field: str):
    """A finite float or tuple of finite floats; ``None`` passes through."""
    if value is None:
        return None
    array = np.asarray(value, dtype=float) if not isinstance(value, str) else None
    if array is None or array.ndim > 1 or array.size == 0 or not np.all(np.isfinite(array)):
        raise ValueError(
            f"Priors.{field} must be a finite number or a 1-D sequence, got {value!r}"
        )
    return float(array) if array.ndim == 0 else tuple(float(v) for v in array)


@dataclass(frozen=True)
class Priors:
    """Hyper-parameters of the mixture priors; ``None`` means the data-scaled default.

    Parameters
    ----------
    weights_concentration : float or sequence of float, default 1.0
        Dirichlet concentration :math:`\\alpha`, a scalar (symmetric) or one value per
        component. 1.0 is uniform on the simplex.
    means_loc, means_scale : float or sequence of float (one per dimension), optional
        Location :math:`m` and scale :math:`s` of the Normal prior on every component mean.
        Defaults: column means and 2 x column standard deviations of ``X``.
    scale_prior : {'halfnormal', 'exponential', 'halfcauchy'}, default 'halfnormal'
        Prior family of the component standard deviations :math:`\\sigma_{kd}`.
    scale_param : float or sequence of float (one per dimension), optional
        Its parameter :math:`\\tau`: the scale of HalfNormal/HalfCauchy, the rate of the
        Exponential. Defaults: column standard deviation (its inverse for the rate).
    lkj_eta : float, default 2.0
        LKJ shape of the correlation matrices (``full`` and ``tied``); 1 is uniform over
        correlation matrices, larger values favour weak correlations.
    """

    weights_concentration: float | tuple[float, ...] = 1.0
    means_loc: float | tuple[float, ...] | None = None
    means_scale: float | tuple[float, ...] | None = None
    scale_prior: str = "halfnormal"
    scale_param: float | tuple[float, ...] | None = None
    lkj_eta: float = 2.0

    def __post_init__(self) -> None:
        # frozen: normalise through object.__setattr__ (tuples keep the dataclass hashable)
        set_field = object.__setattr__
        set_field(self, "weights_concentration",
                  _as_positive(self.weights_concentration, "weights_concentration", False))
        set_field(self, "means_loc", _as_finite(self.means_loc, "means_loc"))
        set_field(self, "means_scale", _as_positive(self.means_scale, "means_scale"))
        set_field(self, "scale_param", _as_positive(self.scale_param, "scale_param"))
        if self.scale_prior not in SCALE_PRIORS:
            raise ValueError(
                f"Priors.scale_prior must be one of {SCALE_PRIORS}, got {self.scale_prior!r}"
            )
        eta = _as_positive(self.lkj_eta, "lkj_eta", False)
        if not isinstance(eta, float):
            raise ValueError(f"Priors.lkj_eta must be a single number > 0, got {self.lkj_eta!r}")
        set_field(self, "lkj_eta", eta)

    def to_json(self) -> str:
        """The priors as a JSON object (``null`` for data-scaled defaults)."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Priors:
        """Inverse of :meth:`to_json`."""
        return cls(**json.loads(text))


@dataclass(frozen=True)
class ResolvedPriors:
    """Priors with every default filled in for a data set, as arrays of model shape.

    Attributes
    ----------
    weights_concentration : ndarray of shape (n_components,)
    means_loc, means_scale : ndarray of shape (n_features,)
    scale_prior : str
    scale_param : ndarray of shape (n_features,), or shape () for ``spherical``
    lkj_eta : float
    """

    weights_concentration: np.ndarray
    means_loc: np.ndarray
    means_scale: np.ndarray
    scale_prior: str
    scale_param: np.ndarray
    lkj_eta: float


def _per_dimension(value, default: np.ndarray, field: str) -> np.ndarray:
    """Broadcast a scalar or (D,) prior field to (D,), or use the default."""
    if value is None:
        return default
    array = np.broadcast_to(np.asarray(value, dtype=float), default.shape) if np.ndim(value) == 0 \
        else np.asarray(value, dtype=float)
    if array.shape != default.shape:
        raise ValueError(
            f"Priors.{field} needs one value per dimension ({default.shape[0]}), got {len(value)}"
        )
    return np.array(array)


def _default_scale_param(scale_prior: str, column_sd: np.ndarray) -> np.ndarray:
    """Data-scaled parameter of the scale prior: sd for HalfNormal/HalfCauchy, 1/sd for rates."""
    return {"halfnormal": column_sd, "halfcauchy": column_sd, "exponential": 1.0 / column_sd}[
        scale_prior
    ]


def resolve_priors(
    priors: Priors | None, X: np.ndarray, n_components: int, covariance_type: str
) -> ResolvedPriors:
    """Fill the data-scaled defaults of ``priors`` for data ``X`` of shape (N, D).

    Raises
    ------
    ValueError
        If a per-component or per-dimension field has the wrong length, or a
        per-dimension ``scale_param`` is given for ``spherical`` covariances.
    """
    priors = Priors() if priors is None else priors
    if not isinstance(priors, Priors):
        raise ValueError(f"priors must be a bayes.Priors or None, got {type(priors).__name__}")
    n_features = X.shape[1]
    # a constant column would give a zero scale: fall back to 1 for that column
    column_sd = np.std(X, axis=0, ddof=1) if X.shape[0] > 1 else np.ones(n_features)
    column_sd = np.where(column_sd > 0, column_sd, 1.0)
    concentration = np.asarray(priors.weights_concentration, dtype=float)
    if concentration.ndim == 1 and concentration.shape[0] != n_components:
        raise ValueError(
            f"Priors.weights_concentration needs one value per component ({n_components}), "
            f"got {concentration.shape[0]}"
        )
    scale_param = _per_dimension(
        priors.scale_param, _default_scale_param(priors.scale_prior, column_sd), "scale_param"
    )
    if covariance_type_of(covariance_type).isotropic:
        if priors.scale_param is not None and np.ndim(priors.scale_param) > 0:
            raise ValueError(
                "Priors.scale_param must be a single number for covariance_type='spherical'"
            )
        scale_param = np.asarray(math.sqrt(float(np.mean(scale_param**2))))
    return ResolvedPriors(
        weights_concentration=np.broadcast_to(concentration, (n_components,)).copy(),
        means_loc=_per_dimension(priors.means_loc, X.mean(axis=0), "means_loc"),
        means_scale=_per_dimension(priors.means_scale, 2.0 * column_sd, "means_scale"),
        scale_prior=priors.scale_prior,
        scale_param=scale_param,
        lkj_eta=priors.lkj_eta,
    )


def prior_data(resolved: ResolvedPriors) -> dict[str, np.ndarray]:
    """The data-scaled prior parameters as the model's data containers.

    ``means_loc``, ``means_scale`` (D,) and ``scale_unit`` ((D,), or () for spherical):
    the scale of the HalfNormal/HalfCauchy prior, or the inverse of the Exponential rate.
    """
    param = np.asarray(resolved.scale_param, dtype=float)
    unit = 1.0 / param if resolved.scale_prior == "exponential" else param
    return {"means_loc": np.asarray(resolved.means_loc, dtype=float),
            "means_scale": np.asarray(resolved.means_scale, dtype=float),
            "scale_unit": np.array(unit)}
