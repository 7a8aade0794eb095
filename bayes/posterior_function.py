"""What PyMC's NUTS calls, for the marginalized model, from :mod:`bayes.posterior_kernel`.

PyMC's sampler needs three compiled functions of a model: the log posterior and its
gradient (every leapfrog step), the trace's point function (free variables -> recorded
variables, every draw) and the initial point. For the marginalized formulation the first two
are written out here on top of the numba kernels, which compile once for every model
shape, so a new (K, D, covariance type, prior) costs no PyTensor compilation:

- :class:`PosteriorFunction` stands in for PyMC's ``ValueGradFunction`` (the attributes
  ``pymc.step_methods.hmc.integration.CpuLeapfrogIntegrator`` reads);
- :func:`posterior_trace` is a trace template (:class:`ReusableTrace`) whose point
  function is :meth:`PosteriorFunction.recorded_values`;
- the initial point stays PyMC's (``pm.sample`` computes it from the starting values of
  :mod:`bayes.initvals` in ``FAST_COMPILE`` mode: evaluated in Python, nothing compiled).

The model itself stays the PyMC model of :func:`bayes.model.build_model`: its variable
names, shapes and order are checked against :class:`bayes.posterior_kernel.Layout`.
"""

from __future__ import annotations

import math

import numpy as np
import pymc as pm
from pymc.backends.ndarray import NDArray

from bayes.posterior_kernel import (
    SCALE_PRIOR_CODES,
    Layout,
    log_constant,
    log_posterior_grad,
    unpack,
)
from bayes.priors import ResolvedPriors, prior_data


def layout_of(model: pm.Model, n_components: int, covariance_type: str,
              resolved: ResolvedPriors, order_means: bool) -> Layout:
    """The layout of a marginalized model, checked against its value variables."""
    n_features = model["means"].type.shape[-1] or len(model.coords["dim"])
    layout = Layout(n_components, n_features, covariance_type, resolved.scale_prior,
                    bool(order_means))
    expected = [name for name, _, _ in layout.value_variables()]
    actual = [var.name for var in model.value_vars]
    if expected != actual:
        raise RuntimeError(f"the model's free variables {actual} differ from {expected}")
    return layout


class PosteriorFunction:
    """Log posterior and gradient of one marginalized model, called as PyMC's NUTS does.

    ``_pytensor_function(q) -> (logp, grad)`` is what the leapfrog integrator calls
    (``_raveled_inputs``: q is the raveled free variables); :meth:`set_data` swaps the
    data set, as ``pm.set_data`` does for the compiled model.
    """

    _raveled_inputs = True
    dtype = "float64"
    _extra_vars_shared: dict = {}

    def __init__(self, layout: Layout, X: np.ndarray, resolved: ResolvedPriors):
        self.layout = layout
        self.set_data(X, resolved)

    def set_data(self, X: np.ndarray, resolved: ResolvedPriors) -> None:
        """Use data ``X`` (N, D) and its data-scaled priors."""
        data = prior_data(resolved)
        self.X = np.ascontiguousarray(X, dtype=float)
        self.concentration = np.asarray(resolved.weights_concentration, dtype=float)
        self.eta = float(resolved.lkj_eta)
        self.loc = np.asarray(data["means_loc"], dtype=float)
        self.scale = np.asarray(data["means_scale"], dtype=float)
        self.unit = np.atleast_1d(np.asarray(data["scale_unit"], dtype=float))
        self.scalar_unit = data["scale_unit"].ndim == 0
        self.constant = log_constant(self.layout, self.concentration, self.eta)

    def _pytensor_function(self, q: np.ndarray) -> tuple[float, np.ndarray]:
        layout = self.layout
        return log_posterior_grad(q, self.X, self.concentration, self.eta, self.loc,
                                  self.scale, self.unit, layout.n_components,
                                  layout.covariance_kind, SCALE_PRIOR_CODES[layout.scale_prior],
                                  layout.ordered, self.constant)

    def __call__(self, grad_vars, grad_out=None, extra_vars=None):
        """``ValueGradFunction``'s call: ([raveled q]) -> (logp, gradient)."""
        return self._pytensor_function(np.asarray(grad_vars[0], dtype=float))

    def recorded_values(self, *values: np.ndarray) -> dict[str, np.ndarray]:
        """Free variables (value variables in model order) -> every variable a trace records."""
        layout = self.layout
        q = np.concatenate([np.asarray(value, dtype=float).ravel() for value in values])
        log_weights, means_std, natural, chols = unpack(
            q, layout.n_components, layout.n_features, self.loc, self.scale, self.unit,
            layout.covariance_kind, layout.ordered)
        recorded = {}
        for (value_name, name, shape), value in zip(layout.value_variables(), values):
            recorded[value_name] = value
            recorded[name] = value
        recorded["weights"] = np.exp(log_weights)
        if layout.ordered:
            recorded["means_first_std"] = means_std[:, 0].copy()
        offset = 0
        for _, name, shape in layout.value_variables():
            if name.startswith(("chol_cov_std", "scales_std")):
                size = math.prod(shape)
                recorded[name] = natural[offset:offset + size].reshape(shape)
                offset += size
        if "scales_std" in recorded:
            unit = self.unit[0] if self.scalar_unit else self.unit
            recorded["scales"] = unit * recorded["scales_std"]
        recorded["means"] = self.loc + self.scale * means_std
        recorded["covariances"] = chols @ np.swapaxes(chols, 1, 2)
        return recorded


