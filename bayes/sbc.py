"""Simulation-based calibration (Talts, Betancourt, Simpson, Vehtari, Gelman 2018).

If parameters are drawn from the prior, :math:`\\tilde\\theta \\sim p(\\theta)`, data from
them, :math:`\\tilde y \\sim p(y \\mid \\tilde\\theta)`, and :math:`L` independent draws
:math:`\\theta_1, \\dots, \\theta_L` from the exact posterior :math:`p(\\theta \\mid \\tilde y)`,
then for every scalar function :math:`f` the rank

.. math::

    r = \\#\\{\\ell : f(\\theta_\\ell) < f(\\tilde\\theta)\\} \\in \\{0, \\dots, L\\}

is uniformly distributed on :math:`\\{0, \\dots, L\\}`. A fitting procedure whose ranks are
not uniform (histogram shaped like a U, a hump, or a slope) is miscalibrated: too narrow,
too wide, or biased. MCMC draws are autocorrelated, so they are thinned towards independence
before ranking.

This module holds the generic machinery (:func:`rank_statistics`,
:func:`sbc_uniformity_test`, :func:`run_sbc`); :func:`run_bayes_sbc` applies it to the
Gaussian mixture model of :mod:`bayes`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats

Draws = Mapping[str, np.ndarray]


# --------------------------------------------------------------------------- flattening


def scalar_parameter_names(draw: Draws) -> list[str]:
    """Names of the scalar parameters of a draw, ``name[i,j]`` for array entries.

    Parameters
    ----------
    draw : mapping of str to array
        One parameter draw, e.g. ``{"weights": (K,), "means": (K, D)}``.
    """
    names = []
    for name, value in draw.items():
        value = np.asarray(value)
        if value.ndim == 0:
            names.append(name)
            continue
        names.extend(f"{name}[{','.join(map(str, idx))}]" for idx in np.ndindex(value.shape))
    return names


def flatten_draw(draw: Draws) -> np.ndarray:
    """Concatenate the scalar entries of one draw, in :func:`scalar_parameter_names` order."""
    return np.concatenate([np.asarray(v, dtype=float).ravel() for v in draw.values()])


def flatten_draws(draws: Draws) -> np.ndarray:
    """Flatten many draws (leading axis = draw) to an array of shape (n_draws, n_scalars)."""
    arrays = [np.asarray(v, dtype=float) for v in draws.values()]
    n_draws = {a.shape[0] for a in arrays}
    if len(n_draws) != 1:
        raise ValueError(f"every posterior array needs the same number of draws, got {n_draws}")
    return np.concatenate([a.reshape(a.shape[0], -1) for a in arrays], axis=1)


# --------------------------------------------------------------------------- ranks


def rank_statistics(
    prior_draw: np.ndarray | Draws,
    posterior_draws: np.ndarray | Draws,
    *,
    thin: int = 1,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """SBC rank of each scalar parameter of a prior draw among thinned posterior draws.

    .. math::

        r_j = \\#\\{\\ell : \\theta_{\\ell j} < \\tilde\\theta_j\\},
        \\qquad \\ell = 1, \\dots, L

    where :math:`\\theta_{\\ell}` are every ``thin``-th posterior draw. Ties (possible for
    discrete or duplicated draws) are broken uniformly at random when ``rng`` is given.

    Parameters
    ----------
    prior_draw : ndarray of shape (n_scalars,) or mapping of str to array
        The parameter value the data were simulated from.
    posterior_draws : ndarray of shape (n_draws, n_scalars) or mapping of str to array
        Posterior draws (leading axis = draw), in the same order/keys as ``prior_draw``.
    thin : int
        Keep every ``thin``-th draw (reduces autocorrelation of MCMC draws).
    rng : numpy.random.Generator, optional
        Breaks ties at random.

    Returns
    -------
    ndarray of int of shape (n_scalars,)
        Ranks in ``{0, ..., L}`` with ``L = ceil(n_draws / thin)``.
    """
    if isinstance(prior_draw, Mapping):
        if not isinstance(posterior_draws, Mapping) or list(prior_draw) != list(posterior_draws):
            raise ValueError("prior_draw and posterior_draws must have the same keys in order")
        prior_draw, posterior_draws = flatten_draw(prior_draw), flatten_draws(posterior_draws)
    prior = np.asarray(prior_draw, dtype=float).ravel()
    posterior = np.asarray(posterior_draws, dtype=float)
    if posterior.ndim == 1:
        posterior = posterior[:, None]
    if posterior.ndim != 2 or posterior.shape[1] != prior.size:
        raise ValueError(
            f"posterior_draws must have shape (n_draws, {prior.size}), got {posterior.shape}"
        )
    if not isinstance(thin, (int, np.integer)) or thin < 1:
        raise ValueError(f"thin must be a positive integer, got {thin!r}")
    if not (np.all(np.isfinite(prior)) and np.all(np.isfinite(posterior))):
        raise ValueError("prior_draw and posterior_draws must be finite")
    kept = posterior[::thin]
    below = np.sum(kept < prior, axis=0)
    if rng is None:
        return below
    ties = np.sum(kept == prior, axis=0)
    return below + rng.integers(0, ties + 1)


# --------------------------------------------------------------------------- uniformity


def rank_bin_probabilities(n_posterior_draws: int, n_bins: int) -> np.ndarray:
    """Probability of each of ``n_bins`` equal-width rank bins under uniform ranks.

    Ranks take the ``L + 1`` values ``0..L``; bin ``b`` holds ranks ``r`` with
    ``floor(r n_bins / (L + 1)) = b``. When ``n_bins`` does not divide ``L + 1`` the bins hold
    unequal numbers of rank values, and the probabilities say so.
    """
    n_values = n_posterior_draws + 1
    if not 1 <= n_bins <= n_values:
        raise ValueError(f"n_bins must be in 1..{n_values} (L + 1 rank values), got {n_bins}")
    bins = np.arange(n_values) * n_bins // n_values
    return np.bincount(bins, minlength=n_bins) / n_values


def rank_histogram(ranks: np.ndarray, n_posterior_draws: int, n_bins: int) -> np.ndarray:
    """Counts of ranks per bin, shape (n_bins,) or (n_bins, n_scalars) for 2-D ``ranks``."""
    ranks = np.asarray(ranks)
    if np.any(ranks < 0) or np.any(ranks > n_posterior_draws):
        raise ValueError(f"ranks must lie in 0..{n_posterior_draws} (n_posterior_draws)")
    rank_bin_probabilities(n_posterior_draws, n_bins)  # validates n_bins
    bins = ranks * n_bins // (n_posterior_draws + 1)
    if bins.ndim == 1:
        return np.bincount(bins, minlength=n_bins)
    return np.stack([np.bincount(col, minlength=n_bins) for col in bins.T], axis=1)


def sbc_uniformity_test(
    ranks: np.ndarray, n_posterior_draws: int, n_bins: int = 10
) -> tuple[np.ndarray | float, np.ndarray | float]:
    """Pearson chi-square test that SBC ranks are uniform on ``0..L``.

    .. math::

        X^2 = \\sum_{b=1}^{B} \\frac{(n_b - S p_b)^2}{S p_b} \\sim \\chi^2_{B-1}

    with :math:`n_b` the number of the :math:`S` simulations whose rank falls in bin
    :math:`b` and :math:`p_b` the bin's probability under uniformity
    (:func:`rank_bin_probabilities`); computed by :func:`scipy.stats.chisquare`.

    Parameters
    ----------
    ranks : ndarray of shape (n_simulations,) or (n_simulations, n_scalars)
    n_posterior_draws : int
        ``L``, the number of (thinned) posterior draws each rank was computed against.
    n_bins : int
        Number of histogram bins; keep ``n_simulations / n_bins`` at 5 or more.

    Returns
    -------
    statistic, pvalue : float or ndarray of shape (n_scalars,)
    """
    ranks = np.asarray(ranks)
    if ranks.ndim not in (1, 2) or ranks.shape[0] < 2:
        raise ValueError(
            f"ranks must have shape (n_simulations,) or (n_simulations, n_scalars) with at "
            f"least 2 simulations, got {ranks.shape}"
        )
    counts = rank_histogram(ranks, n_posterior_draws, n_bins)
    expected = rank_bin_probabilities(n_posterior_draws, n_bins) * ranks.shape[0]
    if counts.ndim == 2:
        expected = np.broadcast_to(expected[:, None], counts.shape)
    result = stats.chisquare(counts, expected, axis=0)
    return result.statistic, result.pvalue


# --------------------------------------------------------------------------- driver


@dataclass(frozen=True)
class SBCResult:
    """Rank statistics of a simulation-based calibration run.

    Attributes
    ----------
    ranks : ndarray of int of shape (n_simulations, n_scalars)
    parameter_names : tuple of str
        Name of each scalar column (``means[1,0]`` style).
    n_posterior_draws : int
        ``L``, the number of thinned posterior draws per simulation (ranks lie in ``0..L``).
    """

    ranks: np.ndarray
    parameter_names: tuple[str, ...]
    n_posterior_draws: int

    def uniformity(self, n_bins: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Chi-square statistic and p-value per parameter (:func:`sbc_uniformity_test`)."""
        return sbc_uniformity_test(self.ranks, self.n_posterior_draws, n_bins)

    def histograms(self, n_bins: int = 10) -> np.ndarray:
        """Rank counts per bin and parameter, shape (n_bins, n_scalars)."""
        return rank_histogram(self.ranks, self.n_posterior_draws, n_bins)


