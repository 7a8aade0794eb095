"""Conjugate priors of a Gaussian mixture for MAP-EM (Fraley and Raftery 2007).

Priors (:class:`ConjugatePrior`), with :math:`\\kappa` = ``shrinkage``, :math:`\\nu` = ``dof``,
:math:`\\Psi` = ``scale`` and :math:`\\mu_0` = ``mean``:

============  =====================================================================
type          prior on (means, covariances)
============  =====================================================================
``full``      :math:`\\Sigma_k \\sim \\mathcal{W}^{-1}(\\nu, \\Psi)`,
              :math:`\\mu_k \\mid \\Sigma_k \\sim \\mathcal N(\\mu_0, \\Sigma_k/\\kappa)`
              (Normal-inverse-Wishart), independently over k
``tied``      one :math:`\\Sigma \\sim \\mathcal{W}^{-1}(\\nu, \\Psi)`,
              :math:`\\mu_k \\mid \\Sigma \\sim \\mathcal N(\\mu_0, \\Sigma/\\kappa)` for every k
``diag``      :math:`\\sigma^2_{kd} \\sim \\text{Inv-Gamma}(\\nu/2, \\psi_d/2)`,
              :math:`\\mu_{kd} \\mid \\sigma^2_{kd} \\sim \\mathcal N(\\mu_{0d}, \\sigma^2_{kd}/\\kappa)`
``spherical`` :math:`\\sigma^2_k \\sim \\text{Inv-Gamma}(\\nu/2, \\psi/2)`,
              :math:`\\mu_k \\mid \\sigma^2_k \\sim \\mathcal N(\\mu_0, \\sigma^2_k I/\\kappa)`
============  =====================================================================

and :math:`w \\sim \\operatorname{Dirichlet}(\\alpha)` with every :math:`\\alpha_k \\ge 1`
(smaller values put the mode on the boundary of the simplex). :mod:`emgmm.map_em` finds
the posterior mode.

Correspondence with :class:`bayes.Priors` (the PyMC model):

- ``weights_concentration`` = :math:`\\alpha`: the same Dirichlet, exactly.
- ``means_loc`` = :math:`\\mu_0`: the same prior location of every component mean, exactly.
- ``means_scale`` :math:`s_d`: no exact counterpart. PyMC's means are independent of the
  covariances, :math:`\\mu_{kd} \\sim \\mathcal N(m_d, s_d^2)`; here their prior variance is
  :math:`\\Sigma_{k,dd}/\\kappa`, tied to the component's own covariance. Matching the
  prior variance at a typical component variance :math:`\\sigma^2` gives
  :math:`\\kappa \\approx \\sigma^2 / s^2` (:func:`matched_shrinkage`).
- ``scale_prior`` / ``scale_param``: no exact counterpart. PyMC puts HalfNormal,
  Exponential or HalfCauchy priors on the component standard deviations; here the
  covariance has an inverse-Wishart (inverse-gamma per variance for diag/spherical) prior
  whose location is set by :math:`\\Psi / \\nu`. Both are weakly informative and scaled to
  the data, but their tails differ.
- ``lkj_eta`` :math:`\\eta`: partial. LKJ(:math:`\\eta`) gives every correlation the
  marginal density :math:`\\propto (1-\\rho^2)^{\\eta - 2 + D/2}`; an inverse-Wishart with
  diagonal :math:`\\Psi` gives :math:`\\propto (1-\\rho^2)^{(\\nu - D - 1)/2}` (Barnard,
  McCulloch and Meng 2000), so :math:`\\nu = 2\\eta + 2D - 3` matches those marginals
  (the whole correlation prior when D = 2), but in the inverse-Wishart the correlations are
  not independent of the variances as they are in PyMC's LKJ construction.

References: Fraley and Raftery (2007), "Bayesian regularization for normal mixture estimation
and model-based clustering", J. Classification 24; mclust's ``priorControl``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emgmm.covariance_types import covariance_type as covariance_type_of
from emgmm.params import GaussianMixtureParams

# --------------------------------------------------------------------------- the prior


def flat_dof(covariance_type: str, n_components: int, n_features: int) -> float:
    """The ``dof`` at which the prior's :math:`\\log|\\Sigma|` term vanishes (flat limit)."""
    return -covariance_type_of(covariance_type).prior_dof_offset(n_components, n_features)


