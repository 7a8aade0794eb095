"""The fast EM iteration: one fused E+M pass over row chunks, numba kernels, a thread pool.

:func:`fused_em_iteration` computes exactly what :func:`emgmm.steps.reference_em_iteration`
computes (the same numbers up to rounding) but reads ``X`` once per iteration and never
forms an array of shape (n_samples, n_components, n_features), nor the responsibilities:

1. :func:`accumulate_statistics` runs the E-step row by row and sums the sufficient
   statistics of every chunk of rows, about the current means :math:`m_k`:

   .. math::

       N_k = \\sum_i \\gamma_{ik}, \\qquad
       s_k = \\sum_i \\gamma_{ik} (x_i - m_k), \\qquad
       S_k = \\sum_i \\gamma_{ik} (x_i - m_k)(x_i - m_k)^T .

2. :func:`emgmm.statistics.params_from_statistics` is the M-step from these sums alone.

Shifting by :math:`m_k` (the means entering the iteration, close to the new ones) keeps
the sums small, so there is no cancellation of large raw moments as in
:math:`E[xx^T] - \\mu\\mu^T`. Chunks are spread over a thread pool; statistics are kept per
chunk and added in chunk order, so the numbers do not depend on the number of threads.
"""

from __future__ import annotations

import functools

import numpy as np

from emgmm.covariance_types import covariance_type as covariance_type_of
from emgmm.densities import LOG_2PI
from emgmm.fast.diag_kernel import diag_chunk_log_densities, diag_chunk_statistics
from emgmm.fast.full_kernel import (
    full_chunk_log_densities,
    full_chunk_statistics,
    precision_cholesky_full,
)
from emgmm.fast.threads import run_over_chunks
from emgmm.params import GaussianMixtureParams
from emgmm.statistics import SufficientStatistics, params_from_statistics

# Rows per chunk unless told otherwise; large enough to amortise the per-chunk bookkeeping.
MIN_CHUNK_SIZE = 4096

__all__ = [
    "accumulate_statistics",
    "default_chunk_size",
    "fast_e_step",
    "fused_em_iteration",
    "kernel_precisions",
    "log_densities_from_kernel_arguments",
    "precision_factors",
    "precisions_cholesky",
    "statistics_from_kernel_arguments",
]


# --- kernel inputs --------------------------------------------------------------------------


def precisions_cholesky(params: GaussianMixtureParams) -> np.ndarray:
    """:attr:`GaussianMixtureParams.precisions_cholesky`, computed without LAPACK calls.

    Same factors (up to rounding); on a covariance that is not positive definite it defers
    to :func:`emgmm.params.compute_precision_cholesky`, which raises the one-line ValueError.
    """
    return precision_factors(params.kind, params.covariances)


def precision_factors(kind, covariances: np.ndarray) -> np.ndarray:
    """:meth:`emgmm.covariance_types.CovarianceType.precision_cholesky` of ``covariances``
    (layout of ``kind``), computed without LAPACK calls (see :func:`precisions_cholesky`)."""
    if kind.matrix:
        stacked = np.ascontiguousarray(kind.stack(covariances)).view()
        # read-only whoever calls: numba compiles one specialisation, not one per flag
        stacked.flags.writeable = False
        factors = np.empty(stacked.shape)
        if precision_cholesky_full(stacked, factors):
            return kind.unstack(factors)
    elif np.all(covariances > 0.0):
        return 1.0 / np.sqrt(covariances)
    return kind.precision_cholesky(covariances)


@functools.cache
def upper_triangle(size: int) -> np.ndarray:
    """Boolean (size, size) mask of the upper triangle with the diagonal (read-only)."""
    mask = np.triu(np.ones((size, size), dtype=bool))
    mask.setflags(write=False)
    return mask


def kernel_precisions(kind, precisions_cholesky: np.ndarray, n_components: int,
                      n_features: int) -> np.ndarray:
    """The precision factors as every kernel takes them: one upper-triangular factor per
    component for matrix types (``tied`` repeated; the full kernel relies on exact zeros
    below the diagonal), (K, D) per-feature factors for variance types (``spherical``
    repeated over the features)."""
    if kind.matrix:
        stacked = kind.stack(precisions_cholesky)
        factors = np.where(upper_triangle(stacked.shape[-1]), stacked, 0.0)  # np.triu
        precisions = np.repeat(factors, n_components, axis=0) if kind.shared else factors
    else:
        precisions = kind.per_feature(precisions_cholesky, n_features)
    return np.ascontiguousarray(precisions)


