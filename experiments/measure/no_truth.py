"""Metrics that need no truth: what a fit of a user's data file is judged by.

- held-out mean log predictive density of the test rows (``[data] test_fraction``):
  EM's plug-in density and the posterior predictive density,

  .. math::

      \\mathrm{lpd}_{EM} = \\frac{1}{M} \\sum_m \\log p(x_m \\mid \\hat\\theta), \\qquad
      \\mathrm{lpd}_{MCMC} = \\frac{1}{M} \\sum_m \\log \\frac{1}{S} \\sum_s p(x_m \\mid \\theta_s);

- PSIS-LOO (Vehtari, Gelman and Gabry 2017, ``arviz.loo``): the elpd, its standard error,
  and the Pareto shape k of each point's importance weights (k > 0.7: that point's LOO
  estimate is unreliable);
- BIC and ICL of the EM fit (:mod:`emgmm.criteria`, lower is better);
- with known classes (``label_column``): ARI and the accuracy after the best one-to-one
  matching (Hungarian algorithm, :func:`emgmm.alignment.matching_order`) of components to
  classes.

Without truth the estimated components are put in a reference order: EM's by the first
coordinate of their means (as ``bayes`` orders the posterior), the posterior's matched to
EM's (:func:`experiments.measure.metrics.align_components` with EM as the reference).
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import logsumexp
from sklearn.metrics import adjusted_rand_score, confusion_matrix

from emgmm import GaussianMixtureParams
from emgmm.alignment import matching_order
from emgmm.criteria import bic, icl
from experiments.measure.free_parameters import posterior_mean_params
from experiments.measure.metrics import mixture_mean_log_likelihood

PARETO_K_THRESHOLD = 0.7
DRAWS_PER_CHUNK = 256  # posterior draws evaluated at once (bounds the (S, K, M, D) arrays)


def reference_order(params: GaussianMixtureParams) -> np.ndarray:
    """Components sorted by the first coordinate of their means, ties by weight."""
    return np.lexsort((params.weights, params.means[:, 0]))


# ---------------------------------------------------------------------------------------
# Held-out predictive density
# ---------------------------------------------------------------------------------------


def mixture_log_density_draws(X: np.ndarray, weights: np.ndarray, means: np.ndarray,
                              covariances: np.ndarray) -> np.ndarray:
    """:math:`\\log p(x_m \\mid \\theta_s)` for every draw s and row m, shape (S, M).

    Parameters
    ----------
    X : array of shape (M, D)
    weights : array of shape (S, K)
    means : array of shape (S, K, D)
    covariances : array of shape (S, K, D, D), full matrices
    """
    n_features = X.shape[1]
    chol = np.linalg.cholesky(covariances)  # Sigma = L L^T
    inverse_chol = np.linalg.inv(chol)
    # z = L^{-1} (x - mu): the squared norm is the Mahalanobis distance
    z = np.einsum("skde,skme->skmd", inverse_chol, X[None, None] - means[:, :, None, :])
    log_det = 2.0 * np.log(np.diagonal(chol, axis1=-2, axis2=-1)).sum(axis=-1)  # (S, K)
    log_gauss = -0.5 * ((z ** 2).sum(axis=-1) + log_det[..., None]
                        + n_features * np.log(2.0 * np.pi))
    return logsumexp(np.log(weights)[..., None] + log_gauss, axis=1)


def posterior_heldout_lpd(X_test: np.ndarray, posterior: xr.Dataset) -> float:
    """Mean over held-out rows of the log posterior predictive density (logsumexp over
    the pooled draws, minus log S)."""
    weights = _pooled(posterior["weights"], ("component",))
    means = _pooled(posterior["means"], ("component", "dim"))
    covariances = _pooled(posterior["covariances"], ("component", "dim", "dim2"))
    pieces = [mixture_log_density_draws(X_test, weights[s:s + DRAWS_PER_CHUNK],
                                        means[s:s + DRAWS_PER_CHUNK],
                                        covariances[s:s + DRAWS_PER_CHUNK])
              for s in range(0, len(weights), DRAWS_PER_CHUNK)]
    log_density = np.concatenate(pieces)  # (S, M)
    return float(np.mean(logsumexp(log_density, axis=0) - np.log(len(log_density))))


def _pooled(variable: xr.DataArray, dims: tuple[str, ...]) -> np.ndarray:
    """Draws of every chain stacked: array of shape (chain * draw, *dims)."""
    values = variable.transpose("chain", "draw", *dims).values
    return values.reshape(-1, *values.shape[2:])


# ---------------------------------------------------------------------------------------
# PSIS-LOO, information criteria, known classes
# ---------------------------------------------------------------------------------------


def loo_columns(datatree) -> dict:
    """``elpd_loo``, ``elpd_loo_se``, ``pareto_k_max`` and ``pareto_k_bad`` (points with
    k > 0.7) from the ``log_likelihood`` group (``arviz.loo``)."""
    result = az.loo(datatree, pointwise=True)
    pareto_k = np.asarray(result.pareto_k, dtype=float)
    return {"elpd_loo": float(result.elpd), "elpd_loo_se": float(result.se),
            "pareto_k_max": float(np.max(pareto_k)),
            "pareto_k_bad": int(np.sum(pareto_k > PARETO_K_THRESHOLD))}


def information_criteria(X: np.ndarray, params: GaussianMixtureParams) -> dict:
    """``bic`` and ``icl`` of a fit (:func:`emgmm.criteria.bic`, :func:`emgmm.criteria.icl`)."""
    return {"bic": bic(X, params), "icl": icl(X, params)}


def class_agreement(classes: np.ndarray, labels: np.ndarray) -> dict:
    """ARI and matched accuracy of MAP labels against known classes.

    The accuracy is :math:`\\max_\\sigma \\frac1N \\sum_i [\\sigma(\\hat z_i) = c_i]` over
    one-to-one maps of components to classes (the confusion matrix is padded to a square
    when K differs from the number of classes C; unmatched points count as wrong).
    """
    classes, labels = np.asarray(classes), np.asarray(labels)
    size = int(max(classes.max(), labels.max())) + 1
    confusion = confusion_matrix(classes, labels, labels=np.arange(size))  # (class, label)
    order = matching_order(-confusion)  # order[c]: the component matched to class c
    matched = confusion[np.arange(size), order].sum()
    return {"class_ari": float(adjusted_rand_score(classes, labels)),
            "class_accuracy": float(matched / classes.size)}


# ---------------------------------------------------------------------------------------
# The rows of results.csv
# ---------------------------------------------------------------------------------------


def heldout_and_class_columns(arrays, labels: np.ndarray, heldout_lpd) -> dict:
    """``heldout_lpd`` (the function of the held-out rows) when the data set has held-out
    rows, and the agreement of ``labels`` with the known classes when it has them."""
    columns = {}
    if arrays.X_test.size:
        columns["heldout_lpd"] = heldout_lpd(arrays.X_test)
    if arrays.has_labels:
        columns |= class_agreement(arrays.labels, labels)
    return columns


def em_columns(arrays, params: GaussianMixtureParams, labels: np.ndarray) -> dict:
    """The ``em`` row's no-truth columns for the data set ``arrays`` (DataArrays)."""
    return {"log_likelihood": mixture_mean_log_likelihood(arrays.X, params),
            **information_criteria(arrays.X, params),
            **heldout_and_class_columns(
                arrays, labels, lambda X_test: mixture_mean_log_likelihood(X_test, params))}


