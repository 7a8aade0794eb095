"""Matching of mixture components: the one place the Hungarian algorithm is called.

Mixture components are exchangeable, so comparing two estimates (or an estimate with the
truth, or posterior draws with a reference) first needs the permutation that matches them.
Given a cost matrix ``C[k, j]`` of pairing reference component ``k`` with candidate
component ``j``, the matching minimises :math:`\\sum_k C_{k, \\sigma(k)}` over permutations
:math:`\\sigma` (Kuhn 1955; :func:`scipy.optimize.linear_sum_assignment`).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment


def matching_order(cost: np.ndarray) -> np.ndarray:
    """Permutation that puts candidate components in the reference order.

    Parameters
    ----------
    cost : array-like of shape (n_components, n_components)
        ``cost[k, j]`` is the cost of matching reference component ``k`` with candidate
        component ``j``.

    Returns
    -------
    order : ndarray of shape (n_components,)
        ``order[k]`` is the candidate component matched to reference component ``k``; taking
        candidates in this order (``params.permuted(order)``) aligns them with the reference.
    """
    cost = np.asarray(cost, dtype=float)
    if cost.ndim != 2 or cost.shape[0] != cost.shape[1]:
        raise ValueError(f"cost must be a square matrix, got shape {cost.shape}")
    rows, columns = linear_sum_assignment(cost)
    return columns[np.argsort(rows)]
