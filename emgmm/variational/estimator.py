"""``BayesianGaussianMixtureVB``: scikit-learn's ``BayesianGaussianMixture`` over :func:`fit_vb`."""

from __future__ import annotations

import re

import numpy as np
from scipy.special import logsumexp

from emgmm._base import ParamsMixin
from emgmm._validation import (
    NotFittedError,
    check_data,
    check_float,
    check_n_features,
    singular_covariance_message,
)
from emgmm.engines import fast_module, select_engine
from emgmm.variational.fit import fit_vb
from emgmm.variational.iteration import expected_log_scores, kernel_arguments
from emgmm.variational.prior import default_variational_prior

# Expected weight under which a component counts as pruned (n_effective_components_).
WEIGHT_THRESHOLD = 1e-2

# scikit-learn's parameter names for the fields of VariationalPrior, in its error messages.
_SKLEARN_NAMES = (("shrinkage", "mean_precision_prior"), ("scale", "covariance_prior"),
                  ("mean", "mean_prior"))


class BayesianGaussianMixtureVB(ParamsMixin):
    """Gaussian mixture fitted by variational Bayes, with scikit-learn's
    ``BayesianGaussianMixture`` parameter and attribute names (and its numbers: the same
    start and prior give the same lower bounds and parameters to rounding).

    Parameters
    ----------
    n_components : int, default 1
        The truncation K: the data decide how many components keep a weight.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default 'full'
    tol : float, default 1e-3
        Stop when the total lower bound changes by less.
    reg_covar : float, default 1e-6
    max_iter : int, default 100
    n_init : int, default 1
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data', 'hierarchical', 'auto'}, default 'kmeans'
        The starts of :mod:`emgmm.init` (emgmm's random streams, not scikit-learn's; pass
        ``resp_init`` to :meth:`fit` for a given start).
    weight_concentration_prior_type : {'dirichlet_process', 'dirichlet_distribution'}
    weight_concentration_prior : float, optional
        :math:`\\alpha` or :math:`\\gamma` > 0 (default 1/K).
    mean_precision_prior : float, optional
        :math:`\\kappa` > 0 (default 1).
    mean_prior : array of shape (n_features,), optional
        :math:`\\mu_0` (default the column means).
    degrees_of_freedom_prior : float, optional
        :math:`\\nu > D - 1` (default D).
    covariance_prior : float or array, optional
        :math:`\\Psi` (default the sample covariance, its diagonal, or their mean).
    random_state : None, int, SeedSequence or numpy Generator
    warm_start : bool, default False
    verbose : int, default 0
    weight_threshold : float, default 0.01
        Components with ``weights_`` below it are reported as pruned.
    engine : {'auto', 'reference', 'fast'}, default 'auto'

    Attributes
    ----------
    weights_, means_, covariances_, precisions_, precisions_cholesky_ : ndarray
    weight_concentration_ : ndarray or tuple of two ndarrays (dirichlet_process)
    mean_precision_, degrees_of_freedom_ : ndarray
    weight_concentration_prior_, mean_precision_prior_, mean_prior_,
    degrees_of_freedom_prior_, covariance_prior_ : the prior used
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
    lower_bounds_ : list of float
        The total lower bound after every iteration of the best start.
    effective_components_ : ndarray of bool, shape (n_components,)
        ``weights_ >= weight_threshold``.
    n_effective_components_ : int
    posterior_ : VariationalPosterior
    prior_ : VariationalPrior
    history_ : EMResult
    n_features_in_ : int
    """

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=None,
        mean_precision_prior=None,
        mean_prior=None,
        degrees_of_freedom_prior=None,
        covariance_prior=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        weight_threshold=WEIGHT_THRESHOLD,
        engine="auto",
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weight_concentration_prior_type = weight_concentration_prior_type
        self.weight_concentration_prior = weight_concentration_prior
        self.mean_precision_prior = mean_precision_prior
        self.mean_prior = mean_prior
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.covariance_prior = covariance_prior
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.weight_threshold = weight_threshold
        self.engine = engine

    # --- fitting ---------------------------------------------------------------------------

    def _prior(self, X: np.ndarray):
        for name in ("weight_concentration_prior", "mean_precision_prior"):
            value = getattr(self, name)
            if value is not None and not (np.isscalar(value) and np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
        try:
            return default_variational_prior(
                X, self.n_components, self.covariance_type,
                weights_prior_type=self.weight_concentration_prior_type,
                weights_concentration=self.weight_concentration_prior,
                shrinkage=self.mean_precision_prior, mean=self.mean_prior,
                dof=self.degrees_of_freedom_prior, scale=self.covariance_prior)
        except ValueError as error:
            if self.covariance_prior is None and str(error).startswith("scale must be"):
                raise ValueError(singular_covariance_message(X)) from None
            message = str(error)
            for field, name in _SKLEARN_NAMES:
                message = re.sub(rf"\b{field}\b", name, message, count=1)
            raise ValueError(message) from None

    def fit(self, X, y=None, resp_init=None):
        """Fit by variational Bayes; ``resp_init`` (n_samples, n_components) are initial
        responsibilities instead of ``init_params`` (e.g. another implementation's)."""
        X = check_data(X, min_samples=2)
        check_float(self.weight_threshold, "weight_threshold")
        warm = self.warm_start and hasattr(self, "posterior_")
        if warm:  # one start, from the fitted posterior, under the same prior
            check_n_features(X, self.n_features_in_, type(self).__name__)
        prior = self.prior_ if warm else self._prior(X)
        result = fit_vb(
            X, self.n_components, covariance_type=self.covariance_type, prior=prior, tol=self.tol,
            reg_covar=self.reg_covar, max_iter=self.max_iter, n_init=self.n_init,
            init_params=self.init_params, resp_init=resp_init,
            start=self.posterior_ if warm else None,
            previous_lower_bound=self.lower_bound_ if warm else -np.inf,
            random_state=self.random_state, engine=self.engine, verbose=self.verbose)
        self._set_fitted(X, prior, result)
        return self

    def _set_fitted(self, X, prior, result) -> None:
        posterior = result.params
        self.prior_, self.posterior_, self.history_ = prior, posterior, result
        self.n_features_in_ = X.shape[1]
        self.weight_concentration_prior_ = float(prior.weights_concentration[0])
        self.mean_precision_prior_ = prior.shrinkage
        self.mean_prior_ = prior.mean
        self.degrees_of_freedom_prior_ = prior.dof
        self.covariance_prior_ = prior.scale
        concentration = posterior.weight_concentration
        self.weight_concentration_ = tuple(concentration) if concentration.ndim == 2 else concentration
        self.mean_precision_ = posterior.mean_precision
        self.means_ = posterior.means
        self.degrees_of_freedom_ = posterior.degrees_of_freedom
        self.covariances_ = posterior.covariances
        self.precisions_cholesky_ = posterior.precisions_cholesky
        kind = posterior.params.kind
        self.precisions_ = kind.precisions_from_cholesky(posterior.precisions_cholesky)
        self.weights_ = posterior.weights
        self.converged_ = result.converged
        self.n_iter_ = result.n_iter
        self.lower_bound_ = result.lower_bound
        self.lower_bounds_ = [float(value) for value in result.log_likelihood_history]
        self.effective_components_ = self.weights_ >= self.weight_threshold
        self.n_effective_components_ = int(self.effective_components_.sum())

    def fit_predict(self, X, y=None):
        """Fit, then :meth:`predict` on the same data."""
        return self.fit(X).predict(X)

    # --- prediction --------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "posterior_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet: call fit first")

    def _log_scores(self, X) -> np.ndarray:
        """:math:`\\log\\rho_{ik}` (Bishop 10.46) at the fitted posterior, (n_samples, K)."""
        self._check_fitted()
        X = check_data(X)
        check_n_features(X, self.n_features_in_, type(self).__name__)
        if select_engine(self.engine)[0] == "fast":
            log_norm, log_resp = fast_module().log_densities_from_kernel_arguments(
                X, kernel_arguments(self.posterior_), self.covariance_type)
            return log_resp + log_norm[:, None]
        return expected_log_scores(X, self.posterior_)

    def score_samples(self, X) -> np.ndarray:
        """:math:`\\log \\sum_k \\rho_{ik}` per sample (scikit-learn's ``score_samples``)."""
        return logsumexp(self._log_scores(X), axis=1)

    def score(self, X, y=None) -> float:
        """Mean of :meth:`score_samples`."""
        return float(np.mean(self.score_samples(X)))

    def predict_proba(self, X) -> np.ndarray:
        """:math:`q(z_i = k)`, the responsibilities :math:`r_{ik}` (Bishop 10.49)."""
        log_scores = self._log_scores(X)
        return np.exp(log_scores - logsumexp(log_scores, axis=1, keepdims=True))

    def predict(self, X) -> np.ndarray:
        """The most probable component of each sample under :math:`q(Z)`."""
        return np.argmax(self._log_scores(X), axis=1)

    # --- the posterior as draws ------------------------------------------------------------

    def to_datatree(self, n_draws: int = 1000, random_state=None, X=None, chains: int = 1):
        """Draws of :math:`q(\\pi, \\mu, \\Lambda)` as an ``xarray.DataTree`` shaped like
        ``bayes.sample``'s (:func:`emgmm.variational.draws.posterior_datatree`); with ``X``
        also ``observed_data`` and ``latent`` (the memberships :math:`q(Z)` at X)."""
        # xarray only for the DataTree: emgmm imports with numpy, scipy and numba alone
        from emgmm.variational.draws import posterior_datatree

        self._check_fitted()
        membership = None
        if X is not None:
            X = check_data(X)
            membership = self.predict_proba(X)
        return posterior_datatree(self.posterior_, n_draws, random_state, chains=chains, X=X,
                                  membership=membership)
