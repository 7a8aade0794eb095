"""The marginalized model's log posterior as one PyTensor Op, and the model ADVI fits with it.

PyMC's ADVI (:mod:`bayes.vi_compiled`) compiles an optimisation step from the model's
graph: on the model of :func:`bayes.model.build_model` that is the priors, transforms,
likelihood and their gradients, about 50 s of numba compilation per shape on an empty
cache. ADVI only needs the log density of the unconstrained free variables
:math:`\\zeta` (with the Jacobians) and its gradient, which
:func:`bayes.posterior_kernel.log_posterior_grad` computes for every shape. :func:`vi_model`
is a PyMC model of one flat free variable ``q`` (no transform, the raveled :math:`\\zeta` of
the real model, same order) whose density is that log posterior (``pm.Flat`` plus a
``pm.Potential`` holding :class:`LogPosterior`): ADVI on it optimises exactly the same
ELBO, and its step graph is a few nodes around the kernel. The data and the data-scaled
prior parameters are ``pm.Data`` containers, swapped per data set like the real model's.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numba
import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pytensor.gradient import disconnected_type
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key

from bayes import posterior_kernel
from bayes.posterior_function import PosteriorFunction
from bayes.posterior_kernel import SCALE_PRIOR_CODES, log_posterior_grad

# the source of the kernels and of this module: part of PyTensor's on-disk cache key
SOURCE_HASH = hashlib.sha256(Path(posterior_kernel.__file__).read_bytes()
                             + Path(__file__).read_bytes()).digest()
FREE_NAME = "q"  # the flat free variable of the VI model
# data containers of the VI model: (name, PosteriorFunction attribute)
VI_DATA = (("X_data", "X"), ("concentration", "concentration"), ("means_loc", "loc"),
           ("means_scale", "scale"), ("scale_unit", "unit"))


class LogPosterior(Op):
    """(q, X, concentration, loc, scale, unit) -> (log p(q | X) as a (1,) vector, gradient).

    The layout codes, the LKJ shape ``eta`` and the constant term are properties: they are
    fixed by the model's cache key. Gradients flow to ``q`` only (the data are data).
    """

    __props__ = ("n_components", "covariance_kind", "scale_code", "ordered", "eta", "constant")

    def __init__(self, n_components: int, covariance_kind: int, scale_code: int,
                 ordered: bool, eta: float, constant: float):
        self.n_components = int(n_components)
        self.covariance_kind = int(covariance_kind)
        self.scale_code = int(scale_code)
        self.ordered = bool(ordered)
        self.eta = float(eta)
        self.constant = float(constant)

    def make_node(self, q, X, concentration, loc, scale, unit):
        inputs = [pt.as_tensor_variable(value).astype("float64")
                  for value in (q, X, concentration, loc, scale, unit)]
        if [variable.ndim for variable in inputs] != [1, 2, 1, 1, 1, 1]:
            raise ValueError("LogPosterior needs q (n,), X (N, D) and 1-D prior parameters")
        return Apply(self, inputs, [pt.tensor(dtype="float64", shape=(1,)), inputs[0].type()])

    def perform(self, node, inputs, output_storage):
        logp, grad = self._evaluate(*inputs)
        output_storage[0][0] = np.array([logp])
        output_storage[1][0] = grad

    def _evaluate(self, q, X, concentration, loc, scale, unit):
        return log_posterior_grad(q, X, concentration, self.eta, loc, scale, unit,
                                  self.n_components, self.covariance_kind, self.scale_code,
                                  self.ordered, self.constant)

    def infer_shape(self, node, input_shapes):
        return [(1,), input_shapes[0]]

    def connection_pattern(self, node):
        # the gradient output is a by-product for the pullback, not differentiated
        return [[True, False]] + [[False, False]] * 5

    def pullback(self, inputs, outputs, cotangents):
        return [cotangents[0][0] * outputs[1]] + [disconnected_type() for _ in range(5)]


@register_funcify_default_op_cache_key(LogPosterior)
def _numba_log_posterior(op, node=None, **kwargs):
    n_components, kind, code, ordered = (op.n_components, op.covariance_kind, op.scale_code,
                                         op.ordered)
    eta, constant = op.eta, op.constant

    @numba.njit
    def log_posterior(q, X, concentration, loc, scale, unit):
        logp, grad = log_posterior_grad(q, X, concentration, eta, loc, scale, unit,
                                        n_components, kind, code, ordered, constant)
        value = np.empty(1)
        value[0] = logp
        return value, grad

    key = hashlib.sha256(SOURCE_HASH + repr(op._props()).encode()).digest()
    return log_posterior, int.from_bytes(key[:6], "big")


def vi_data(function: PosteriorFunction) -> dict[str, np.ndarray]:
    """The VI model's data containers for the data set ``function`` holds."""
    return {name: getattr(function, attribute) for name, attribute in VI_DATA}


def vi_model(function: PosteriorFunction) -> pm.Model:
    """The flat model ADVI fits: ``q`` ~ Flat (n,) with the log posterior as a Potential."""
    layout = function.layout
    op = LogPosterior(layout.n_components, layout.covariance_kind,
                      SCALE_PRIOR_CODES[layout.scale_prior], layout.ordered, function.eta,
                      function.constant)
    with pm.Model() as model:
        data = [pm.Data(name, value) for name, value in vi_data(function).items()]
        free = pm.Flat(FREE_NAME, shape=layout.size)
        logp, _ = op(free, *data)
        pm.Potential("log_posterior", logp[0])
    return model
