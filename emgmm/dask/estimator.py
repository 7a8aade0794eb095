"""The methods of :class:`emgmm.GaussianMixtureEM` on Dask arrays.

``fit`` / ``fit_predict`` run :func:`emgmm.dask.fit.fit_em_dask`; ``predict``,
``predict_proba`` and ``score_samples`` return lazy Dask arrays (one E-step task per row
block, :func:`emgmm.fast.fast_e_step`); ``score``, ``bic``, ``aic`` and ``icl`` compute
their sums in one pass and return floats, with the formulas of :mod:`emgmm.criteria`.
"""

from __future__ import annotations

from dataclasses import dataclass

import dask.array as da
import numpy as np

from emgmm._validation import NotFittedError, as_generator, check_n_features
from emgmm.criteria import n_parameters
from emgmm.dask.blocks import check_dask_data
from emgmm.dask.fit import fit_em_dask
from emgmm.dask.summary import row_keys
from emgmm.fast import fast_e_step
from emgmm.latent import labels_at_uniforms
from emgmm.map_prior import estimator_prior
from emgmm.params import GaussianMixtureParams

__all__ = ["LikelihoodSums", "aic", "bic", "fit_predict", "icl", "likelihood_sums", "predict",
           "predict_proba", "sample_latent", "score", "score_samples"]


def fit_predict(model, X, y=None) -> da.Array:
    """Fit ``model`` to the Dask array X; the MAP labels, lazily."""
    X = check_dask_data(X)
    warm = model.warm_start and hasattr(model, "converged_")
    if warm:
        check_n_features(X, model.n_features_in_, type(model).__name__)
    result = fit_em_dask(
        X, model.n_components, covariance_type=model.covariance_type, tol=model.tol,
        reg_covar=model.reg_covar, max_iter=model.max_iter, n_init=model.n_init,
        init_params=model.init_params, weights_init=model.weights_init,
        means_init=model.means_init, precisions_init=model.precisions_init,
        start=model.params_ if warm else None,
        previous_lower_bound=model.lower_bound_ if warm else -np.inf,
        random_state=model.random_state, engine=model.engine,
        record_params=model.record_params, verbose=model.verbose,
        prior=estimator_prior(model.prior, X, model.n_components, model.covariance_type,
                              moments=lambda: moments(X)),
    )
    model._set_fitted(result, X.shape[1])
    return predict(model, X)


def moments(X: da.Array) -> tuple[np.ndarray, np.ndarray]:
    """Column means and sample covariance (divisor N - 1) of X, in one computation."""
    mean, covariance = da.compute(X.mean(axis=0), da.cov(X, rowvar=False))
    return np.asarray(mean, dtype=float), np.atleast_2d(np.asarray(covariance, dtype=float))


def _checked(model, X) -> tuple[da.Array, GaussianMixtureParams]:
    if not hasattr(model, "params_"):
        raise NotFittedError(f"this {type(model).__name__} is not fitted yet: call fit(X) first")
    X = check_dask_data(X)
    check_n_features(X, model.n_features_in_, type(model).__name__)
    return X, model.params_


def _log_norm(block: np.ndarray, params: GaussianMixtureParams) -> np.ndarray:
    return fast_e_step(block, params, n_threads=1)[0]


def _responsibilities(block: np.ndarray, params: GaussianMixtureParams) -> np.ndarray:
    return np.exp(fast_e_step(block, params, n_threads=1)[1])


def _labels(block: np.ndarray, params: GaussianMixtureParams) -> np.ndarray:
    return np.argmax(fast_e_step(block, params, n_threads=1)[1], axis=1)


def _sampled_labels(block: np.ndarray, params: GaussianMixtureParams, seed: int,
                    block_info=None) -> np.ndarray:
    start = block_info[0]["array-location"][0][0]
    keys = row_keys(np.arange(start, start + block.shape[0]), seed)
    uniforms = (keys >> np.uint64(11)).astype(float) * 2.0**-53  # a key's top 53 bits: U[0, 1)
    return labels_at_uniforms(np.exp(fast_e_step(block, params, n_threads=1)[1]), uniforms)


