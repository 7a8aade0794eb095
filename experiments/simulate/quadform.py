"""CDF of a quadratic form in independent standard normal variables.

For :math:`Q = \\sum_l a_l W_l^2 + b_l W_l` with :math:`W \\sim N(0, I)` (a linear combination of
noncentral chi-square(1) variables plus a normal term), :math:`P(Q < y)` is computed by
numerically inverting the characteristic function (Imhof 1961; Gil-Pelaez 1951):

.. math::

    P(Q < y) = \\frac{1}{2} - \\frac{1}{\\pi} \\int_0^\\infty
        \\frac{\\operatorname{Im}\\left[e^{-ity} \\varphi(t)\\right]}{t} \\, dt, \\qquad
    \\log \\varphi(t) = \\sum_l -\\tfrac{1}{2} \\log(1 - 2 i a_l t)
                       - \\frac{b_l^2 t^2}{2 (1 - 2 i a_l t)}.

This form of :math:`\\varphi` stays finite when :math:`a_l \\to 0`, where the usual noncentral
chi-square parametrisation (weight :math:`a_l`, noncentrality :math:`b_l^2 / 4 a_l^2`)
degenerates. :mod:`experiments.simulate.overlap` uses it for MixSim's misclassification
probabilities.
"""

from __future__ import annotations

import cmath
import math
from dataclasses import dataclass

import numpy as np
from scipy import integrate, optimize, special, stats

_ZERO_WEIGHT = 1e-9  # standardised |a_l|, |b_l| below this are treated as exact zeros
_TAIL_TOL = 1e-13  # neglected tail of the inversion integral, or of Q itself


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
    Quantities are first standardised to :math:`\\operatorname{Var} Q = 1`. With every
    :math:`a_l = 0`, :math:`Q` is normal and its CDF is returned exactly; with a single
    :math:`a_l \\ne 0` and no other :math:`b_l`, the noncentral chi-square CDF; when a
    Chernoff bound puts ``y`` beyond :math:`10^{-13}` of a tail, 0 or 1. Otherwise the
    integral is split at :math:`T`, the smaller of where the neglected tail is below
    :math:`10^{-13}` and where the phase of :math:`e^{-ity}\\varphi(t)` has become linear
    with slope :math:`\\omega = -y - \\sum_l b_l^2 / (4 a_l)`: adaptive Gauss-Kronrod
    quadrature on :math:`[0, T]`, then the remainder by :func:`_fourier_tail`.
    """
    # Standardise (Var Q = sum 2 a^2 + b^2 becomes 1) so that tolerances are relative.
    a, b = np.asarray(form.a, dtype=float), np.asarray(form.b, dtype=float)
    largest = float(max(np.max(np.abs(a)), np.max(np.abs(b))))
    if largest == 0.0:  # Q = 0
        return (1.0 if y > 0.0 else 0.0), 0.0
    # Divide by the largest coefficient first so that the squares cannot underflow.
    spread = largest * math.sqrt(float(np.sum(2.0 * (a / largest) ** 2 + (b / largest) ** 2)))
    if abs(y) >= 1e8 * spread:  # 1e8 standard deviations away: certainly below or above
        return (1.0 if y > 0.0 else 0.0), 0.0
    a, b, y = a / spread, b / spread, y / spread
    a = np.where(np.abs(a) < _ZERO_WEIGHT, 0.0, a)
    b = np.where(np.abs(b) < _ZERO_WEIGHT, 0.0, b)
    if not np.any(a):
        return float(special.ndtr(y / math.sqrt(float(np.sum(b**2))))), 0.0
    single = _single_chi_square(a, b, y)
    if single is not None:
        return single, 0.0
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
        tail, tail_error = _fourier_tail(t_split, t_end, y, a, b, terms)
        body, error = body + tail, error + tail_error
    probability = 0.5 - body / math.pi
    return min(1.0, max(0.0, probability)), error / math.pi


def _single_chi_square(a: np.ndarray, b: np.ndarray, y: float) -> float | None:
    """Exact :math:`P(Q < y)` when :math:`Q` is one scaled noncentral chi-square(1).

    With a single :math:`a_1 \\ne 0` and no normal part,
    :math:`Q = a_1 (W_1 + b_1 / 2a_1)^2 - b_1^2 / 4a_1`. The integrand then decays only
    like :math:`t^{-3/2}`, so scipy's ``ncx2`` is used instead; None otherwise (or when the
    noncentrality is too large for ``ncx2``, where the inversion integral converges fast).
    """
    nonzero = a != 0.0
    if nonzero.sum() != 1 or np.any(b[~nonzero]):
        return None
    (weight,), (linear,) = a[nonzero], b[nonzero]
    noncentrality = (linear / (2.0 * weight)) ** 2
    if noncentrality > 1e8:
        return None
    bound = (y + linear**2 / (4.0 * weight)) / weight
    distribution = stats.ncx2(1, noncentrality)
    return float(distribution.cdf(bound) if weight > 0 else distribution.sf(bound))


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


def _fourier_tail(start: float, end: float, y: float, a: np.ndarray, b: np.ndarray,
                  terms: tuple[tuple[float, float], ...]) -> tuple[float, float]:
    """:math:`\\int_{start}^\\infty \\operatorname{Im}[e^{-ity}\\varphi(t)]/t\\,dt`.

    Up to :math:`T' = \\min(\\max(start, 10/|\\omega|), end)`, where the carrier completes
    less than two cycles, by adaptive quadrature in :math:`u = \\log t` (:math:`dt/t = du`
    turns the algebraic decay into an exponential one); beyond, by QAWF on
    :math:`e^{i\\omega t} g(t)`. Nothing is integrated beyond ``end``, where the tail bound
    is below tolerance.
    """
    nonzero = a != 0.0
    omega = -y - float(np.sum(b[nonzero] ** 2 / (4.0 * a[nonzero])))
    middle = end if omega == 0.0 else min(max(start, 10.0 / abs(omega)), end)
    value, error = 0.0, 0.0
    if middle > start:

        def in_log_time(u: float) -> float:
            t = math.exp(u)
            return cmath.exp(-1j * t * y + _log_characteristic(t, terms)).imag

        value, error = integrate.quad(in_log_time, math.log(start), math.log(middle),
                                      limit=2000, epsabs=1e-12)
    if middle >= end:
        return value, error

    def envelope(t: float) -> complex:
        # e^{-ity} phi(t) = e^{i omega t} g(t) with g slowly varying for large t.
        return cmath.exp(-1j * t * (y + omega) + _log_characteristic(t, terms)) / t

    frequency, sign = abs(omega), math.copysign(1.0, omega)
    # Im[e^{i w t} g] = sin(w t) Re g + cos(w t) Im g.
    sine, sine_error = integrate.quad(lambda t: sign * envelope(t).real, middle, np.inf,
                                      weight="sin", wvar=frequency, limlst=200)
    cosine, cosine_error = integrate.quad(lambda t: envelope(t).imag, middle, np.inf,
                                          weight="cos", wvar=frequency, limlst=200)
    return value + sine + cosine, error + sine_error + cosine_error
