"""Variance-scaling initializers: He/Kaiming, Xavier/Glorot, LeCun, and the seed contract.

Almost every classic initializer draws from a zero-mean distribution with variance
``scale / fan``, where ``fan`` is ``fan_in``, ``fan_out`` or their average. ``variance_scaling``
does that once, well; the named initializers are one line each on top of it.

Layouts: ``layout="jax"`` (default) is ``(*kernel, in, out)`` — a dense weight is
``(fan_in, fan_out)`` for ``y = x @ W``; ``layout="torch"`` is ``(out, in, *kernel)``.

Randomness: pass ``seed`` (int or ``SeedSequence``) *or* ``rng`` (a ``numpy.random.Generator``,
used and advanced in place). With neither, fresh OS entropy is used. There is no global state.
Or pass ``key=kaiming.stream.key(seed, name)`` for the counter-based stream: element ``i`` then
depends only on the key and ``i``, and ``index=`` returns just ``full[index]`` (e.g. a shard),
computing nothing else; fans always come from the full ``shape``.
"""

from __future__ import annotations

from typing import Literal, Protocol

import numpy as np
from numpy.typing import DTypeLike, NDArray

from ._checks import (
    check_array_request,
    check_choice,
    check_dtype,
    check_finite_result,
    check_nonnegative,
    check_positive_int,
    check_representable,
    check_shape,
    check_size_fits,
    check_squarable,
    overflow_possible,
)
from ._random import SeedLike, resolve_rng
from ._sampling import TRUNCATED_NORMAL_STD, TRUNCATION, fan_for_mode, sampler_scale, variance_std
from .fans import LAYOUTS, AxisLike, Layout, fans_by_axis, fans_of
from .gains import calculate_gain
from .stream import IndexLike, StreamKey, check_keyed, sample

__all__ = [
    "DISTRIBUTIONS",
    "MODES",
    "TRUNCATED_NORMAL_STD",
    "Distribution",
    "Initializer",
    "Mode",
    "glorot_normal",
    "glorot_uniform",
    "he_init",
    "he_normal",
    "he_truncated_normal",
    "he_uniform",
    "kaiming_normal",
    "kaiming_uniform",
    "lecun_normal",
    "lecun_truncated_normal",
    "lecun_uniform",
    "variance_scaling",
    "xavier_normal",
    "xavier_truncated_normal",
    "xavier_uniform",
]

Mode = Literal["fan_in", "fan_out", "fan_avg"]
Distribution = Literal["normal", "truncated_normal", "uniform"]
MODES: tuple[Mode, ...] = ("fan_in", "fan_out", "fan_avg")
DISTRIBUTIONS: tuple[Distribution, ...] = ("normal", "truncated_normal", "uniform")


class Initializer(Protocol):
    """What every NumPy initializer of this package looks like."""

    def __call__(
        self,
        shape: int | tuple[int, ...],
        *,
        layout: Layout = ...,
        seed: SeedLike = ...,
        rng: np.random.Generator | None = ...,
        key: StreamKey | None = ...,
        index: IndexLike = ...,
        dtype: DTypeLike = ...,
    ) -> NDArray[np.floating]: ...