def run_sbc(
    n_simulations: int,
    make_prior_draw: Callable[[np.random.Generator], Draws],
    simulate_data: Callable[[Draws, np.random.Generator], object],
    fit_posterior: Callable[[object, np.random.Generator], Draws],
    rng: np.random.Generator | int | None,
    *,
    thin: int = 1,
) -> SBCResult:
    """Run simulation-based calibration with user-supplied prior, simulator and fitter.

    For each of ``n_simulations`` independent child generators (``rng.spawn``):
    ``theta = make_prior_draw(g)``, ``data = simulate_data(theta, g)``,
    ``draws = fit_posterior(data, g)`` (a mapping from names of ``theta`` to arrays with a
    leading draw axis), and the ranks of ``theta`` among every ``thin``-th draw. Only the
    names ``fit_posterior`` returns are ranked; other entries of ``theta`` (quantities the
    simulator needs) are ignored.

    Parameters
    ----------
    n_simulations : int
    make_prior_draw : callable ``(Generator) -> {name: array}``
    simulate_data : callable ``({name: array}, Generator) -> data``
    fit_posterior : callable ``(data, Generator) -> {name: array of shape (n_draws, ...)}``
    rng : Generator or int seed
    thin : int

    Returns
    -------
    SBCResult
    """
    if not isinstance(n_simulations, (int, np.integer)) or n_simulations < 1:
        raise ValueError(f"n_simulations must be a positive integer, got {n_simulations!r}")
    children = np.random.default_rng(rng).spawn(int(n_simulations))
    ranks, names, n_kept = [], None, None
    for child in children:
        theta = make_prior_draw(child)
        draws = fit_posterior(simulate_data(theta, child), child)
        unknown = set(draws) - set(theta)
        if unknown:
            raise ValueError(
                f"fit_posterior returned {sorted(unknown)}, which the prior draw does not hold"
            )
        ranked = {name: theta[name] for name in draws}
        flat = flatten_draws(draws)
        kept = flat[::thin].shape[0]
        if n_kept is not None and kept != n_kept:
            raise ValueError("fit_posterior must return the same number of draws every time")
        names, n_kept = scalar_parameter_names(ranked), kept
        ranks.append(rank_statistics(flatten_draw(ranked), flat, thin=thin, rng=child))
    return SBCResult(np.stack(ranks), tuple(names), int(n_kept))
