"""Plain random initializers with a fixed scale: ``normal(shape, mean, std)`` and
``uniform(shape, low, high)`` (Keras' ``RandomNormal``/``RandomUniform``, torch's
``normal_``/``uniform_``).

Randomness as in the rest of the family: ``seed`` or ``rng`` (a ``numpy.random.Generator``),
or ``key=kaiming.stream.key(seed, name)`` for the counter-based stream, with ``index=``
returning only ``full[index]``.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import DTypeLike, NDArray

from ._checks import check_array_request, check_nonnegative, check_not_tiny, check_real
from ._random import SeedLike, resolve_rng
from .stream import IndexLike, StreamKey, check_keyed, sample

__all__ = ["normal", "uniform"]


def normal(
    shape: int | tuple[int, ...],
    mean: float = 0.0,
    std: float = 1.0,
    *,
    seed: SeedLike = None,
    rng: np.random.Generator | None = None,
    key: StreamKey | None = None,
    index: IndexLike = None,
    dtype: DTypeLike = np.float64,
) -> NDArray[np.floating]:
    """``N(mean, std**2)`` values of ``shape``: ``mean + std * z`` with ``z`` standard normal.

    ``z`` comes from ``np.random.default_rng(seed)``/``rng`` (``standard_normal``), or from the
    counter stream of ``key`` (``kaiming.stream.normal``); the arithmetic is done in the
    working precision (float32 for float16/float32, float64 for float64).

    Example:
        >>> w = normal((1000, 1000), mean=1.0, std=0.5, seed=0)
        >>> round(float(w.mean()), 2), round(float(w.std()), 2)
        (1.0, 0.5)
        >>> from kaiming.stream import key
        >>> full = normal((4, 6), 0.0, 0.1, key=key(0, "w"))
        >>> bool(np.array_equal(normal((4, 6), 0.0, 0.1, key=key(0, "w"), index=slice(1, 3)), full[1:3]))
        True

    Raises:
        TypeError / ValueError: non-finite ``mean``, negative or non-finite ``std``, a bad
            ``shape``/``dtype``, both ``seed`` and ``rng``, ``index`` without ``key``, a
            nonzero ``std`` below the smallest normal number of ``dtype`` (6.1e-5 for float16),
            or values that overflow ``dtype``.
    """
    mean = check_real("mean", mean)
    std = check_nonnegative("std", std)
    return _affine("normal", shape, mean, std, seed, rng, key, index, dtype)


def uniform(
    shape: int | tuple[int, ...],
    low: float = 0.0,
    high: float = 1.0,
    *,
    seed: SeedLike = None,
    rng: np.random.Generator | None = None,
    key: StreamKey | None = None,
    index: IndexLike = None,
    dtype: DTypeLike = np.float64,
) -> NDArray[np.floating]:
    """``U(low, high)`` values of ``shape``, mean ``(low + high) / 2``, std ``(high - low) / sqrt(12)``.

    Seeded: ``low + (high - low) * u`` with ``u`` in ``[0, 1)`` from ``Generator.random``.
    Keyed: ``(low + high) / 2 + (high - low) / 2 * v`` with ``v`` in ``(-1, 1)`` from the
    counter stream of ``key`` (``kaiming.stream.uniform``).

    Example:
        >>> u = uniform((1000, 1000), -2.0, 4.0, seed=0)
        >>> bool(u.min() >= -2.0 and u.max() < 4.0), round(float(u.mean()), 1)
        (True, 1.0)

    Raises:
        TypeError / ValueError: non-finite ``low``/``high``, ``low >= high``, a bad
            ``shape``/``dtype``, both ``seed`` and ``rng``, ``index`` without ``key``, a width
            ``high - low`` below the smallest normal number of ``dtype``, or values that
            overflow ``dtype``.
    """
    low = check_real("low", low)
    high = check_real("high", high)
    if not low < high:
        raise ValueError(f"low must be below high, got low={low}, high={high}")
    if not math.isfinite(high - low):
        raise ValueError(f"high - low must be a finite float64, got low={low}, high={high}")
    return _affine("uniform", shape, low, high, seed, rng, key, index, dtype)


def _affine(
    distribution: str,
    shape: object,
    a: float,
    b: float,
    seed: object,
    rng: object,
    key: object,
    index: IndexLike,
    dtype: object,
) -> NDArray[np.floating]:
    """``normal``: ``a + b * z``; ``uniform`` on ``[a, b)``; from the key or the generator."""
    dims, out_dtype = check_array_request(shape, dtype)
    check_spread(distribution, a, b, out_dtype)
    work = np.dtype(np.float64) if out_dtype == np.float64 else np.dtype(np.float32)
    if check_keyed(key, index, seed, rng) and isinstance(key, StreamKey):
        if distribution == "normal":
            values = sample("normal", dims, key, scale=b, index=index, dtype=work)
            values += work.type(a)
        else:
            values = sample("uniform", dims, key, scale=(b - a) / 2.0, index=index, dtype=work)
            values += work.type((a + b) / 2.0)
    else:
        gen = resolve_rng(seed, rng)
        if distribution == "normal":
            values = gen.standard_normal(dims, dtype=work)
            values *= work.type(b)
            values += work.type(a)
        else:
            values = gen.random(dims, dtype=work)
            values *= work.type(b - a)
            values += work.type(a)
    with np.errstate(over="ignore"):
        result = values.astype(out_dtype, copy=False)
    if not np.isfinite(result).all():
        raise overflow_of(distribution, a, b, out_dtype.name)
    return result


def check_spread(distribution: str, a: float, b: float, dtype: np.dtype[np.floating]) -> None:
    """Refuse a random part too small for ``dtype`` (internal; the jax arrays share it): a
    normal's ``std = b`` or a uniform's width ``b - a``, nonzero but below the smallest normal
    number (``kaiming.torch.normal_``/``uniform_`` refuse the same)."""
    if distribution == "normal":
        check_not_tiny("std", b, dtype, b)
    else:
        check_not_tiny("high - low", b - a, dtype, b - a)


def overflow_of(distribution: str, a: float, b: float, dtype: str) -> ValueError:
    """The error for ``normal(mean=a, std=b)`` or ``uniform(low=a, high=b)`` values that
    overflowed ``dtype`` (internal; the jax arrays share it)."""
    names = ("mean", "std") if distribution == "normal" else ("low", "high")
    return ValueError(
        f"{names[0]}={a}, {names[1]}={b} give values that overflow {dtype}; "
        "use a wider dtype or smaller values"
    )