def variance_scaling(
    shape: int | tuple[int, ...],
    scale: float = 1.0,
    mode: Mode = "fan_in",
    distribution: Distribution = "normal",
    *,
    layout: Layout = "jax",
    fans: tuple[int, int] | None = None,
    in_axis: AxisLike | None = None,
    out_axis: AxisLike | None = None,
    batch_axis: AxisLike | None = None,
    seed: SeedLike = None,
    rng: np.random.Generator | None = None,
    key: StreamKey | None = None,
    index: IndexLike = None,
    dtype: DTypeLike = np.float64,
) -> NDArray[np.floating]:
    """Draw an array of ``shape`` whose elements have mean 0 and variance ``scale / fan``.

    ``fan`` is ``fan_in``, ``fan_out`` or ``(fan_in + fan_out) / 2`` per ``mode``, taken from
    ``shape`` in ``layout`` (``"jax"``: ``(*kernel, in, out)``; ``"torch"``: ``(out, in, *kernel)``)
    or given as ``fans=(fan_in, fan_out)`` (then ``shape`` may have any rank, e.g. a bias).
    With ``std = sqrt(scale / fan)``:

    - ``"normal"``: ``N(0, std**2)``;
    - ``"truncated_normal"``: ``N(0, s**2)`` truncated to ``[-2 s, 2 s]`` with
      ``s = std / 0.8796...`` so the *truncated* values have std ``std`` exactly;
    - ``"uniform"``: ``U(-limit, limit)`` with ``limit = sqrt(3) * std``.

    With ``key`` (a ``kaiming.stream.StreamKey``) instead of ``seed``/``rng`` the values come
    from the counter-based stream, and ``index`` (basic NumPy indexing) returns only
    ``full[index]``; ``std`` still comes from the full ``shape``.

    ``in_axis``, ``out_axis`` and ``batch_axis`` (ints or sequences of ints, as in
    ``jax.nn.initializers.variance_scaling``) name the axes instead of ``layout``: the fans are
    then ``kaiming.fans.fans_by_axis(shape, in_axis, out_axis, batch_axis)``, with the
    defaults ``-2``, ``-1`` and ``()`` for those not given.

    Example:
        >>> w = variance_scaling((512, 256), scale=2.0, mode="fan_in", seed=0)
        >>> round(float(w.std()), 2)  # sqrt(2 / 512) = 0.0625
        0.06
        >>> from kaiming.stream import key
        >>> full = variance_scaling((512, 256), 2.0, key=key(0, "w"))
        >>> rows = variance_scaling((512, 256), 2.0, key=key(0, "w"), index=slice(128, 256))
        >>> bool(np.array_equal(rows, full[128:256]))
        True

    Raises:
        ValueError / TypeError: bad shape (needs rank >= 2 unless ``fans`` is given), negative
            or non-finite ``scale``, unknown ``mode``/``distribution``/``layout``, non-float
            ``dtype``, both ``seed`` and ``rng``, or a shape too large for memory.
    """
    fans = _axis_fans(shape, fans, in_axis, out_axis, batch_axis)
    return _variance_scaling(
        shape, scale, mode, distribution, layout, fans, seed, rng, key, index, dtype, scale_name="scale"
    )


def _variance_scaling(
    shape: int | tuple[int, ...],
    scale: float,
    mode: Mode,
    distribution: Distribution,
    layout: Layout,
    fans: tuple[int, int] | None,
    seed: SeedLike,
    rng: np.random.Generator | None,
    key: StreamKey | None,
    index: IndexLike,
    dtype: DTypeLike,
    *,
    scale_name: str,
    scale_value: float | None = None,
) -> NDArray[np.floating]:
    """``variance_scaling``; errors about the values' size name ``scale_name`` (e.g. ``gain``)."""
    std = _std_for(shape, scale, mode, layout, fans)
    distribution = check_choice("distribution", distribution, DISTRIBUTIONS)
    named = float(scale) if scale_value is None else scale_value
    if check_keyed(key, index, seed, rng) and key is not None:
        stream_scale = sampler_scale(distribution, std)
        _check_values_fit(scale_name, named, distribution, stream_scale, check_dtype(dtype), stream=True)
        return sample(distribution, shape, key, scale=stream_scale, index=index, dtype=dtype)
    out_dtype = check_dtype(dtype)
    _check_values_fit(scale_name, named, distribution, sampler_scale(distribution, std), out_dtype)
    dims, out_dtype, gen = _prepare(
        shape, dtype, seed, rng, 0 if fans else 2, _peak_bytes(distribution, out_dtype)
    )
    with np.errstate(over="ignore"):  # an overflow is refused just below
        values = _draw(gen, dims, distribution, std, out_dtype)
    if distribution == "normal" and overflow_possible(sampler_scale(distribution, std), out_dtype):
        check_finite_result(values, scale_name, named)
    return values


def _check_values_fit(
    name: str,
    value: float,
    distribution: str,
    scale: float,
    dtype: np.dtype[np.floating],
    stream: bool = False,
) -> None:
    """Refuse a sampler ``scale`` whose values cannot be represented in ``dtype``: a uniform's
    limit (doubled on the NumPy path, which scales ``U(0, 1)`` by ``2 * limit``), the truncated
    normal's ``2 s``, or one standard deviation of a normal (a normal's rare larger values are
    checked after drawing)."""
    reach = {"uniform": 1.0 if stream else 2.0, "truncated_normal": TRUNCATION, "normal": 1.0}[distribution]
    check_representable(name, value, dtype, scale * reach)


