"""Pairwise overlap of Gaussian mixture components in the sense of MixSim.

The overlap of components :math:`i` and :math:`j` (Maitra and Melnykov 2010; Melnykov,
Chen and Maitra 2012) is the sum of the two misclassification probabilities

.. math::

    \\omega_{ij} = \\omega_{i|j} + \\omega_{j|i}, \\qquad
    \\omega_{j|i} = P\\left[\\pi_i \\phi(X; \\mu_i, \\Sigma_i)
                         < \\pi_j \\phi(X; \\mu_j, \\Sigma_j) \\mid X \\sim N(\\mu_i, \\Sigma_i)\\right].

Writing :math:`X = \\mu_i + L_i Z` with :math:`\\Sigma_i = L_i L_i^T`, :math:`Z \\sim N(0, I)`,
and :math:`L_i^T \\Sigma_j^{-1} L_i = V \\operatorname{diag}(\\lambda) V^T`,
:math:`m = V^T L_i^{-1} (\\mu_i - \\mu_j)`, :math:`W = V^T Z`, the event is

.. math::

    \\sum_l (\\lambda_l - 1) W_l^2 + 2 \\lambda_l m_l W_l + \\lambda_l m_l^2
    < 2 \\log(\\pi_j / \\pi_i) + \\log|\\Sigma_i| - \\log|\\Sigma_j|,

the CDF of a quadratic form in independent standard normals (a linear combination of
noncentral chi-square(1) variables plus a normal term). It is computed exactly, up to
quadrature error, by inverting the characteristic function (Imhof 1961; Gil-Pelaez 1951):

.. math::

    P(Q < y) = \\frac{1}{2} - \\frac{1}{\\pi} \\int_0^\\infty
        \\frac{\\operatorname{Im}\\left[e^{-ity} \\varphi(t)\\right]}{t} \\, dt, \\qquad
    \\log \\varphi(t) = \\sum_l -\\tfrac{1}{2} \\log(1 - 2 i a_l t)
                       - \\frac{b_l^2 t^2}{2 (1 - 2 i a_l t)},

for :math:`Q = \\sum_l a_l W_l^2 + b_l W_l`. This form of :math:`\\varphi` stays finite when
:math:`a_l \\to 0` (equal covariances), where the noncentral chi-square form degenerates.
"""

from __future__ import annotations

import cmath
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import integrate, linalg, optimize, special

OverlapKind = Literal["average", "max"]

_ZERO_WEIGHT = 1e-9  # standardised |a_l| below this is treated as an exact zero
_TAIL_TOL = 1e-13  # neglected tail of the inversion integral, or of Q itself
_LARGEST_LOG_SCALE = 16 * math.log(10.0)  # covariances 1e16 times larger: means irrelevant


class UnreachableOverlapError(ValueError):
    """The target overlap exceeds what scaling the covariances can give.

    Attributes
    ----------
    kind : str
    target : float
    reachable : float
        Overlap at the largest scale tried (covariances :math:`10^{16}` times larger), which
        approximates the supremum over scales.
    """

    def __init__(self, kind: str, target: float, reachable: float):
        super().__init__(
            f"overlap: the target {kind} overlap {target} cannot be reached: with these "
            f"covariances it stays below {reachable:.3g} however large they are; lower the "
            "target or make the covariances equal"
        )
        self.kind, self.target, self.reachable = kind, target, reachable


@dataclass(frozen=True)
class QuadraticForm:
    """The quadratic form :math:`Q = \\sum_l a_l W_l^2 + b_l W_l`, :math:`W \\sim N(0, I)`.

    Attributes
    ----------
    a, b : ndarray of shape (n_terms,)
        Coefficients of the squares and of the linear terms.
    """

    a: np.ndarray
    b: np.ndarray


@dataclass(frozen=True)
class Overlap:
    """Overlap of all component pairs of a mixture.

    Attributes
    ----------
    pairwise : ndarray of shape (n_components, n_components)
        :math:`\\omega_{ij}`, symmetric with a zero diagonal.
    misclassification : ndarray of shape (n_components, n_components)
        :math:`\\omega_{j|i}` in row ``i``, column ``j``.
    average : float
        Mean of :math:`\\omega_{ij}` over the :math:`K(K-1)/2` pairs (MixSim's BarOmega);
        0 for a single component.
    maximum : float
        Largest :math:`\\omega_{ij}` (MixSim's MaxOmega); 0 for a single component.
    error : float
        Largest absolute quadrature error estimate of any :math:`\\omega_{ij}`.
    """

    pairwise: np.ndarray
    misclassification: np.ndarray
    average: float
    maximum: float
    error: float

    def of_kind(self, kind: OverlapKind) -> float:
        """The summary named by ``kind`` ("average" or "max")."""
        return {"average": self.average, "max": self.maximum}[kind]


