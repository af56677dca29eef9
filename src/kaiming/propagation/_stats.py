"""Cheap statistics and in-place activations for the probe (internal).

Every function here works on float32/float64 arrays of shape ``(batch, width)`` and makes at
most one temporary of that size, so a probe's working memory stays a few ``batch x width``
buffers however deep the network is.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from .._activations import get_activation

__all__ = ["activate", "derivative", "histogram", "mean_std", "product_std", "zero_fractions"]

Array = NDArray[np.floating]
_TINY = 1e-30


def mean_std(values: Array, scratch: Array | None = None) -> tuple[float, float]:
    """Mean and (population) std over all elements, in two passes.

    The mean is summed pairwise in float64; the std is ``sqrt(dot(d, d) / n)`` of the deviations
    ``d = values - mean`` (one BLAS dot), which avoids the cancellation of
    ``E[x**2] - E[x]**2`` when the mean dominates (saturated sigmoids). Values that overflowed
    give ``std = inf`` (and a mean of ``nan`` only if both infinities occur).
    """
    flat = values.reshape(-1)
    n = flat.size
    with np.errstate(over="ignore", invalid="ignore"):
        mean = float(np.add.reduce(flat, dtype=np.float64)) / n
        if not math.isfinite(mean):
            return mean, math.inf
        dev = np.subtract(
            flat, flat.dtype.type(mean), out=None if scratch is None else scratch.reshape(-1)[:n]
        )
        var = float(np.dot(dev, dev)) / n
        if var < _TINY and flat.dtype != np.float64:  # squares of tiny float32 values underflow
            dev64 = flat.astype(np.float64)
            dev64 -= mean
            var = float(np.dot(dev64, dev64)) / n
    return mean, math.sqrt(var) if math.isfinite(var) else math.inf


def product_std(a: Array, b: Array) -> float:
    """Std of the entries of ``a.T @ b`` (``a``: ``(n, p)``, ``b``: ``(n, r)``) without forming it
    when that is cheaper.

    ``sum((a.T @ b)**2) = sum((a @ a.T) * (b @ b.T))`` (two ``n x n`` Gram matrices, computed by
    BLAS ``syrk`` at ``n**2 (p + r) / 2`` multiply-adds instead of ``n p r``) and
    ``sum(a.T @ b) = a.sum(1) @ b.sum(1)``.
    """
    n, p = a.shape
    r = b.shape[1]
    if a.dtype != np.float64 and 0 < _magnitude(a) * _magnitude(b) < _TINY:  # products would underflow
        a, b = a.astype(np.float64), b.astype(np.float64)
    if n * (p + r) >= 2 * p * r:
        return mean_std(a.T @ b)[1]
    count = p * r
    mean = float(np.dot(a.sum(axis=1, dtype=np.float64), b.sum(axis=1, dtype=np.float64))) / count
    square = float(np.vdot(a @ a.T, b @ b.T)) / count
    return math.sqrt(max(square - mean * mean, 0.0)) if math.isfinite(square) else math.inf


def _magnitude(values: Array) -> float:
    return float(np.abs(values.reshape(-1)[:: max(values.size // 4096, 1)]).max(initial=0.0))


def zero_fractions(post: Array) -> tuple[float, float]:
    """Share of values exactly 0, and share of units (columns) that are 0 for the whole batch."""
    dead = 1.0 - np.count_nonzero(post) / post.size
    dead_units = 1.0 - np.count_nonzero(post.any(axis=0)) / post.shape[1] if dead > 0 else 0.0
    return float(dead), float(dead_units)


def histogram(values: Array, bins: int, exponent: int = 0) -> dict[str, object]:
    """``{"edges": [...], "counts": [...]}`` of the finite values (``bins`` equal bins) of
    ``values * 2**exponent`` (the scale is applied to the edges, exactly)."""
    flat = values.reshape(-1)
    finite = flat[np.isfinite(flat)]
    counts, edges = np.histogram(finite.astype(np.float64), bins=bins)
    return {"edges": [math.ldexp(float(e), exponent) for e in edges], "counts": [int(c) for c in counts]}


def activate(name: str, z: Array, param: float, out: Array) -> Array:
    """``phi(z)``, written into ``out`` for the common activations (returns the result)."""
    if name == "linear":
        return z
    if name == "relu":
        return np.maximum(z, 0, out=out)
    if name in ("leaky_relu", "prelu"):
        np.multiply(z, z.dtype.type(param), out=out)
        return np.maximum(z, out, out=out) if param <= 1 else np.minimum(z, out, out=out)
    if name == "tanh":
        return np.tanh(z, out=out)
    with np.errstate(over="ignore", invalid="ignore"):
        return get_activation(name)(z, param).astype(z.dtype, copy=False)


def derivative(name: str, z: Array, param: float) -> Array | None:
    """``phi'(z)`` (``None`` for linear: multiply by one)."""
    if name == "linear":
        return None
    if name == "relu":
        return (z > 0).astype(z.dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        return get_activation(name).grad(z, param).astype(z.dtype, copy=False)