def _peak_bytes(distribution: str, dtype: np.dtype[np.floating]) -> float:
    """Peak memory per element of ``_draw`` (measured with tracemalloc): the work array, the
    cast result when the dtype differs, and for the truncated normal an ``abs`` copy and a mask."""
    work = 8 if dtype == np.float64 else 4
    cast = 0 if dtype.itemsize == work else dtype.itemsize
    return (2 * work + 2 if distribution == "truncated_normal" else work) + cast


def _axis_fans(
    shape: object,
    fans: tuple[int, int] | None,
    in_axis: AxisLike | None,
    out_axis: AxisLike | None,
    batch_axis: AxisLike | None,
) -> tuple[int, int] | None:
    """The fans read from the named axes (``jax.nn.initializers`` style), or ``fans`` unchanged
    when no axis is named; refuses ``fans=`` together with an axis."""
    if (in_axis, out_axis, batch_axis) == (None, None, None):
        return fans
    if fans is not None:
        raise ValueError(f"pass either fans={fans!r} or in_axis/out_axis/batch_axis, not both")
    return fans_by_axis(
        shape,
        -2 if in_axis is None else in_axis,
        -1 if out_axis is None else out_axis,
        () if batch_axis is None else batch_axis,
    )


def _std_for(
    shape: object, scale: object, mode: object, layout: object, fans: tuple[int, int] | None
) -> float:
    scale = check_nonnegative("scale", scale)
    mode = check_choice("mode", mode, MODES)
    layout = check_choice("layout", layout, LAYOUTS)
    if fans is None:
        fan_in, fan_out = fans_of(check_shape(shape, min_rank=2), layout)
    else:
        pair = check_shape(fans, name="fans", min_rank=2)
        if len(pair) != 2:
            raise ValueError(f"fans must be a pair (fan_in, fan_out), got {fans!r}")
        fan_in, fan_out = pair
    return variance_std(scale, fan_for_mode(mode, fan_in, fan_out))


def _prepare(
    shape: object, dtype: object, seed: object, rng: object, min_rank: int, bytes_per_element: float
) -> tuple[tuple[int, ...], np.dtype[np.floating], np.random.Generator]:
    dims, out_dtype = check_array_request(shape, dtype, min_rank, bytes_per_element)
    return dims, out_dtype, resolve_rng(seed, rng)


def _draw(
    gen: np.random.Generator,
    shape: tuple[int, ...],
    distribution: Distribution,
    std: float,
    dtype: np.dtype[np.floating],
) -> NDArray[np.floating]:
    work = np.float64 if dtype == np.float64 else np.float32
    scale = sampler_scale(distribution, std)
    if distribution == "uniform":
        limit = scale
        values = gen.random(shape, dtype=work)
        values *= 2.0 * limit
        values -= limit
    elif distribution == "normal":
        values = gen.standard_normal(shape, dtype=work)
        values *= scale
    else:
        values = _truncated_standard_normal(gen, shape, work)
        values *= scale
    return values.astype(dtype, copy=False)


def _truncated_standard_normal(
    gen: np.random.Generator, shape: tuple[int, ...], work: type[np.floating]
) -> NDArray[np.floating]:
    """N(0, 1) restricted to [-2, 2] by redrawing the (about 4.6%) values outside."""
    values = gen.standard_normal(shape, dtype=work)
    outside = np.abs(values) > TRUNCATION
    while (count := int(outside.sum())) > 0:
        values[outside] = gen.standard_normal(count, dtype=work)
        outside = np.abs(values) > TRUNCATION
    return values


def _gain_for(a: float, nonlinearity: str | None) -> float:
    a = check_nonnegative("a", a) if a != 0 else 0.0
    if nonlinearity is None:
        return calculate_gain("leaky_relu", a) if a else calculate_gain("relu")
    if nonlinearity in ("leaky_relu", "prelu"):
        return calculate_gain(nonlinearity, a)
    if a:
        raise ValueError(
            f"a (negative slope) is only used with nonlinearity 'leaky_relu' or 'prelu', got "
            f"a={a} with nonlinearity={nonlinearity!r}"
        )
    return calculate_gain(nonlinearity)


