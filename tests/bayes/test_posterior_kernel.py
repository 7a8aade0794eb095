"""The hand-written log posterior against PyMC's compiled one, for every model variant.

Reference: PyMC's own ``model.logp_dlogp_function(ravel_inputs=True)`` (the function its
NUTS would compile from the graph of :func:`bayes.model.build_model`) and the model's
compiled point function for the recorded variables.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bayes.model import build_model
from bayes.posterior_function import (
    PosteriorFunction,
    layout_of,
    posterior_trace,
)
from bayes.posterior_kernel import Layout, lkj_log_normaliser
from bayes.priors import Priors, resolve_priors

# PyMC's functions evaluated op by op in Python: no numba compilation per case
REFERENCE_MODE = "FAST_COMPILE"
COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
# (covariance type, scale prior, K, D, ordered means): every covariance layout and prior
# family; the model compiles once per case, so the grid is kept to what differs
CASES = (
    [(ct, "halfnormal", K, D, True) for ct, K, D in
     itertools.product(COVARIANCE_TYPES, (1, 3), (1, 3))]
    + [(ct, prior, 3, 2, True) for ct, prior in
       itertools.product(("full", "diag"), ("exponential", "halfcauchy"))]
    + [(ct, "halfnormal", 2, 2, False) for ct in ("full", "spherical")]
)


def case_model(covariance_type, scale_prior, K, D, order_means, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, D)) * np.array([1.0, 3.0, 0.5])[:D] + 2.0
    priors = Priors(scale_prior=scale_prior, lkj_eta=1.7,
                    weights_concentration=[1.5, 2.0, 0.7] if K == 3 else 1.3)
    resolved = resolve_priors(priors, X, K, covariance_type)
    model = build_model(X, K, covariance_type, priors, order_means=order_means)
    layout = layout_of(model, K, covariance_type, resolved, order_means)
    return X, resolved, model, PosteriorFunction(layout, X, resolved)


@pytest.mark.parametrize("case", CASES, ids=lambda case: "-".join(map(str, case)))
def test_log_posterior_and_gradient_match_pymc(case):
    X, resolved, model, function = case_model(*case)
    reference = model.logp_dlogp_function(ravel_inputs=True, mode=REFERENCE_MODE)
    rng = np.random.default_rng(1)
    offsets = []
    for _ in range(4):
        q = 0.8 * rng.normal(size=function.layout.size)
        logp, grad = function._pytensor_function(q)
        expected_logp, expected_grad = reference._pytensor_function(q)
        offsets.append(logp - expected_logp)
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-9, atol=1e-9)
    # PyMC's HalfCauchy log density is 1.9e-9 above log(2 / pi) - log1p(x^2) per value (a
    # constant): the same log posterior up to that, exactly the same for the other priors
    np.testing.assert_allclose(offsets, offsets[0], atol=1e-9)
    assert abs(offsets[0]) < (1e-7 if case[1] == "halfcauchy" else 1e-9)


@pytest.mark.parametrize("case", CASES[:8], ids=lambda case: "-".join(map(str, case)))
def test_recorded_values_match_the_models_point_function(case):
    X, resolved, model, function = case_model(*case)
    trace = posterior_trace(model, function)
    reference = model.compile_fn(model.unobserved_value_vars, inputs=model.value_vars,
                                 on_unused_input="ignore", point_fn=False, mode=REFERENCE_MODE)
    rng = np.random.default_rng(2)
    values = [0.5 * rng.normal(size=shape) for _, _, shape in function.layout.value_variables()]
    for var, ours, theirs in zip(trace.vars, trace.fn(*values), reference(*values)):
        assert np.shape(ours) == np.shape(theirs), var.name
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14, err_msg=var.name)


def test_gradient_matches_finite_differences_at_a_realistic_point():
    X, resolved, model, function = case_model("full", "halfcauchy", 3, 3, True, seed=3)
    q = 0.3 * np.random.default_rng(4).normal(size=function.layout.size)
    _, grad = function._pytensor_function(q)
    step = 1e-6
    for index in range(q.size):
        shift = np.zeros(q.size)
        shift[index] = step
        numeric = (function._pytensor_function(q + shift)[0]
                   - function._pytensor_function(q - shift)[0]) / (2 * step)
        assert grad[index] == pytest.approx(numeric, rel=1e-5, abs=1e-5)


def test_set_data_swaps_the_data_and_the_data_scaled_priors():
    X, resolved, model, function = case_model("diag", "halfnormal", 3, 2, True)
    other = np.random.default_rng(5).normal(size=(70, 2)) * 4.0
    other_resolved = resolve_priors(Priors(scale_prior="halfnormal", lkj_eta=1.7,
                                           weights_concentration=[1.5, 2.0, 0.7]),
                                    other, 3, "diag")
    fresh = PosteriorFunction(function.layout, other, other_resolved)
    function.set_data(other, other_resolved)
    q = np.random.default_rng(6).normal(size=function.layout.size)
    assert function._pytensor_function(q)[0] == fresh._pytensor_function(q)[0]
    assert function._pytensor_function(q)[0] != PosteriorFunction(
        function.layout, X, resolved)._pytensor_function(q)[0]


def test_layout_refuses_a_model_with_other_free_variables():
    X, resolved, model, function = case_model("full", "halfnormal", 3, 2, True)
    with pytest.raises(RuntimeError, match="free variables"):
        layout_of(model, 3, "diag", resolved, True)


def test_lkj_normaliser_integrates_the_2d_density_to_one():
    # for D = 2 the LKJ(eta) density of the correlation r is c (1 - r^2)^(eta - 1)
    eta = 1.7
    r = np.linspace(-1.0, 1.0, 200_001)
    density = np.exp(lkj_log_normaliser(eta, 2)) * (1.0 - r**2) ** (eta - 1.0)
    assert np.trapezoid(density, r) == pytest.approx(1.0, abs=1e-6)


def test_layout_sizes():
    assert Layout(3, 2, "full", "halfnormal", True).size == 2 + 3 + 3 + 3 * 3
    assert Layout(3, 2, "tied", "halfnormal", False).size == 2 + 6 + 3
    assert Layout(1, 3, "spherical", "halfnormal", True).size == 3 + 1
    assert Layout(2, 1, "tied", "halfnormal", True).size == 1 + 2 + 1