def _kernel_arguments(params: GaussianMixtureParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(means, precisions, log_constants)`` as every kernel takes them
    (:func:`kernel_precisions`), with
    :math:`\\log\\pi_k - \\tfrac D2 \\log 2\\pi - \\tfrac12 \\log\\det\\Sigma_k` as log constants.
    """
    kind, n_components, n_features = params.kind, params.n_components, params.n_features
    prec_chol = precisions_cholesky(params)
    # -0.5 log det(Sigma_k) = sum_j log (U_k)_jj for the upper-triangular precision factor.
    log_det = kind.log_det_precision_cholesky(prec_chol, n_components, n_features)
    precisions = kernel_precisions(kind, prec_chol, n_components, n_features)
    with np.errstate(divide="ignore"):  # a zero weight gives log 0 = -inf, which is exact
        log_constants = np.log(params.weights) - 0.5 * n_features * LOG_2PI + log_det
    return np.ascontiguousarray(params.means), precisions, log_constants


def _kernels(kind):
    """``(statistics kernel, log-density kernel)`` of the covariance type: numba compiles
    one kernel per layout (see :mod:`emgmm.fast`)."""
    if kind.matrix:
        return full_chunk_statistics, full_chunk_log_densities
    return diag_chunk_statistics, diag_chunk_log_densities


# --- threads and chunks ----------------------------------------------------------------------


def default_chunk_size(n_samples: int, n_components: int, n_features: int) -> int:
    """Rows per chunk: at least ``MIN_CHUNK_SIZE`` and ``8 K D``.

    The per-chunk statistics take ``K D^2`` numbers against ``chunk D`` numbers of ``X``,
    so ``chunk >= 8 K D`` keeps them under an eighth of the size of ``X``.
    """
    return max(MIN_CHUNK_SIZE, 8 * n_components * n_features)


def _check_inputs(X: np.ndarray, params: GaussianMixtureParams, chunk_size, n_threads) -> np.ndarray:
    if not isinstance(params, GaussianMixtureParams):
        raise ValueError(f"params must be a GaussianMixtureParams, got {type(params).__name__}")
    # No forced C order: the kernels index any strided array, and a copy per iteration of a
    # Fortran-ordered X would cost more than the strided reads.
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] != params.n_features:
        raise ValueError(
            f"X must have shape (n_samples >= 1, {params.n_features}) to match params, got {X.shape}"
        )
    for name, value in (("chunk_size", chunk_size), ("n_threads", n_threads)):
        if value is not None and (not isinstance(value, (int, np.integer)) or value < 1):
            raise ValueError(f"{name} must be a positive integer or None, got {value!r}")
    return X


# --- E-step and statistics -----------------------------------------------------------------


def chunk_total(per_chunk: np.ndarray) -> np.ndarray:
    """The sum over the leading (chunk) axis; one chunk is its own sum, without a reduction
    (the same numbers: a sum of one term is that term)."""
    return per_chunk[0] if per_chunk.shape[0] == 1 else per_chunk.sum(axis=0)


def accumulate_statistics(
    X: np.ndarray,
    params: GaussianMixtureParams,
    *,
    chunk_size: int | None = None,
    n_threads: int | None = None,
) -> SufficientStatistics:
    """E-step at ``params`` fused with the sums of :class:`SufficientStatistics`, one pass over X.

    .. math::

        \\gamma_{ik} = \\exp\\left(\\log\\pi_k + \\log\\mathcal N(x_i \\mid m_k, \\Sigma_k)
            - \\operatorname{logsumexp}_j [\\log\\pi_j + \\log\\mathcal N(x_i \\mid m_j, \\Sigma_j)]\\right)

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    params : GaussianMixtureParams
    chunk_size : int, optional
        Rows per chunk (default :func:`default_chunk_size`); changes the numbers only by rounding.
    n_threads : int, optional
        Threads sharing the chunks (default: the cores available to this process).

    Returns
    -------
    SufficientStatistics
    """
    X = _check_inputs(X, params, chunk_size, n_threads)
    return statistics_from_kernel_arguments(X, _kernel_arguments(params), params.covariance_type,
                                            chunk_size=chunk_size, n_threads=n_threads)


def statistics_from_kernel_arguments(
    X: np.ndarray,
    arguments: tuple[np.ndarray, np.ndarray, np.ndarray],
    covariance_type: str,
    *,
    chunk_size: int | None = None,
    n_threads: int | None = None,
) -> SufficientStatistics:
    """:func:`accumulate_statistics` from the kernel inputs ``(means, precisions,
    log_constants)`` themselves (as :func:`_kernel_arguments` builds them): the softmax of
    any per-component affine-in-Mahalanobis log-scores :math:`c_k - \\tfrac12 \\|(x_i - m_k) U_k\\|^2`,
    e.g. the expected log-densities of variational Bayes. ``log_likelihood`` is then
    :math:`\\sum_i \\operatorname{logsumexp}_k` of those scores."""
    kind = covariance_type_of(covariance_type)
    n_samples, n_features = X.shape
    means, precisions, log_constants = arguments
    n_components = means.shape[0]
    chunk_size = int(chunk_size or default_chunk_size(n_samples, n_components, n_features))
    n_chunks = -(-n_samples // chunk_size)
    kernel = _kernels(kind)[0]
    matrix = kind.matrix
    log_likelihood = np.zeros(n_chunks)
    counts = np.zeros((n_chunks, n_components))
    first = np.zeros((n_chunks, n_components, n_features))
    second = np.zeros((n_chunks, n_components, n_features) + ((n_features,) if matrix else ()))

    def run(chunks: tuple[int, int]) -> None:
        kernel(X, means, precisions, log_constants, chunk_size, chunks[0], chunks[1],
               log_likelihood, counts, first, second)

    run_over_chunks(run, n_chunks, n_threads)
    log_likelihood, counts, first, second = (
        chunk_total(values) for values in (log_likelihood, counts, first, second))
    if matrix:
        # Only the upper triangle was accumulated: mirror it, keeping the diagonal once.
        second = second + second.swapaxes(1, 2)
        second.reshape(n_components, n_features * n_features)[:, :: n_features + 1] *= 0.5
    return SufficientStatistics(
        log_likelihood=float(log_likelihood),
        n_samples=n_samples,
        counts=counts,
        first_moments=first,
        second_moments=second,
        shift=means,
        covariance_type=covariance_type,
    )


def fast_e_step(
    X: np.ndarray,
    params: GaussianMixtureParams,
    *,
    chunk_size: int | None = None,
    n_threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`emgmm.steps.e_step` computed by the numba kernels: the same arrays to rounding.

    .. math::

        \\log p(x_i \\mid \\theta) = \\operatorname{logsumexp}_k \\ell_{ik}, \\qquad
        \\log\\gamma_{ik} = \\ell_{ik} - \\log p(x_i \\mid \\theta), \\qquad
        \\ell_{ik} = \\log \\pi_k + \\log \\mathcal N(x_i \\mid \\mu_k, \\Sigma_k)

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    params : GaussianMixtureParams
    chunk_size, n_threads : int, optional
        As in :func:`accumulate_statistics`; they change no number.

    Returns
    -------
    log_norm : array of shape (n_samples,)
    log_resp : array of shape (n_samples, n_components)
    """
    X = _check_inputs(X, params, chunk_size, n_threads)
    return log_densities_from_kernel_arguments(X, _kernel_arguments(params), params.covariance_type,
                                               chunk_size=chunk_size, n_threads=n_threads)


def log_densities_from_kernel_arguments(
    X: np.ndarray,
    arguments: tuple[np.ndarray, np.ndarray, np.ndarray],
    covariance_type: str,
    *,
    chunk_size: int | None = None,
    n_threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`fast_e_step` from the kernel inputs ``(means, precisions, log_constants)``
    (see :func:`statistics_from_kernel_arguments`): ``(log_norm, log_resp)``."""
    n_samples, n_features = X.shape
    means, precisions, log_constants = arguments
    n_components = means.shape[0]
    chunk_size = int(chunk_size or default_chunk_size(n_samples, n_components, n_features))
    kernel = _kernels(covariance_type_of(covariance_type))[1]
    log_resp = np.empty((n_samples, n_components))
    log_norm = np.empty(n_samples)

    def run(chunks: tuple[int, int]) -> None:
        kernel(X, means, precisions, log_constants, chunk_size, chunks[0], chunks[1], log_resp,
               log_norm)

    run_over_chunks(run, -(-n_samples // chunk_size), n_threads)
    log_resp -= log_norm[:, None]
    return log_norm, log_resp


def fused_em_iteration(
    X: np.ndarray,
    params: GaussianMixtureParams,
    reg_covar: float,
    *,
    chunk_size: int | None = None,
    n_threads: int | None = None,
) -> tuple[float, GaussianMixtureParams]:
    """One EM iteration in a single pass over ``X``; same numbers as the reference iteration.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Finite data (the fit loop checks it once).
    params : GaussianMixtureParams
        Parameters of the E-step.
    reg_covar : float
        Non-negative ridge added to the diagonal of every covariance.
    chunk_size : int, optional
        Rows per chunk (default :func:`default_chunk_size`).
    n_threads : int, optional
        Threads (default: the cores available to this process).

    Returns
    -------
    mean_log_likelihood : float
        :math:`\\frac1N \\sum_i \\log p(x_i \\mid \\theta)` at the input ``params``.
    next_params : GaussianMixtureParams
        The M-step from the responsibilities at ``params``.
    """
    if not (np.isscalar(reg_covar) and reg_covar >= 0):
        raise ValueError(f"reg_covar must be a non-negative number, got {reg_covar!r}")
    stats = accumulate_statistics(X, params, chunk_size=chunk_size, n_threads=n_threads)
    mean_log_likelihood = stats.log_likelihood / stats.n_samples
    if not np.isfinite(mean_log_likelihood):
        raise ValueError(
            "the log-likelihood is not finite: check X for NaN or infinity, "
            "increase reg_covar, or scale the input data"
        )
    return mean_log_likelihood, params_from_statistics(stats, float(reg_covar))
