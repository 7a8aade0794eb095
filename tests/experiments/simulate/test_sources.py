"""The data-source registry: the synthetic source gives the simulated data and its truth."""

from __future__ import annotations

import numpy as np

from experiments.simulate.generate import simulate_mixture
from experiments.simulate.sources import DATA_SOURCES, SYNTHETIC
from experiments.simulate.spec import DataSpec


def test_synthetic_source_is_the_simulated_mixture():
    assert DATA_SOURCES["synthetic"] is SYNTHETIC
    spec = DataSpec(200, 2, 3, overlap=0.05, overlap_kind="max")
    dataset = SYNTHETIC.load(spec, np.random.default_rng(4))
    data = simulate_mixture(spec, np.random.default_rng(4))
    assert np.array_equal(dataset.X, data.X) and np.array_equal(dataset.labels, data.labels)
    assert np.array_equal(dataset.truth.covariances, data.covariances)
    assert dataset.n_components == 3
    assert dataset.columns == {"achieved_overlap": data.achieved_overlap.maximum}
    SYNTHETIC.check(spec, np.random.default_rng(4))  # reachable: no error
