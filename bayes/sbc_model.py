"""Simulation-based calibration of the :mod:`bayes` Gaussian mixture (Talts et al. 2018).

Each simulation draws :math:`\\tilde\\theta = (w, \\mu, \\Sigma)` from the priors of
:mod:`bayes.priors`, written out here in numpy (an independent statement of the prior the
PyMC model is meant to implement):

.. math::

    w \\sim \\operatorname{Dirichlet}(\\alpha), \\quad
    \\mu_{kd} \\sim \\mathcal N(m_d, s_d^2), \\quad
    \\sigma_{kd} \\sim p_\\text{scale}(\\tau_d), \\quad
    L^\\Omega_k \\sim \\operatorname{LKJ}(\\eta), \\quad
    \\Sigma_k = \\operatorname{diag}(\\sigma_k) L^\\Omega_k L^{\\Omega T}_k \\operatorname{diag}(\\sigma_k),

then :math:`N` observations from the mixture, fits them with :func:`bayes.sample` (short
chains, ordered means) and ranks :math:`\\tilde\\theta` among the thinned posterior draws
(:func:`bayes.sbc.run_sbc`). The model orders the first coordinate of the means; the prior
restricted to that ordering is the distribution of the components sorted by
:math:`\\mu_{k1}`, so each prior draw is sorted the same way (valid because the prior is
exchangeable over components: a scalar Dirichlet concentration).

The priors must be fully specified: the data-scaled defaults of :class:`bayes.Priors` depend
on the data and would make the prior differ between simulations.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bayes.priors import Priors, ResolvedPriors, resolve_priors
from bayes.sampling import sample
from bayes.sbc import SBCResult, run_sbc
from emgmm.covariance_types import covariance_type as covariance_type_of

# --------------------------------------------------------------------------- prior draws


def lkj_correlation_cholesky(n_features: int, eta: float, rng: np.random.Generator) -> np.ndarray:
    """Cholesky factor of an LKJ(eta) correlation matrix, by the onion method.

    Row i (i >= 1) of the factor is :math:`(\\sqrt{y_i}\\, u_i, \\sqrt{1 - y_i}, 0, \\dots)`
    with :math:`u_i` uniform on the unit sphere in :math:`\\mathbb R^i` and
    :math:`y_i \\sim \\operatorname{Beta}(i/2, \\eta + (D - 1 - i)/2)`
    (Lewandowski, Kurowicka and Joe 2009, section 3.2).
    """
    chol = np.zeros((n_features, n_features))
    chol[0, 0] = 1.0
    for i in range(1, n_features):
        radius2 = rng.beta(i / 2.0, eta + (n_features - 1 - i) / 2.0)
        direction = rng.standard_normal(i)
        chol[i, :i] = np.sqrt(radius2) * direction / np.linalg.norm(direction)
        chol[i, i] = np.sqrt(1.0 - radius2)
    return chol


_SCALE_DRAWS: dict[str, Callable] = {
    # (parameter, shape, rng) -> positive standard deviations
    "halfnormal": lambda tau, shape, rng: np.abs(rng.normal(0.0, 1.0, shape)) * tau,
    "exponential": lambda rate, shape, rng: rng.exponential(1.0, shape) / rate,
    "halfcauchy": lambda tau, shape, rng: np.abs(rng.standard_cauchy(shape)) * tau,
}


def _standard_deviations(resolved, n_components, n_features, covariance_type, rng):
    """Per-component, per-dimension sds (K, D) in the layout PyMC draws them."""
    draw = _SCALE_DRAWS[resolved.scale_prior]
    kind = covariance_type_of(covariance_type)
    if kind.isotropic:
        return np.repeat(draw(resolved.scale_param, (n_components, 1), rng), n_features, axis=1)
    if kind.shared:
        return np.tile(draw(resolved.scale_param, (n_features,), rng), (n_components, 1))
    return draw(resolved.scale_param, (n_components, n_features), rng)


def draw_from_priors(
    resolved: ResolvedPriors, n_components: int, n_features: int, covariance_type: str,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """One draw ``weights`` (K,), ``means`` (K, D), ``covariances`` (K, D, D), sorted by
    the first coordinate of the means."""
    weights = rng.dirichlet(resolved.weights_concentration)
    means = rng.normal(resolved.means_loc, resolved.means_scale, (n_components, n_features))
    sds = _standard_deviations(resolved, n_components, n_features, covariance_type, rng)
    n_correlations = {"full": n_components, "tied": 1}.get(covariance_type, 0)
    if n_features > 1 and n_correlations:
        factors = [lkj_correlation_cholesky(n_features, resolved.lkj_eta, rng)
                   for _ in range(n_correlations)]
        corr_chol = np.stack(factors * (n_components // n_correlations))
    else:
        corr_chol = np.broadcast_to(np.eye(n_features), (n_components, n_features, n_features))
    chol = sds[:, :, None] * corr_chol
    order = np.argsort(means[:, 0])
    return {"weights": weights[order], "means": means[order],
            "covariances": (chol @ np.swapaxes(chol, 1, 2))[order]}


def simulate_mixture(theta: dict[str, np.ndarray], n_samples: int,
                     rng: np.random.Generator) -> np.ndarray:
    """``n_samples`` observations of the mixture ``theta``, array of shape (n_samples, D)."""
    labels = rng.choice(theta["weights"].size, size=n_samples, p=theta["weights"])
    chol = np.linalg.cholesky(theta["covariances"])
    noise = rng.standard_normal((n_samples, theta["means"].shape[1]))
    return theta["means"][labels] + np.einsum("nde,ne->nd", chol[labels], noise)


# --------------------------------------------------------------------------- ranked scalars


def free_scalars(draws: dict[str, np.ndarray], covariance_type: str) -> dict[str, np.ndarray]:
    """The scalars ranked by SBC: weights, means and the free covariance entries.

    Covariances (..., K, D, D) become their lower triangles (``full``, shape (..., K,
    D(D+1)/2), entries in ``numpy.tril_indices`` order: Sigma_00, Sigma_10, Sigma_11, ...),
    the lower triangle of the shared matrix (``tied``), the variances (``diag``) or one
    variance per component (``spherical``).
    """
    cov = draws["covariances"]
    n_features = cov.shape[-1]
    rows, cols = np.tril_indices(n_features)
    entries = {
        "full": lambda c: c[..., rows, cols],
        "tied": lambda c: c[..., 0, rows, cols],
        "diag": lambda c: np.diagonal(c, axis1=-2, axis2=-1),
        "spherical": lambda c: c[..., 0, 0],
    }
    return {"weights": draws["weights"], "means": draws["means"],
            "covariances": entries[covariance_type](cov)}


def check_sbc_priors(priors: Priors, n_components: int, n_features: int,
                     covariance_type: str) -> ResolvedPriors:
    """Resolve fully specified, exchangeable priors; ValueError otherwise."""
    missing = [name for name in ("means_loc", "means_scale", "scale_param")
               if getattr(priors, name) is None]
    if missing:
        raise ValueError(
            f"SBC needs fixed priors: give Priors({', '.join(f'{m}=...' for m in missing)}) "
            "(the data-scaled defaults change with every simulated data set)"
        )
    # every field is given, so the placeholder data only fixes the shapes
    resolved = resolve_priors(priors, np.zeros((2, n_features)), n_components, covariance_type)
    if np.ptp(resolved.weights_concentration) > 0:
        raise ValueError(
            "SBC with ordered means needs one weights_concentration for all components"
        )
    return resolved


def run_bayes_sbc(
    n_simulations: int,
    n_samples: int,
    n_components: int,
    priors: Priors,
    *,
    n_features: int = 1,
    covariance_type: str = "spherical",
    draws: int = 200,
    tune: int = 300,
    chains: int = 1,
    thin: int = 2,
    sampler: str = "pymc",
    rng: np.random.Generator | int | None = None,
) -> SBCResult:
    """SBC of :func:`bayes.sample` on its own prior (see the module docstring).

    Parameters
    ----------
    n_simulations : int
        Number of prior draws, data sets and fits.
    n_samples : int
        Observations per simulated data set.
    n_components : int
    priors : Priors
        Fully specified (``means_loc``, ``means_scale``, ``scale_param`` given) with a
        scalar ``weights_concentration``.
    n_features : int
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
    draws, tune, chains : int
        Passed to :func:`bayes.sample` (``cores=1``, ``order_means=True``).
    thin : int
        Keep every ``thin``-th pooled posterior draw when ranking.
    sampler : str
    rng : Generator or int seed

    Returns
    -------
    SBCResult
        Ranks of ``weights``, ``means`` and ``covariances`` (see :func:`free_scalars`).
    """
    resolved = check_sbc_priors(priors, n_components, n_features, covariance_type)

    def make_prior_draw(generator):
        theta = draw_from_priors(resolved, n_components, n_features, covariance_type, generator)
        # the ranked scalars, plus the full parameters under other names for the simulator
        return free_scalars(theta, covariance_type) | {f"mixture_{k}": v for k, v in theta.items()}

    def fit_posterior(X, generator):
        tree = sample(X, n_components, covariance_type, priors, draws=draws, tune=tune,
                      chains=chains, cores=1, sampler=sampler, posterior_predictive=False,
                      random_seed=int(generator.integers(2**31 - 1)))
        posterior = tree["posterior"]
        pooled = {name: posterior[name].values.reshape(-1, *posterior[name].shape[2:])
                  for name in ("weights", "means", "covariances")}
        return free_scalars(pooled, covariance_type)

    def simulate(theta, generator):
        mixture = {name: theta[f"mixture_{name}"] for name in ("weights", "means", "covariances")}
        return simulate_mixture(mixture, n_samples, generator)

    return run_sbc(n_simulations, make_prior_draw, simulate, fit_posterior, rng, thin=thin)
