"""The prior of variational Bayes: the conjugate prior of MAP-EM with a weight prior type.

:class:`VariationalPrior` has the fields of :class:`emgmm.map_prior.ConjugatePrior`, with
the same meaning (:math:`\\mu_0` = ``mean``, :math:`\\kappa` = ``shrinkage``, :math:`\\nu` =
``dof``, :math:`\\Psi` = ``scale``), read as a Normal-Wishart on each component's mean and
precision :math:`\\Lambda_k = \\Sigma_k^{-1}`:

.. math::

    \\Lambda_k \\sim \\mathcal W(\\nu, \\Psi^{-1}), \\qquad
    \\mu_k \\mid \\Lambda_k \\sim \\mathcal N(\\mu_0, (\\kappa \\Lambda_k)^{-1}),

which is MAP-EM's Normal-inverse-Wishart on :math:`(\\mu_k, \\Sigma_k)` (Bishop 2006, 10.40;
diag/spherical: Gamma precisions, MAP-EM's inverse-gamma variances; tied: one
:math:`\\Lambda`). Only the weights differ: ``weights_prior_type``
``"dirichlet_distribution"`` is :math:`\\pi \\sim \\operatorname{Dirichlet}(\\alpha)` with any
:math:`\\alpha_k > 0` (MAP-EM needs :math:`\\alpha_k \\ge 1`), ``"dirichlet_process"`` the
truncated stick-breaking prior :math:`v_k \\sim \\operatorname{Beta}(1, \\gamma_k)`,
:math:`\\pi_k = v_k \\prod_{j<k} (1 - v_j)` (Blei and Jordan 2006).

Names in scikit-learn's ``BayesianGaussianMixture``: ``weight_concentration_prior`` =
:math:`\\alpha` (or :math:`\\gamma`), ``mean_prior`` = :math:`\\mu_0`,
``mean_precision_prior`` = :math:`\\kappa` (Bishop's :math:`\\beta_0`),
``degrees_of_freedom_prior`` = :math:`\\nu`, ``covariance_prior`` = :math:`\\Psi` (Bishop's
:math:`W_0^{-1}`). :func:`default_variational_prior` gives scikit-learn's defaults.

Correspondence with :class:`bayes.Priors`: that of :class:`ConjugatePrior` (module
docstring of :mod:`emgmm.map_prior`): ``weights_concentration`` is the same Dirichlet,
``mean`` is ``means_loc``, :func:`emgmm.map_prior.matched_shrinkage` relates
``shrinkage`` to ``means_scale``, ``dof`` to ``lkj_eta`` partially; the stick-breaking prior
has no counterpart in the PyMC model. :meth:`VariationalPrior.to_conjugate` gives the
same prior for MAP-EM (when :math:`\\alpha_k \\ge 1`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emgmm.covariance_types import covariance_type as covariance_type_of
from emgmm.map_prior import ConjugatePrior, checked_normal_part, freeze_fields

WEIGHT_PRIOR_TYPES = ("dirichlet_process", "dirichlet_distribution")

__all__ = ["WEIGHT_PRIOR_TYPES", "VariationalPrior", "default_variational_prior"]


@dataclass(frozen=True)
class VariationalPrior:
    """Conjugate prior of variational Bayes (see the module docstring).

    Attributes
    ----------
    weights_concentration : ndarray of shape (n_components,)
        Dirichlet :math:`\\alpha` or stick-breaking :math:`\\gamma`, every entry > 0.
    mean : ndarray of shape (n_features,)
        :math:`\\mu_0`.
    shrinkage : float
        :math:`\\kappa > 0`.
    dof : float
        :math:`\\nu > D - 1`.
    scale : ndarray
        :math:`\\Psi`, positive definite: (D, D) for full/tied, (D,) diag, () spherical.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
    weights_prior_type : {'dirichlet_process', 'dirichlet_distribution'}
    """

    weights_concentration: np.ndarray
    mean: np.ndarray
    shrinkage: float
    dof: float
    scale: np.ndarray
    covariance_type: str = "full"
    weights_prior_type: str = "dirichlet_process"

    def __post_init__(self) -> None:
        if self.weights_prior_type not in WEIGHT_PRIOR_TYPES:
            raise ValueError(f"weight_concentration_prior_type must be one of {WEIGHT_PRIOR_TYPES}, "
                             f"got {self.weights_prior_type!r}")
        covariance_type_of(self.covariance_type)
        alpha = np.atleast_1d(np.asarray(self.weights_concentration, dtype=float))
        if alpha.ndim != 1 or not np.all(np.isfinite(alpha)) or np.any(alpha <= 0):
            raise ValueError("weight_concentration_prior must be finite and > 0 (one value, or one "
                             "per component)")
        mean, scale = checked_normal_part(self.mean, self.shrinkage, self.scale,
                                          self.covariance_type, strict=True)
        n_features = mean.shape[0]
        if not (np.isfinite(self.dof) and self.dof > n_features - 1):
            raise ValueError(f"degrees_of_freedom_prior must be > n_features - 1 = {n_features - 1}, "
                             f"got {self.dof}")
        freeze_fields(self, weights_concentration=alpha, mean=mean, scale=scale,
                      shrinkage=float(self.shrinkage), dof=float(self.dof))

    @property
    def n_components(self) -> int:
        return self.weights_concentration.shape[0]

    @property
    def n_features(self) -> int:
        return self.mean.shape[0]

    def to_conjugate(self) -> ConjugatePrior:
        """The same prior for MAP-EM (:mod:`emgmm.map_em`); ValueError where MAP-EM has no
        mode (:math:`\\alpha_k < 1`) or for the stick-breaking weights."""
        if self.weights_prior_type != "dirichlet_distribution":
            raise ValueError("MAP-EM has a Dirichlet weight prior only: use "
                             "weights_prior_type='dirichlet_distribution'")
        return ConjugatePrior(self.weights_concentration, self.mean, self.shrinkage, self.dof,
                              self.scale, self.covariance_type)

    @classmethod
    def from_conjugate(cls, prior: ConjugatePrior) -> VariationalPrior:
        """The Dirichlet-distribution variational prior with the fields of MAP-EM's ``prior``."""
        return cls(prior.weights_concentration, prior.mean, prior.shrinkage, prior.dof, prior.scale,
                   prior.covariance_type, "dirichlet_distribution")


