"""Covariance parameterisations of the mixture, one builder per covariance type.

Every builder is called inside a ``pm.Model`` context and returns the K lower Cholesky
factors :math:`L_k` (each (D, D), :math:`\\Sigma_k = L_k L_k^T`); :func:`add_covariances`
then records the full matrices as the Deterministic ``covariances`` with dims
(component, dim, dim2), whatever the type (``dim2`` duplicates ``dim``: xarray cannot
hold a variable with a repeated dimension name).

============  =========================================  ==============================
type          free variables                             :math:`L_k`
============  =========================================  ==============================
full, D>1     ``chol_cov_{k}`` ~ LKJCholeskyCov(eta, sd)  its unpacked factor
tied, D>1     ``chol_cov`` ~ LKJCholeskyCov(eta, sd)      the same for every k
diag          ``scales`` (component, dim)                 diag(scales[k])
spherical     ``scales`` (component,)                     scales[k] I
full, D=1     ``scales`` (component, dim)                 scales[k] (1 x 1)
tied, D=1     ``scales`` (dim,)                           scales (1 x 1)
============  =========================================  ==============================

For D = 1 the LKJ prior is a point mass on the 1 x 1 correlation matrix, so full and tied
reduce to the scale prior alone (PyMC's LKJCholeskyCov does not support n = 1).
"""

from __future__ import annotations

import pymc as pm
import pytensor.tensor as pt

from bayes.priors import ResolvedPriors

# prior family -> (PyMC distribution, name of its parameter)
SCALE_DISTRIBUTIONS = {
    "halfnormal": (pm.HalfNormal, "sigma"),
    "exponential": (pm.Exponential, "lam"),
    "halfcauchy": (pm.HalfCauchy, "beta"),
}


def scale_variable(name: str, priors: ResolvedPriors, dims: tuple[str, ...], param):
    """A named positive scale variable with the configured prior family."""
    distribution, argument = SCALE_DISTRIBUTIONS[priors.scale_prior]
    return distribution(name, **{argument: param}, dims=dims)


def scale_distribution(priors: ResolvedPriors, n_features: int):
    """The unnamed (D,) scale distribution used as ``sd_dist`` of the LKJ prior."""
    distribution, argument = SCALE_DISTRIBUTIONS[priors.scale_prior]
    return distribution.dist(**{argument: priors.scale_param}, shape=n_features)


def lkj_cholesky(name: str, priors: ResolvedPriors, n_features: int):
    """Lower Cholesky factor (D, D) with an LKJ(eta) correlation and scale-prior sds."""
    packed = pm.LKJCholeskyCov(
        name,
        n=n_features,
        eta=priors.lkj_eta,
        sd_dist=scale_distribution(priors, n_features),
        compute_corr=False,
    )
    return pm.math.expand_packed_triangular(n_features, packed, lower=True)


def full_choleskys(n_components: int, n_features: int, priors: ResolvedPriors) -> list:
    """One LKJ Cholesky factor per component (LKJCholeskyCov is not batched)."""
    if n_features == 1:
        return diag_choleskys(n_components, n_features, priors)
    return [lkj_cholesky(f"chol_cov_{k}", priors, n_features) for k in range(n_components)]


def tied_choleskys(n_components: int, n_features: int, priors: ResolvedPriors) -> list:
    """One Cholesky factor shared by all components."""
    if n_features == 1:
        scales = scale_variable("scales", priors, ("dim",), priors.scale_param)
        chol = pt.diag(scales)
    else:
        chol = lkj_cholesky("chol_cov", priors, n_features)
    return [chol] * n_components


def diag_choleskys(n_components: int, n_features: int, priors: ResolvedPriors) -> list:
    """Diagonal factors from per-component, per-dimension standard deviations."""
    scales = scale_variable("scales", priors, ("component", "dim"), priors.scale_param)
    return [pt.diag(scales[k]) for k in range(n_components)]


def spherical_choleskys(n_components: int, n_features: int, priors: ResolvedPriors) -> list:
    """Multiples of the identity from one standard deviation per component."""
    scales = scale_variable("scales", priors, ("component",), priors.scale_param)
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
    """Add the covariance priors to the model in context; return the K Cholesky factors."""
    choleskys = CHOLESKY_BUILDERS[covariance_type](n_components, n_features, priors)
    pm.Deterministic(
        "covariances",
        pt.stack([chol @ chol.T for chol in choleskys]),
        dims=("component", "dim", "dim2"),
    )
    return choleskys