# ---------------------------------------------------------------------------------------
# CDF of a quadratic form in normal variables
# ---------------------------------------------------------------------------------------


def _log_characteristic(t: float, terms: tuple[tuple[float, float], ...]) -> complex:
    """:math:`\\log \\varphi(t)` for :math:`Q = \\sum a W^2 + b W`, ``terms`` = ((a, b^2), ...)."""
    # A plain loop over cmath: for the few terms of a pair it is ~10x faster than numpy.
    total, t_squared = 0j, t * t
    for a, b_squared in terms:
        one_minus = 1.0 - 2j * a * t
        total += -0.5 * cmath.log(one_minus) - 0.5 * b_squared * t_squared / one_minus
    return total


def _inversion_integrand(t: float, y: float, terms: tuple[tuple[float, float], ...]) -> float:
    """:math:`\\operatorname{Im}[e^{-ity}\\varphi(t)] / t` (Gil-Pelaez)."""
    return cmath.exp(-1j * t * y + _log_characteristic(t, terms)).imag / t


def _tail_bound(t: float, a: np.ndarray, b: np.ndarray) -> float:
    """Bound on :math:`\\frac{1}{\\pi}\\int_t^\\infty |\\varphi(s)|/s\\,ds` (after Imhof 1961, eq. 3.4).

    .. math::

        |\\varphi(s)| = \\prod_l (1 + 4 a_l^2 s^2)^{-1/4}
            \\exp\\Big(-\\sum_l \\frac{b_l^2 s^2}{2 (1 + 4 a_l^2 s^2)}\\Big)
        \\le E(t) \\prod_{l \\in F} (2 |a_l| s)^{-1/2}

    for :math:`s \\ge t`, where the exponent is increasing in :math:`s` (so bounded by its
    value :math:`E(t)` at :math:`t`), :math:`F = \\{l : 2|a_l| t \\ge 1\\}` and every other
    factor is at most 1; integrating gives the bound. When :math:`F` is empty, only the
    largest :math:`|a_l|` is kept: :math:`\\int_t^\\infty \\min(1, (2|a|s)^{-1/2}) / s \\, ds
    = \\log(1 / (2|a|t)) + 2`.
    """
    fast = 2.0 * np.abs(a) * t >= 1.0
    k = int(fast.sum())
    damping = float(np.sum(b**2 * t**2 / (2.0 * (1.0 + 4.0 * a**2 * t**2))))
    if k == 0:  # keep only the largest |a|: int_t^inf min(1, (2|a|s)^(-1/2)) / s ds
        log_integral = math.log(math.log(0.5 / (float(np.max(np.abs(a))) * t)) + 2.0)
        return math.exp(min(-damping + log_integral - math.log(math.pi), 700.0))
    log_bound = (-damping - 0.5 * float(np.sum(np.log(2.0 * np.abs(a[fast]))))
                 + math.log(2.0 / k) - 0.5 * k * math.log(t) - math.log(math.pi))
    return math.exp(min(log_bound, 700.0))


def _start_of_linear_phase(a: np.ndarray, b: np.ndarray) -> float:
    """Where the phase of :math:`\\varphi` is within 0.1 of its linear asymptote.

    The term :math:`l` contributes :math:`-a_l b_l^2 t^3 / (1 + 4 a_l^2 t^2)`, which is
    :math:`-b_l^2 t / (4 a_l)` plus :math:`b_l^2 / (4 a_l (1 + 4 a_l^2 t^2))`; the latter is
    below 0.1 in absolute value from :math:`t = \\sqrt{b_l^2 / (0.4 |a_l|) - 1} / (2|a_l|)`.
    (The :math:`\\arctan` parts of the phase vary slowly and need no such point.)
    """
    nonzero = a != 0.0
    excess = np.maximum(b[nonzero] ** 2 / (0.4 * np.abs(a[nonzero])) - 1.0, 0.0)
    return float(np.max(np.sqrt(excess) / (2.0 * np.abs(a[nonzero])), initial=1.0))