def default_variational_prior(
    X: np.ndarray,
    n_components: int,
    covariance_type: str = "full",
    *,
    weights_prior_type: str = "dirichlet_process",
    weights_concentration=None,
    shrinkage=None,
    mean=None,
    dof=None,
    scale=None,
) -> VariationalPrior:
    """scikit-learn's defaults for every field left at None.

    :math:`\\alpha = 1/K`, :math:`\\kappa = 1`, :math:`\\mu_0 = \\bar x`, :math:`\\nu = D`,
    :math:`\\Psi = \\operatorname{Cov}(X)` (ddof 1; diag: the column variances, spherical:
    their mean).
    """
    X = np.asarray(X, dtype=float)
    n_features = X.shape[1]
    if mean is not None and np.shape(mean) != (n_features,):
        raise ValueError(f"mean must have shape ({n_features},) like the columns of X, got {np.shape(mean)}")
    if weights_concentration is not None and np.size(weights_concentration) not in (1, n_components):
        raise ValueError(f"weight_concentration_prior must be one value or {n_components}, got "
                         f"{np.size(weights_concentration)}")
    if scale is None:
        covariance = np.atleast_2d(np.cov(X, rowvar=False))
        scale = covariance_type_of(covariance_type).from_full(covariance)
    alpha = 1.0 / n_components if weights_concentration is None else weights_concentration
    return VariationalPrior(
        weights_concentration=np.broadcast_to(np.asarray(alpha, dtype=float), (n_components,)),
        mean=X.mean(axis=0) if mean is None else mean,
        shrinkage=1.0 if shrinkage is None else shrinkage,
        dof=float(n_features) if dof is None else dof,
        scale=scale,
        covariance_type=covariance_type,
        weights_prior_type=weights_prior_type,
    )