def _he_initializer(
    distribution: Distribution,
    shape: int | tuple[int, ...],
    a: float,
    nonlinearity: str | None,
    mode: str,
    layout: Layout,
    axes: tuple[AxisLike | None, AxisLike | None, AxisLike | None],
    seed: SeedLike,
    rng: np.random.Generator | None,
    key: StreamKey | None,
    index: IndexLike,
    dtype: DTypeLike,
) -> NDArray[np.floating]:
    """The He initializers (``he_normal`` and its siblings): variance ``gain**2 / fan`` with
    ``gain = calculate_gain(nonlinearity, a)`` and ``fan`` = ``fan_in`` or ``fan_out``;
    ``axes`` is ``(in_axis, out_axis, batch_axis)``."""
    return _gain_initializer(
        check_choice("mode", mode, ("fan_in", "fan_out")), distribution, shape,
        _gain_for(a, nonlinearity), layout, axes, seed, rng, key, index, dtype,
    )  # fmt: skip


def _gain_initializer(
    mode: Mode,
    distribution: Distribution,
    shape: int | tuple[int, ...],
    gain: float,
    layout: Layout,
    axes: tuple[AxisLike | None, AxisLike | None, AxisLike | None],
    seed: SeedLike,
    rng: np.random.Generator | None,
    key: StreamKey | None,
    index: IndexLike,
    dtype: DTypeLike,
) -> NDArray[np.floating]:
    """Every named initializer: variance ``gain**2 / fan`` for ``mode``;
    ``axes`` is ``(in_axis, out_axis, batch_axis)``."""
    gain = check_squarable("gain", check_nonnegative("gain", gain))
    fans = _axis_fans(shape, None, *axes)
    return _variance_scaling(
        shape, gain**2, mode, distribution, layout, fans, seed, rng, key, index, dtype,
        scale_name="gain", scale_value=gain,
    )  # fmt: skip


def he_normal(
    shape: int | tuple[int, ...],
    *,
    a: float = 0.0,
    nonlinearity: str | None = None,
    mode: Literal["fan_in", "fan_out"] = "fan_in",
    layout: Layout = "jax",
    in_axis: AxisLike | None = None,
    out_axis: AxisLike | None = None,
    batch_axis: AxisLike | None = None,
    seed: SeedLike = None,
    rng: np.random.Generator | None = None,
    key: StreamKey | None = None,
    index: IndexLike = None,
    dtype: DTypeLike = np.float64,
) -> NDArray[np.floating]:
    """He/Kaiming normal: ``N(0, std**2)``, ``std = gain / sqrt(fan)``.

    Randomness from ``seed``/``rng``, or from a counter-based ``key`` with an optional
    ``index`` that returns only ``full[index]`` (see ``variance_scaling``).

    ``gain = calculate_gain(nonlinearity, a)``; by default ``sqrt(2)`` (ReLU), or
    ``sqrt(2 / (1 + a**2))`` when a leaky slope ``a`` is given — the semantics of
    ``torch.nn.init.kaiming_normal_``. ``fan`` is ``fan_in`` (default; preserves forward
    variance) or ``fan_out`` (preserves backward variance). This is the *untruncated* normal of
    He et al. (2015); for the truncated variant use ``he_truncated_normal``.

    Example:
        >>> w = he_normal((1024, 256), seed=0)          # jax layout: (fan_in, fan_out)
        >>> round(float(w.std() * 32), 1)               # std = sqrt(2/1024) = 1/22.6
        1.4
        >>> from kaiming.stream import key
        >>> k = key(0, "layer1.weight")
        >>> shard = he_normal((1024, 256), key=k, index=(slice(None), slice(64, 128)))
        >>> bool(np.array_equal(shard, he_normal((1024, 256), key=k)[:, 64:128]))
        True
    """
    return _he_initializer(
        "normal", shape, a, nonlinearity, mode, layout, (in_axis, out_axis, batch_axis),
        seed, rng, key, index, dtype,
    )  # fmt: skip


def he_uniform(
    shape: int | tuple[int, ...],
    *,
    a: float = 0.0,
    nonlinearity: str | None = None,
    mode: Literal["fan_in", "fan_out"] = "fan_in",
    layout: Layout = "jax",
    in_axis: AxisLike | None = None,
    out_axis: AxisLike | None = None,
    batch_axis: AxisLike | None = None,
    seed: SeedLike = None,
    rng: np.random.Generator | None = None,
    key: StreamKey | None = None,
    index: IndexLike = None,
    dtype: DTypeLike = np.float64,
) -> NDArray[np.floating]:
    """He/Kaiming uniform: ``U(-b, b)``, ``b = gain * sqrt(3 / fan)``.

    Same arguments and gain rule as ``he_normal`` (``torch.nn.init.kaiming_uniform_``
    semantics); the variance is ``gain**2 / fan``.

    Example:
        >>> w = he_uniform((6, 4), seed=1)
        >>> bool(abs(w).max() <= (2 * 3 / 6) ** 0.5)
        True
    """
    return _he_initializer(
        "uniform", shape, a, nonlinearity, mode, layout, (in_axis, out_axis, batch_axis),
        seed, rng, key, index, dtype,
    )  # fmt: skip


