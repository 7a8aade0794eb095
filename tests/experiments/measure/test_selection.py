"""The choice of K by BIC, ICL and PSIS-LOO (experiments.measure.selection)."""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import pytest

from emgmm.covariance_types import COVARIANCE_TYPES
from emgmm.io import load_model
from emgmm.selection import select_model
from experiments.measure.selection import loo_choice, loo_seed, selection_columns
from experiments.run.rundir import ReplicateFiles


def test_loo_choice_ranks_fits_by_elpd(tmp_path):
    """az.compare picks the fit with the highest PSIS-LOO elpd; bayes.sample is replaced
    by fixed trees whose pointwise log-likelihoods favour K = 3."""
    rng = np.random.default_rng(0)
    level = {1: -2.0, 2: -1.5, 3: -1.0}
    calls = []

    def fake_sample(X, k, covariance_type, *, random_seed, **options):
        calls.append((k, covariance_type, random_seed, options["draws"], options["cores"]))
        return az.from_dict({
            "posterior": {"mu": rng.normal(size=(1, 200))},
            "log_likelihood": {"obs": rng.normal(level[k], 0.01, size=(1, 200, X.shape[0]))},
        })

    X = rng.normal(size=(40, 1))
    choice, comparison = loo_choice(X, (1, 2, 3), 7, "spherical", fit_posterior=fake_sample,
                                    draws=50)
    assert list(comparison.index) == ["K=3", "K=2", "K=1"]
    assert choice["k_loo"] == 3 and choice["elpd_loo_best"] == pytest.approx(-40.0, abs=0.5)
    assert calls == [(k, "spherical", loo_seed(7, k), 50, 1) for k in (1, 2, 3)]
    files = ReplicateFiles(tmp_path)
    columns = selection_columns(X, 2, seed=7, covariance_type="spherical", em_options={},
                                k_values=(1, 2, 3),
                                loo_options={"draws": 50, "covariance_type": "spherical"},
                                fit_posterior=fake_sample, files=files)
    assert columns["k_loo"] == 3 and columns["k_loo_correct"] is False
    assert columns["k_true"] == 2 and set(columns) >= {"k_bic", "k_icl", "k_bic_correct"}
    saved = pd.read_csv(files.loo_compare, index_col="model")
    assert list(saved.index) == ["K=3", "K=2", "K=1"]
    np.testing.assert_allclose(saved["elpd"], comparison["elpd"], rtol=1e-3)  # new fake draws


def test_criteria_table_has_every_type_and_the_bic_choice(tmp_path):
    """selection.csv: every K x covariance type as emgmm.select_model computes it; the saved
    model is the fit of lowest BIC over the table; k_bic is the run type's choice."""
    rng = np.random.default_rng(2)
    X = np.vstack([rng.normal([0, 0], [1.0, 0.3], (80, 2)), rng.normal([5, 3], 0.5, (60, 2))])
    files = ReplicateFiles(tmp_path)
    columns = selection_columns(X, 2, seed=3, covariance_type="spherical",
                                em_options={"n_init": 2}, k_values=(1, 2, 3), files=files)
    table = pd.read_csv(files.selection_table)
    assert len(table) == 12 and set(table["covariance_type"]) == set(COVARIANCE_TYPES)
    reference = select_model(X, (1, 2, 3), ["spherical"], random_state=3, n_init=2)
    spherical = table[table["covariance_type"] == "spherical"]
    np.testing.assert_allclose(spherical["bic"], [row.bic for row in reference.rows])
    assert columns["k_bic"] == reference.best.n_components
    chosen = load_model(files.selected_model)
    finite = table[np.isfinite(table["bic"])]
    best = finite.loc[finite["bic"].idxmin()]
    assert (chosen.n_components, chosen.covariance_type) == (best["n_components"],
                                                             best["covariance_type"])
    assert chosen.bic(X) == pytest.approx(best["bic"], rel=1e-10)


def test_loo_choice_with_real_posterior_fits():
    """PSIS-LOO on real fits (numpyro: a few seconds of compilation per K, where PyMC's
    numba backend would take minutes cold): three well-separated 1-D groups give K = 3."""
    pytest.importorskip("numpyro", reason="the numpyro extra (pip install '.[numpyro]')")

    rng = np.random.default_rng(11)
    X = np.concatenate([rng.normal(centre, 0.5, 50) for centre in (-6.0, 0.0, 6.0)])[:, None]
    choice, _ = loo_choice(X, (1, 2, 3), 5, "spherical", sampler="numpyro", draws=300,
                           tune=300, chains=2)
    assert choice["k_loo"] == 3
    # elpd of the right model: close to the log-density of the generating mixture.
    truth = np.log(np.mean([np.exp(-0.5 * ((X[:, 0] - c) / 0.5) ** 2) / (0.5 * np.sqrt(2 * np.pi))
                            for c in (-6.0, 0.0, 6.0)], axis=0)).sum()
    assert abs(choice["elpd_loo_best"] - truth) < 10.0


def test_selection_without_truth_has_no_k_true():
    """A data file: the choices stand, there is nothing to call correct."""
    rng = np.random.default_rng(3)
    X = np.concatenate([rng.normal(c, 0.4, (40, 2)) for c in (-3.0, 3.0)])
    columns = selection_columns(X, None, seed=1, covariance_type="full", em_options={},
                                k_values=(1, 2, 3))
    assert set(columns) == {"k_bic", "k_icl"} and columns["k_bic"] == 2
