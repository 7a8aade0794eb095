"""The VI model's log density (one Op around the numba kernel) against the real model's."""

from __future__ import annotations

import numpy as np
import pytensor
import pytest

from bayes.compiled import DETERMINISTIC_FLAGS

from bayes.posterior_function import split_values, transformed_start
from bayes.posterior_op import FREE_NAME, vi_model
from tests.bayes.test_posterior_kernel import REFERENCE_MODE, case_model


@pytest.mark.parametrize("case", [("full", "halfnormal", 3, 2, True),
                                  ("spherical", "exponential", 2, 1, True)],
                         ids=["full", "spherical"])
def test_vi_model_density_and_gradient_equal_the_models(case):
    X, resolved, model, function = case_model(*case)
    flat = vi_model(function)
    flat_logp = flat.compile_logp(mode=REFERENCE_MODE)
    flat_dlogp = flat.compile_dlogp(mode=REFERENCE_MODE)
    logp = model.compile_logp(mode=REFERENCE_MODE)
    dlogp = model.compile_dlogp(mode=REFERENCE_MODE)
    rng = np.random.default_rng(3)
    for _ in range(3):
        q = 0.5 * rng.normal(size=function.layout.size)
        point = {var.name: value for var, value in
                 zip(model.value_vars, split_values(function.layout, q))}
        assert flat_logp({FREE_NAME: q}) == pytest.approx(logp(point), rel=1e-12)
        np.testing.assert_allclose(flat_dlogp({FREE_NAME: q}), dlogp(point), rtol=1e-10,
                                   atol=1e-10)


def test_numba_compiled_op_equals_the_kernel():
    """The kernel inlined in PyTensor's compiled graph (no fast-math) gives the kernel's
    numbers; LLVM optimises it together with its caller, so the last bits may differ from
    the kernel called alone (measured: up to 7e-15 on gradients of about 50)."""
    X, resolved, model, function = case_model("tied", "halfcauchy", 3, 2, True)
    flat = vi_model(function)
    with pytensor.config.change_flags(**DETERMINISTIC_FLAGS):  # as bayes.vi_compiled runs it
        compiled = flat.compile_dlogp()  # numba mode: the Op's registered implementation
    q = 0.4 * np.random.default_rng(4).normal(size=function.layout.size)
    np.testing.assert_allclose(compiled({FREE_NAME: q}), function._pytensor_function(q)[1],
                               rtol=1e-13, atol=1e-13)


def test_transformed_start_inverts_the_recorded_values():
    from bayes.initvals import em_initvals

    X, resolved, model, function = case_model("full", "halfnormal", 3, 2, True)
    initvals = em_initvals(X, 3, "full", True, 0, resolved)
    q = transformed_start(function.layout, initvals)
    recorded = function.recorded_values(*split_values(function.layout, q))
    for name, value in initvals.items():
        np.testing.assert_allclose(recorded[name], value, rtol=1e-12, atol=1e-15, err_msg=name)