def posterior_columns(arrays, datatree, labels: np.ndarray) -> dict:
    """The no-truth columns of any posterior given as draws (MCMC's, a variational
    method's): mean log-likelihood at the posterior mean, held-out density, known classes."""
    posterior = datatree["posterior"].to_dataset()
    return {"log_likelihood": mixture_mean_log_likelihood(arrays.X,
                                                          posterior_mean_params(posterior)),
            **heldout_and_class_columns(
                arrays, labels, lambda X_test: posterior_heldout_lpd(X_test, posterior))}


def mcmc_columns(arrays, datatree, labels: np.ndarray) -> dict:
    """The ``mcmc`` row's no-truth columns: :func:`posterior_columns` and PSIS-LOO."""
    return {**posterior_columns(arrays, datatree, labels), **loo_columns(datatree)}


def k_choices(results: pd.DataFrame) -> pd.DataFrame:
    """K chosen per replicate across the cells of an ``n_components`` grid.

    Lowest ``bic`` and ``icl`` of the ``em`` rows and highest ``elpd_loo`` of the ``mcmc``
    rows (as ``az.compare`` ranks). Other grid columns (e.g. ``covariance_type``) group the
    choice. Returns an empty frame when ``n_components`` is not a column of ``results``.
    """
    if "n_components" not in results.columns:
        return pd.DataFrame()
    groups = [c for c in results.columns if c in ("covariance_type", "sampler", "scale_prior",
                                                  "weights_concentration")] + ["replicate"]
    choices = []
    for (method, column, best) in (("em", "bic", "idxmin"), ("em", "icl", "idxmin"),
                                   ("mcmc", "elpd_loo", "idxmax")):
        rows = results[(results["method"] == method)]
        if column not in rows or rows[column].isna().all():
            continue
        values = pd.to_numeric(rows[column], errors="coerce")
        index = getattr(values.groupby([rows[g] for g in groups]), best)().dropna()
        chosen = rows.loc[index, [*groups, "n_components"]].assign(criterion=column)
        choices.append(chosen)
    if not choices:
        return pd.DataFrame()
    return pd.concat(choices).pivot_table(index=groups, columns="criterion",
                                          values="n_components", aggfunc="first").reset_index()