def checked_normal_part(mean, shrinkage, scale, covariance_type: str, *,
                        strict: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, scale)`` as float arrays after the checks every conjugate prior shares:
    a finite mean vector, a finite ``shrinkage`` >= 0 and a ``scale`` in the covariance
    type's layout that is symmetric positive semi-definite (``strict``: positive definite
    and ``shrinkage`` > 0, as variational Bayes needs a proper prior)."""
    kind = covariance_type_of(covariance_type)
    mean = np.atleast_1d(np.asarray(mean, dtype=float))
    scale = np.asarray(scale, dtype=float)
    if mean.ndim != 1 or not np.all(np.isfinite(mean)):
        raise ValueError(f"mean must be a finite vector of shape (n_features,), got {mean.shape}")
    if not (np.isfinite(shrinkage) and (shrinkage > 0 if strict else shrinkage >= 0)):
        raise ValueError(f"shrinkage must be finite and {'>' if strict else '>='} 0, got {shrinkage}")
    expected = kind.component_shape(mean.shape[0])
    if scale.shape != expected:
        raise ValueError(f"{covariance_type} scale must have shape {expected}, got {scale.shape}")
    if scale.ndim == 2:
        if not np.all(np.isfinite(scale)) or not np.allclose(scale, scale.T):
            raise ValueError("scale must be a finite symmetric matrix")
        smallest = np.linalg.eigvalsh(scale).min()
        if smallest <= 0 if strict else smallest < -1e-12:
            raise ValueError(f"scale must be a symmetric positive {'definite' if strict else 'semi-definite'} "
                             "matrix")
    elif not np.all(np.isfinite(scale)) or np.any(scale <= 0 if strict else scale < 0):
        raise ValueError(f"scale must be finite and {'>' if strict else '>='} 0")
    return mean, scale


def freeze_fields(instance, **values) -> None:
    """Set the fields of a frozen dataclass, making array values read-only."""
    for name, value in values.items():
        if isinstance(value, np.ndarray):
            value.setflags(write=False)
        object.__setattr__(instance, name, value)


@dataclass(frozen=True)
class ConjugatePrior:
    """Conjugate prior of a Gaussian mixture (see the module docstring for the densities).

    Attributes
    ----------
    weights_concentration : ndarray of shape (n_components,)
        Dirichlet :math:`\\alpha`, every entry >= 1.
    mean : ndarray of shape (n_features,)
        :math:`\\mu_0`, prior location of every component mean.
    shrinkage : float
        :math:`\\kappa \\ge 0`, prior sample size of the means (0: flat prior on the means).
    dof : float
        :math:`\\nu`, at least :func:`flat_dof` (the improper flat limit).
    scale : ndarray
        :math:`\\Psi`: (D, D) positive semi-definite for full/tied, (D,) for diag, () for
        spherical, non-negative.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
    """

    weights_concentration: np.ndarray
    mean: np.ndarray
    shrinkage: float
    dof: float
    scale: np.ndarray
    covariance_type: str = "full"

    def __post_init__(self) -> None:
        alpha = np.atleast_1d(np.asarray(self.weights_concentration, dtype=float))
        if alpha.ndim != 1 or np.any(alpha < 1) or not np.all(np.isfinite(alpha)):
            raise ValueError(
                "weights_concentration must be one finite value >= 1 per component "
                "(MAP-EM's mode is on the simplex boundary for alpha < 1)"
            )
        mean, scale = checked_normal_part(self.mean, self.shrinkage, self.scale,
                                          self.covariance_type)
        minimum = flat_dof(self.covariance_type, alpha.size, mean.shape[0])
        if not (np.isfinite(self.dof) and self.dof >= minimum):
            raise ValueError(
                f"dof must be >= {minimum} (the flat limit) for this model, got {self.dof}"
            )
        freeze_fields(self, weights_concentration=alpha, mean=mean, scale=scale,
                      shrinkage=float(self.shrinkage), dof=float(self.dof))

    @property
    def n_components(self) -> int:
        return self.weights_concentration.shape[0]


def flat_conjugate_prior(
    n_components: int, n_features: int, covariance_type: str = "full"
) -> ConjugatePrior:
    """The improper flat limit: constant log-prior, MAP-EM = maximum-likelihood EM."""
    return ConjugatePrior(
        weights_concentration=np.ones(n_components),
        mean=np.zeros(n_features),
        shrinkage=0.0,
        dof=flat_dof(covariance_type, n_components, n_features),
        scale=np.zeros(covariance_type_of(covariance_type).component_shape(n_features)),
        covariance_type=covariance_type,
    )


def default_conjugate_prior(
    X: np.ndarray,
    n_components: int,
    covariance_type: str = "full",
    *,
    weights_concentration: float | np.ndarray = 1.0,
    shrinkage: float = 0.01,
    dof: float | None = None,
) -> ConjugatePrior:
    """mclust-like defaults (``priorControl()``, Fraley and Raftery 2007).

    ``mean`` = column means of ``X``, ``shrinkage`` = 0.01, ``dof`` = D + 2 and

    .. math:: \\Psi = \\operatorname{Cov}(X) / K^{2/D}

    (full/tied; its diagonal for diag, the mean of the diagonal for spherical): a component
    is a priori about ``1/K`` of the data cloud in volume.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[0] < 2:
        raise ValueError(f"X must have shape (n_samples >= 2, n_features), got {X.shape}")
    return prior_from_moments(X.mean(axis=0), np.atleast_2d(np.cov(X, rowvar=False)),
                              n_components, covariance_type,
                              weights_concentration=weights_concentration,
                              shrinkage=shrinkage, dof=dof)