def _end_of_integration(a: np.ndarray, b: np.ndarray) -> float:
    """Smallest power of two where the neglected tail is below ``_TAIL_TOL``."""
    t = 1.0
    while _tail_bound(t, a, b) > _TAIL_TOL and t < 1e300:
        t *= 2.0
    return t


def quadratic_form_cdf(form: QuadraticForm, y: float) -> tuple[float, float]:
    """:math:`P(Q < y)` and an absolute error estimate, by Imhof's numerical inversion.

    Parameters
    ----------
    form : QuadraticForm
        Coefficients of :math:`Q = \\sum_l a_l W_l^2 + b_l W_l`.
    y : float
        Threshold.

    Returns
    -------
    probability, error : float
        The probability (clipped to [0, 1]) and the quadrature error estimate.

    Notes
    -----
    With every :math:`a_l = 0`, :math:`Q \\sim N(0, \\sum b_l^2)` and the normal CDF is
    returned exactly; when a Chernoff bound puts ``y`` beyond :math:`10^{-13}` of a tail,
    0 or 1 is returned. Otherwise the integral is split at :math:`T`, the smaller of where
    the neglected tail is below :math:`10^{-13}` and where the phase of
    :math:`e^{-ity}\\varphi(t)` has become linear with slope
    :math:`\\omega = -y - \\sum_l b_l^2 / (4 a_l)`: adaptive Gauss-Kronrod quadrature on
    :math:`[0, T]`, then QUADPACK's Fourier integrator (QAWF) on the slowly varying
    remainder. Quantities are standardised to :math:`\\operatorname{Var} Q = 1` first.
    """
    # Standardise (Var Q = sum 2 a^2 + b^2 becomes 1) so that tolerances are relative.
    spread = math.sqrt(float(np.sum(2.0 * form.a**2 + form.b**2)))
    if spread == 0.0:
        return (1.0 if y > 0.0 else 0.0), 0.0
    a = np.asarray(form.a, dtype=float) / spread
    b = np.asarray(form.b, dtype=float) / spread
    y = y / spread
    a = np.where(np.abs(a) < _ZERO_WEIGHT, 0.0, a)
    if not np.any(a):
        return float(special.ndtr(y / math.sqrt(float(np.sum(b**2))))), 0.0
    tail_bound = _chernoff_bound(a, b, y)
    if tail_bound < _TAIL_TOL:  # y is far out in a tail: the probability is 0 or 1
        return (1.0 if y > np.sum(a) else 0.0), tail_bound
    t_end = _end_of_integration(a, b)
    t_split = min(t_end, _start_of_linear_phase(a, b))
    terms = tuple(zip(a.tolist(), (b**2).tolist()))
    body, error = integrate.quad(
        _inversion_integrand, 0.0, t_split, args=(y, terms), limit=2000, epsabs=1e-12,
        epsrel=1e-10,
    )
    if t_split < t_end:
        tail, tail_error = _fourier_tail(t_split, y, a, b, terms)
        body, error = body + tail, error + tail_error
    probability = 0.5 - body / math.pi
    return min(1.0, max(0.0, probability)), error / math.pi


def _chernoff_bound(a: np.ndarray, b: np.ndarray, y: float) -> float:
    """Chernoff bound on the tail of :math:`Q` beyond ``y`` (upper tail if ``y > E Q``).

    .. math::

        P(Q \\ge y) \\le \\min_{s > 0} M(s) e^{-sy}, \\qquad
        \\log M(s) = \\sum_l -\\tfrac{1}{2}\\log(1 - 2 a_l s) + \\frac{b_l^2 s^2}{2 (1 - 2 a_l s)},

    for :math:`s < 1 / (2 \\max a_l)`; the lower tail is the upper tail of :math:`-Q`.
    """
    mean = float(np.sum(a))
    if abs(y - mean) < 8.0:  # within 8 sd: not worth bounding
        return 1.0
    sign = 1.0 if y > mean else -1.0
    a, y = sign * a, sign * y
    s_max = 0.5 / float(a.max()) if a.max() > 0 else 1e3

    def log_bound(s: float) -> float:
        return float(np.sum(-0.5 * np.log1p(-2.0 * a * s) + b**2 * s**2 / (2.0 * (1.0 - 2.0 * a * s)))
                     - s * y)

    best = optimize.minimize_scalar(log_bound, bounds=(0.0, s_max * (1.0 - 1e-12)),
                                    method="bounded")
    return math.exp(min(0.0, best.fun))


