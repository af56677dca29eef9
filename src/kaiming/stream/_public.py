"""Named samplers on top of ``sample`` and the raw Philox4x32-10 generator.

``normal``, ``uniform`` and ``truncated_normal`` take ``sample``'s keyword arguments
``index``, ``dtype`` (default float64), ``backend`` and ``out`` (``SampleOptions``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

if TYPE_CHECKING:
    from typing_extensions import Unpack

from .._checks import check_nonnegative
from ._index import IndexLike
from ._keys import StreamKey
from ._philox import ROUNDS, philox4x32_rounds
from ._sample import Backend, sample

__all__ = ["SampleOptions", "normal", "philox4x32", "truncated_normal", "uniform"]


class SampleOptions(TypedDict, total=False):
    """The keyword arguments the named samplers pass on to ``sample``."""

    index: IndexLike
    dtype: DTypeLike
    backend: Backend
    out: NDArray[np.floating[Any]] | None


def normal(
    shape: int | tuple[int, ...],
    key: StreamKey,
    *,
    std: float = 1.0,
    **options: Unpack[SampleOptions],
) -> NDArray[np.floating[Any]]:
    """``N(0, std**2)`` values of the keyed tensor of ``shape`` (or its part ``index``).

    Example:
        >>> from kaiming.stream import key
        >>> w = normal((1000, 1000), key(0, "w"), std=0.5, dtype=np.float32)
        >>> round(float(w.std()), 2)
        0.5
    """
    with _as_argument("std"):
        return sample("normal", shape, key, scale=check_nonnegative("std", std), **options)


def uniform(
    shape: int | tuple[int, ...],
    key: StreamKey,
    *,
    limit: float = 1.0,
    **options: Unpack[SampleOptions],
) -> NDArray[np.floating[Any]]:
    """``U(-limit, limit)`` values of the keyed tensor of ``shape`` (or its part ``index``).

    Example:
        >>> from kaiming.stream import key
        >>> u = uniform(10_000, key(0, "u"), limit=3.0)
        >>> bool(abs(u).max() < 3.0), round(float(u.var()), 1)      # limit**2 / 3
        (True, 3.0)
    """
    with _as_argument("limit"):
        return sample("uniform", shape, key, scale=check_nonnegative("limit", limit), **options)


def truncated_normal(
    shape: int | tuple[int, ...],
    key: StreamKey,
    *,
    std: float = 1.0,
    **options: Unpack[SampleOptions],
) -> NDArray[np.floating[Any]]:
    """``N(0, std**2)`` restricted to ``[-2 std, 2 std]`` (no rejection: inverse CDF).

    ``std`` is the underlying normal's; the truncated values have std ``0.8796 * std``.

    Example:
        >>> from kaiming.stream import key
        >>> t = truncated_normal(10_000, key(0, "t"))
        >>> float(abs(t).max()) <= 2.0, round(float(t.std()), 2)
        (True, 0.88)
    """
    with _as_argument("std"):
        return sample("truncated_normal", shape, key, scale=check_nonnegative("std", std), **options)


@contextmanager
def _as_argument(name: str) -> Iterator[None]:
    """Errors ``sample`` raises about its ``scale`` name the sampler's own argument instead."""
    try:
        yield
    except ValueError as exc:
        if str(exc).startswith("scale="):
            raise ValueError(name + str(exc)[len("scale") :]) from None
        raise


def philox4x32(counter: ArrayLike, key: ArrayLike, rounds: int = 10) -> NDArray[np.uint32]:
    """The Philox4x32 bit generator (Random123): 4 words out per 4-word counter and 2-word key.

    ``counter`` has shape ``(..., 4)`` and ``key`` shape ``(..., 2)`` (broadcast), both of
    uint32 values; the result has the broadcast shape ``(..., 4)``. ``rounds`` is 10 for
    Philox4x32-10, the variant the streams use.

    Example:
        >>> [hex(w) for w in philox4x32([0, 0, 0, 0], [0, 0])]
        ['0x6627e8d5', '0xe169c58d', '0xbc57ac4c', '0x9b00dbd8']
    """
    c = np.asarray(counter)
    k = np.asarray(key)
    for name, value, width in (("counter", c, 4), ("key", k, 2)):
        if value.ndim == 0 or value.shape[-1] != width or value.dtype.kind not in "iu":
            raise ValueError(f"{name} must be an integer array of shape (..., {width}), got {value!r}")
        if value.size and (value.min() < 0 or value.max() > 0xFFFFFFFF):
            raise ValueError(f"{name} words must be in [0, 2**32), got {value!r}")
    if isinstance(rounds, bool) or not isinstance(rounds, int) or not 1 <= rounds <= 16:
        raise ValueError(f"rounds must be an int in [1, 16], got {rounds!r}")
    c64, k64 = c.astype(np.uint64), k.astype(np.uint64)
    c0, c1, c2, c3 = np.moveaxis(c64, -1, 0)
    k0, k1 = np.moveaxis(k64, -1, 0)
    words = philox4x32_rounds(c0, c1, c2, c3, k0, k1, rounds)
    return np.stack(np.broadcast_arrays(*words), axis=-1).astype(np.uint32)


del ROUNDS