def prior_from_moments(mean: np.ndarray, covariance: np.ndarray, n_components: int,
                       covariance_type: str = "full", *,
                       weights_concentration: float | np.ndarray = 1.0,
                       shrinkage: float = 0.01, dof: float | None = None) -> ConjugatePrior:
    """:func:`default_conjugate_prior` from the data's column means and sample covariance
    (for data not in memory, whose moments one pass gives)."""
    n_features = mean.shape[0]
    kind = covariance_type_of(covariance_type)
    return ConjugatePrior(
        weights_concentration=np.broadcast_to(
            np.asarray(weights_concentration, float), (n_components,)
        ),
        mean=mean,
        shrinkage=shrinkage,
        dof=n_features + 2.0 if dof is None else dof,
        scale=kind.from_full(covariance / n_components ** (2.0 / n_features)),
        covariance_type=covariance_type,
    )


def estimator_prior(prior, X, n_components: int, covariance_type: str,
                    moments=None) -> ConjugatePrior | None:
    """The prior of ``GaussianMixtureEM(prior=...)``: None (maximum likelihood), a
    :class:`ConjugatePrior` as given, or ``"default"``, :func:`default_conjugate_prior` of
    the data being fitted (``moments``: a callable giving their (mean, covariance) when X
    is not in memory)."""
    if prior is None or isinstance(prior, ConjugatePrior):
        return prior
    if isinstance(prior, str) and prior == "default":
        if moments is not None:
            return prior_from_moments(*moments(), n_components, covariance_type)
        return default_conjugate_prior(X, n_components, covariance_type)
    raise ValueError(f"prior must be None, 'default' or an emgmm.map_prior.ConjugatePrior, "
                     f"got {type(prior).__name__} {str(prior)[:40]!r}")