def _fourier_tail(start: float, y: float, a: np.ndarray, b: np.ndarray,
                  terms: tuple[tuple[float, float], ...]) -> tuple[float, float]:
    """:math:`\\int_{start}^\\infty \\operatorname{Im}[e^{-ity}\\varphi(t)]/t\\,dt` by QAWF."""
    nonzero = a != 0.0
    omega = -y - float(np.sum(b[nonzero] ** 2 / (4.0 * a[nonzero])))

    def envelope(t: float) -> complex:
        # e^{-ity} phi(t) = e^{i omega t} g(t) with g slowly varying for large t.
        return cmath.exp(-1j * t * (y + omega) + _log_characteristic(t, terms)) / t

    if omega == 0.0:
        value, error = integrate.quad(lambda t: envelope(t).imag, start, np.inf, limit=2000)
        return value, error
    frequency = abs(omega)
    sign = math.copysign(1.0, omega)
    # Im[e^{i w t} g] = sin(w t) Re g + cos(w t) Im g.
    sine, sine_error = integrate.quad(
        lambda t: sign * envelope(t).real, start, np.inf, weight="sin", wvar=frequency, limlst=200
    )
    cosine, cosine_error = integrate.quad(
        lambda t: envelope(t).imag, start, np.inf, weight="cos", wvar=frequency, limlst=200
    )
    return sine + cosine, sine_error + cosine_error


# ---------------------------------------------------------------------------------------
# Misclassification probabilities and overlap
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PairGeometry:
    """Scale-free pieces of :math:`\\omega_{j|i}`: with all covariances multiplied by
    :math:`s`, :math:`a` and the threshold are unchanged, :math:`b \\propto s^{-1/2}` and
    the constant :math:`\\sum \\lambda m^2 \\propto s^{-1}`."""

    a: np.ndarray
    b: np.ndarray
    constant: float
    threshold: float


def _pair_geometry(
    weight_i: float, mean_i: np.ndarray, chol_i: np.ndarray,
    weight_j: float, mean_j: np.ndarray, chol_j: np.ndarray,
) -> _PairGeometry:
    """Reduce :math:`\\omega_{j|i}` to :math:`P(\\sum a W^2 + b W + c < y)`."""
    # L_j^{-1} L_i: its Gram matrix L_i^T S_j^{-1} L_i has the eigenvalues lambda.
    whitened = linalg.solve_triangular(chol_j, chol_i, lower=True)
    _, singular, vt = np.linalg.svd(whitened)
    eigenvalues = singular**2
    shift = vt @ linalg.solve_triangular(chol_i, mean_i - mean_j, lower=True)
    log_det_i = 2.0 * np.sum(np.log(np.diag(chol_i)))
    log_det_j = 2.0 * np.sum(np.log(np.diag(chol_j)))
    return _PairGeometry(
        a=eigenvalues - 1.0,
        b=2.0 * eigenvalues * shift,
        constant=float(np.sum(eigenvalues * shift**2)),
        threshold=float(2.0 * math.log(weight_j / weight_i) + log_det_i - log_det_j),
    )


def _misclassification_at_scale(pair: _PairGeometry, scale: float) -> tuple[float, float]:
    """:math:`\\omega_{j|i}` when every covariance is multiplied by ``scale``."""
    form = QuadraticForm(a=pair.a, b=pair.b / math.sqrt(scale))
    return quadratic_form_cdf(form, pair.threshold - pair.constant / scale)


def _all_pairs(weights, means, covariances) -> dict[tuple[int, int], _PairGeometry]:
    """Geometry of every ordered pair ``(i, j)``, ``i != j``."""
    weights, means, covariances = _checked_mixture(weights, means, covariances)
    chols = [np.linalg.cholesky(c) for c in covariances]
    k = len(weights)
    return {
        (i, j): _pair_geometry(weights[i], means[i], chols[i], weights[j], means[j], chols[j])
        for i in range(k)
        for j in range(k)
        if i != j
    }


def _checked_mixture(weights, means, covariances):
    """Arrays of shapes (K,), (K, D), (K, D, D), or ValueError."""
    weights = np.asarray(weights, dtype=float)
    means = np.asarray(means, dtype=float)
    covariances = np.asarray(covariances, dtype=float)
    k = weights.shape[0] if weights.ndim == 1 else -1
    if means.ndim != 2 or means.shape[0] != k:
        raise ValueError(f"means: expected shape (K, D) with K = {k}, got {means.shape}")
    d = means.shape[1]
    if covariances.shape != (k, d, d):
        raise ValueError(f"covariances: expected shape {(k, d, d)}, got {covariances.shape}")
    if np.any(weights <= 0):
        raise ValueError("weights: every weight must be positive")
    return weights, means, covariances


