"""kaiming's initializer family as jax arrays from the counter stream (internal module; the
functions are re-exported from ``kaiming.jax``).

Each function draws ``shape`` from the stream of ``key`` in jax.numpy (``kaiming.stream``'s jax
path, 32-bit integer ops only): the values equal the NumPy family's with the same key bit for
bit (``kaiming.he_normal(shape, key=k, dtype=np.float32)``), eagerly, under ``jax.jit`` and
with sharded outputs. The std comes from the same rule as the NumPy family (fans from
``layout`` or from ``in_axis``/``out_axis``/``batch_axis``; ``kaiming._sampling.sampler_scale``).

``key`` is a ``kaiming.stream.StreamKey``, or a JAX PRNG key (typed ``jax.random.key`` or a raw
``uint32[2]`` key, possibly traced), mapped by ``stream_words``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from .._checks import (
    check_choice,
    check_nonnegative,
    check_real,
    check_shape,
    overflow_error,
    overflow_possible,
)
from .._sampling import sampler_scale
from ..fans import AxisLike, Layout
from ..initializers import (
    DISTRIBUTIONS,
    Distribution,
    Mode,
    _axis_fans,
    _check_values_fit,
    _gain_for,
    _std_for,
)
from ..plain import check_spread, overflow_of
from ..stream import IndexLike, StreamKey
from ..stream._jax_path import JaxOps, sample_jax, sample_jax_block

__all__ = [
    "he",
    "he_normal",
    "he_truncated_normal",
    "he_uniform",
    "lecun_normal",
    "lecun_truncated_normal",
    "lecun_uniform",
    "normal",
    "scaled",
    "stream_words",
    "uniform",
    "variance_scaling",
    "xavier_normal",
    "xavier_truncated_normal",
    "xavier_uniform",
]

_DTYPES = ("float16", "bfloat16", "float32", "float64")
_OPS = JaxOps()


def stream_words(key: Any) -> Any:
    """The two 32-bit stream key words of ``key``, as a ``uint32[2]`` jax array.

    - a ``kaiming.stream.StreamKey``: its words ``(k0, k1)``;
    - a JAX PRNG key with 2 words of key data — a typed ``jax.random.key(seed)`` (threefry, the
      default) or a raw ``jax.random.PRNGKey(seed)`` ``uint32[2]``: its key data
      ``jax.random.key_data(key)``, word for word. So ``k0, k1 = key_data`` and the stream of a
      JAX key is a pure function of that key (traced keys work under ``jax.jit``).

    Example:
        >>> import jax
        >>> k = jax.random.key(7)
        >>> [int(w) for w in stream_words(k)] == [int(w) for w in jax.random.key_data(k)]
        True

    Raises:
        TypeError / ValueError: anything else (e.g. an ``rbg`` key with 4 words).
    """
    if isinstance(key, StreamKey):
        return jnp.asarray([key.k0, key.k1], dtype=jnp.uint32)
    if isinstance(key, (jax.Array, np.ndarray)):
        if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
            key = jax.random.key_data(key)
        if key.shape == (2,) and key.dtype == jnp.uint32:
            return key
        raise ValueError(
            f"key must be a JAX PRNG key with 2 uint32 words of key data (threefry), got key data of "
            f"shape {key.shape} and dtype {key.dtype}"
        )
    raise TypeError(f"key must be a kaiming.stream.StreamKey or a JAX PRNG key, got {type(key).__name__}")


def _dtype(dtype: Any) -> str:
    name: str = jnp.dtype(dtype).name
    if name not in _DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(_DTYPES)}, got {name}")
    return name


def variance_scaling(
    shape: int | tuple[int, ...],
    scale: float = 1.0,
    mode: Mode = "fan_in",
    distribution: Distribution = "normal",
    *,
    key: Any,
    layout: Layout = "jax",
    fans: tuple[int, int] | None = None,
    in_axis: AxisLike | None = None,
    out_axis: AxisLike | None = None,
    batch_axis: AxisLike | None = None,
    index: IndexLike = None,
    sharding: NamedSharding | None = None,
    dtype: Any = jnp.float32,
) -> jax.Array:
    """``kaiming.variance_scaling`` as a jax array from the counter stream of ``key``.

    Mean 0, variance ``scale / fan``: ``"normal"`` is the untruncated normal,
    ``"truncated_normal"`` is cut at ±2 sigma and rescaled, ``"uniform"`` is ``U(-b, b)`` with
    ``b = sqrt(3 scale / fan)``. ``index`` returns ``full[index]`` only. ``sharding`` (a
    ``jax.sharding.NamedSharding`` dividing ``shape`` evenly) lays the result out across its
    mesh with each device computing only its own shard (``jax.shard_map``): the values are
    the same as unsharded, bit for bit.

    Example:
        >>> import numpy as np, kaiming
        >>> k = kaiming.stream.key(0, "w")
        >>> w = variance_scaling((64, 32), 2.0, key=k)
        >>> same = kaiming.variance_scaling((64, 32), 2.0, key=k, dtype=np.float32)
        >>> bool(np.array_equal(np.asarray(w), same))
        True
    """
    axes = {"in_axis": in_axis, "out_axis": out_axis, "batch_axis": batch_axis}
    options = {"layout": layout, "fans": fans, **axes, "index": index, "sharding": sharding, "dtype": dtype}
    return _variance_scaling(shape, scale, mode, distribution, key, options)


_OPTIONS: dict[str, Any] = {
    "layout": "jax", "fans": None, "in_axis": None, "out_axis": None, "batch_axis": None,
    "index": None, "sharding": None, "dtype": jnp.float32,
}  # fmt: skip
"""The keyword options of ``variance_scaling`` (the He/Xavier/LeCun functions pass them on) and
their defaults."""


def _variance_scaling(
    shape: Any,
    scale: float,
    mode: Mode,
    distribution: Distribution,
    key: Any,
    options: dict[str, Any],
    named: tuple[str, float] | None = None,
) -> jax.Array:
    """``variance_scaling`` with its keyword ``options``; errors about the values' size name
    ``named`` (argument, value), ``("scale", scale)`` by default, as ``kaiming.variance_scaling``
    does."""
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise TypeError(f"unexpected keyword argument {unknown[0]!r}; the options are {', '.join(_OPTIONS)}")
    opt = {**_OPTIONS, **options}
    fans = opt["fans"]
    if (opt["in_axis"], opt["out_axis"], opt["batch_axis"]) != (None, None, None):
        fans = _axis_fans(shape, fans, opt["in_axis"], opt["out_axis"], opt["batch_axis"])
    std = _std_for(shape, scale, mode, opt["layout"], fans)
    distribution = check_choice("distribution", distribution, DISTRIBUTIONS)
    name, value = ("scale", float(scale)) if named is None else named
    out_dtype = jnp.dtype(_dtype(opt["dtype"]))
    sampler = sampler_scale(distribution, std)
    _check_values_fit(name, value, distribution, sampler, out_dtype, stream=True)
    words = stream_words(key)
    values = _sample(distribution, shape, words, sampler, opt["index"], opt["sharding"], out_dtype.name)
    if distribution == "normal" and overflow_possible(sampler, out_dtype):
        _refuse_nonfinite(values, lambda: overflow_error(name, value, out_dtype), f"{name}={value:g}")
    return values


def _refuse_nonfinite(values: jax.Array, error: Callable[[], ValueError], what: str) -> None:
    """Raise ``error()`` if ``values`` (which may overflow) has a value that is not finite; under
    a jax trace (``jit``, ``vmap``), where values cannot be checked, refuse outright."""
    if isinstance(values, jax.core.Tracer):
        raise ValueError(
            f"{what} may give values that overflow {values.dtype.name}, which cannot be checked "
            "under a jax trace (jit, vmap); use a smaller value or a wider dtype"
        )
    if not bool(jnp.isfinite(values).all()):
        raise error()


def _sample(
    dist: str, shape: Any, words: Any, scale: float, index: IndexLike, sharding: Any, dtype: str
) -> jax.Array:
    """``sample_jax``, or with ``sharding`` its shards computed each on its own device."""
    if sharding is None:
        return sample_jax(dist, shape, words, scale=scale, index=index, dtype=dtype)
    if index is not None:
        raise ValueError(f"pass either index={index!r} or sharding=, not both")
    if not isinstance(sharding, NamedSharding):
        raise TypeError(f"sharding must be a jax.sharding.NamedSharding, got {type(sharding).__name__}")
    dims = check_shape(shape)
    mesh, spec = sharding.mesh, tuple(sharding.spec) + (None,) * (len(dims) - len(sharding.spec))
    block = sharding.shard_shape(dims)
    if any(d % b for d, b in zip(dims, block, strict=True)):
        raise ValueError(f"sharding must divide shape={dims} evenly, got shards of {block}")

    def shard(words: Any) -> Any:
        starts = []
        for entry, size in zip(spec, block, strict=True):
            names = () if entry is None else (entry if isinstance(entry, tuple) else (entry,))
            position: Any = 0
            for axis_name in names:
                position = position * mesh.shape[axis_name] + jax.lax.axis_index(axis_name)
            starts.append(position * size)
        return sample_jax_block(dist, dims, words, starts=starts, block_shape=block, scale=scale, dtype=dtype)

    replicated, sharded = P(), P(*spec)  # type: ignore[no-untyped-call]
    out: jax.Array = jax.shard_map(shard, mesh=mesh, in_specs=replicated, out_specs=sharded)(words)
    return out


def normal(
    shape: int | tuple[int, ...],
    mean: float = 0.0,
    std: float = 1.0,
    *,
    key: Any,
    index: IndexLike = None,
    sharding: NamedSharding | None = None,
    dtype: Any = jnp.float32,
) -> jax.Array:
    """``kaiming.normal``: ``mean + std * z`` from the counter stream of ``key``, as a jax array.

    Example:
        >>> import numpy as np, kaiming
        >>> k = kaiming.stream.key(0, "b")
        >>> bool(np.array_equal(np.asarray(normal(5, 1.0, 0.1, key=k)),
        ...                     kaiming.normal(5, 1.0, 0.1, key=k, dtype=np.float32)))
        True
    """
    mean, std = check_real("mean", mean), check_nonnegative("std", std)
    return _affine("normal", shape, mean, std, key, index, sharding, dtype)


def uniform(
    shape: int | tuple[int, ...],
    low: float = 0.0,
    high: float = 1.0,
    *,
    key: Any,
    index: IndexLike = None,
    sharding: NamedSharding | None = None,
    dtype: Any = jnp.float32,
) -> jax.Array:
    """``kaiming.uniform``: ``U(low, high)`` from the counter stream of ``key``, as a jax array.

    Example:
        >>> import numpy as np, kaiming
        >>> k = kaiming.stream.key(0, "u")
        >>> bool(np.array_equal(np.asarray(uniform(5, -1.0, 3.0, key=k)),
        ...                     kaiming.uniform(5, -1.0, 3.0, key=k, dtype=np.float32)))
        True
    """
    low, high = check_real("low", low), check_real("high", high)
    if not low < high:
        raise ValueError(f"low must be below high, got low={low}, high={high}")
    return _affine("uniform", shape, low, high, key, index, sharding, dtype)


def _affine(
    dist: str, shape: Any, a: float, b: float, key: Any, index: IndexLike, sharding: Any, dtype: Any
) -> jax.Array:
    """``normal(mean=a, std=b)`` or ``uniform(low=a, high=b)``: ``offset + scale * x`` with ``x``
    the stream's standard sampler, in the working precision, refused as ``kaiming.normal``/
    ``uniform`` refuse (a spread below the smallest normal number, values that overflow).

    ``JaxOps.keep`` stands between the stream's multiply and the addition, so XLA cannot
    contract them into an FMA: the bits stay NumPy's."""
    out_dtype = jnp.dtype(_dtype(dtype))
    check_spread(dist, a, b, out_dtype)
    scale, offset = (b, a) if dist == "normal" else ((b - a) / 2.0, (a + b) / 2.0)
    work = "float64" if out_dtype == np.float64 else "float32"
    values = _sample(dist, shape, stream_words(key), scale, index, sharding, work)
    out: jax.Array = (_OPS.keep(values) + jnp.asarray(offset, work)).astype(out_dtype)
    reach = {} if dist == "normal" else {"reach": 1.0}  # a uniform's |x| < 1: max(|a|, |b|)
    if overflow_possible(scale, out_dtype, offset=offset, **reach):
        names = ("mean", "std") if dist == "normal" else ("low", "high")
        what = f"{names[0]}={a}, {names[1]}={b}"
        _refuse_nonfinite(out, lambda: overflow_of(dist, a, b, out_dtype.name), what)
    return out


