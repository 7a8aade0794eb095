"""The mixture log-density Op against scipy, PyMC's own MvNormal graph and finite differences."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import stats

import bayes
from bayes.mixture_logp import (
    mixture_logp,
    mixture_random,
    mixture_row_logp,
    mixture_row_logp_grad,
)


def random_mixture(n_components: int, n_features: int, seed: int):
    """(X, weights, means, lower Cholesky factors) of a random mixture and data."""
    rng = np.random.default_rng(seed)
    X = rng.normal(scale=2.0, size=(40, n_features))
    weights = rng.dirichlet(np.ones(n_components))
    means = rng.normal(size=(n_components, n_features))
    factors = rng.normal(size=(n_components, n_features, n_features))
    covariances = factors @ factors.transpose(0, 2, 1) + np.eye(n_features)
    return X, weights, means, np.linalg.cholesky(covariances)


def pymc_row_logp(X, weights, means, chols, n_components):
    """log p(x_i) from PyMC's MvNormal log-densities and a logsumexp (an independent graph)."""
    components = [pm.logp(pm.MvNormal.dist(mu=means[k], chol=chols[k]), X)
                  for k in range(n_components)]
    return pt.logsumexp(pt.log(weights)[:, None] + pt.stack(components), axis=0)


@pytest.mark.parametrize("n_components, n_features", [(1, 1), (3, 1), (2, 2), (4, 3)])
def test_row_logp_equals_scipy(n_components, n_features):
    X, weights, means, chols = random_mixture(n_components, n_features, seed=n_features)
    expected = np.log(sum(
        w * stats.multivariate_normal(m, c @ c.T).pdf(X).reshape(-1)
        for w, m, c in zip(weights, means, chols)
    ))
    row_logp, responsibilities = mixture_row_logp(X, np.log(weights), means, chols)
    np.testing.assert_allclose(row_logp, expected, rtol=1e-12)
    np.testing.assert_allclose(responsibilities.sum(axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("n_components, n_features", [(1, 2), (3, 2), (2, 3)])
def test_gradient_equals_pymc_graph_and_compiled_equals_python(n_components, n_features):
    X, weights, means, chols = random_mixture(n_components, n_features, seed=7)
    row_weights = np.random.default_rng(1).normal(size=len(X))  # a general cotangent
    w, m, c = pt.vector("w"), pt.matrix("m"), pt.tensor3("c")
    # PyMC's graph sees the whole matrix: keep only the lower triangle, as the Op reads it
    lower = c * np.tril(np.ones((n_features, n_features)))
    values = [weights, means, chols]
    ours = (mixture_logp(X, w, m, c) * row_weights).sum()
    reference = (pymc_row_logp(X, w, m, lower, n_components) * row_weights).sum()
    outputs = {}
    for name, total, mode in (("numba", ours, None), ("python", ours, "FAST_COMPILE"),
                              ("pymc", reference, None)):
        fn = pytensor.function([w, m, c], [total, *pytensor.grad(total, [w, m, c])], mode=mode)
        outputs[name] = fn(*values)
    for name in ("python", "pymc"):
        for got, expected in zip(outputs["numba"], outputs[name]):
            np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_gradient_equals_finite_differences():
    X, weights, means, chols = random_mixture(3, 2, seed=3)
    row_weights = np.random.default_rng(2).normal(size=len(X))
    log_weights = np.log(weights)

    def total(lw, mu, chol):
        return float(mixture_row_logp(X, lw, mu, chol)[0] @ row_weights)

    responsibilities = mixture_row_logp(X, log_weights, means, chols)[1]
    grads = mixture_row_logp_grad(X, means, chols, responsibilities, row_weights)
    step = 1e-6
    for index, value in enumerate((log_weights, means, chols)):
        numeric = np.zeros_like(value)
        for position in np.ndindex(value.shape):
            if value.ndim == 3 and position[2] > position[1]:
                continue  # upper triangle: not read, gradient 0
            args = [log_weights, means, chols]
            up, down = value.copy(), value.copy()
            up[position] += step
            down[position] -= step
            numeric[position] = (total(*args[:index], up, *args[index + 1:])
                                 - total(*args[:index], down, *args[index + 1:])) / (2 * step)
        np.testing.assert_allclose(grads[index], numeric, atol=1e-6)


def test_impossible_rows_and_empty_components_give_no_nan():
    X, weights, means, chols = random_mixture(2, 2, seed=5)
    log_weights = np.array([0.0, -np.inf])  # the second component has weight 0
    row_logp, responsibilities = mixture_row_logp(X, log_weights, means, chols)
    expected = stats.multivariate_normal(means[0], chols[0] @ chols[0].T).logpdf(X)
    np.testing.assert_allclose(row_logp, expected, rtol=1e-12)
    assert np.all(responsibilities[:, 1] == 0.0)
    grads = mixture_row_logp_grad(X, means, chols, responsibilities, np.ones(len(X)))
    assert grads[0][1] == 0.0 and np.all(grads[1][1] == 0.0)
    # every component impossible: -inf, zero responsibilities, finite gradients
    row_logp, responsibilities = mixture_row_logp(X, np.full(2, -np.inf), means, chols)
    assert np.all(row_logp == -np.inf) and np.all(responsibilities == 0.0)
    grads = mixture_row_logp_grad(X, means, chols, responsibilities, np.ones(len(X)))
    assert all(np.all(np.isfinite(grad)) for grad in grads)


def test_jax_implementation_equals_numba():
    pytest.importorskip("jax")  # the numpyro extra; installed by the README's test command
    import jax

    from bayes.mixture_logp import register_jax

    register_jax()
    jax.config.update("jax_enable_x64", True)
    X, weights, means, chols = random_mixture(3, 2, seed=11)
    row_weights = np.random.default_rng(3).normal(size=len(X))
    w, m, c = pt.vector("w"), pt.matrix("m"), pt.tensor3("c")
    total = (mixture_logp(X, w, m, c) * row_weights).sum()
    outputs = [total, *pytensor.grad(total, [w, m, c])]
    got = pytensor.function([w, m, c], outputs, mode="JAX")(weights, means, chols)
    expected = pytensor.function([w, m, c], outputs)(weights, means, chols)
    for jax_value, numba_value in zip(got, expected):
        np.testing.assert_allclose(np.asarray(jax_value), numba_value, rtol=1e-11, atol=1e-13)


def test_random_draws_have_the_mixture_moments():
    _, weights, means, chols = random_mixture(3, 2, seed=13)
    draws = mixture_random(weights, means, chols, rng=0, size=(200_000,))
    assert draws.shape == (200_000, 2)
    covariances = chols @ chols.transpose(0, 2, 1)
    mean = weights @ means
    second = np.einsum("k,kab->ab", weights, covariances + np.einsum("ka,kb->kab", means, means))
    np.testing.assert_allclose(draws.mean(axis=0), mean, atol=0.02)
    np.testing.assert_allclose(np.cov(draws.T), second - np.outer(mean, mean), atol=0.05)


def test_parameters_with_batch_dimensions_are_refused():
    X, weights, means, chols = random_mixture(2, 2, seed=17)
    with pytest.raises(ValueError, match="batch dimensions"):
        mixture_logp(X, np.stack([weights, weights]), means, chols)


def test_random_accepts_broadcast_parameters_and_the_model_draws_prior_predictive_data():
    _, weights, means, chols = random_mixture(2, 2, seed=19)
    batched = mixture_random(weights[None], means[None], chols[None], rng=1, size=(5,))
    np.testing.assert_array_equal(batched, mixture_random(weights, means, chols, rng=1,
                                                          size=(5,)))
    X = np.random.default_rng(0).normal(size=(30, 2))
    with bayes.build_model(X, 2, "full"):
        prior = pm.sample_prior_predictive(draws=4, random_seed=1,
                                           compile_kwargs={"mode": "FAST_COMPILE"})
    draws = prior["prior_predictive"]["X"].values
    assert draws.shape == (1, 4, 30, 2) and np.all(np.isfinite(draws))
    assert len(np.unique(draws)) == draws.size  # continuous draws, no constant rows
