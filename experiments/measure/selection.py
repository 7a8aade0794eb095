"""Choice of the number of components K by BIC, ICL (EM) and PSIS-LOO (Bayesian fits).

For one data set and the candidate values ``k_values``:

- EM fits every K (:func:`emgmm.select_model`, the run's EM settings and covariance type,
  the replicate's EM seed) and K is chosen by the lowest BIC and by the lowest ICL,

  .. math:: \\mathrm{BIC} = -2 \\log L + p \\log N, \\qquad
            \\mathrm{ICL} = \\mathrm{BIC} - 2 \\sum_i \\log \\hat z_{i,\\mathrm{MAP}};

- with ``loo`` on, the Bayesian model is sampled for every K (short chains, ``cores=1``)
  and the fits are ranked by their expected log pointwise predictive density estimated by
  Pareto-smoothed importance sampling (``az.compare`` on the ``log_likelihood`` group,
  Vehtari, Gelman and Gabry 2017); K is the top-ranked fit.

The columns go on the replicate's ``selection`` row of results.csv; the criteria of every
K and covariance type (``selection.csv``), ArviZ's LOO comparison (``loo_compare.csv``) and
the fit of lowest BIC over all types (``selected_model.npz``, mclust's choice) are saved
beside it for the report's model-choice pictures.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import arviz as az
import numpy as np
import pandas as pd

import bayes
from emgmm import GaussianMixtureEM
from emgmm.covariance_types import COVARIANCE_TYPES
from emgmm.io import save_model
from emgmm.selection import select_model
from experiments.measure.base import Method, MethodResult, ReplicateInput
from experiments.measure.em import em_options
from experiments.measure.mcmc import sample_options
from experiments.run.files import write_atomic
from experiments.run.rundir import ReplicateFiles

COLUMNS = ("k_true", "k_bic", "k_icl", "k_loo", "k_bic_correct", "k_icl_correct",
           "k_loo_correct", "elpd_loo_best")


@dataclass(frozen=True)
class SelectionOptions:
    """The ``[selection]`` section as the replicate needs it.

    Attributes
    ----------
    k_values : tuple of int
    covariance_type : str
        EM's covariance type.
    em_fit : dict
        The run's EM settings (keyword arguments of :func:`emgmm.fit_em`).
    loo : dict or None
        Keyword arguments of :func:`bayes.sample` (priors, sampler, draws, tune, chains,
        target_accept, covariance_type) for the PSIS-LOO fits; None skips PSIS-LOO.
    """

    k_values: tuple[int, ...]
    covariance_type: str
    em_fit: dict
    loo: dict | None


def selection_options(config, progressbar: bool = False) -> SelectionOptions | None:
    """:class:`SelectionOptions`; None when ``[selection] enabled = false``. PSIS-LOO needs
    ``[selection] loo`` and ``[mcmc] enabled``."""
    selection = config.selection
    if not selection.enabled:
        return None
    loo = None
    if selection.loo and config.mcmc.enabled:
        mcmc = sample_options(config)
        loo = {"priors": mcmc["priors"], "sampler": mcmc["sampler"],
               "target_accept": mcmc["target_accept"], "draws": selection.draws,
               "tune": selection.tune, "chains": selection.chains,
               "covariance_type": config.mcmc.covariance_type}
    return SelectionOptions(selection.k_values, config.em.covariance_type,
                            em_options(config).fit, loo)


def run_selection(inputs: ReplicateInput, options: SelectionOptions) -> MethodResult:
    """The ``selection`` row of one replicate (seeded by its MCMC seed); saves the criteria
    of every (K, covariance type), the PSIS-LOO comparison and the fit BIC chooses."""
    dataset = inputs.dataset
    k_true = dataset.n_components if dataset.has_truth else None  # a data file: unknown
    return MethodResult(selection_columns(
        dataset.X, k_true, seed=inputs.seeds.mcmc,
        covariance_type=options.covariance_type, em_options=options.em_fit,
        k_values=options.k_values, loo_options=options.loo, files=inputs.files))


def criteria_table(X: np.ndarray, k_values: tuple[int, ...], em_options: dict, seed: int
                   ) -> tuple[pd.DataFrame, GaussianMixtureEM]:
    """BIC, ICL, AIC and log-likelihood of every K x covariance type (mclust's table: all
    four types, whatever the run's), and the fit of lowest BIC over the whole table.

    Every fit has the same seed (:func:`emgmm.select_model`), so the rows of one type do
    not depend on which other types are fitted.
    """
    options = {key: em_options[key] for key in ("tol", "reg_covar", "max_iter", "n_init",
                                                "init_params") if key in em_options}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # degenerate fits are missing rows, not warnings here
        selection = select_model(X, k_values, COVARIANCE_TYPES, criterion="bic",
                                 random_state=seed, **options)
    table = pd.DataFrame({name: list(column) for name, column in selection.as_dict().items()})
    table["warnings"] = ["; ".join(w) for w in table["warnings"]]
    return table, selection.best_model


def em_choices(table: pd.DataFrame, covariance_type: str) -> dict[str, int]:
    """``k_bic`` and ``k_icl``: the K of lowest BIC and of lowest ICL among the fits of the
    run's covariance type (degenerate fits have infinite criteria: never chosen)."""
    rows = table[table["covariance_type"] == covariance_type]
    ks = rows["n_components"].to_numpy()
    return {f"k_{name}": int(ks[np.argmin(rows[name].to_numpy(float))])
            for name in ("bic", "icl")}


def loo_seed(seed: int, n_components: int) -> int:
    """Sampling seed of the K-component fit: a SeedSequence of (replicate seed, K)."""
    return int(np.random.SeedSequence([seed, n_components]).generate_state(1, np.uint32)[0])


def loo_choice(X: np.ndarray, k_values: tuple[int, ...], seed: int, covariance_type: str,
               *, fit_posterior: Callable | None = None, **sample_options
               ) -> tuple[dict[str, int | float], pd.DataFrame]:
    """``k_loo``: the K whose posterior has the highest PSIS-LOO elpd, and its elpd; with
    ArviZ's comparison table (``az.compare``, best first).

    ``fit_posterior`` has the signature of :func:`bayes.sample` (tests pass a stand-in;
    default :func:`bayes.sample`).
    """
    fit_posterior = fit_posterior or bayes.sample
    trees = {
        k: fit_posterior(X, k, covariance_type, random_seed=loo_seed(seed, k), cores=1,
                  posterior_predictive=False, progressbar=False, **sample_options)
        for k in k_values
    }
    comparison = az.compare({f"K={k}": tree for k, tree in trees.items()})
    best = comparison.index[0]  # az.compare sorts by elpd, best first
    return ({"k_loo": int(best.removeprefix("K=")),
             "elpd_loo_best": float(comparison.loc[best, "elpd"])}, comparison)


def selection_columns(X: np.ndarray, k_true: int | None, *, seed: int, covariance_type: str,
                      em_options: dict, k_values: tuple[int, ...],
                      loo_options: dict | None = None, fit_posterior: Callable | None = None,
                      files: ReplicateFiles | None = None) -> dict:
    """The ``selection`` row: ``k_true``, each method's K and whether it equals ``k_true``.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    k_true : int or None
        None for data without truth: no ``k_true`` and no ``k_*_correct`` columns.
    seed : int
        The replicate's seed for these fits (EM starts and the Bayesian samplers).
    covariance_type : str
        EM's covariance type.
    em_options : dict
        The run's EM settings (:attr:`SelectionOptions.em_fit`).
    k_values : tuple of int
    loo_options : dict or None
        Keyword arguments of :func:`bayes.sample` (priors, sampler, draws, tune, chains,
        target_accept, covariance_type) for the PSIS-LOO fits; None skips PSIS-LOO.
    fit_posterior : callable, optional
        A stand-in for :func:`bayes.sample` (the default) with its signature.
    files : ReplicateFiles, optional
        Where to save ``selection.csv`` (criteria of every K x covariance type),
        ``selected_model.npz`` (the fit of lowest BIC) and ``loo_compare.csv``.
    """
    table, chosen = criteria_table(X, k_values, em_options, seed)
    columns: dict = em_choices(table, covariance_type)
    if files is not None:
        write_atomic(files.selection_table, lambda path: table.to_csv(path, index=False))
        save_model(files.selected_model, chosen)
    if loo_options is not None:
        options = dict(loo_options)
        loo_columns, comparison = loo_choice(X, k_values, seed, options.pop("covariance_type"),
                                             fit_posterior=fit_posterior, **options)
        columns |= loo_columns
        if files is not None:
            write_atomic(files.loo_compare,
                         lambda path: comparison.to_csv(path, index_label="model"))
    if k_true is None:
        return columns
    columns["k_true"] = int(k_true)
    for method in ("bic", "icl", "loo"):
        if f"k_{method}" in columns:
            columns[f"k_{method}_correct"] = columns[f"k_{method}"] == k_true
    return columns


SELECTION = Method("selection", "selection", selection_options, run_selection, COLUMNS)
