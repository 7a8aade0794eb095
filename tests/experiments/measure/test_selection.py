"""The choice of K by BIC, ICL and PSIS-LOO (experiments.measure.selection)."""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest

from experiments.measure.selection import loo_choice, loo_seed, selection_columns


def test_loo_choice_ranks_fits_by_elpd():
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
    choice = loo_choice(X, (1, 2, 3), 7, "spherical", fit_posterior=fake_sample, draws=50)
    assert choice["k_loo"] == 3 and choice["elpd_loo_best"] == pytest.approx(-40.0, abs=0.5)
    assert calls == [(k, "spherical", loo_seed(7, k), 50, 1) for k in (1, 2, 3)]
    columns = selection_columns(X, 2, seed=7, covariance_type="spherical", em_options={},
                                k_values=(1, 2, 3),
                                loo_options={"draws": 50, "covariance_type": "spherical"},
                                fit_posterior=fake_sample)
    assert columns["k_loo"] == 3 and columns["k_loo_correct"] is False
    assert columns["k_true"] == 2 and set(columns) >= {"k_bic", "k_icl", "k_bic_correct"}


def test_loo_choice_with_real_posterior_fits():
    """PSIS-LOO on real fits (numpyro: a few seconds of compilation per K, where PyMC's
    numba backend would take minutes cold): three well-separated 1-D groups give K = 3."""
    pytest.importorskip("numpyro", reason="the numpyro extra (pip install '.[numpyro]')")

    rng = np.random.default_rng(11)
    X = np.concatenate([rng.normal(centre, 0.5, 50) for centre in (-6.0, 0.0, 6.0)])[:, None]
    choice = loo_choice(X, (1, 2, 3), 5, "spherical", sampler="numpyro", draws=300, tune=300,
                        chains=2)
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
