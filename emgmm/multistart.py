"""Several starts of EM and the choice among them (``n_init``, ``init_params="auto"``).

``"auto"`` runs the hierarchical, k-means++ and k-means starts (:data:`AUTO_STARTS`) and
keeps the best. On large data it screens them first ("small EM", Biernacki, Celeux and
Govaert 2003): each start gets a few EM iterations and only the best is continued, so a poor
start costs a few iterations rather than a run to a tight tolerance. On small data every
start runs to the end (cheap, and on Old Faithful and iris screening missed 3 more of R
mclust's optima), and four search starts follow (:data:`SEARCH_STARTS`, kept only when
their fit is not degenerate).

Beyond ``Screening.sample_rows`` rows the starts and their screening run on a uniform
subsample of that many rows, as mclust initialises large data sets from a subset
(``initialization = list(subset = ...)``, Fraley, Raftery and Wehrens 2005): the best start
is run to convergence on the subsample, and EM then continues from its estimate on all the
rows. The estimate from the subsample is within sampling error of the full-data optimum,
so the passes over all the data are the few of the last climb, whatever the number of
starts (a default fit at N = 10^6, D = 10, K = 10: ``docs/em-speed.md``).
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass

import numpy as np

from emgmm._validation import AUTO_STARTS
from emgmm.init import HIERARCHICAL_MAX_ROWS


@dataclass(frozen=True)
class Screening:
    """When and how briefly ``init_params="auto"`` screens its starts.

    Attributes
    ----------
    min_rows : int
        Screen on data with at least this many rows.
    iterations : int
        EM iterations each start gets before only the best is continued.
    sample_rows : int
        Rows of the subsample the starts and their screening run on (module docstring),
        at least ``rows_per_parameter`` times the model's free parameters; on no more rows
        than that, all rows.
    rows_per_parameter : int
        Lower bound of the subsample's size per free parameter, so that the subsample
        estimates a large model (e.g. K = 20, D = 50, full) well.
    """

    min_rows: int = 50_000
    iterations: int = 10
    sample_rows: int = 20_000
    rows_per_parameter: int = 20

    def subsample_rows(self, n_parameters: int) -> int:
        """Rows of the subsample for a model of ``n_parameters`` free parameters."""
        return max(self.sample_rows, self.rows_per_parameter * n_parameters)

    def applies(self, init_params: str, n_starts: int, n_rows: int) -> bool:
        return init_params == "auto" and n_starts > 1 and n_rows >= self.min_rows


def screening_rows(n_samples: int, n_parameters: int, screening: Screening,
                   rng: np.random.Generator) -> np.ndarray | None:
    """Sorted indices of the rows the starts are screened on: a uniform subsample of
    :meth:`Screening.subsample_rows` rows, or None when there are no more rows than that
    (the screening then uses all of them)."""
    size = screening.subsample_rows(n_parameters)
    if n_samples <= size:
        return None
    return np.sort(rng.choice(n_samples, size=size, replace=False))


# The search starts of init_params="auto" in maximum-likelihood EM on data too small to
# screen (emgmm.fit.fit_em, below Screening.min_rows rows), run after the AUTO_STARTS of
# every round: a soft random start, a second k-means++ / k-means pair (new seeds) and a
# start from random rows. With AUTO_STARTS alone the defaults missed 11 of R mclust's 126
# optima on the bundled data (tests/emgmm/test_mclust_reference.py): k-means starts find
# mclust's optima of the spherical models only for some seeds, random starts those of Old
# Faithful's full models. Random starts also often end on a component collapsed onto tied
# values, hence the rule that a search start only wins when it is not degenerate.
SEARCH_STARTS = ("random", "k-means++", "kmeans", "random_from_data")
# On tiny data the search runs several rounds, SEARCH_ROWS // n_rows of them (at least one,
# at most MAX_SEARCH_ROUNDS): about the EM work of one round on SEARCH_ROWS rows. On the 82
# galaxy velocities (full K = 6) the three AUTO_STARTS end degenerate; one round found a
# non-degenerate fit at least as good as mclust's for 8 of random_state 0-19, four rounds
# for 16, eight for 19 and sixteen for all 20 (their times: docs/em-speed.md).
SEARCH_ROWS = 2_000
MAX_SEARCH_ROUNDS = 16


def search_rounds(n_rows: int) -> int:
    """Rounds of :data:`SEARCH_STARTS` per ``n_init`` on data of ``n_rows`` rows."""
    return int(np.clip(SEARCH_ROWS // max(n_rows, 1), 1, MAX_SEARCH_ROUNDS))


def search_methods(X: np.ndarray, init_params: str, n_init: int, given: tuple,
                   screening: Screening) -> list[str]:
    """The search starts (:data:`SEARCH_STARTS`, ``n_init`` times :func:`search_rounds`) of
    ``"auto"`` on data of
    fewer than ``screening.min_rows`` rows, none otherwise (or when every ``*_init`` array
    is given). A search start only replaces the best start when its fit is not degenerate
    (:func:`preferred`): on data where every fit is degenerate (e.g. 0/1 columns) the
    likelihood is set by ``reg_covar`` and the result stays that of :data:`AUTO_STARTS`."""
    if init_params != "auto" or X.shape[0] >= screening.min_rows or len(
            start_methods(X, init_params, 1, given)) < len(AUTO_STARTS):
        return []
    return list(SEARCH_STARTS) * (n_init * search_rounds(X.shape[0]))


def start_methods(X: np.ndarray, init_params: str, n_init: int, given: tuple) -> list[str]:
    """The start method of each start.

    ``n_init`` times ``init_params``; for ``"auto"`` ``n_init`` rounds of :data:`AUTO_STARTS`
    (the hierarchical start once when it uses every row, as it is then the same each round;
    one start when every ``*_init`` array is given, as nothing is then estimated).
    """
    if init_params != "auto":
        return [init_params] * n_init
    weights, means, precisions, covariances = given
    if weights is not None and means is not None and (precisions is not None
                                                      or covariances is not None):
        return ["kmeans"] * n_init  # nothing is estimated: the method is never used
    exhaustive = X.shape[0] <= HIERARCHICAL_MAX_ROWS
    return [method for repeat in range(n_init) for method in AUTO_STARTS
            if not (method == "hierarchical" and exhaustive and repeat > 0)]


def start_count(n_rows: int, init_params: str, n_init: int,
                screening: Screening = Screening()) -> int:
    """EM starts of one maximum-likelihood fit on ``n_rows`` rows, no ``*_init`` array
    given: the lengths of :func:`start_methods` and :func:`search_methods`, computed
    without building them (``n_init`` may be huge; on tiny data ``"auto"`` runs up to
    ``n_init`` x (3 + 4 x 16) starts)."""
    if init_params != "auto":
        return n_init
    once = "hierarchical" in AUTO_STARTS and n_rows <= HIERARCHICAL_MAX_ROWS
    starts = n_init * len(AUTO_STARTS) - (n_init - 1 if once else 0)
    if n_rows < screening.min_rows:
        starts += len(SEARCH_STARTS) * n_init * search_rounds(n_rows)
    return starts


def preferred(result, best, search: bool = False) -> bool:
    """A non-degenerate start beats a degenerate one; otherwise the higher objective wins.
    A search start (:func:`search_methods`) only wins when it is not degenerate."""
    if search and result.degenerate is not None:
        return False
    if (result.degenerate is None) != (best.degenerate is None):
        return result.degenerate is None
    return result.objective > best.objective


def start_key(params) -> bytes:
    """The bytes that fix an EM run from ``params`` (its covariance type, shapes and values).

    k-means starts from different seeds often end in the same partition, so on small data
    many starts are the same parameters (about half of them on 60 rows in 1-D, a quarter on
    200 rows in 2-D with K = 2). A run from a start another start already ran without
    re-seeding draws no random numbers, so its result would be that run's, bit for bit, and
    it could not win (:func:`preferred` keeps the earlier of equal results, and a search
    start never beats an equal non-search one): :func:`emgmm.fit.fit_em` skips it.
    """
    digest = hashlib.blake2b(params.covariance_type.encode(), digest_size=32)
    for values in (params.weights, params.means, params.covariances):
        digest.update(repr(values.shape).encode())
        digest.update(np.ascontiguousarray(values).tobytes())
    return digest.digest()


def joined(first, rest):
    """One run (an ``EMResult``) from ``first``'s start: ``rest`` continued from ``first``."""
    offset = first.n_iter
    return dataclasses.replace(
        rest,
        log_likelihood_history=np.concatenate([first.log_likelihood_history,
                                               rest.log_likelihood_history]),
        n_iter=offset + rest.n_iter,
        params_history=first.params_history + rest.params_history[1:],
        reseeded=first.reseeded + tuple((offset + i, k) for i, k in rest.reseeded),
        decreases=first.decreases + tuple((offset + i, c) for i, c in rest.decreases),
    )
