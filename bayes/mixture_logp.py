"""The marginal log-density of the mixture as one PyTensor Op with a hand-written gradient.

For every row :math:`x_i` (Z summed out),

.. math::

    \\log p(x_i) = \\operatorname{logsumexp}_k \\Big[\\log w_k - \\tfrac{D}{2}\\log 2\\pi
        - \\sum_a \\log L_{k,aa} - \\tfrac12 \\lVert z_{ik} \\rVert^2\\Big],
    \\qquad z_{ik} = L_k^{-1} (x_i - \\mu_k),

with :math:`\\Sigma_k = L_k L_k^\\top`. With :math:`r_{ik} = p(z_i = k \\mid x_i)`, upstream
gradients :math:`g_i` and :math:`u_{ik} = L_k^{-\\top} z_{ik}` (so
:math:`u_{ik} = \\Sigma_k^{-1}(x_i - \\mu_k)`):

.. math::

    \\frac{\\partial}{\\partial \\log w_k} = \\sum_i g_i r_{ik}, \\qquad
    \\frac{\\partial}{\\partial \\mu_k} = \\sum_i g_i r_{ik} u_{ik}, \\qquad
    \\frac{\\partial}{\\partial L_{k,ab}} = \\sum_i g_i r_{ik}
        \\big(u_{ik,a} z_{ik,b} - [a = b] / L_{k,aa}\\big) \\quad (b \\le a).

Why an Op: ``pm.Mixture`` of K ``MvNormal`` builds a graph of about 300 nodes (per-component
triangular solves, broadcasting, their gradients) whose numba compilation takes about a
minute per model shape and whose call costs about 50 us at N = 300, K = 3, D = 2, mostly
allocating intermediates. The two kernels below are plain loops (no temporaries per row):
with them the model's logp/gradient costs about 41 us and its first compile 40 s instead
of 53 s (docs/bayes-internals.md). PyTensor's numba backend calls them inside the compiled
graph and caches them on disk with it (:data:`KERNEL_VERSION`, a hash of this module, is
part of the cache key). They run without fast-math, so the same inputs give the same bits
however and whenever they were compiled.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numba
import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import disconnected_type
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key

# part of PyTensor's on-disk cache key of graphs holding these Ops: any edit of this module
# gives new keys, so a cache never returns kernels compiled from older source
KERNEL_VERSION = int.from_bytes(hashlib.sha256(Path(__file__).read_bytes()).digest()[:6], "big")
LOG_2PI = math.log(2.0 * math.pi)


@numba.njit(cache=True, inline="always")
def _half_sq_norm(X, i, means, chols, inverse_diagonals, k, z):
    """0.5 ||z||^2 with z = L_k^{-1} (x_i - mu_k) (forward substitution, stored in z)."""
    total = 0.0
    for a in range(X.shape[1]):
        s = X[i, a] - means[k, a]
        for b in range(a):
            s -= chols[k, a, b] * z[b]
        z[a] = s * inverse_diagonals[k, a]  # multiplying by 1 / L_aa: no division per row
        total += z[a] * z[a]
    return 0.5 * total


@numba.njit(cache=True, inline="always")
def _inverse_diagonals(chols):
    """1 / L_kaa, (K, D)."""
    out = np.empty(chols.shape[:2])
    for k in range(chols.shape[0]):
        for a in range(chols.shape[1]):
            out[k, a] = 1.0 / chols[k, a, a]
    return out


@numba.njit(cache=True, inline="always")
def _log_normalisers(log_weights, chols):
    """log w_k - D/2 log 2 pi - sum_a log L_kaa for every component."""
    n_components, n_features = chols.shape[0], chols.shape[1]
    out = np.empty(n_components)
    for k in range(n_components):
        log_det = 0.0
        for a in range(n_features):
            log_det += math.log(chols[k, a, a])
        out[k] = log_weights[k] - 0.5 * n_features * LOG_2PI - log_det
    return out


@numba.njit(cache=True)
def mixture_row_logp(X, log_weights, means, chols):
    """(log p(x_i) (n_samples,), responsibilities r_ik (n_samples, n_components))."""
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    normalisers = _log_normalisers(log_weights, chols)
    inverse_diagonals = _inverse_diagonals(chols)
    z = np.empty(n_features)
    out = np.empty(n_samples)
    responsibilities = np.empty((n_samples, n_components))
    for i in range(n_samples):
        joint = responsibilities[i]
        largest = -np.inf
        for k in range(n_components):
            joint[k] = normalisers[k] - _half_sq_norm(X, i, means, chols, inverse_diagonals, k, z)
            largest = max(largest, joint[k])
        if largest == -np.inf:  # every component impossible: no responsibilities
            out[i] = -np.inf
            joint[:] = 0.0
            continue
        total = 0.0
        for k in range(n_components):
            joint[k] = math.exp(joint[k] - largest)  # shifted by the maximum: no overflow
            total += joint[k]
        for k in range(n_components):
            joint[k] /= total
        out[i] = largest + math.log(total)
    return out, responsibilities


@numba.njit(cache=True)
def mixture_row_logp_grad(X, means, chols, responsibilities, row_grads):
    """Gradients of sum_i g_i log p(x_i) in (log_weights, means, chols); see the module.

    ``responsibilities`` are :func:`mixture_row_logp`'s: r_ik = p(z_i = k | x_i).
    """
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    inverse_diagonals = _inverse_diagonals(chols)
    grad_log_weights = np.zeros(n_components)
    grad_means = np.zeros((n_components, n_features))
    grad_chols = np.zeros((n_components, n_features, n_features))
    z = np.empty(n_features)
    u = np.empty(n_features)
    for i in range(n_samples):
        for k in range(n_components):
            weight = row_grads[i] * responsibilities[i, k]  # g_i r_ik
            if weight == 0.0:
                continue
            grad_log_weights[k] += weight
            _half_sq_norm(X, i, means, chols, inverse_diagonals, k, z)
            for a in range(n_features - 1, -1, -1):  # u = L^{-T} z, back substitution
                s = z[a]
                for b in range(a + 1, n_features):
                    s -= chols[k, b, a] * u[b]
                u[a] = s * inverse_diagonals[k, a]
            for a in range(n_features):
                grad_means[k, a] += weight * u[a]
                for b in range(a + 1):
                    grad_chols[k, a, b] += weight * u[a] * z[b]
    for k in range(n_components):
        for a in range(n_features):
            grad_chols[k, a, a] -= grad_log_weights[k] * inverse_diagonals[k, a]
    return grad_log_weights, grad_means, grad_chols


def _as_float_tensors(*values):
    return [pt.as_tensor_variable(value).astype("float64") for value in values]


class MixtureLogpGrad(Op):
    """(X, means, chols, responsibilities, row_grads) -> gradients of sum_i g_i log p(x_i)
    in (log_weights, means, chols)."""

    __props__ = ()

    def make_node(self, X, means, chols, responsibilities, row_grads):
        inputs = _as_float_tensors(X, means, chols, responsibilities, row_grads)
        n_components = inputs[1].type.shape[0]
        outputs = [pt.tensor(dtype="float64", shape=(n_components,)), inputs[1].type(),
                   inputs[2].type()]
        return Apply(self, inputs, outputs)

    def perform(self, node, inputs, output_storage):
        for storage, value in zip(output_storage, mixture_row_logp_grad(*inputs)):
            storage[0] = value

    def infer_shape(self, node, input_shapes):
        return [input_shapes[1][:1], input_shapes[1], input_shapes[2]]


class MixtureLogp(Op):
    """(X (N, D), log_weights (K,), means (K, D), chols (K, D, D)) ->
    (log p(x_i) (N,), responsibilities (N, K)).

    ``chols`` are lower Cholesky factors of the covariances (only their lower triangles are
    read). X is data: it has no gradient. The responsibilities are there for the gradient
    (no exponential computed twice); gradients flow through ``log p(x_i)`` only.
    """

    __props__ = ()

    def make_node(self, X, log_weights, means, chols):
        inputs = _as_float_tensors(X, log_weights, means, chols)
        if [variable.ndim for variable in inputs] != [2, 1, 2, 3]:
            raise ValueError("MixtureLogp needs X (N, D), log_weights (K,), means (K, D) and "
                             "chols (K, D, D)")
        n_samples, n_components = inputs[0].type.shape[0], inputs[1].type.shape[0]
        outputs = [pt.tensor(dtype="float64", shape=(n_samples,)),
                   pt.tensor(dtype="float64", shape=(n_samples, n_components))]
        return Apply(self, inputs, outputs)

    def perform(self, node, inputs, output_storage):
        for storage, value in zip(output_storage, mixture_row_logp(*inputs)):
            storage[0] = value

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0][:1], (input_shapes[0][0], input_shapes[1][0])]

    def connection_pattern(self, node):
        # responsibilities: a by-product for the gradient, not differentiated
        return [[False, False], [True, False], [True, False], [True, False]]

    def pullback(self, inputs, outputs, cotangents):
        X, _, means, chols = inputs
        grads = MIXTURE_LOGP_GRAD(X, means, chols, outputs[1], cotangents[0])
        return [disconnected_type(), *grads]


MIXTURE_LOGP = MixtureLogp()
MIXTURE_LOGP_GRAD = MixtureLogpGrad()


@register_funcify_default_op_cache_key(MixtureLogp)
def _numba_mixture_logp(op, node=None, **kwargs):
    return mixture_row_logp, KERNEL_VERSION


@register_funcify_default_op_cache_key(MixtureLogpGrad)
def _numba_mixture_logp_grad(op, node=None, **kwargs):
    return mixture_row_logp_grad, KERNEL_VERSION


# core dimensions of (weights, means, chols)
CORE_NDIMS = (1, 2, 3)


def broadcast_axes(shape: tuple, core_ndim: int) -> int:
    """How many leading axes (all of length 1) ``pm.CustomDist`` added to a parameter."""
    extra = len(shape) - core_ndim
    if any(length != 1 for length in shape[:extra]):
        raise ValueError("the mixture's parameters cannot have batch dimensions")
    return extra


def core_parameter(value, core_ndim: int):
    """Symbolic ``value`` without its leading length-1 axes."""
    value = pt.as_tensor_variable(value)
    extra = broadcast_axes(value.type.shape, core_ndim)
    return value[(0,) * extra] if extra else value


def mixture_logp(X, weights, means, chols):
    """Symbolic log p(x_i) (N,) of the mixture with these weights, means and Cholesky factors.

    The parameters may carry leading length-1 axes (``pm.CustomDist`` broadcasts them to
    the batch dimensions of the observed rows).
    """
    weights, means, chols = (core_parameter(value, ndim)
                             for value, ndim in zip((weights, means, chols), CORE_NDIMS))
    return MIXTURE_LOGP(X, pt.log(weights), means, chols)[0]


def mixture_random(weights, means, chols, rng=None, size=None) -> np.ndarray:
    """Draws of the mixture, shape ``size + (D,)`` (labels from ``weights``, then Gaussians).

    The parameters may carry leading length-1 axes (``pm.CustomDist`` broadcasts them).
    """
    rng = np.random.default_rng(rng)
    weights, means, chols = (
        core_array(value, ndim) for value, ndim in zip((weights, means, chols), CORE_NDIMS))
    size = () if size is None else tuple(np.atleast_1d(size))
    labels = rng.choice(len(weights), size=size, p=weights / weights.sum())
    noise = rng.standard_normal(size + (means.shape[1],))
    return means[labels] + np.einsum("...ab,...b->...a", chols[labels], noise)


def core_array(value, core_ndim: int) -> np.ndarray:
    """Float array ``value`` without its leading length-1 axes."""
    value = np.asarray(value, dtype=float)
    return value.reshape(value.shape[broadcast_axes(value.shape, core_ndim):])


def register_jax() -> None:
    """Give :class:`MixtureLogp` and :class:`MixtureLogpGrad` their JAX implementations.

    Called by the JAX-based samplers before they translate a model (``jax`` is an optional
    extra, imported only here).
    """
    import jax
    import jax.numpy as jnp
    from pytensor.link.jax.dispatch import jax_funcify

    def standardised(X, means, chols):
        """z_ik = L_k^{-1} (x_i - mu_k), (K, N, D)."""
        centred = X[None, :, :] - means[:, None, :]
        return jax.lax.linalg.triangular_solve(chols, centred, left_side=False, lower=True,
                                               transpose_a=True)  # z L^T = x - mu

    @jax_funcify.register(MixtureLogp)
    def _jax_mixture_logp(op, **kwargs):
        def mixture_row_logp_jax(X, log_weights, means, chols):
            z = standardised(X, means, chols)
            diagonals = jnp.diagonal(chols, axis1=1, axis2=2)
            normalisers = (log_weights - 0.5 * X.shape[1] * LOG_2PI
                           - jnp.log(diagonals).sum(axis=1))
            joint = normalisers[:, None] - 0.5 * (z ** 2).sum(axis=2)
            row_logp = jax.scipy.special.logsumexp(joint, axis=0)
            return row_logp, jnp.exp(joint - row_logp).T

        return mixture_row_logp_jax

    @jax_funcify.register(MixtureLogpGrad)
    def _jax_mixture_logp_grad(op, **kwargs):
        def mixture_row_logp_grad_jax(X, means, chols, responsibilities, row_grads):
            z = standardised(X, means, chols)
            u = jax.lax.linalg.triangular_solve(chols, z, left_side=False, lower=True,
                                                transpose_a=False)  # u L = z: u = L^{-T} z
            weights = (row_grads[:, None] * responsibilities).T  # g_i r_ik, (K, N)
            grad_log_weights = weights.sum(axis=1)
            grad_means = jnp.einsum("kn,kna->ka", weights, u)
            outer = jnp.tril(jnp.einsum("kn,kna,knb->kab", weights, u, z))
            diagonals = jnp.diagonal(chols, axis1=1, axis2=2)
            grad_chols = outer - jax.vmap(jnp.diag)(grad_log_weights[:, None] / diagonals)
            return grad_log_weights, grad_means, grad_chols

        return mixture_row_logp_grad_jax