def he_truncated_normal(
    shape: int | tuple[int, ...],
    *,
    a: float = 0.0,
    nonlinearity: str | None = None,
    mode: Literal["fan_in", "fan_out"] = "fan_in",
    layout: Layout = "jax",
    in_axis: AxisLike | None = None,
    out_axis: AxisLike | None = None,
    batch_axis: AxisLike | None = None,
    seed: SeedLike = None,
    rng: np.random.Generator | None = None,
    key: StreamKey | None = None,
    index: IndexLike = None,
    dtype: DTypeLike = np.float64,
) -> NDArray[np.floating]:
    """He normal truncated at ±2 sigma and rescaled.

    The result has std exactly ``gain / sqrt(fan)`` (what JAX's and Keras's ``he_normal``
    draw). Arguments as ``he_normal``.

    Example:
        >>> w = he_truncated_normal((256, 64), seed=0)
        >>> bool(abs(w).max() <= 2 * (2 / 256) ** 0.5 / 0.8796)
        True
    """
    return _he_initializer(
        "truncated_normal", shape, a, nonlinearity, mode, layout, (in_axis, out_axis, batch_axis),
        seed, rng, key, index, dtype,
    )  # fmt: skip


def xavier_normal(
    shape: int | tuple[int, ...],
    *,
    gain: float = 1.0,
    layout: Layout = "jax",
    in_axis: AxisLike | None = None,
    out_axis: AxisLike | None = None,
    batch_axis: AxisLike | None = None,
    seed: SeedLike = None,
    rng: np.random.Generator | None = None,
    key: StreamKey | None = None,
    index: IndexLike = None,
    dtype: DTypeLike = np.float64,
) -> NDArray[np.floating]:
    """Xavier/Glorot normal: ``std = gain * sqrt(2 / (fan_in + fan_out))``.

    Matches ``torch.nn.init.xavier_normal_``. ``gain`` scales the std (e.g.
    ``calculate_gain("tanh")``).

    Example:
        >>> w = xavier_normal((300, 100), seed=0)
        >>> round(float(w.std()), 3)                     # sqrt(2/400)
        0.071
    """
    return _gain_initializer(
        "fan_avg", "normal", shape, gain, layout, (in_axis, out_axis, batch_axis),
        seed, rng, key, index, dtype,
    )  # fmt: skip


def xavier_uniform(
    shape: int | tuple[int, ...],
    *,
    gain: float = 1.0,
    layout: Layout = "jax",
    in_axis: AxisLike | None = None,
    out_axis: AxisLike | None = None,
    batch_axis: AxisLike | None = None,
    seed: SeedLike = None,
    rng: np.random.Generator | None = None,
    key: StreamKey | None = None,
    index: IndexLike = None,
    dtype: DTypeLike = np.float64,
) -> NDArray[np.floating]:
    """Xavier/Glorot uniform: ``U(-b, b)``,
    ``b = gain * sqrt(6 / (fan_in + fan_out))``.

    Matches ``torch.nn.init.xavier_uniform_``.

    Example:
        >>> w = xavier_uniform((300, 100), seed=0)
        >>> bool(abs(w).max() <= (6 / 400) ** 0.5)
        True
    """
    return _gain_initializer(
        "fan_avg", "uniform", shape, gain, layout, (in_axis, out_axis, batch_axis),
        seed, rng, key, index, dtype,
    )  # fmt: skip


def xavier_truncated_normal(
    shape: int | tuple[int, ...],
    *,
    gain: float = 1.0,
    layout: Layout = "jax",
    in_axis: AxisLike | None = None,
    out_axis: AxisLike | None = None,
    batch_axis: AxisLike | None = None,
    seed: SeedLike = None,
    rng: np.random.Generator | None = None,
    key: StreamKey | None = None,
    index: IndexLike = None,
    dtype: DTypeLike = np.float64,
) -> NDArray[np.floating]:
    """Xavier normal truncated at ±2 sigma,
    rescaled to std ``gain * sqrt(2 / (fan_in + fan_out))``.

    Example:
        >>> w = xavier_truncated_normal((300, 100), seed=0)
        >>> w.shape
        (300, 100)
    """
    return _gain_initializer(
        "fan_avg", "truncated_normal", shape, gain, layout, (in_axis, out_axis, batch_axis),
        seed, rng, key, index, dtype,
    )  # fmt: skip