def _block_sums(block: np.ndarray, params: GaussianMixtureParams) -> np.ndarray:
    # sum_i log p(x_i) and sum_i max_k log gamma_ik of the block, as a (1, 2) block.
    log_norm, log_resp = fast_e_step(block, params, n_threads=1)
    return np.array([[log_norm.sum(), log_resp.max(axis=1).sum()]])


def score_samples(model, X) -> da.Array:
    """``log p(x_i | theta)`` for each row, lazily, shape (n_samples,)."""
    X, params = _checked(model, X)
    return X.map_blocks(_log_norm, params, drop_axis=1, dtype=float)


def predict_proba(model, X) -> da.Array:
    """Responsibilities, lazily, shape (n_samples, n_components)."""
    X, params = _checked(model, X)
    return X.map_blocks(_responsibilities, params, chunks=(X.chunks[0], (params.n_components,)),
                        dtype=float)


def predict(model, X) -> da.Array:
    """MAP labels, lazily, shape (n_samples,)."""
    X, params = _checked(model, X)
    return X.map_blocks(_labels, params, drop_axis=1, dtype=np.intp)


def sample_latent(model, X, rng=None) -> da.Array:
    """Draws :math:`z_i \\sim \\mathrm{Categorical}(\\gamma_i)`, lazily, shape (n_samples,).

    Row i's uniform is a hash of (seed, i) (:func:`emgmm.dask.summary.row_keys`), so the
    draws depend on ``rng`` and the data only, not on the chunking or the scheduler; they
    differ from the in-memory draws for the same seed, which come from one uniform stream.
    """
    X, params = _checked(model, X)
    seed = int(as_generator(rng).integers(2**63))
    return X.map_blocks(_sampled_labels, params, seed, drop_axis=1, dtype=np.intp)


@dataclass(frozen=True)
class LikelihoodSums:
    """What one pass over X gives about a fitted mixture.

    Attributes
    ----------
    log_likelihood : float
        :math:`\\sum_i \\log p(x_i \\mid \\theta)`.
    log_map_responsibility : float
        :math:`\\sum_i \\max_k \\log \\gamma_{ik}` (ICL's entropy term).
    n_samples : int
    params : GaussianMixtureParams
    """

    log_likelihood: float
    log_map_responsibility: float
    n_samples: int
    params: GaussianMixtureParams

    @property
    def n_parameters(self) -> int:
        p = self.params
        return n_parameters(p.covariance_type, p.n_components, p.n_features)

    @property
    def bic(self) -> float:
        """:func:`emgmm.criteria.bic`: ``-2 log L + p log N``."""
        return -2.0 * self.log_likelihood + self.n_parameters * np.log(self.n_samples)

    @property
    def aic(self) -> float:
        """:func:`emgmm.criteria.aic`: ``-2 log L + 2 p``."""
        return -2.0 * self.log_likelihood + 2.0 * self.n_parameters

    @property
    def icl(self) -> float:
        """:func:`emgmm.criteria.icl`: BIC ``- 2 sum_i log gamma_{i, MAP}``."""
        return self.bic - 2.0 * self.log_map_responsibility


def likelihood_sums(X, params: GaussianMixtureParams) -> LikelihoodSums:
    """:class:`LikelihoodSums` of ``params`` on the Dask array X, in one pass."""
    X = check_dask_data(X)
    per_block = X.map_blocks(_block_sums, params, chunks=((1,) * X.numblocks[0], (2,)), dtype=float)
    log_likelihood, log_map_resp = per_block.sum(axis=0).compute()
    return LikelihoodSums(float(log_likelihood), float(log_map_resp), int(X.shape[0]), params)


def _sums(model, X) -> LikelihoodSums:
    X, params = _checked(model, X)
    return likelihood_sums(X, params)


def score(model, X, y=None) -> float:
    """Mean per-sample log-likelihood of X."""
    sums = _sums(model, X)
    return sums.log_likelihood / sums.n_samples


def bic(model, X) -> float:
    """:func:`emgmm.criteria.bic`: ``-2 log L + p log N``."""
    return _sums(model, X).bic


def aic(model, X) -> float:
    """:func:`emgmm.criteria.aic`: ``-2 log L + 2 p``."""
    return _sums(model, X).aic


def icl(model, X) -> float:
    """:func:`emgmm.criteria.icl`: BIC ``- 2 sum_i log gamma_{i, MAP}``."""
    return _sums(model, X).icl
