"""Flax/JAX initializers: ``init(key, shape, dtype=jnp.float32) -> jax.Array``, the signature
``flax.linen.Dense(kernel_init=...)``, ``flax.nnx.Linear(kernel_init=...)`` and
``jax.nn.initializers`` use.

Each factory takes the family's parameters and returns an initializer whose values come from
the counter stream:

- by default, of the JAX PRNG key it is called with, mapped to stream key words by
  ``kaiming.jax.stream_words`` (a threefry key's two words of key data): deterministic, and
  traceable, so ``model.init(jax.random.key(0), x)`` works under ``jax.jit``;
- with ``key=kaiming.stream.key(seed, name)`` (or ``seed=`` and ``name=``), of that fixed key,
  whatever JAX key comes in: the values then equal ``kaiming.he_normal(shape, key=...)`` and,
  with ``order="torch"``, the transposed weight ``kaiming.torch`` draws for a parameter of that
  name (a PyTorch twin).

``order="torch"`` draws the stream over the torch-layout shape ``(out, in, *kernel)`` (fans read
in that layout) and moves the result to ``(*kernel, in, out)``; it needs the default axes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from .._checks import check_choice
from ..fans import AxisLike
from ..stream import StreamKey
from ..stream import key as stream_key
from . import _arrays
from ._orthogonal import orthogonal as _orthogonal

__all__ = [
    "Initializer",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_truncated_normal",
    "he_uniform",
    "kaiming_normal",
    "kaiming_uniform",
    "lecun_normal",
    "lecun_truncated_normal",
    "lecun_uniform",
    "normal",
    "orthogonal",
    "uniform",
    "variance_scaling",
    "xavier_normal",
    "xavier_truncated_normal",
    "xavier_uniform",
]

Initializer = Callable[..., jax.Array]
"""``init(key, shape, dtype=jnp.float32) -> jax.Array``."""

ORDERS = ("jax", "torch")


def _fixed_key(seed: int | None, name: str | None, key: StreamKey | None) -> StreamKey | None:
    if key is not None:
        if seed is not None or name is not None:
            raise ValueError(f"pass either key={key!r} or seed/name, not both")
        if not isinstance(key, StreamKey):
            raise TypeError(f"key must be a kaiming.stream.StreamKey, got {key!r}")
        return key
    if name is None:
        if seed is not None:
            raise ValueError(f"seed={seed!r} needs name= (the parameter's name) to select a stream")
        return None
    if seed is None:
        raise ValueError(f"name={name!r} selects a stream under a seed: pass seed= too")
    return stream_key(seed, name)


def _make(
    fn: Callable[..., jax.Array],
    seed: int | None,
    name: str | None,
    key: StreamKey | None,
    order: str,
    dtype: Any,
    layout_aware: bool,
    **params: Any,
) -> Initializer:
    fixed = _fixed_key(seed, name, key)
    order = check_choice("order", order, ORDERS)
    axes = {k: params[k] for k in ("in_axis", "out_axis", "batch_axis") if params.get(k) is not None}
    if order == "torch" and axes:
        raise ValueError(f"order='torch' reads the torch layout; it takes no axes, got {axes}")

    def init(jax_key: Any, shape: Any, dtype: Any = dtype) -> jax.Array:
        dims = tuple(int(d) for d in shape)
        use = fixed if fixed is not None else jax_key
        if order == "torch" and len(dims) >= 2:
            torch_shape = (dims[-1], dims[-2], *dims[:-2])
            extra = {"layout": "torch"} if layout_aware else {}
            values = fn(torch_shape, key=use, **params, **extra, dtype=dtype)
            return jnp.transpose(values, (*range(2, len(dims)), 1, 0))
        return fn(dims, key=use, **params, dtype=dtype)

    return init


def variance_scaling(
    scale: float = 1.0,
    mode: str = "fan_in",
    distribution: str = "normal",
    in_axis: AxisLike | None = None,
    out_axis: AxisLike | None = None,
    batch_axis: AxisLike | None = None,
    dtype: Any = jnp.float32,
    *,
    seed: int | None = None,
    name: str | None = None,
    key: StreamKey | None = None,
    order: str = "jax",
) -> Initializer:
    """Variance ``scale / fan`` (``kaiming.variance_scaling``) as a Flax/JAX initializer.

    Arguments as ``jax.nn.initializers.variance_scaling`` (``"normal"`` is untruncated there
    and here; JAX's ``he_normal``, ``glorot_normal`` and ``lecun_normal`` are truncated, kaiming's
    are not) plus the stream options ``seed``/``name``/``key``/``order``.

    Example:
        >>> import jax, numpy as np, kaiming
        >>> init = variance_scaling(2.0, "fan_in", "uniform", seed=0, name="w")
        >>> w = init(jax.random.key(1), (16, 8))
        >>> k = kaiming.stream.key(0, "w")
        >>> same = kaiming.variance_scaling((16, 8), 2.0, "fan_in", "uniform", key=k, dtype=np.float32)
        >>> bool(np.array_equal(np.asarray(w), same))
        True
    """
    return _make(
        _arrays.variance_scaling, seed, name, key, order, dtype, True, scale=scale, mode=mode,
        distribution=distribution, in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis,
    )  # fmt: skip


def _he_factory(fn: Callable[..., jax.Array]) -> Callable[..., Initializer]:
    def factory(
        in_axis: AxisLike | None = None,
        out_axis: AxisLike | None = None,
        batch_axis: AxisLike | None = None,
        dtype: Any = jnp.float32,
        *,
        a: float = 0.0,
        nonlinearity: str | None = None,
        mode: str = "fan_in",
        seed: int | None = None,
        name: str | None = None,
        key: StreamKey | None = None,
        order: str = "jax",
    ) -> Initializer:
        return _make(
            fn, seed, name, key, order, dtype, True, a=a, nonlinearity=nonlinearity, mode=mode,
            in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis,
        )  # fmt: skip

    factory.__name__ = factory.__qualname__ = fn.__name__
    factory.__module__ = __name__
    factory.__doc__ = f"""``kaiming.{fn.__name__}`` as a Flax/JAX initializer ``init(key, shape, dtype)``.

    Arguments as ``jax.nn.initializers.{fn.__name__}`` (``in_axis``, ``out_axis``,
    ``batch_axis``, ``dtype``) plus kaiming's ``a``, ``nonlinearity``, ``mode`` and the stream
    options ``seed``/``name``/``key``/``order`` (module docstring). kaiming's ``he_normal`` is
    the untruncated normal; ``he_truncated_normal`` is what JAX calls ``he_normal``.

    Example:
        >>> import jax, numpy as np, kaiming
        >>> w = {fn.__name__}(seed=0, name="fc.weight")(jax.random.key(0), (8, 4))
        >>> k = kaiming.stream.key(0, "fc.weight")
        >>> bool(np.array_equal(np.asarray(w), kaiming.{fn.__name__}((8, 4), key=k, dtype=np.float32)))
        True
    """
    return factory


def _gain_factory(fn: Callable[..., jax.Array]) -> Callable[..., Initializer]:
    def factory(
        in_axis: AxisLike | None = None,
        out_axis: AxisLike | None = None,
        batch_axis: AxisLike | None = None,
        dtype: Any = jnp.float32,
        *,
        gain: float = 1.0,
        seed: int | None = None,
        name: str | None = None,
        key: StreamKey | None = None,
        order: str = "jax",
    ) -> Initializer:
        return _make(
            fn, seed, name, key, order, dtype, True, gain=gain, in_axis=in_axis, out_axis=out_axis,
            batch_axis=batch_axis,
        )  # fmt: skip

    factory.__name__ = factory.__qualname__ = fn.__name__
    factory.__module__ = __name__
    factory.__doc__ = f"""``kaiming.{fn.__name__}`` as a Flax/JAX initializer ``init(key, shape, dtype)``.

    Arguments as ``jax.nn.initializers``' (``in_axis``, ``out_axis``, ``batch_axis``,
    ``dtype``) plus ``gain`` and the stream options ``seed``/``name``/``key``/``order``.

    Example:
        >>> import jax
        >>> {fn.__name__}(seed=0, name="w")(jax.random.key(0), (8, 4)).shape
        (8, 4)
    """
    return factory


he_normal = _he_factory(_arrays.he_normal)
he_uniform = _he_factory(_arrays.he_uniform)
he_truncated_normal = _he_factory(_arrays.he_truncated_normal)
xavier_normal = _gain_factory(_arrays.xavier_normal)
xavier_uniform = _gain_factory(_arrays.xavier_uniform)
xavier_truncated_normal = _gain_factory(_arrays.xavier_truncated_normal)
lecun_normal = _gain_factory(_arrays.lecun_normal)
lecun_uniform = _gain_factory(_arrays.lecun_uniform)
lecun_truncated_normal = _gain_factory(_arrays.lecun_truncated_normal)
kaiming_normal = he_normal
kaiming_uniform = he_uniform
glorot_normal = xavier_normal
glorot_uniform = xavier_uniform


def normal(
    mean: float = 0.0,
    std: float = 1e-2,
    dtype: Any = jnp.float32,
    *,
    seed: int | None = None,
    name: str | None = None,
    key: StreamKey | None = None,
    order: str = "jax",
) -> Initializer:
    """``N(mean, std**2)`` (``kaiming.normal``) as a Flax/JAX initializer (std 0.01 by default,
    as ``jax.nn.initializers.normal``).

    Example:
        >>> import jax
        >>> normal(0.0, 0.02, seed=0, name="emb")(jax.random.key(0), (4, 3)).shape
        (4, 3)
    """
    return _make(_arrays.normal, seed, name, key, order, dtype, False, mean=mean, std=std)


def uniform(
    low: float = 0.0,
    high: float = 1e-2,
    dtype: Any = jnp.float32,
    *,
    seed: int | None = None,
    name: str | None = None,
    key: StreamKey | None = None,
    order: str = "jax",
) -> Initializer:
    """``U(low, high)`` (``kaiming.uniform``) as a Flax/JAX initializer (``U(0, 0.01)`` by default,
    as ``jax.nn.initializers.uniform``).

    Example:
        >>> import jax
        >>> uniform(-1.0, 1.0, seed=0, name="u")(jax.random.key(0), (5,)).shape
        (5,)
    """
    return _make(_arrays.uniform, seed, name, key, order, dtype, False, low=low, high=high)


def orthogonal(
    scale: float = 1.0,
    column_axis: int = -1,
    dtype: Any = jnp.float32,
    *,
    seed: int | None = None,
    name: str | None = None,
    key: StreamKey | None = None,
    order: str = "jax",
) -> Initializer:
    """A (semi-)orthogonal matrix times ``scale`` (``kaiming.orthogonal``) as a Flax/JAX
    initializer, with ``jax.nn.initializers.orthogonal``'s arguments: ``column_axis`` holds the
    columns, the other axes are flattened into the rows; the rows (if no more rows than
    columns) or the columns are orthonormal. The QR runs on the host in float64
    (``kaiming.jax.orthogonal``). ``order="torch"`` draws over the torch-layout shape, the
    values ``kaiming.torch.orthogonal_`` writes with the same key, transposed; it needs
    ``column_axis=-1``.

    Example:
        >>> import jax, numpy as np
        >>> w = orthogonal(column_axis=0)(jax.random.key(0), (3, 8))
        >>> bool(np.allclose(np.asarray(w) @ np.asarray(w).T, np.eye(3), atol=1e-6))
        True
    """
    if not isinstance(column_axis, int) or isinstance(column_axis, bool):
        raise TypeError(f"column_axis must be an int, got {column_axis!r}")
    if order == "torch" and column_axis != -1:
        raise ValueError(f"order='torch' reads the torch layout; it needs column_axis=-1, got {column_axis}")
    draw = _make(_orthogonal, seed, name, key, order, dtype, True, gain=scale)
    if column_axis == -1:
        return draw

    def init(jax_key: Any, shape: Any, dtype: Any = dtype) -> jax.Array:
        dims = tuple(int(d) for d in shape)
        if not -len(dims) <= column_axis < len(dims):
            raise ValueError(f"column_axis={column_axis} is out of range for shape {dims}")
        axis = column_axis % len(dims)
        last = (*dims[:axis], *dims[axis + 1 :], dims[axis])  # the columns' axis moved last
        return jnp.moveaxis(draw(jax_key, last, dtype), -1, axis)

    return init
