"""The bundled data-set configs: valid, reading their bundled file, and fitting EM with the
settings that reach R mclust's log-likelihoods on these data sets.

Reference values: ``tests/data/mclust/mclust_bic_tables.csv`` (mclust 6.0.0,
``mclustBIC(X, G = 1:9, modelNames = ...)``, made by ``tests/data/mclust/reference.R``;
EEE = tied, VVV = full, V = full in 1-D); galaxies there is in thousands of km/s, here in
km/s, so its log-likelihood differs by N log 1000.
"""

from __future__ import annotations

import inspect
import math

import pytest

from emgmm import GaussianMixtureEM
from experiments.config import bundled_configs, load_config
from experiments.measure.em import em_options, fit_estimate
from experiments.run.plan import check_reachable, plan_cells
from experiments.simulate.file_source import read_once
from tests.emgmm.test_mclust_reference import KNOWN_MISSES, TABLES

DATA_CONFIGS = ("faithful", "iris", "galaxies")
UNIT = {"galaxies": 1000.0}  # the reference's data = the file's / UNIT


def test_data_configs_are_bundled_and_read_their_data():
    for name in DATA_CONFIGS:
        config = load_config(bundled_configs()[name])
        assert config.data.source == "file" and config.name == name
        check_reachable(config)  # the bundled file exists and supports every K


def test_data_configs_fit_em_as_the_estimator_does_by_default():
    defaults = inspect.signature(GaussianMixtureEM).parameters
    for name in DATA_CONFIGS:
        fit = em_options(load_config(bundled_configs()[name])).fit
        for key in ("init_params", "tol", "reg_covar", "n_init"):
            assert fit[key] == defaults[key].default, (name, key)


@pytest.mark.parametrize("name", DATA_CONFIGS)
def test_data_config_em_reaches_mclust(name):
    config = load_config(bundled_configs()[name])
    options = em_options(config)
    for cell in plan_cells(config):
        k = cell.data_spec.n_components
        covariance_type = config.data.cell_config(config, cell.grid_values).em.covariance_type
        if (covariance_type, k) in KNOWN_MISSES[name]:
            continue
        X = read_once(cell.data_spec.data_file, k).X  # every row (the split is for testing)
        result = fit_estimate(X, k, options, seed=0)
        log_likelihood = result.lower_bound * X.shape[0]
        log_likelihood += X.size * math.log(UNIT.get(name, 1.0))  # the reference's units
        reference = TABLES[(TABLES.data == name) & (TABLES.covariance_type == covariance_type)
                           & (TABLES.n_components == k)].log_likelihood.iloc[0]
        assert log_likelihood >= reference - 1e-3, (name, covariance_type, k)
