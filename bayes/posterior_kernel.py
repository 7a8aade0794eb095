"""The marginalized model's log posterior and gradient on PyMC's unconstrained space, in numba.

PyMC's NUTS needs one function of the raveled free variables :math:`q` (in the model's
order, each on its transformed scale) returning :math:`\\log p(q \\mid X)` up to nothing
(PyMC's normalising constants included) and its gradient. PyTensor compiles that function
from the model graph with numba: about 480 numba functions, 25-40 s per model shape on an
empty cache. :func:`log_posterior_grad` computes the same number from a handful of kernels
that do not depend on K, D or N, so one compilation (cached on disk by numba) serves every
shape; :func:`bayes.compiled.compiled_model` uses it for the marginalized formulation
(tests check value and gradient against PyMC's compiled ones for every covariance type,
scale prior and ordering).

The unconstrained coordinates and their Jacobians are PyMC's default transforms:

- ``weights_simplex__`` :math:`y \\in \\mathbb R^{K-1}`: :math:`z = (y, -\\sum y)`,
  :math:`\\log w = z - \\operatorname{logsumexp}(z)`, log-Jacobian
  :math:`\\log K + \\sum_k \\log w_k`; with the Dirichlet(:math:`\\alpha`) prior the
  :math:`w`-dependent part is :math:`\\sum_k \\alpha_k \\log w_k`;
- ``means_first_std_ordered__``: :math:`x_0 = y_0`, :math:`x_k = x_{k-1} + e^{y_k}`,
  log-Jacobian :math:`\\sum_{k \\ge 1} y_k`;
- ``chol_cov_std[_k]_cholesky-cov-packed__``: the row-major packed lower factor :math:`L`
  with the log of its diagonal; with row norms :math:`s_i = \\lVert L_{i\\cdot} \\rVert`
  (the standard deviations), PyMC's LKJCholeskyCov density of the packed factor plus the
  log-Jacobian of the diagonal is

  .. math::

      c_\\text{LKJ}(\\eta, D) + \\sum_i \\big[(2\\eta - 2 + D - i)(\\log L_{ii} - \\log s_i)
      - i \\log s_i + \\log p_\\text{scale}(s_i) + \\log L_{ii}\\big];

- ``scales_std_log__``: :math:`\\sigma = e^y`, log-Jacobian :math:`y`.

The model's parameters are then :math:`\\mu = m + s\\,\\mu^\\text{std}` and
:math:`L_k = \\operatorname{diag}(u) L^\\text{std}_k` (:mod:`bayes.model`,
:mod:`bayes.covariances`), and the likelihood is :mod:`bayes.mixture_logp`'s kernels. The
gradient is the chain rule through these maps. Everything runs without fast-math: the
same inputs give the same bits whether the kernels were just compiled or loaded.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numba
import numpy as np
from scipy.special import gammaln

from bayes.mixture_logp import LOG_2PI, mixture_row_logp, mixture_row_logp_grad

# how the covariance block of q is laid out (see Layout.covariance_kind)
LKJ_PER_COMPONENT, LKJ_SHARED, SCALES_PER_COMPONENT_DIM, SCALES_PER_COMPONENT, SCALE_SHARED = range(5)
SCALE_PRIOR_CODES = {"halfnormal": 0, "exponential": 1, "halfcauchy": 2}
# log density of the unit scale prior at 0 (its constant term) per family
SCALE_PRIOR_CONSTANTS = {"halfnormal": 0.5 * math.log(2.0 / math.pi), "exponential": 0.0,
                         "halfcauchy": math.log(2.0 / math.pi)}


@dataclass(frozen=True)
class Layout:
    """The free variables of a marginalized model: names, shapes and their order in q."""

    n_components: int
    n_features: int
    covariance_type: str
    scale_prior: str
    order_means: bool

    @property
    def ordered(self) -> bool:
        """Whether the first mean coordinate is the ordered vector ``means_first_std``."""
        return self.order_means and self.n_components > 1

    @property
    def covariance_kind(self) -> int:
        """Code of the covariance variables (module constants ``LKJ_*``, ``SCALE*``)."""
        if self.covariance_type == "spherical":
            return SCALES_PER_COMPONENT
        if self.n_features == 1 and self.covariance_type == "tied":
            return SCALE_SHARED
        if self.n_features == 1 or self.covariance_type == "diag":
            return SCALES_PER_COMPONENT_DIM
        return LKJ_PER_COMPONENT if self.covariance_type == "full" else LKJ_SHARED

    @functools.cache  # layouts are few and immutable: one tuple each
    def value_variables(self) -> tuple[tuple[str, str, tuple[int, ...]], ...]:
        """(value variable name, free variable name, shape) in the model's order."""
        K, D = self.n_components, self.n_features
        packed = (D * (D + 1) // 2,)
        variables = [("weights_simplex__", "weights", (K - 1,))] if K > 1 else []
        if self.ordered:
            variables.append(("means_first_std_ordered__", "means_first_std", (K,)))
            if D > 1:
                variables.append(("means_rest_std", "means_rest_std", (K, D - 1)))
        else:
            variables.append(("means_std", "means_std", (K, D)))
        kind = self.covariance_kind
        if kind == LKJ_PER_COMPONENT:
            variables += [(f"chol_cov_std_{k}_cholesky-cov-packed__", f"chol_cov_std_{k}", packed)
                          for k in range(K)]
        elif kind == LKJ_SHARED:
            variables.append(("chol_cov_std_cholesky-cov-packed__", "chol_cov_std", packed))
        else:
            shape = {SCALES_PER_COMPONENT: (K,), SCALE_SHARED: (1,)}.get(kind, (K, D))
            variables.append(("scales_std_log__", "scales_std", shape))
        return tuple(variables)

    @property
    def size(self) -> int:
        """Length of the raveled q."""
        return sum(math.prod(shape) for _, _, shape in self.value_variables())


def lkj_log_normaliser(eta: float, n: int) -> float:
    """Log normalising constant of the LKJ(eta) density of n x n correlation matrices."""
    k = np.arange(1, n)
    return float((n - 1) * gammaln(eta + 0.5 * (n - 1))
                 - np.sum(0.5 * k * math.log(math.pi) + gammaln(eta + 0.5 * (n - 1 - k))))


def log_constant(layout: Layout, concentration: np.ndarray, eta: float) -> float:
    """The terms of the log posterior that do not depend on q (PyMC includes them)."""
    K, D = layout.n_components, layout.n_features
    constant = -0.5 * LOG_2PI * K * D  # Normal(0, 1) priors of the standardised means
    if K > 1:  # Dirichlet normaliser and the log K of the simplex Jacobian
        constant += gammaln(concentration.sum()) - gammaln(concentration).sum() + math.log(K)
    kind = layout.covariance_kind
    n_blocks = {LKJ_PER_COMPONENT: K, LKJ_SHARED: 1}.get(kind, 0)
    n_scales = n_blocks * D if n_blocks else math.prod(layout.value_variables()[-1][2])
    constant += n_blocks * lkj_log_normaliser(eta, D) if n_blocks else 0.0
    return float(constant + n_scales * SCALE_PRIOR_CONSTANTS[layout.scale_prior])


# --------------------------------------------------------------------------- kernels


@numba.njit(cache=True)
def _scale_log_prior(s, code):
    """(log p(s) without its constant, d/ds) of the unit HalfNormal / Exponential / HalfCauchy."""
    if code == 0:
        return -0.5 * s * s, -s
    if code == 1:
        return -s, -1.0
    return -math.log1p(s * s), -2.0 * s / (1.0 + s * s)


@numba.njit(cache=True)
def unpack(q, n_components, n_features, loc, scale, unit, covariance_kind, ordered):
    """q -> (log_weights (K,), means_std (K, D), natural covariance values, chols (K, D, D)).

    The natural covariance values are the covariance block of q with the exponential
    applied where the transform took a log (the packed standardised factors with their
    diagonal, or the standardised scales). ``chols`` are the model's Cholesky factors
    :math:`\\operatorname{diag}(u) L^\\text{std}_k`.
    """
    K, D = n_components, n_features
    log_weights = np.zeros(K)
    pos = 0
    if K > 1:
        total = 0.0
        for k in range(K - 1):
            total += q[k]
        largest = -total
        for k in range(K - 1):
            largest = max(largest, q[k])
        summed = math.exp(-total - largest)  # logsumexp shifted by the maximum
        for k in range(K - 1):
            summed += math.exp(q[k] - largest)
        normaliser = largest + math.log(summed)
        for k in range(K - 1):
            log_weights[k] = q[k] - normaliser
        log_weights[K - 1] = -total - normaliser
        pos = K - 1
    means_std = np.empty((K, D))
    if ordered:
        running = q[pos]
        means_std[0, 0] = running
        for k in range(1, K):
            running += math.exp(q[pos + k])
            means_std[k, 0] = running
        pos += K
        for k in range(K):
            for d in range(1, D):
                means_std[k, d] = q[pos]
                pos += 1
    else:
        for k in range(K):
            for d in range(D):
                means_std[k, d] = q[pos]
                pos += 1
    natural = q[pos:].copy()
    chols = np.zeros((K, D, D))
    if covariance_kind <= 1:  # LKJ: packed rows, log diagonal
        n_blocks = K if covariance_kind == 0 else 1
        index = 0
        for block in range(n_blocks):
            for i in range(D):
                for j in range(i + 1):
                    value = math.exp(natural[index]) if j == i else natural[index]
                    natural[index] = value
                    for k in range(K):
                        if k == block or n_blocks == 1:
                            chols[k, i, j] = unit[i] * value
                    index += 1
    else:
        for index in range(natural.size):
            natural[index] = math.exp(natural[index])
        for k in range(K):
            for d in range(D):
                if covariance_kind == 2:
                    chols[k, d, d] = unit[d] * natural[k * D + d]
                elif covariance_kind == 3:
                    chols[k, d, d] = unit[0] * natural[k]
                else:
                    chols[k, d, d] = unit[d] * natural[0]
    return log_weights, means_std, natural, chols


@numba.njit(cache=True)
def _lkj_block(L, start, D, eta, scale_code, grad_L, grad_q):
    """Log prior + log-Jacobian of one packed LKJ factor at ``L[start:]``; adds its gradient.

    ``grad_L`` holds d(likelihood)/dL for the block on entry; the gradient in the
    unconstrained coordinates is written to ``grad_q[start:]``.
    """
    logp = 0.0
    row = start
    for i in range(D):
        squares = 0.0
        for j in range(i + 1):
            squares += L[row + j] * L[row + j]
        sd = math.sqrt(squares)
        diagonal = L[row + i]
        coefficient = 2.0 * eta - 2.0 + D - i
        prior, prior_grad = _scale_log_prior(sd, scale_code)
        logp += coefficient * (math.log(diagonal) - math.log(sd)) - i * math.log(sd) + prior
        logp += math.log(diagonal)  # log-Jacobian of the exp on the diagonal
        radial = -(coefficient + i) / squares + prior_grad / sd
        for j in range(i + 1):
            g = grad_L[row + j] + radial * L[row + j]
            if j == i:
                g = (g + coefficient / diagonal) * diagonal + 1.0
            grad_q[row + j] = g
        row += i + 1
    return logp


@numba.njit(cache=True)
def log_posterior_grad(q, X, concentration, eta, loc, scale, unit, n_components,
                       covariance_kind, scale_code, ordered, constant):
    """(log p(q | X), its gradient (q.size,)) of the marginalized model; see the module."""
    K, D = n_components, X.shape[1]
    log_weights, means_std, natural, chols = unpack(q, K, D, loc, scale, unit,
                                                    covariance_kind, ordered)
    means = np.empty((K, D))
    for k in range(K):
        for d in range(D):
            means[k, d] = loc[d] + scale[d] * means_std[k, d]
    row_logp, responsibilities = mixture_row_logp(X, log_weights, means, chols)
    logp = constant
    for i in range(row_logp.size):
        logp += row_logp[i]
    grad_log_weights, grad_means, grad_chols = mixture_row_logp_grad(
        X, means, chols, responsibilities, np.ones(X.shape[0]))
    grad = np.zeros(q.size)
    pos = 0
    if K > 1:  # d/dlog w = alpha + likelihood; through log w = z - lse(z), z = (y, -sum y)
        g_total = 0.0
        for k in range(K):
            logp += concentration[k] * log_weights[k]
            g_total += concentration[k] + grad_log_weights[k]
        g_last = concentration[K - 1] + grad_log_weights[K - 1] - math.exp(log_weights[K - 1]) * g_total
        for k in range(K - 1):
            g_k = concentration[k] + grad_log_weights[k] - math.exp(log_weights[k]) * g_total
            grad[k] = g_k - g_last
        pos = K - 1
    grad_std = np.empty((K, D))
    for k in range(K):
        for d in range(D):
            logp -= 0.5 * means_std[k, d] * means_std[k, d]
            grad_std[k, d] = scale[d] * grad_means[k, d] - means_std[k, d]
    if ordered:
        tail = 0.0
        for k in range(K - 1, 0, -1):  # x_k = x_{k-1} + exp(y_k): suffix sums
            tail += grad_std[k, 0]
            grad[pos + k] = tail * math.exp(q[pos + k]) + 1.0
            logp += q[pos + k]
        grad[pos] = tail + grad_std[0, 0]
        pos += K
        for k in range(K):
            for d in range(1, D):
                grad[pos] = grad_std[k, d]
                pos += 1
    else:
        for k in range(K):
            for d in range(D):
                grad[pos] = grad_std[k, d]
                pos += 1
    covariance_grad = grad[pos:]
    if covariance_kind <= 1:
        n_blocks = K if covariance_kind == 0 else 1
        size = D * (D + 1) // 2
        grad_L = np.zeros(natural.size)
        for k in range(K):
            block = k if n_blocks == K else 0
            index = block * size
            for i in range(D):
                for j in range(i + 1):
                    grad_L[index] += unit[i] * grad_chols[k, i, j]
                    index += 1
        for block in range(n_blocks):
            logp += _lkj_block(natural, block * size, D, eta, scale_code, grad_L,
                               covariance_grad)
    else:
        grad_s = np.zeros(natural.size)
        for k in range(K):
            for d in range(D):
                if covariance_kind == 2:
                    grad_s[k * D + d] += unit[d] * grad_chols[k, d, d]
                elif covariance_kind == 3:
                    grad_s[k] += unit[0] * grad_chols[k, d, d]
                else:
                    grad_s[0] += unit[d] * grad_chols[k, d, d]
        for index in range(natural.size):
            s = natural[index]
            prior, prior_grad = _scale_log_prior(s, scale_code)
            logp += prior + q[pos + index]  # prior + log-Jacobian of s = exp(y)
            covariance_grad[index] = (grad_s[index] + prior_grad) * s + 1.0
    return logp, grad
