"""An independent numpy reference for the posteriordb ``low_dim_gauss_mix`` posterior.

Model (posteriordb ``low_dim_gauss_mix``): mu_1 < mu_2 ~ Normal(0, 2), sigma_k ~
HalfNormal(2), theta ~ Beta(5, 5), y_i ~ theta N(mu_1, sigma_1) + (1 - theta) N(mu_2, sigma_2).

Posterior expectations are computed by self-normalised importance sampling with a
multivariate Student-t proposal (5 degrees of freedom) centred at the posterior mode of the
unconstrained parameters u = (mu_1, log(mu_2 - mu_1), log sigma_1, log sigma_2,
logit theta), scaled by the inverse Hessian there (Laplace approximation). No MCMC and no
PyMC: a check of the PyMC model, its transforms and its sampler.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, special, stats


def log_posterior(u: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Unnormalised log density of u (..., 5), Jacobian of the constraining map included."""
    u = np.atleast_2d(u)
    mu1, log_gap, log_s1, log_s2, logit_theta = np.moveaxis(u, -1, 0)
    mu2 = mu1 + np.exp(log_gap)
    s1, s2 = np.exp(log_s1), np.exp(log_s2)
    log_theta, log_1m_theta = -np.logaddexp(0, -logit_theta), -np.logaddexp(0, logit_theta)
    comp1 = log_theta[:, None] + stats.norm.logpdf(y[None, :], mu1[:, None], s1[:, None])
    comp2 = log_1m_theta[:, None] + stats.norm.logpdf(y[None, :], mu2[:, None], s2[:, None])
    log_lik = np.logaddexp(comp1, comp2).sum(axis=1)
    log_prior = (
        stats.norm.logpdf([mu1, mu2], 0.0, 2.0).sum(axis=0)
        + stats.halfnorm.logpdf([s1, s2], scale=2.0).sum(axis=0)
        + stats.beta.logpdf(np.exp(log_theta), 5.0, 5.0)
    )
    log_jacobian = log_gap + log_s1 + log_s2 + log_theta + log_1m_theta
    return log_lik + log_prior + log_jacobian


def constrained(u: np.ndarray) -> np.ndarray:
    """(mu_1, mu_2, sigma_1, sigma_2, theta) from u."""
    return np.column_stack([
        u[:, 0], u[:, 0] + np.exp(u[:, 1]), np.exp(u[:, 2]), np.exp(u[:, 3]),
        special.expit(u[:, 4]),
    ])


def numerical_hessian(f, x: np.ndarray, step: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of a scalar function."""
    n = x.size
    hessian = np.empty((n, n))
    basis = np.eye(n) * step
    for i in range(n):
        for j in range(n):
            hessian[i, j] = (f(x + basis[i] + basis[j]) - f(x + basis[i] - basis[j])
                             - f(x - basis[i] + basis[j]) + f(x - basis[i] - basis[j])) / (
                4 * step**2)
    return hessian


def reference_moments(y: np.ndarray, n_draws: int = 40_000, seed: int = 0):
    """Posterior means and sds of (mu_1, mu_2, sigma_1, sigma_2, theta), and the IS ESS."""
    start = np.array([np.quantile(y, 0.25), np.log(np.ptp(y) / 2), 0.0, 0.0, 0.0])
    objective = lambda u: -float(log_posterior(u, y)[0])
    mode = optimize.minimize(objective, start, method="BFGS").x
    covariance = np.linalg.inv(numerical_hessian(objective, mode))
    proposal = stats.multivariate_t(loc=mode, shape=covariance, df=5, seed=seed)
    draws = proposal.rvs(n_draws)
    log_weights = log_posterior(draws, y) - proposal.logpdf(draws)
    weights = np.exp(log_weights - log_weights.max())
    weights /= weights.sum()
    values = constrained(draws)
    mean = weights @ values
    sd = np.sqrt(weights @ (values - mean) ** 2)
    return mean, sd, 1.0 / np.sum(weights**2)
