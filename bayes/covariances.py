"""Covariance parameterisations of the mixture, one builder per covariance type.

Every builder is called inside a ``pm.Model`` context and returns the K lower Cholesky
factors :math:`L_k` (each (D, D), :math:`\\Sigma_k = L_k L_k^T`); :func:`add_covariances`
then records the full matrices as the Deterministic ``covariances`` with dims
(component, dim, dim2), whatever the type (``dim2`` duplicates ``dim``: xarray cannot
hold a variable with a repeated dimension name).

The free variables are standardised: they have the scale prior with unit parameter, and
the data container ``scale_unit`` :math:`u_d` (the prior's scale, or the inverse of the
Exponential rate) multiplies them. Every scale prior is a scale family, so
:math:`\\sigma = u\\,\\sigma^\\text{std}` has the configured prior, and the lower
Cholesky factor of :math:`\\operatorname{diag}(u)\\,\\Sigma^\\text{std}\\operatorname{diag}(u)`
is :math:`\\operatorname{diag}(u) L^\\text{std}`. The data-scaled prior parameters are
therefore runtime inputs, not constants of the compiled model (one compilation serves
every data set of the same shape).

============  =============================================  ==========================
type          free variables                                 :math:`L_k`
============  =============================================  ==========================
full, D>1     ``chol_cov_std_{k}`` ~ LKJCholeskyCov(eta, sd)  diag(u) its unpacked factor
tied, D>1     ``chol_cov_std`` ~ LKJCholeskyCov(eta, sd)      the same for every k
diag          ``scales_std`` (component, dim)                 diag(u scales_std[k])
spherical     ``scales_std`` (component,)                     u scales_std[k] I
full, D=1     ``scales_std`` (component, dim)                 u scales_std[k] (1 x 1)
tied, D=1     ``scales_std`` (dim,)                           u scales_std (1 x 1)
============  =============================================  ==========================

The Deterministic ``scales`` holds :math:`u\\,\\sigma^\\text{std}` for the types without
an LKJ part. For D = 1 the LKJ prior is a point mass on the 1 x 1 correlation matrix, so
full and tied reduce to the scale prior alone (PyMC's LKJCholeskyCov does not support
n = 1).
"""

from __future__ import annotations

import pymc as pm
import pytensor.tensor as pt

from bayes.priors import ResolvedPriors

# prior family -> (PyMC distribution, its parameter); every one is a scale family, so the
# unit-parameter variable times u_d has parameter u_d (the scale, or 1 / the rate)
SCALE_DISTRIBUTIONS = {
    "halfnormal": (pm.HalfNormal, "sigma"),
    "exponential": (pm.Exponential, "lam"),
    "halfcauchy": (pm.HalfCauchy, "beta"),
}
SCALE_UNIT_NAME = "scale_unit"


def scale_variable(name: str, scale_prior: str, dims: tuple[str, ...], unit):
    """Standardised scales ``{name}_std`` (unit prior) and the Deterministic ``name``."""
    distribution, argument = SCALE_DISTRIBUTIONS[scale_prior]
    standardised = distribution(f"{name}_std", **{argument: 1.0}, dims=dims)
    return pm.Deterministic(name, unit * standardised, dims=dims)


def scale_distribution(scale_prior: str, n_features: int):
    """The unnamed unit (D,) scale distribution used as ``sd_dist`` of the LKJ prior."""
    distribution, argument = SCALE_DISTRIBUTIONS[scale_prior]
    return distribution.dist(**{argument: 1.0}, shape=n_features)


def lkj_cholesky(name: str, priors: ResolvedPriors, n_features: int, unit):
    """Lower Cholesky factor diag(unit) L_std (D, D); L_std (packed: ``name``) has LKJ(eta)
    correlations and unit scale-prior sds."""
    packed = pm.LKJCholeskyCov(
        name,
        n=n_features,
        eta=priors.lkj_eta,
        sd_dist=scale_distribution(priors.scale_prior, n_features),
        compute_corr=False,
    )
    return unit[:, None] * pm.math.expand_packed_triangular(n_features, packed, lower=True)


def full_choleskys(n_components: int, n_features: int, priors: ResolvedPriors, unit) -> list:
    """One LKJ Cholesky factor per component (LKJCholeskyCov is not batched)."""
    if n_features == 1:
        return diag_choleskys(n_components, n_features, priors, unit)
    return [lkj_cholesky(f"chol_cov_std_{k}", priors, n_features, unit)
            for k in range(n_components)]


def tied_choleskys(n_components: int, n_features: int, priors: ResolvedPriors, unit) -> list:
    """One Cholesky factor shared by all components."""
    if n_features == 1:
        chol = pt.diag(scale_variable("scales", priors.scale_prior, ("dim",), unit))
    else:
        chol = lkj_cholesky("chol_cov_std", priors, n_features, unit)
    return [chol] * n_components


def diag_choleskys(n_components: int, n_features: int, priors: ResolvedPriors, unit) -> list:
    """Diagonal factors from per-component, per-dimension standard deviations."""
    scales = scale_variable("scales", priors.scale_prior, ("component", "dim"), unit)
    return [pt.diag(scales[k]) for k in range(n_components)]


def spherical_choleskys(n_components: int, n_features: int, priors: ResolvedPriors,
                        unit) -> list:
    """Multiples of the identity from one standard deviation per component."""
    scales = scale_variable("scales", priors.scale_prior, ("component",), unit)
    identity = pt.eye(n_features)
    return [scales[k] * identity for k in range(n_components)]


CHOLESKY_BUILDERS = {
    "full": full_choleskys,
    "tied": tied_choleskys,
    "diag": diag_choleskys,
    "spherical": spherical_choleskys,
}


def add_covariances(
    covariance_type: str, n_components: int, n_features: int, priors: ResolvedPriors
) -> list:
    """Add the covariance priors to the model in context; return the K Cholesky factors.

    The model must hold the data container ``scale_unit`` ((dim,), or () for spherical).
    """
    unit = pm.modelcontext(None)[SCALE_UNIT_NAME]
    choleskys = CHOLESKY_BUILDERS[covariance_type](n_components, n_features, priors, unit)
    pm.Deterministic(
        "covariances",
        pt.stack([chol @ chol.T for chol in choleskys]),
        dims=("component", "dim", "dim2"),
    )
    return choleskys
