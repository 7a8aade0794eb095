"""The registry of methods: each row kind of results.csv and how a replicate makes it.

Methods run in registration order within a replicate, each on the same data set with its
own seed; a method reads the stages of the methods it requires. Adding one (a variational
method, say) is a new module defining a :class:`~experiments.measure.base.Method` and one
line in :data:`METHODS` (plus its import), and its columns in
:data:`experiments.run.rundir.METRIC_COLUMNS_MEANING` if it has new ones.
"""

from __future__ import annotations

from experiments.measure.advi import ADVI
from experiments.measure.base import Method
from experiments.measure.em import EM
from experiments.measure.mcmc import MCMC
from experiments.measure.selection import SELECTION
from experiments.measure.vb import VB

# name -> method, in the order a replicate runs them (and results.csv lists their rows)
METHODS: dict[str, Method] = {
    EM.name: EM,
    MCMC.name: MCMC,
    ADVI.name: ADVI,
    VB.name: VB,
    SELECTION.name: SELECTION,
}
