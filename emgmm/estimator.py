"""``GaussianMixtureEM``: a scikit-learn style estimator, a thin shell over :func:`fit_em`."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from emgmm._base import ParamsMixin
from emgmm._chunks import row_chunks
from emgmm._validation import NotFittedError, as_generator, check_data, check_int, check_n_features
from emgmm.criteria import aic, bic, icl
from emgmm.dask.dispatch import dask_aware, is_dask_array
from emgmm.engines import engine_e_step
from emgmm.fit import EMResult, fit_em
from emgmm.latent import sample_latent
from emgmm.map_prior import estimator_prior
from emgmm.params import GaussianMixtureParams

# Rows per block of predict() and score_samples(): (block, K) log-responsibilities at a time.
PREDICT_BLOCK_ROWS = 262_144


class GaussianMixtureEM(ParamsMixin):
    """Gaussian mixture fitted by EM, with scikit-learn's parameter and attribute names.

    ``X`` may also be a ``dask.array.Array`` (:mod:`emgmm.dask`: one pass over its blocks per
    iteration; ``predict``, ``predict_proba`` and ``score_samples`` then return Dask arrays).

    Parameters
    ----------
    n_components : int, default 1
        Number of mixture components K.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default 'full'
    tol : float, default 1e-7
        Convergence threshold on the change of mean per-sample log-likelihood
        (scikit-learn's rule; its default is 1e-3, which stops on plateaus far below the
        optimum: see :mod:`emgmm.fit`).
    reg_covar : float, default 1e-6
        Added to the diagonal of every covariance at each M-step.
    max_iter : int, default 1000
    n_init : int, default 1
        Number of starts; the one with the highest final lower bound is kept.
    init_params : {'auto', 'hierarchical', 'kmeans', 'k-means++', 'random', 'random_from_data'}, default 'auto'
        ``auto``: each of the ``n_init`` rounds runs EM from a hierarchical, a k-means++
        and a k-means start (:mod:`emgmm.init`) and keeps the best; the hierarchical start
        runs once when it uses every row. Under 50,000 rows four search starts follow
        (:data:`emgmm.multistart.SEARCH_STARTS`, kept only when not degenerate). On 50,000
        rows or more the starts run on a subsample of 20,000 rows (at least 20 per free
        parameter), each gets 10 EM iterations and only the best is continued, then on all
        rows (:mod:`emgmm.multistart`).
    weights_init, means_init, precisions_init : array, optional
        User-given starting values (scikit-learn layouts); all three skip the initialisation.
    random_state : None, int, SeedSequence or numpy Generator
    warm_start : bool, default False
        Start the next ``fit`` from the current solution (one start).
    verbose : int, default 0
    engine : {'auto', 'reference', 'fast'}, default 'auto'
        EM iteration engine (see :func:`emgmm.fit.fit_em`).
    record_params : bool, default False
        Keep the parameters of every iteration in ``history_.params_history``.
    prior : None, 'default' or emgmm.map_prior.ConjugatePrior, default None
        None: maximum likelihood. Otherwise MAP-EM under this conjugate prior
        (:mod:`emgmm.map_em`); ``'default'`` is mclust's ``priorControl()`` for the data
        being fitted (:func:`emgmm.map_prior.default_conjugate_prior`). ``lower_bounds_``
        then holds the MAP objective per row, ``lower_bound_`` the mean log-likelihood at
        the estimate and ``history_.log_prior`` the log-prior there (:mod:`emgmm.fit`).

    Attributes
    ----------
    weights_, means_, covariances_, precisions_, precisions_cholesky_ : ndarray
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
    lower_bounds_ : list of float
        Mean log-likelihood per iteration of the best start.
    n_features_in_ : int
    params_ : GaussianMixtureParams
    history_ : EMResult
        The full result of the best start (re-seeded components, decreases, ...).
    degenerate_ : str or None
        Why the fit is degenerate (:mod:`emgmm.degenerate`: a component with too few
        points or no spread in some direction; ``DegenerateFitWarning``), None when not.
    """

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-7,
        reg_covar=1e-6,
        max_iter=1000,
        n_init=1,
        init_params="auto",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        engine="auto",
        record_params=False,
        prior=None,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.engine = engine
        self.record_params = record_params
        self.prior = prior

    # --- fitting -------------------------------------------------------------------------

    def fit(self, X, y=None) -> GaussianMixtureEM:
        """Estimate the parameters by EM (``y`` is ignored)."""
        if is_dask_array(X):  # the Dask estimator fits in its fit_predict
            self.fit_predict(X, y)
        else:
            self._fit(X)
        return self

    @dask_aware
    def fit_predict(self, X, y=None) -> np.ndarray:
        """Fit, then return the MAP labels of X under the fitted model."""
        self._fit(X)
        # A final E-step so that fit_predict(X) == fit(X).predict(X).
        return self.predict(X)

    def _fit(self, X) -> None:
        """Fit on in-memory data (:func:`fit_em` checks X; a warm start checks it first)."""
        warm = self.warm_start and hasattr(self, "converged_")
        if warm or self.prior is not None:
            X = check_data(X)
        if warm:
            check_n_features(X, self.n_features_in_, type(self).__name__)
        result = fit_em(
            X,
            self.n_components,
            covariance_type=self.covariance_type,
            tol=self.tol,
            reg_covar=self.reg_covar,
            max_iter=self.max_iter,
            n_init=self.n_init,
            init_params=self.init_params,
            weights_init=self.weights_init,
            means_init=self.means_init,
            precisions_init=self.precisions_init,
            start=self.params_ if warm else None,
            previous_lower_bound=self.lower_bound_ if warm else -np.inf,
            random_state=self.random_state,
            engine=self.engine,
            record_params=self.record_params,
            verbose=self.verbose,
            prior=estimator_prior(self.prior, X, self.n_components, self.covariance_type),
        )
        self._set_fitted(result, result.params.n_features)

    def _set_fitted(self, result: EMResult, n_features: int) -> None:
        params = result.params
        self.params_ = params
        self.history_ = result
        self.weights_ = np.array(params.weights)
        self.means_ = np.array(params.means)
        self.covariances_ = np.array(params.covariances)
        self.precisions_cholesky_ = params.precisions_cholesky
        self.precisions_ = params.kind.precisions_from_cholesky(self.precisions_cholesky_)
        self.converged_ = result.converged
        self.n_iter_ = result.n_iter
        self.lower_bound_ = result.lower_bound
        self.lower_bounds_ = list(result.log_likelihood_history)
        self.n_features_in_ = n_features
        self.degenerate_ = result.degenerate

    @classmethod
    def from_result(cls, result: EMResult, **estimator_params) -> GaussianMixtureEM:
        """A fitted estimator from an :class:`EMResult` (e.g. of :func:`fit_em`, possibly
        with permuted components); ``estimator_params`` are the constructor arguments."""
        params = result.params
        model = cls(params.n_components, covariance_type=params.covariance_type, **estimator_params)
        model._set_fitted(result, params.n_features)
        return model

    @classmethod
    def from_params(cls, params: GaussianMixtureParams, **estimator_params) -> GaussianMixtureEM:
        """A fitted estimator holding ``params`` (no EM run; ``n_iter_ = 0``)."""
        return cls.from_result(EMResult(params, np.empty(0), 0, True, -np.inf), **estimator_params)

    # --- using a fitted model ------------------------------------------------------------

    def _require_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit(X) first")

    def _checked(self, X) -> np.ndarray:
        self._require_fitted()
        X = check_data(X)
        check_n_features(X, self.n_features_in_, type(self).__name__)
        return X

    def _e_step(self, X) -> tuple[np.ndarray, np.ndarray]:
        """``(log_norm, log_resp)`` at the fitted parameters, by the estimator's ``engine``."""
        return engine_e_step(self._checked(X), self.params_, self.engine)

    def _per_row(self, X, of_e_step: Callable) -> np.ndarray:
        """``of_e_step((log_norm, log_resp))`` for blocks of ``PREDICT_BLOCK_ROWS`` rows,
        joined: a per-row result without an (n_samples, n_components) array."""
        X = self._checked(X)
        return np.concatenate([of_e_step(engine_e_step(X[rows], self.params_, self.engine))
                               for rows in row_chunks(X.shape[0], PREDICT_BLOCK_ROWS)])

    @dask_aware
    def score_samples(self, X) -> np.ndarray:
        """``log p(x_i | theta)`` for each row, array of shape (n_samples,)."""
        return self._per_row(X, lambda e_step: e_step[0])

    @dask_aware
    def score(self, X, y=None) -> float:
        """Mean per-sample log-likelihood of X."""
        return float(np.mean(self.score_samples(X)))

    @dask_aware
    def predict_proba(self, X) -> np.ndarray:
        """Responsibilities ``gamma_ik = p(z_i = k | x_i, theta)``, shape (n_samples, n_components)."""
        return np.exp(self._e_step(X)[1])

    @dask_aware
    def predict(self, X) -> np.ndarray:
        """MAP labels ``argmax_k gamma_ik``, shape (n_samples,)."""
        return self._per_row(X, lambda e_step: np.argmax(e_step[1], axis=1))

    @dask_aware
    def sample_latent(self, X, rng=None) -> np.ndarray:
        """Draw ``z_i ~ Categorical(gamma_i)`` for each row of X, shape (n_samples,) (a lazy
        Dask array for a Dask X, :func:`emgmm.dask.estimator.sample_latent`)."""
        return sample_latent(self.predict_proba(X), as_generator(rng))

    def sample(self, n_samples=1, random_state=None) -> tuple[np.ndarray, np.ndarray]:
        """Draw from the fitted mixture; rows grouped by component as in scikit-learn.

        ``random_state`` defaults to the estimator's ``random_state``.

        Returns
        -------
        X : array of shape (n_samples, n_features)
        y : array of shape (n_samples,)
            Component of each draw.
        """
        self._require_fitted()
        n_samples = check_int(n_samples, "n_samples", 1)
        rng = as_generator(self.random_state if random_state is None else random_state)
        counts = rng.multinomial(n_samples, self.weights_)
        covariances = self.params_.full_covariances()
        draws = [
            # mu + L z with Sigma = L L^T: one Cholesky per component, no eigendecomposition.
            mean + rng.standard_normal((count, mean.shape[0])) @ np.linalg.cholesky(cov).T
            for mean, cov, count in zip(self.means_, covariances, counts)
        ]
        return np.vstack(draws), np.repeat(np.arange(self.n_components), counts)

    # --- model selection -------------------------------------------------------------------

    @dask_aware
    def bic(self, X) -> float:
        """Bayesian information criterion, ``-2 log L + p log N`` (lower is better)."""
        return bic(self._checked(X), self.params_, self.engine)

    @dask_aware
    def aic(self, X) -> float:
        """Akaike information criterion, ``-2 log L + 2 p`` (lower is better)."""
        return aic(self._checked(X), self.params_, self.engine)

    @dask_aware
    def icl(self, X) -> float:
        """Integrated completed likelihood (mclust's definition, lower-is-better sign)."""
        return icl(self._checked(X), self.params_, self.engine)

    # --- export ----------------------------------------------------------------------------

    def to_datatree(self, X=None, uncertainty=None):
        """The fit as an ``xarray.DataTree`` named like ``bayes.sample``'s posterior.

        Groups ``em`` (the estimate), ``em_fit`` (``log_likelihood`` per iteration),
        ``latent`` (``membership``, ``map_label`` of ``X``, when given) and
        ``em_standard_errors`` (from ``uncertainty``, a
        :class:`emgmm.uncertainty.ParameterUncertainty` of this fit, when given); see
        :mod:`emgmm.datatree`. Root attrs: ``covariance_type``, ``converged`` (0/1: netCDF has
        no booleans), ``n_iter``, ``lower_bound``.
        """
        # xarray only for the DataTree: emgmm imports with numpy, scipy and numba alone
        from emgmm.datatree import em_datatree

        self._require_fitted()
        responsibilities = None if X is None else self.predict_proba(X)
        errors = None if uncertainty is None else uncertainty.standard_errors
        attrs = {"converged": int(self.converged_), "n_iter": int(self.n_iter_),
                 "lower_bound": float(self.lower_bound_)}
        return em_datatree(self.params_, log_likelihood_history=self.lower_bounds_,
                           responsibilities=responsibilities, standard_errors=errors,
                           attrs=attrs)
