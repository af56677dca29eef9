"""Gaussian expectations by Gauss-Hermite quadrature (internal)."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache

import numpy as np
from numpy.typing import NDArray

__all__ = ["gaussian_expectation"]


@cache
def _nodes(n: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    x, w = np.polynomial.hermite_e.hermegauss(n)
    return x, w / math.sqrt(2.0 * math.pi)


def gaussian_expectation(
    f: Callable[[NDArray[np.float64]], NDArray[np.floating]], variance: float = 1.0, n: int = 160
) -> float:
    """``E[f(z)]`` for ``z ~ N(0, variance)``, by ``n``-point probabilists' Gauss-Hermite."""
    x, w = _nodes(n)
    return float(np.dot(w, f(math.sqrt(variance) * x)))