def _overlap_from_pairs(pairs: dict[tuple[int, int], _PairGeometry], k: int, scale: float) -> Overlap:
    """Assemble :class:`Overlap` from the pair geometries at a covariance scale."""
    misclassification = np.zeros((k, k))
    error = 0.0
    for (i, j), pair in pairs.items():
        misclassification[i, j], pair_error = _misclassification_at_scale(pair, scale)
        error = max(error, pair_error)
    pairwise = misclassification + misclassification.T
    upper = pairwise[np.triu_indices(k, 1)]
    return Overlap(
        pairwise=pairwise,
        misclassification=misclassification,
        average=float(upper.mean()) if upper.size else 0.0,
        maximum=float(upper.max()) if upper.size else 0.0,
        error=2.0 * error,
    )


def misclassification_probability(
    weight_i: float, mean_i, covariance_i, weight_j: float, mean_j, covariance_j
) -> tuple[float, float]:
    """:math:`\\omega_{j|i}`: probability that a point of component ``i`` is assigned to ``j``.

    Returns the probability and its absolute quadrature error estimate.
    """
    pair = _pair_geometry(
        weight_i, np.asarray(mean_i, float), np.linalg.cholesky(covariance_i),
        weight_j, np.asarray(mean_j, float), np.linalg.cholesky(covariance_j),
    )
    return _misclassification_at_scale(pair, 1.0)


def mixture_overlap(weights, means, covariances) -> Overlap:
    """Pairwise overlap :math:`\\omega_{ij}` of a Gaussian mixture and its summaries.

    Parameters
    ----------
    weights : array of shape (n_components,)
    means : array of shape (n_components, n_features)
    covariances : array of shape (n_components, n_features, n_features)
        Full covariance matrices.
    """
    pairs = _all_pairs(weights, means, covariances)
    return _overlap_from_pairs(pairs, len(weights), 1.0)


def scale_to_overlap(
    means, covariances, weights, target: float, kind: OverlapKind = "average"
) -> float:
    """Scalar :math:`s` such that covariances :math:`s \\Sigma_k` give the target overlap.

    The root of :math:`\\bar\\omega(s) - \\omega^*` (or :math:`\\check\\omega(s) - \\omega^*`
    for ``kind="max"``) is bracketed on :math:`\\log s` by stepping a factor 10 at a time,
    then found by Brent's method (bisection safeguarded by inverse quadratic steps).

    Raises
    ------
    ValueError
        If ``target`` is not in (0, 1), the mixture has fewer than two components, or the
        target cannot be reached: as :math:`s \\to \\infty` the overlap tends to that of
        components with equal means, which for unequal covariances can stay below target.
    """
    if kind not in ("average", "max"):
        raise ValueError(f"kind: must be 'average' or 'max', got {kind!r}")
    if not 0.0 < target < 1.0:
        raise ValueError(f"overlap: must be in (0, 1), got {target}")
    pairs = _all_pairs(weights, means, covariances)
    k = len(weights)
    if k < 2:
        raise ValueError("overlap: needs at least two components to be defined")

    def excess(log_scale: float) -> float:
        return _overlap_from_pairs(pairs, k, math.exp(log_scale)).of_kind(kind) - target

    low, high = _bracket(excess, kind, target)
    return math.exp(optimize.brentq(excess, low, high, xtol=1e-9, maxiter=200))


def _bracket(excess, kind: str, target: float) -> tuple[float, float]:
    """Points of ``log s`` one decade apart where the overlap is below and above target."""
    step = math.log(10.0)
    top = excess(_LARGEST_LOG_SCALE)
    if top <= 0.0:  # at 1e16 the means no longer matter: the supremum is (about) reached
        raise UnreachableOverlapError(kind, target, top + target)
    if excess(0.0) < 0.0:
        low, high = 0.0, step
        while high < _LARGEST_LOG_SCALE and excess(high) <= 0.0:
            low, high = high, high + step
        return low, min(high, _LARGEST_LOG_SCALE)
    low, high = -step, 0.0
    for _ in range(40):
        if excess(low) < 0.0:
            return low, high
        low, high = low - step, low
    raise ValueError(f"overlap: target {target} cannot be reached; the components have "
                     "(nearly) equal means")
