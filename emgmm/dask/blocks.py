"""The row blocks of a Dask array, its checks, and the fixed-order tree reduction.

A pass over the data maps a function over the row blocks (one task per block) and combines
the per-block results in a tree whose shape depends only on the number of blocks: groups of
``FAN_IN`` consecutive partial results, level by level, each group folded left to right.
Every addition is therefore done in the same order whatever the scheduler and the number
of workers, so the same data and chunking give the same numbers to the last bit.
"""

from __future__ import annotations

import functools
import sys
import uuid
from collections.abc import Callable
from concurrent.futures import CancelledError
from dataclasses import dataclass

import dask
import dask.array as da
import numpy as np
from dask.delayed import Delayed
from dask.highlevelgraph import HighLevelGraph

# Partial results combined per task of the reduction tree.
FAN_IN = 8

__all__ = ["FAN_IN", "Blocks", "SchedulerLostError", "blocks_of", "check_dask_data", "run_pass",
           "tree_layer"]


class SchedulerLostError(RuntimeError):
    """The ``distributed`` scheduler running a pass went away: the fit is abandoned."""


def _current_client():
    """The active ``distributed`` client, None without one (``distributed`` not imported)."""
    if "distributed" not in sys.modules:
        return None
    try:
        return sys.modules["distributed"].Client.current(allow_global=True)
    except ValueError:
        return None


def _compute_on(client, graph):
    """``dask.compute(graph)``; if ``client``'s scheduler went away meanwhile, one
    :class:`SchedulerLostError` naming it (the client gave up reconnecting)."""
    address = getattr(getattr(client, "scheduler", None), "address", None)
    try:
        return dask.compute(graph)[0]
    except Exception as error:
        if client is None or (client.status == "running" and not isinstance(error, CancelledError)):
            raise
        raise SchedulerLostError(
            f"the Dask scheduler at {address or 'its address'} went away during a pass over the "
            f"data ({type(error).__name__}): restart the cluster, connect a new Client and fit "
            "again (no model was kept)") from None


def check_dask_data(X, *, name: str = "X") -> da.Array:
    """``X`` as a float64 Dask array of shape (n_samples, n_features), one column block.

    Raises ValueError (TypeError for a non-numeric dtype) in one line for: not 2-D, unknown
    chunk sizes, no rows or columns, complex or non-numeric values. Non-finite values are
    found by the first pass (:mod:`emgmm.dask.summary`), which names the first bad block.
    """
    if X.ndim != 2:
        hint = ": reshape it with X.reshape(-1, 1) for one feature" if X.ndim == 1 else ""
        raise ValueError(f"{name} must be 2-D of shape (n_samples, n_features), got {X.ndim}-D{hint}")
    if any(np.isnan(size) for sizes in X.chunks for size in sizes):
        raise ValueError(f"{name} has unknown chunk sizes (e.g. after boolean indexing): call "
                         f"{name}.compute_chunk_sizes() first")
    if np.issubdtype(X.dtype, np.complexfloating):
        raise ValueError(f"Complex data not supported: {name} must be real")
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise TypeError(f"{name} has dtype {X.dtype}, not a number: convert it with "
                        f"{name}.astype(float)")
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"{name} has shape {X.shape}: at least one sample and one feature are needed")
    if len(X.chunks[1]) > 1:  # rows are the unit of work: all columns of a row in one block
        X = X.rechunk({1: -1})
    return X.astype(np.float64) if X.dtype != np.float64 else X


@dataclass(frozen=True)
class Blocks:
    """The row blocks of a checked Dask array.

    Attributes
    ----------
    array : dask.array.Array
    keys : tuple
        The graph key of each row block, in row order.
    offsets : tuple of int
        Index of the first row of each block.
    """

    array: da.Array
    keys: tuple
    offsets: tuple[int, ...]

    @property
    def n_samples(self) -> int:
        return int(self.array.shape[0])

    def rows(self, block: int) -> tuple[int, int]:
        """First row and one past the last row of ``block``."""
        return self.offsets[block], self.offsets[block] + self.array.chunks[0][block]


def blocks_of(X: da.Array) -> Blocks:
    """:class:`Blocks` of a checked array (:func:`check_dask_data`)."""
    offsets = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]]).astype(int)
    keys = tuple(row[0] for row in X.__dask_keys__())  # X has one column block
    return Blocks(X, keys, tuple(int(o) for o in offsets))


class _Arguments:
    """The shared arguments of a pass, one literal of the graph (not scanned for keys)."""

    def __init__(self, values: tuple) -> None:
        self.values = values


def _call(per_block: Callable, block, position: tuple, arguments: _Arguments):
    return per_block(np.asarray(block), *position, *arguments.values)


def _fold(combine: Callable, *partials):
    return functools.reduce(combine, partials)


def tree_layer(name: str, leaves: list, combine: Callable, fan_in: int = FAN_IN) -> tuple[dict, tuple]:
    """Graph tasks combining the results at keys ``leaves`` in groups of ``fan_in``
    consecutive ones, level by level (a tree fixed by ``len(leaves)``); and the root key."""
    layer, level, depth = {}, list(leaves), 0
    while len(level) > 1:
        depth += 1
        groups = [level[i:i + fan_in] for i in range(0, len(level), fan_in)]
        level = [(name, depth, i) for i in range(len(groups))]
        layer.update({key: (_fold, combine, *group) for key, group in zip(level, groups)})
    return layer, level[0]


def run_pass(blocks: Blocks, per_block: Callable, combine: Callable, *arguments,
             with_offset: bool = False):
    """``per_block(block, *arguments)`` (or ``per_block(block, offset, index, *arguments)``)
    on every block, combined in the fixed tree of :func:`tree_layer`, computed by the current
    Dask scheduler (a ``distributed`` client when one is active; :class:`SchedulerLostError`
    when its scheduler goes away).

    The graph is written out directly (one task per block and per tree node; the arguments,
    small, are one literal), which costs microseconds per block rather than the
    milliseconds of building it from ``dask.delayed`` calls.
    """
    name = f"emgmm-pass-{uuid.uuid4().hex}"
    shared = _Arguments(arguments)
    layer = {(name, 0, index): (_call, per_block, key, (offset, index) if with_offset else (), shared)
             for index, (key, offset) in enumerate(zip(blocks.keys, blocks.offsets))}
    tree, root = tree_layer(name, list(layer), combine)
    layer.update(tree)
    graph = HighLevelGraph.from_collections(name, layer, dependencies=[blocks.array])
    return _compute_on(_current_client(), Delayed(root, graph, layer=name))