def lecun_normal(
    shape: int | tuple[int, ...],
    *,
    gain: float = 1.0,
    layout: Layout = "jax",
    in_axis: AxisLike | None = None,
    out_axis: AxisLike | None = None,
    batch_axis: AxisLike | None = None,
    seed: SeedLike = None,
    rng: np.random.Generator | None = None,
    key: StreamKey | None = None,
    index: IndexLike = None,
    dtype: DTypeLike = np.float64,
) -> NDArray[np.floating]:
    """LeCun normal: ``std = gain / sqrt(fan_in)`` (untruncated).

    The right scale for SELU networks (Klambauer et al., 2017).

    Example:
        >>> w = lecun_normal((400, 100), seed=0)
        >>> round(float(w.std()), 2)                     # 1/20
        0.05
    """
    return _gain_initializer(
        "fan_in", "normal", shape, gain, layout, (in_axis, out_axis, batch_axis),
        seed, rng, key, index, dtype,
    )  # fmt: skip


def lecun_uniform(
    shape: int | tuple[int, ...],
    *,
    gain: float = 1.0,
    layout: Layout = "jax",
    in_axis: AxisLike | None = None,
    out_axis: AxisLike | None = None,
    batch_axis: AxisLike | None = None,
    seed: SeedLike = None,
    rng: np.random.Generator | None = None,
    key: StreamKey | None = None,
    index: IndexLike = None,
    dtype: DTypeLike = np.float64,
) -> NDArray[np.floating]:
    """LeCun uniform: ``U(-b, b)``, ``b = gain * sqrt(3 / fan_in)``.

    Example:
        >>> w = lecun_uniform((300, 100), seed=0)
        >>> bool(abs(w).max() <= 0.1)
        True
    """
    return _gain_initializer(
        "fan_in", "uniform", shape, gain, layout, (in_axis, out_axis, batch_axis),
        seed, rng, key, index, dtype,
    )  # fmt: skip


def lecun_truncated_normal(
    shape: int | tuple[int, ...],
    *,
    gain: float = 1.0,
    layout: Layout = "jax",
    in_axis: AxisLike | None = None,
    out_axis: AxisLike | None = None,
    batch_axis: AxisLike | None = None,
    seed: SeedLike = None,
    rng: np.random.Generator | None = None,
    key: StreamKey | None = None,
    index: IndexLike = None,
    dtype: DTypeLike = np.float64,
) -> NDArray[np.floating]:
    """LeCun normal truncated at ±2 sigma,
    rescaled to std ``gain / sqrt(fan_in)``.

    Example:
        >>> w = lecun_truncated_normal((400, 100), seed=0)
        >>> w.shape
        (400, 100)
    """
    return _gain_initializer(
        "fan_in", "truncated_normal", shape, gain, layout, (in_axis, out_axis, batch_axis),
        seed, rng, key, index, dtype,
    )  # fmt: skip


kaiming_normal = he_normal
kaiming_uniform = he_uniform
glorot_normal = xavier_normal
glorot_uniform = xavier_uniform


def he_init(fan_in: int, fan_out: int, seed: int = 42) -> NDArray[np.float64]:
    """The seed contract: He normal weights of shape ``(fan_in, fan_out)``, float64, exactly

    ``np.random.default_rng(seed).standard_normal((fan_in, fan_out)) * np.sqrt(2 / fan_in)``.

    These exact numbers are part of the public contract and never change between versions.

    Example:
        >>> w = he_init(512, 256, seed=42)
        >>> w.shape, w.dtype
        ((512, 256), dtype('float64'))
    """
    fan_in = check_positive_int("fan_in", fan_in)
    fan_out = check_positive_int("fan_out", fan_out)
    check_shape((fan_in, fan_out), "(fan_in, fan_out)")
    check_size_fits((fan_in, fan_out), np.dtype(np.float64), "(fan_in, fan_out)", bytes_per_element=16)
    gen = resolve_rng(seed)
    weights: NDArray[np.float64] = gen.standard_normal((fan_in, fan_out)) * np.sqrt(2 / fan_in)
    return weights