def he(distribution: Distribution, name: str) -> Any:
    """A He-family function of ``distribution`` for jax arrays (gain from ``a``/``nonlinearity``)."""

    def initializer(
        shape: int | tuple[int, ...],
        *,
        key: Any,
        a: float = 0.0,
        nonlinearity: str | None = None,
        mode: Mode = "fan_in",
        **options: Any,
    ) -> jax.Array:
        mode = check_choice("mode", mode, ("fan_in", "fan_out"))
        gain = _gain_for(a, nonlinearity)
        return _with_gain(shape, gain, mode, distribution, key, options)

    initializer.__name__ = initializer.__qualname__ = name
    initializer.__module__ = "kaiming.jax"
    initializer.__doc__ = f"""``kaiming.{name}`` as a jax array from the stream of ``key``.

    Keyword options as ``variance_scaling``: ``layout``, ``in_axis``, ``out_axis``,
    ``batch_axis``, ``index``, ``dtype``. ``std = gain / sqrt(fan)``, ``gain`` from ``a`` and
    ``nonlinearity`` as in ``kaiming.{name}`` (default sqrt(2), ReLU).

    Example:
        >>> import numpy as np, kaiming
        >>> k = kaiming.stream.key(0, "w")
        >>> bool(np.array_equal(np.asarray(kaiming.jax.{name}((8, 4), key=k)),
        ...                     kaiming.{name}((8, 4), key=k, dtype=np.float32)))
        True
    """
    return initializer


