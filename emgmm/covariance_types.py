"""The covariance types of a Gaussian mixture: the one place that lists them.

Layouts follow scikit-learn: ``full`` (K, D, D), ``tied`` (D, D), ``diag`` (K, D),
``spherical`` (K,).
"""

from __future__ import annotations

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