class ReusableTrace(NDArray):
    """An empty NDArray trace whose copies share its point function.

    ``pm.sample(trace=template)`` copies the template once per chain. PyMC's own trace
    compiles its point function (free variables -> traced variables) in every
    ``pm.sample`` call; a copy of this template reuses the template's function (compiled
    once per model by :mod:`bayes.compiled`, or :meth:`PosteriorFunction.recorded_values`).
    The copy is a new ``NDArray`` (own draw arrays; a plain shallow copy would share them
    between chains).
    """

    def __copy__(self) -> NDArray:
        return NDArray(model=self.model, vars=self.vars, fn=self.fn,
                       var_shapes=self.var_shapes, var_dtypes=self.var_dtypes)


def posterior_trace(model: pm.Model, function: PosteriorFunction) -> ReusableTrace:
    """The trace template of a marginalized model: records ``model.unobserved_value_vars``."""
    variables = model.unobserved_value_vars
    names = [var.name for var in variables]
    start = {name: np.zeros(shape) for name, _, shape in function.layout.value_variables()}
    example = function.recorded_values(*start.values())

    def point_values(*values):
        recorded = function.recorded_values(*values)
        return [recorded[name] for name in names]

    return ReusableTrace(model=model, vars=variables, fn=point_values,
                          var_shapes={name: np.shape(example[name]) for name in names},
                          var_dtypes={name: np.dtype(float) for name in names})


def transformed_start(layout: Layout, initvals: dict) -> np.ndarray:
    """Constrained starting values (free variable name -> value) as the raveled q.

    The inverse maps of :mod:`bayes.posterior_kernel`'s transforms: simplex
    :math:`\\log w_{<K} - \\overline{\\log w}`, ordered :math:`(x_0, \\log \\Delta x)`, log of
    the packed diagonal and of the scales.
    """
    parts = []
    for _, name, shape in layout.value_variables():
        value = np.asarray(initvals[name], dtype=float)
        if name == "weights":
            log_weights = np.log(value)
            value = log_weights[:-1] - log_weights.mean()
        elif name == "means_first_std":
            value = np.concatenate([value[:1], np.log(np.diff(value))])
        elif name.startswith("chol_cov_std"):
            diagonal = np.cumsum(np.arange(1, layout.n_features + 1)) - 1
            value = value.copy()
            value[diagonal] = np.log(value[diagonal])
        elif name == "scales_std":
            value = np.log(value)
        parts.append(value.reshape(shape).ravel())
    return np.concatenate(parts)


def split_values(layout: Layout, q: np.ndarray) -> list[np.ndarray]:
    """The raveled q as the value variables' arrays, in the model's order."""
    values, start = [], 0
    for _, _, shape in layout.value_variables():
        size = math.prod(shape)
        values.append(q[start:start + size].reshape(shape))
        start += size
    return values
