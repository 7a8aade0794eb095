"""The first pass over a Dask array: finite check, per-feature moments, a seeded sample.

One pass computes, for every block, whether it is finite (the first block that is not is
named in the error, without loading the rest into memory), its count, mean and centred
sum of squares per feature (merged with Chan, Golub and LeVeque's pairwise update,
:math:`M_{2,ab} = M_{2,a} + M_{2,b} + \\delta^2 n_a n_b / (n_a + n_b)`), its per-feature
minimum and maximum, and a uniform random sample of rows without replacement.

The sample is a *bottom-m* sample: every row gets a key, a 64-bit hash of its global row
index and a seed (SplitMix64's finaliser, a bijection), and the sample is the ``m`` rows
with the smallest keys, ordered by key. Each block keeps its own ``m`` smallest; merging two
candidate sets keeps the ``m`` smallest of both. The sample therefore depends on the seed
and the data only, not on the chunking or the workers.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from emgmm.dask.blocks import Blocks, run_pass

# Rows of the seeded sample the starts are computed on (at most n_samples).
SAMPLE_ROWS = 20_000

__all__ = ["SAMPLE_ROWS", "DataSummary", "row_keys", "summarise"]


@dataclass(frozen=True)
class DataSummary:
    """What the first pass learns about X (per-feature arrays of shape (n_features,)).

    Attributes
    ----------
    n_samples : int
    mean, variances, minimum, maximum : ndarray
        ``variances`` is the population variance (``np.var(X, axis=0)``).
    sample : ndarray of shape (m, n_features)
        The seeded uniform sample of rows, ordered by key.
    first_bad_block : int or None
        The first block holding NaN or infinity.
    """

    n_samples: int
    mean: np.ndarray
    variances: np.ndarray
    minimum: np.ndarray
    maximum: np.ndarray
    sample: np.ndarray
    first_bad_block: int | None


@dataclass(frozen=True)
class _Partial:
    count: int
    mean: np.ndarray
    squares: np.ndarray  # sum of squared deviations from ``mean``
    minimum: np.ndarray
    maximum: np.ndarray
    keys: np.ndarray
    rows: np.ndarray
    first_bad_block: int | None


def row_keys(indices: np.ndarray, seed: int) -> np.ndarray:
    """SplitMix64 of ``seed + index * golden gamma``: distinct uint64 keys for distinct rows."""
    with np.errstate(over="ignore"):  # arithmetic modulo 2**64 is the point
        z = np.uint64(seed) + indices.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _smallest(keys: np.ndarray, rows: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(keys, kind="stable")[:m]
    return keys[order], rows[order]


def _block_summary(block: np.ndarray, offset: int, index: int, seed: int, m: int) -> _Partial:
    n_rows, n_features = block.shape
    if not np.all(np.isfinite(block)):
        empty = np.zeros(n_features)
        return _Partial(0, empty, empty, np.full(n_features, np.inf), np.full(n_features, -np.inf),
                        np.empty(0, np.uint64), np.empty((0, n_features)), index)
    mean = block.mean(axis=0)
    keys, rows = _smallest(row_keys(np.arange(offset, offset + n_rows), seed), block, m)
    with np.errstate(over="ignore"):  # squares near 1e400: the fit's scale check refuses them
        squares = ((block - mean) ** 2).sum(axis=0)
    return _Partial(n_rows, mean, squares, block.min(axis=0), block.max(axis=0), keys,
                    rows.copy(), None)


def _merge(a: _Partial, b: _Partial, m: int) -> _Partial:
    count = a.count + b.count
    delta = b.mean - a.mean
    share = b.count / count if count else 0.0
    keys, rows = _smallest(np.concatenate([a.keys, b.keys]), np.concatenate([a.rows, b.rows]),
                           m)
    bad = [i for i in (a.first_bad_block, b.first_bad_block) if i is not None]
    with np.errstate(over="ignore", invalid="ignore"):  # as in _block_summary
        squares = a.squares + b.squares + delta**2 * a.count * share
    return _Partial(count, a.mean + delta * share, squares,
                    np.minimum(a.minimum, b.minimum), np.maximum(a.maximum, b.maximum),
                    keys, rows, min(bad) if bad else None)


def summarise(blocks: Blocks, seed: int, sample_rows: int = SAMPLE_ROWS) -> DataSummary:
    """The first pass (module docstring); ``seed`` chooses the sample."""
    total = run_pass(blocks, _block_summary, functools.partial(_merge, m=sample_rows), seed,
                     sample_rows, with_offset=True)
    count = max(total.count, 1)
    return DataSummary(total.count, total.mean, total.squares / count, total.minimum,
                       total.maximum, total.rows, total.first_bad_block)
