"""The registry of data sources: where a replicate's data set and its truth come from.

A data source turns a cell's spec and the replicate's data generator into a
:class:`Dataset`. Today there is one, ``synthetic`` (:mod:`experiments.simulate.generate`);
data files and larger-than-memory arrays are further sources. Adding one is a new module
with a :class:`DataSource` and one line in :data:`DATA_SOURCES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from emgmm import GaussianMixtureParams
from experiments.run.rundir import DataArrays
from experiments.simulate.generate import draw_reachable_geometry, simulate_mixture


@dataclass(frozen=True)
class Dataset:
    """One replicate's data and its truth.

    Attributes
    ----------
    arrays : experiments.run.rundir.DataArrays
        X, labels (-1 = outlier) and the true parameters, as saved in ``data.npz``.
    truth : emgmm.GaussianMixtureParams
        The true mixture (full covariances), the reference of every metric.
    n_components : int
        The true number of components (``k_true`` of model selection).
    columns : dict
        Columns of results.csv that describe the data set (on every row of the replicate).
    """

    arrays: DataArrays
    truth: GaussianMixtureParams
    n_components: int
    columns: dict

    @property
    def X(self) -> np.ndarray:
        return self.arrays.X

    @property
    def labels(self) -> np.ndarray:
        return self.arrays.labels


@dataclass(frozen=True)
class DataSource:
    """A registered data source.

    Attributes
    ----------
    name : str
    load : callable ``(spec, rng) -> Dataset``
        The replicate's data set from the cell's spec and the replicate's data generator.
    check : callable ``(spec, rng) -> None``
        Cheap validation with the run's seeds (``gmm-compare validate``); raises
        ValueError ``"<key>: <problem>"``.
    """

    name: str
    load: Callable[[Any, np.random.Generator], Dataset]
    check: Callable[[Any, np.random.Generator], None]


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
}