def matched_shrinkage(means_scale: np.ndarray, component_variance: np.ndarray) -> float:
    """:math:`\\kappa` giving the NIW means the prior variance of PyMC's independent Normal.

    .. math:: \\kappa = \\operatorname{mean}_d\\, \\sigma^2_d / s_d^2

    with :math:`s_d` = ``bayes.Priors.means_scale`` and :math:`\\sigma^2_d` a typical
    component variance (e.g. the prior mode :math:`\\Psi_{dd}/(\\nu + D + 2)`).
    """
    means_scale = np.asarray(means_scale, float)
    component_variance = np.asarray(component_variance, float)
    for value in (means_scale, component_variance):
        if not (np.all(np.isfinite(value)) and np.all(value > 0)):
            raise ValueError("means_scale and component_variance must be finite and positive")
    return float(np.mean(component_variance / means_scale**2))


def shrinkage_scatter(counts: np.ndarray, means: np.ndarray, prior_mean: np.ndarray,
                      shrinkage: float, matrix: bool) -> np.ndarray:
    """:math:`B_k = \\frac{\\kappa N_k}{\\kappa + N_k} (\\bar x_k - \\mu_0)(\\bar x_k - \\mu_0)^T`,
    (K, D, D), or its diagonal (K, D) when not ``matrix``: the term of the conjugate
    posterior's scale that pulls the means towards :math:`\\mu_0` (MAP-EM and variational Bayes)."""
    coef, offset = shrinkage * counts / (shrinkage + counts), means - prior_mean
    if matrix:
        return coef[:, None, None] * offset[:, :, None] * offset[:, None, :]
    return coef[:, None] * offset**2


# --------------------------------------------------------------------------- log prior


def _log_prior_covariances(params: GaussianMixtureParams, prior: ConjugatePrior) -> float:
    """The Normal-inverse-Wishart (inverse-gamma) terms: every stored covariance with the
    means that share it (``tied``: all of them)."""
    kind = params.kind
    offset = kind.prior_dof_offset(params.n_components, params.n_features)
    diffs = params.means - prior.mean
    if kind.matrix:
        stacked = kind.stack(params.covariances)
        groups = diffs[None] if kind.shared else diffs[:, None]
        total = 0.0
        for cov, group in zip(stacked, groups):
            log_det = 2.0 * np.sum(np.log(np.diag(np.linalg.cholesky(cov))))
            inv = np.linalg.inv(cov)
            total += (-0.5 * (prior.dof + offset) * log_det - 0.5 * np.sum(prior.scale * inv)
                      - 0.5 * prior.shrinkage * np.einsum("kd,de,ke->", group, inv, group))
        return total
    variances = params.covariances
    squared = np.sum(diffs**2, axis=1) if kind.isotropic else diffs**2
    return np.sum(-0.5 * (prior.dof + offset) * np.log(variances)
                  - (prior.scale + prior.shrinkage * squared) / (2 * variances))


def log_prior_density(params: GaussianMixtureParams, prior: ConjugatePrior) -> float:
    """:math:`\\log p(\\theta)` up to an additive constant that does not depend on θ.

    .. math:: \\sum_k (\\alpha_k - 1)\\log w_k - \\tfrac{\\nu + D + 2}{2} \\sum_k \\log|\\Sigma_k|
              - \\tfrac12 \\sum_k \\operatorname{tr}(\\Psi \\Sigma_k^{-1})
              - \\tfrac{\\kappa}{2} \\sum_k (\\mu_k - \\mu_0)^T \\Sigma_k^{-1} (\\mu_k - \\mu_0)

    for ``full``; the other types as in the module docstring.
    """
    check_compatible(params.covariance_type, params.n_components, params.n_features, prior)
    with np.errstate(divide="ignore"):
        log_weights = np.where(prior.weights_concentration > 1, np.log(params.weights), 0.0)
    return float(np.sum((prior.weights_concentration - 1.0) * log_weights)
                 + _log_prior_covariances(params, prior))


def check_compatible(covariance_type, n_components, n_features, prior):
    if (prior.covariance_type, prior.n_components, prior.mean.size) != (
        covariance_type, n_components, n_features
    ):
        raise ValueError(
            f"prior is for covariance_type={prior.covariance_type!r}, K={prior.n_components}, "
            f"D={prior.mean.size}; the model has {covariance_type!r}, K={n_components}, "
            f"D={n_features}"
        )
