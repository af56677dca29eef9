"""Gauss-Legendre nodes for Gaussian expectations on each half-line (internal)."""

from __future__ import annotations

import math
from functools import cache

import numpy as np
from numpy.typing import NDArray

__all__ = ["CUTOFF", "NODES", "gaussian_nodes", "half_nodes"]

CUTOFF = 10.0
"""Standard deviations; the Gaussian mass beyond is 1.5e-23."""
NODES = 96


@cache
def half_nodes() -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Nodes ``t`` in (0, CUTOFF) and weights ``w * pdf(t)`` for ``int_0^CUTOFF f(t) pdf(t) dt``."""
    x, w = np.polynomial.legendre.leggauss(NODES)
    t = 0.5 * CUTOFF * (x + 1.0)
    weights = 0.5 * CUTOFF * w * np.exp(-0.5 * t * t) / math.sqrt(2.0 * math.pi)
    return t, weights


@cache
def _full_nodes() -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    t, w = half_nodes()
    return np.concatenate([t, -t]), np.concatenate([w, w])


def gaussian_nodes(q: float = 1.0) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Nodes ``z`` and weights ``w`` with ``sum(w * f(z)) = E[f(u)]``, ``u ~ N(0, q)``: the two
    half-lines' nodes (split at the kink at 0) scaled by ``sqrt(q)``.

    Example:
        >>> z, w = gaussian_nodes(4.0)
        >>> round(float(w @ z**2), 12)
        4.0
    """
    z, w = _full_nodes()
    return math.sqrt(q) * z, w
