"""The counter stream in jax.numpy: jit-compatible, 32-bit integer ops only, bit-identical to NumPy.

Philox words are ``uint32`` and the 32x32 -> 64-bit products are made from 16-bit halves,
so the stream runs with ``jax_enable_x64`` off (float64 draws need it on, as any float64
array in JAX does). Flat indices of tensors past ``2**32`` elements are carried as two
``uint32`` words. Importing this module needs jax (``pip install "kaiming[jax]"``).

Two ways in:

- ``sample_jax(distribution, shape, key_words, scale=..., index=..., dtype=...)``: the whole
  tensor or ``full[index]`` (basic indexing), as ``kaiming.stream.sample`` returns it;
- ``sample_jax_block(distribution, shape, key_words, starts=..., block_shape=..., ...)``: the
  box ``full[s0:s0+n0, s1:s1+n1, ...]`` whose corner ``starts`` may be traced values (e.g.
  ``jax.lax.axis_index(...) * n`` inside ``shard_map``), so each device computes its shard only.

Both are plain jax functions: call them inside ``jax.jit`` (the ``key_words`` may be traced
``uint32`` scalars too). XLA on CPU does not contract ``a * b + c`` into an FMA (it emits
separate IEEE multiplies and adds; ``tests/test_stream_jax.py`` checks the jitted bits).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import check_choice, check_nonnegative, check_shape
from ._index import _axis, _entries
from ._sample import STREAM_DISTRIBUTIONS
from ._transforms import values_per_block
from ._xp import lane_values, philox_rounds

__all__ = ["JaxOps", "check_x64", "philox4x32_jax", "sample_jax", "sample_jax_block"]

_DTYPES = ("float16", "bfloat16", "float32", "float64")


class JaxOps:
    """``_xp.Ops`` for jax.numpy (32-bit words)."""

    def where(self, cond: Any, a: Any, b: Any) -> Any:
        return jnp.where(cond, a, b)

    def sqrt(self, x: Any) -> Any:
        return jnp.sqrt(x)

    def cast(self, x: Any, kind: str) -> Any:
        return x.astype(kind)

    def bitcast(self, x: Any, kind: str) -> Any:
        return jax.lax.bitcast_convert_type(x, jnp.dtype(kind))

    def mulhilo(self, m: int, a: Any) -> tuple[Any, Any]:
        """``m * a`` from four 16x16-bit products, each exact in uint32."""
        m_lo, m_hi = m & 0xFFFF, m >> 16
        a_lo, a_hi = a & 0xFFFF, a >> 16
        p0, p1, p2, p3 = a_lo * m_lo, a_hi * m_lo, a_lo * m_hi, a_hi * m_hi
        mid = (p0 >> 16) + (p1 & 0xFFFF) + (p2 & 0xFFFF)
        return p3 + (p1 >> 16) + (p2 >> 16) + (mid >> 16), a * np.uint32(m)

    def word(self, value: int) -> Any:
        return np.uint32(value)

    def keep(self, x: Any) -> Any:
        """XLA on CPU contracts ``a * b + c`` into an FMA (LLVM's ``AllowFPOpFusion=Fast``;
        no flag turns it off) and its simplifier folds ``(x + c1) + c2`` into
        ``x + (c1 + c2)``. ``minimum(x, FLT_MAX)`` (``x`` itself: the values are finite) stands
        between: an addition then has no multiply operand, a constant no constant to meet."""
        return jnp.minimum(x, float(np.finfo(x.dtype).max))


_OPS = JaxOps()


def _u32(x: Any) -> Any:
    if isinstance(x, (int, np.integer)):
        return jnp.asarray(np.uint32(x))
    return jnp.asarray(x).astype(jnp.uint32)


def philox4x32_jax(counter: Sequence[Any], key: Sequence[Any], rounds: int = 10) -> tuple[Any, ...]:
    """Philox4x32 on uint32 jax arrays: four counter words and two key words in, four words out.

    Example:
        >>> import jax.numpy as jnp
        >>> [hex(int(w)) for w in philox4x32_jax([jnp.uint32(0)] * 4, [0, 0])]
        ['0x6627e8d5', '0xe169c58d', '0xbc57ac4c', '0x9b00dbd8']
    """
    c0, c1, c2, c3 = (_u32(c) for c in counter)
    k0, k1 = (_u32(k) for k in key)
    return philox_rounds(_OPS, c0, c1, c2, c3, k0, k1, rounds)


def _add64(a: tuple[Any, Any], b: tuple[Any, Any]) -> tuple[Any, Any]:
    """(hi, lo) + (hi, lo) mod 2**64 on uint32 words."""
    lo = a[1] + b[1]
    return a[0] + b[0] + (lo < a[1]).astype(jnp.uint32), lo


def _times(pos: Any, stride: int) -> tuple[Any, Any]:
    """``pos * stride`` as (hi, lo) uint32 words (``stride < 2**64``, the product too)."""
    hi, lo = _OPS.mulhilo(stride & 0xFFFFFFFF, pos)
    if stride >> 32:
        hi = hi + pos * np.uint32((stride >> 32) & 0xFFFFFFFF)
    return hi, lo


def _const64(value: int) -> tuple[Any, Any]:
    return jnp.uint32((value >> 32) & 0xFFFFFFFF), jnp.uint32(value & 0xFFFFFFFF)


def _finish(values: Any, scale: Any, dtype: str) -> Any:
    work = values.dtype
    return (values * jnp.asarray(scale, work)).astype(dtype)


def _words_of_blocks(block: tuple[Any, Any], key_words: Sequence[Any]) -> tuple[Any, ...]:
    zero = jnp.zeros_like(block[1])
    return philox_rounds(_OPS, block[1], block[0], zero, zero, _u32(key_words[0]), _u32(key_words[1]))


def _elementwise(
    dist_key: tuple[str, str],
    shape: tuple[int, ...],
    axes: Sequence[tuple[Any, int, int, bool]],
    key_words: Sequence[Any],
) -> Any:
    """Values of the elements ``axes`` select (``(start, step, count, kept)`` per axis of
    ``shape``; a start may be traced), each from its own block's words.

    Every element computes its block's Philox words itself (four times the Philox work of a
    block-at-a-time loop for float32), but the whole draw is one element-wise fusion from
    iotas: XLA partitions it by output shard and runs it ~15x faster on the CPU than a
    block-at-a-time layout (whose stack/reshape/slice split the fusion)."""
    out_shape = tuple(count for _, _, count, kept in axes if kept)
    strides = [math.prod(shape[a + 1 :]) for a in range(len(shape))]
    flat = _const64(0)
    flat = (jnp.broadcast_to(flat[0], out_shape), jnp.broadcast_to(flat[1], out_shape))
    dim = 0
    for (start, step, _, kept), stride in zip(axes, strides, strict=True):
        if kept:
            pos = _u32(start) + jax.lax.broadcasted_iota(jnp.uint32, out_shape, dim) * np.uint32(
                step & 0xFFFFFFFF
            )  # mod 2**32; the true position is in [0, dim)
            dim += 1
        else:
            pos = _u32(start)
        flat = _add64(flat, _times(pos, stride))
    per_block = values_per_block(dist_key)
    sh = per_block.bit_length() - 1
    hi, lo = flat
    block = (hi >> sh, (lo >> sh) | (hi << (32 - sh)))
    words = _words_of_blocks(block, key_words)
    return lane_values(_OPS, dist_key, words, lo & (per_block - 1))


@partial(jax.jit, static_argnames=("dist_key", "shape", "axes", "dtype"))
def _sample_static(
    dist_key: tuple[str, str],
    shape: tuple[int, ...],
    axes: tuple[tuple[int, int, int, bool], ...],
    dtype: str,
    key_words: Any,
    scale: Any,
) -> Any:
    out_shape = tuple(count for _, _, count, kept in axes if kept)
    if math.prod(out_shape) == 0:
        return jnp.zeros(out_shape, dtype)
    return _finish(_elementwise(dist_key, shape, axes, key_words), scale, dtype)


def _check(distribution: str, shape: object, scale: object, dtype: object) -> tuple[Any, ...]:
    distribution = check_choice("distribution", distribution, STREAM_DISTRIBUTIONS)
    dims = check_shape(shape)
    if math.prod(dims) > 1 << 64 or max(dims, default=1) >= 1 << 32:
        raise ValueError(
            f"shape {dims} is too large for the stream: at most 2**64 elements and 2**32 - 1 per axis"
        )
    name = _dtype_name(dtype)
    if name not in _DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(_DTYPES)}, got {name}")
    check_x64(name)
    if isinstance(scale, (int, float, np.number)):
        scale = check_nonnegative("scale", float(scale))
    work = "float64" if name == "float64" else "float32"
    return distribution, dims, (distribution, work), name, scale


def check_x64(name: str) -> None:
    """Refuse dtype ``name`` float64 while jax computes in 32 bits (``jax_enable_x64`` off)."""
    if name == "float64" and jax.dtypes.canonicalize_dtype(np.float64) != np.float64:
        raise ValueError("dtype float64 needs jax_enable_x64 on (jax.config.update('jax_enable_x64', True))")


def _dtype_name(dtype: Any) -> str:
    try:
        return str(jnp.dtype(dtype).name)
    except TypeError:
        return repr(dtype)


def _key_words(key_words: Any) -> Any:
    if hasattr(key_words, "k0") and hasattr(key_words, "k1"):
        return jnp.array([key_words.k0, key_words.k1], dtype=jnp.uint32)
    return _u32(key_words)


def sample_jax(
    distribution: str,
    shape: int | tuple[int, ...],
    key_words: Any,
    *,
    scale: Any = 1.0,
    index: Any = None,
    dtype: Any = jnp.float32,
) -> jax.Array:
    """``kaiming.stream.sample(distribution, shape, key, scale=scale, index=index, dtype=dtype)``
    as a jax array, bit for bit: element ``i`` is ``scale * x_i`` with ``x_i`` a pure function of
    the key, ``i``, the distribution and the working precision (float32, or float64 for float64).

    ``key_words`` is a ``StreamKey`` or its two 32-bit words (ints or a traced ``uint32[2]``);
    ``scale`` may be traced; ``dtype`` is float16, bfloat16, float32 or float64 (float64 needs
    ``jax_enable_x64``; bfloat16 is the float32 value rounded to nearest even).

    Example:
        >>> import numpy as np
        >>> from kaiming import stream
        >>> k = stream.key(0, "w")
        >>> x = sample_jax("normal", (3, 5), k, scale=0.5, index=(slice(None), slice(1, 4)))
        >>> ref = stream.sample("normal", (3, 5), k, scale=0.5, dtype=np.float32)[:, 1:4]
        >>> bool(np.array_equal(np.asarray(x), ref))
        True
    """
    _, dims, dist_key, name, scale = _check(distribution, shape, scale, dtype)
    axes = tuple(
        _axis(e, d, a, index) for a, (e, d) in enumerate(zip(_entries(len(dims), index), dims, strict=True))
    )
    out: jax.Array = _sample_static(dist_key, dims, axes, name, _key_words(key_words), scale)
    return out


def sample_jax_block(
    distribution: str,
    shape: int | tuple[int, ...],
    key_words: Any,
    *,
    starts: Sequence[Any],
    block_shape: Sequence[int],
    scale: Any = 1.0,
    dtype: Any = jnp.float32,
) -> jax.Array:
    """The box ``full[s0:s0 + n0, s1:s1 + n1, ...]`` of the keyed tensor of ``shape``.

    ``starts`` (one per axis) may be traced integers, e.g. a shard's offset from
    ``jax.lax.axis_index`` inside ``shard_map``; ``block_shape`` is static. Only the box's
    elements are computed (each from its own Philox block), so a sharded computation costs
    each device its shard. The caller keeps ``starts[a] + block_shape[a] <= shape[a]``.

    Example:
        >>> import numpy as np
        >>> from kaiming import stream
        >>> k = stream.key(0, "w")
        >>> box = sample_jax_block("uniform", (4, 6), k, starts=(2, 3), block_shape=(2, 3))
        >>> bool(np.array_equal(np.asarray(box), stream.uniform((4, 6), k, dtype=np.float32)[2:, 3:]))
        True
    """
    _, dims, dist_key, name, scale = _check(distribution, shape, scale, dtype)
    box = check_shape(tuple(block_shape))
    if len(box) != len(dims) or len(starts) != len(dims):
        raise ValueError(
            f"starts and block_shape need one entry per axis of shape {dims}, "
            f"got starts={tuple(starts)!r}, block_shape={box}"
        )
    for a, (start, n, d) in enumerate(zip(starts, box, dims, strict=True)):
        if isinstance(start, (int, np.integer)) and not 0 <= int(start) <= d - n:
            raise ValueError(f"starts[{a}]={int(start)} with block_shape[{a}]={n} exceeds axis size {d}")
    if math.prod(box) == 0:
        return jnp.zeros(box, name)
    axes = [(start, 1, n, True) for start, n in zip(starts, box, strict=True)]
    values = _elementwise(dist_key, dims, axes, _key_words(key_words))
    out: jax.Array = _finish(values, scale, name)
    return out
