"""The registry of data sources: where a replicate's data set and its truth come from.

A data source turns a cell's spec and the replicate's data generator into a
:class:`~experiments.simulate.dataset.Dataset`: ``synthetic`` simulates mixtures with known
truth (:mod:`experiments.simulate.generate`), ``file`` reads a user's table
(:mod:`experiments.simulate.file_source`, no truth). Adding one is a new module with a
:class:`~experiments.simulate.dataset.DataSource` and one line in :data:`DATA_SOURCES`.
"""

from __future__ import annotations

import numpy as np

from emgmm import GaussianMixtureParams
from experiments.run.rundir import DataArrays
from experiments.simulate.dataset import Dataset, DataSource
from experiments.simulate.file_source import FILE
from experiments.simulate.generate import draw_reachable_geometry, simulate_mixture

__all__ = ["DATA_SOURCES", "FILE", "SYNTHETIC", "DataSource", "Dataset"]


# ---------------------------------------------------------------------------------------
# synthetic: mixtures with known truth
# ---------------------------------------------------------------------------------------


def load_synthetic(spec, rng: np.random.Generator) -> Dataset:
    """Simulate the mixture of ``spec`` (:func:`experiments.simulate.generate.simulate_mixture`)."""
    data = simulate_mixture(spec, rng)
    overlap = data.achieved_overlap
    achieved = overlap.maximum if spec.overlap_kind == "max" else overlap.average
    return Dataset(
        arrays=DataArrays(**data.as_arrays()),
        truth=GaussianMixtureParams(data.weights, data.means, data.covariances, "full"),
        n_components=spec.n_components,
        columns={"achieved_overlap": float(achieved)},
    )


def check_synthetic(spec, rng: np.random.Generator) -> None:
    """The first step of the simulation: is the overlap target reachable?"""
    draw_reachable_geometry(spec, rng)


SYNTHETIC = DataSource("synthetic", load_synthetic, check_synthetic)

# name -> data source; a new source is one module and one line here
DATA_SOURCES: dict[str, DataSource] = {
    SYNTHETIC.name: SYNTHETIC,
    FILE.name: FILE,
}
