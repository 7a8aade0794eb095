"""select_model with default settings against R mclust 6.0.0 on the bundled real data.

References: ``tests/data/mclust/mclust_bic_tables.csv`` and ``mclust_best_models.csv``,
made by ``tests/data/mclust/reference.R`` (``mclustBIC(X, G = 1:9, modelNames = ...)``;
EEE = tied, VVV = full, VVI = diag, VII = spherical; in 1-D E = tied, V = full).

What "reaches mclust and chooses mclust's model" means here. mclust's values are local
optima from one hierarchical start, so a row is *reached* when emgmm's log-likelihood is at
least mclust's minus 1e-3, or when emgmm's fit is degenerate (mclust would not report a
fit on a point or on tied values either; emgmm shows it as missing). emgmm may find better
non-degenerate optima than mclust; if one of them changes the BIC ranking, the choice
differs from mclust's and the test requires instead that emgmm's choice is at least as good
by mclust's own criterion (its BIC no worse than mclust's chosen BIC) and not degenerate.
Rows the defaults do not reach yet are listed in ``KNOWN_MISSES`` (checked, so that a
regression or an improvement shows).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emgmm import select_model

ROOT = Path(__file__).resolve().parents[2]
TABLES = pd.read_csv(ROOT / "tests" / "data" / "mclust" / "mclust_bic_tables.csv")
BEST = pd.read_csv(ROOT / "tests" / "data" / "mclust" / "mclust_best_models.csv")

# (covariance type, K): log-likelihood below mclust's by more than 1e-3 with the defaults
# (init_params="auto", n_init=1, tol=1e-7, random_state=0): none. With the three kinds of
# emgmm.multistart.AUTO_STARTS alone 11 rows were missed (Old Faithful full K = 6, 7, 9 and
# spherical K = 7, iris spherical K = 6, 7, galaxies full K = 4, GvHD.pos tied K = 8 and
# spherical K = 3, 4, 9); the search starts reach them. Galaxies full K = 6 needs several
# rounds of them (emgmm.multistart.search_rounds): its AUTO_STARTS end degenerate (a
# component on a few tied velocities) and one round's best non-degenerate fit was 0.21
# below mclust's -198.107.
KNOWN_MISSES = {
    "faithful": set(),
    "iris": set(),
    "galaxies": set(),
    "gvhd_pos": set(),
}
# Where emgmm's better optima change the BIC ranking (the module docstring's reading):
# galaxies full K = 3 (see the test below); gvhd_pos full K = 9, at -207931.6 (mclust
# -208349.3; its full K = 8 is -208236.9 against mclust's -208410.1), BIC -417084 on
# mclust's scale against mclust's chosen full K = 8 at -417905.
BETTER_THAN_MCLUST = {"galaxies": ("full", 3), "gvhd_pos": ("full", 9)}


def _data(name: str) -> np.ndarray:
    X = pd.read_csv(ROOT / "experiments" / "datasets" / f"{name}.csv").select_dtypes("number").to_numpy(float)
    return X / 1000.0 if name == "galaxies" else X


@pytest.fixture(scope="module", params=["faithful", "iris", "galaxies", "gvhd_pos"])
def selection(request):
    name = request.param
    X = _data(name)
    types = ["tied", "full"] if X.shape[1] == 1 else ["tied", "full", "diag", "spherical"]
    return name, X, select_model(X, range(1, 10), types, random_state=0)


def test_every_mclust_row_is_reached_or_degenerate(selection):
    name, X, result = selection
    misses = set()
    for row in result.rows:
        reference = TABLES[(TABLES.data == name) & (TABLES.covariance_type == row.covariance_type)
                           & (TABLES.n_components == row.n_components)].log_likelihood.iloc[0]
        if row.degenerate is None and row.log_likelihood < reference - 1e-3:
            misses.add((row.covariance_type, row.n_components))
    assert misses == KNOWN_MISSES[name]


def test_choice_is_mclusts_or_better_by_mclusts_bic(selection):
    name, X, result = selection
    mclust = BEST[BEST.data == name].iloc[0]
    best = result.best
    assert best.degenerate is None
    # mclust's BIC is minus ours.
    assert -best.bic >= mclust.bic - 1e-3
    expected = BETTER_THAN_MCLUST.get(name, (mclust.covariance_type, mclust.n_components))
    assert (best.covariance_type, best.n_components) == expected


def test_galaxies_chooses_a_better_three_component_optimum_than_mclust_found():
    """mclust's V K = 3 fit is a local optimum (-212.08); emgmm reaches -203.18 with three
    well-supported components (7, 3 and 72 velocities, no degeneracy), whose mclust BIC
    (-441.6) beats mclust's chosen V K = 4 (-446.98): by mclust's own criterion K = 3 is
    the better model, so emgmm choosing it is the reading the module docstring gives."""
    X = _data("galaxies")
    result = select_model(X, range(1, 10), ["tied", "full"], random_state=0)
    best = result.best
    assert (best.covariance_type, best.n_components, best.degenerate) == ("full", 3, None)
    assert best.log_likelihood == pytest.approx(-203.18, abs=0.01)
    assert np.sort(result.best_model.weights_ * X.shape[0]) == pytest.approx([3.0, 7.0, 72.0], abs=0.05)
    assert -best.bic > -446.982904 + 5.0