def scaled(mode: Mode, distribution: Distribution, name: str) -> Any:
    """A Xavier- or LeCun-family function for jax arrays (``std = gain * sqrt(1 / fan)``)."""

    def initializer(
        shape: int | tuple[int, ...], *, key: Any, gain: float = 1.0, **options: Any
    ) -> jax.Array:
        return _with_gain(shape, check_nonnegative("gain", gain), mode, distribution, key, options)

    initializer.__name__ = initializer.__qualname__ = name
    initializer.__module__ = "kaiming.jax"
    initializer.__doc__ = f"""``kaiming.{name}`` as a jax array from the stream of ``key``.

    Keyword options as ``variance_scaling``: ``layout``, ``in_axis``, ``out_axis``,
    ``batch_axis``, ``index``, ``dtype``; ``gain`` scales the std.

    Example:
        >>> import numpy as np, kaiming
        >>> k = kaiming.stream.key(0, "w")
        >>> bool(np.array_equal(np.asarray(kaiming.jax.{name}((8, 4), key=k)),
        ...                     kaiming.{name}((8, 4), key=k, dtype=np.float32)))
        True
    """
    return initializer


def _with_gain(
    shape: Any, gain: float, mode: Mode, distribution: Distribution, key: Any, options: dict[str, Any]
) -> jax.Array:
    """``variance_scaling`` with ``scale = gain**2`` (keyword ``options`` as it takes them);
    errors about the values' size name ``gain``, as the NumPy family's do."""
    return _variance_scaling(shape, gain**2, mode, distribution, key, options, named=("gain", gain))


he_normal = he("normal", "he_normal")
he_uniform = he("uniform", "he_uniform")
he_truncated_normal = he("truncated_normal", "he_truncated_normal")
xavier_normal = scaled("fan_avg", "normal", "xavier_normal")
xavier_uniform = scaled("fan_avg", "uniform", "xavier_uniform")
xavier_truncated_normal = scaled("fan_avg", "truncated_normal", "xavier_truncated_normal")
lecun_normal = scaled("fan_in", "normal", "lecun_normal")
lecun_uniform = scaled("fan_in", "uniform", "lecun_uniform")
lecun_truncated_normal = scaled("fan_in", "truncated_normal", "lecun_truncated_normal")
