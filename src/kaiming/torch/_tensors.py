"""In-place tensor initializers with ``torch.nn.init`` semantics and explicit randomness.

Every function fills a tensor in the torch layout ``(out, in, *kernel)`` (so ``fan_in =
in * prod(kernel)`` and ``fan_out = out * prod(kernel)``), returns the same tensor, and:

- runs under ``torch.no_grad()``, keeps the tensor's dtype and device;
- takes its randomness explicitly: ``generator=`` (a ``torch.Generator`` on the tensor's
  device, used and advanced) *or* ``seed=`` (an int, giving a fresh generator seeded with it);
  with neither, a fresh generator seeded from OS entropy is used. torch's global RNG is never
  read or advanced;
- or, for the variance-scaling family, ``normal_``, ``uniform_``, ``trunc_normal_``,
  ``orthogonal_`` and ``delta_orthogonal_``, ``key=kaiming.stream.key(seed, name)``: the
  counter stream, computed on the tensor's own device (``kaiming.torch._keyed``), bit for bit
  the NumPy family's keyed values (``kaiming.he_normal(shape, layout="torch", key=...)``...); a
  DTensor writes only its local shard, with the global shape's fans;
- draws float16/bfloat16 tensors in float32 and rounds once (so the same seed gives the same
  values, up to rounding, in every floating dtype), float64 tensors in float64;
- refuses meta tensors, integer/bool/complex tensors, and tensors with fewer than 2 dims where
  fans are needed, with a ``ValueError``/``TypeError`` naming the problem.

Gains and fans come from the NumPy core (``kaiming.gains.calculate_gain``,
``kaiming.fans.compute_fans`` with ``layout="torch"``): the values are torch's.
"""

from __future__ import annotations

import math
import numbers
import os
import sys
import warnings
from collections.abc import Callable
from typing import Protocol

import numpy as np
import torch
from numpy.typing import NDArray

from .. import structured as _st
from .._checks import (
    check_choice,
    check_fraction,
    check_nonnegative,
    check_positive_int,
    check_real,
    check_squarable,
)
from .._sampling import TRUNCATION, fan_for_mode, sampler_scale, variance_std
from ..fans import fans_of
from ..initializers import DISTRIBUTIONS, MODES, Distribution, Mode, _gain_for
from ..stream import StreamKey
from ._dtensor import local_part
from ._keyed import Keyed
from ._limits import check_magnitude, check_not_tiny, guarded_fill, may_overflow
from ._truncated import truncated_normal, truncated_normal_from

__all__ = [
    "GainInitializer",
    "KaimingInitializer",
    "constant_",
    "delta_orthogonal_",
    "dirac_",
    "eye_",
    "glorot_normal_",
    "glorot_uniform_",
    "he_normal_",
    "he_truncated_normal_",
    "he_uniform_",
    "identity_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "lecun_normal_",
    "lecun_truncated_normal_",
    "lecun_uniform_",
    "make_generator",
    "normal_",
    "ones_",
    "orthogonal_",
    "sparse_",
    "trunc_normal_",
    "uniform_",
    "variance_scaling_",
    "xavier_normal_",
    "xavier_truncated_normal_",
    "xavier_uniform_",
    "zeros_",
]

_LOW_PRECISION = (torch.float16, torch.bfloat16)
_MAX_SEED = 2**64 - 1


# ---------------------------------------------------------------------------------------------
# validation and randomness (the torch-specific glue)
# ---------------------------------------------------------------------------------------------


def _check_tensor(tensor: object, min_dims: int = 0) -> torch.Tensor:
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"tensor must be a torch.Tensor, got {type(tensor).__name__}")
    if tensor.is_meta:
        raise ValueError(
            f"tensor is a meta tensor (shape {tuple(tensor.shape)}) and has no storage to fill; "
            "materialize it first, e.g. module.to_empty(device='cpu')"
        )
    if tensor.layout != torch.strided or tensor.is_quantized:
        raise TypeError(f"tensor must be a dense (strided) tensor, got layout {tensor.layout}")
    if not tensor.is_floating_point():
        raise TypeError(
            f"tensor must have a floating dtype (float16, bfloat16, float32, float64), got {tensor.dtype}"
        )
    strides = zip(tensor.stride(), tensor.shape, strict=True)
    if tensor.numel() > 1 and any(stride == 0 and n > 1 for stride, n in strides):
        raise ValueError(
            f"tensor has overlapping memory (stride {tensor.stride()} for shape {tuple(tensor.shape)}, e.g. "
            "from expand()); its elements cannot hold different values: pass a contiguous tensor"
        )
    if tensor.dim() < min_dims:
        raise ValueError(
            f"tensor must have at least {min_dims} dimensions to define fan_in and fan_out, got "
            f"shape {tuple(tensor.shape)} with {tensor.dim()}"
        )
    return tensor


def make_generator(
    device: torch.device | str = "cpu",
    *,
    generator: torch.Generator | None = None,
    seed: int | None = None,
) -> torch.Generator:
    """Return the ``torch.Generator`` to draw from on ``device``, given a ``generator`` *or* a ``seed``.

    A ``generator`` is passed through (it must live on ``device``); ``seed`` (an int in
    ``[0, 2**64)``) gives a new generator seeded with it; neither gives a new generator seeded
    from OS entropy. Never torch's global generator.

    Example:
        >>> a = torch.randn(3, generator=make_generator(seed=7))
        >>> b = torch.randn(3, generator=make_generator(seed=7))
        >>> bool(torch.equal(a, b))
        True
    """
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"device must be a torch.device or a device string like 'cpu', got {device!r}"
        ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(device)!r} is not available on this machine")
    if generator is not None and seed is not None:
        raise ValueError("pass either generator or seed, not both")
    if generator is not None:
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
        if generator.device.type != device.type:
            raise ValueError(
                f"generator is on device {generator.device} but the tensor is on {device}; "
                "pass a generator created with torch.Generator(device=tensor.device)"
            )
        return generator
    fresh = torch.Generator(device=device)
    if seed is None:
        fresh.seed()
        return fresh
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int in [0, 2**64) or None, got {seed!r}")
    if not 0 <= int(seed) <= _MAX_SEED:
        raise ValueError(f"seed must be an int in [0, 2**64), got {int(seed)}")
    fresh.manual_seed(int(seed))
    return fresh


def _work_dtype(tensor: torch.Tensor) -> torch.dtype:
    return torch.float32 if tensor.dtype in _LOW_PRECISION else tensor.dtype


def _fill(tensor: torch.Tensor, draw: Callable[[torch.dtype], torch.Tensor]) -> torch.Tensor:
    """Copy ``draw(work_dtype)`` (a tensor of ``tensor``'s shape) into ``tensor``, without grad."""
    with torch.no_grad():
        tensor.copy_(draw(_work_dtype(tensor)).reshape(tensor.shape))
    return tensor


TORCH_TRUNC_WARNING = (
    "mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
    "The distribution of values may be incorrect."
)
"""``torch.nn.init.trunc_normal_``'s warning text (tests compare it with torch's, live)."""

ZERO_ELEMENT_WARNING = "Initializing zero-element tensors is a no-op"
"""``torch.nn.init``'s warning text for a zero-element tensor (tests compare it with torch's, live)."""


_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def _caller_level() -> int:
    """The ``stacklevel`` (for a ``warnings.warn`` in the function calling this) of the first
    frame outside ``kaiming.torch``: warnings point at the user's call however deep the helper."""
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
        level += 1
    return level


def _empty(tensor: torch.Tensor) -> bool:
    if tensor.numel() == 0:
        warnings.warn(ZERO_ELEMENT_WARNING, stacklevel=_caller_level())
        return True
    return False


# ---------------------------------------------------------------------------------------------
# the distributions (internal: model_init calls these with std/bound it computed from the fans)
# ---------------------------------------------------------------------------------------------

Source = torch.Generator | Keyed
"""Where a fill's random numbers come from: a ``torch.Generator`` or a stream key (``Keyed``)."""


def fill_normal(tensor: torch.Tensor, mean: float, std: float, gen: Source) -> torch.Tensor:
    """``N(mean, std**2)`` into a validated tensor (internal)."""
    if isinstance(gen, Keyed):
        return gen.affine_(tensor, "normal", std, mean)

    def draw(dtype: torch.dtype) -> torch.Tensor:
        out = torch.empty(tensor.shape, dtype=dtype, device=tensor.device)
        return out.normal_(mean, std, generator=gen)

    return _fill(tensor, draw)


def fill_uniform(tensor: torch.Tensor, low: float, high: float, gen: Source) -> torch.Tensor:
    """``U(low, high)`` into a validated tensor (internal)."""
    if isinstance(gen, Keyed):  # the stream's U(-1, 1), scaled and shifted (kaiming.uniform)
        return gen.affine_(tensor, "uniform", (high - low) / 2.0, (low + high) / 2.0)

    def draw(dtype: torch.dtype) -> torch.Tensor:
        out = torch.empty(tensor.shape, dtype=dtype, device=tensor.device)
        return out.uniform_(low, high, generator=gen)

    return _fill(tensor, draw)


def fill_truncated(
    tensor: torch.Tensor, mean: float, std: float, low: float, high: float, gen: Source
) -> torch.Tensor:
    """``N(mean, std**2)`` restricted to ``(low, high)`` by a tail-exact inverse CDF in float64
    (internal; ``kaiming.torch._truncated``): no value on or outside a bound."""
    shape, dtype, device = tuple(tensor.shape), tensor.dtype, tensor.device
    if isinstance(gen, Keyed):
        values = truncated_normal_from(
            shape, mean, std, low, high, gen.uniforms(shape, device), dtype, device
        )
    else:
        values = truncated_normal(shape, mean, std, low, high, gen, dtype, device)
    with torch.no_grad():
        tensor.copy_(values)
    return tensor


def fill_distribution(
    tensor: torch.Tensor, distribution: Distribution, std: float, gen: Source
) -> torch.Tensor:
    """Zero-mean ``distribution`` with standard deviation ``std`` (internal).

    ``"uniform"`` is ``U(-sqrt(3) std, sqrt(3) std)``; ``"truncated_normal"`` is ``N(0, s**2)``
    cut at ``±2 s`` with ``s = std / 0.8796`` so that the result has std ``std``. With a key,
    the stream's own samplers (``kaiming.variance_scaling(..., key=...)``).
    """
    scale = sampler_scale(distribution, std)
    if isinstance(gen, Keyed):
        return gen.fill_(tensor, distribution, scale)
    if distribution == "normal":
        return fill_normal(tensor, 0.0, scale, gen)
    if distribution == "uniform":
        return fill_uniform(tensor, -scale, scale, gen)
    if scale == 0:  # N(0, 0) cut at 0: all zeros
        with torch.no_grad():
            return tensor.zero_()
    return fill_truncated(tensor, 0.0, scale, -TRUNCATION * scale, TRUNCATION * scale, gen)


def fill_orthogonal(tensor: torch.Tensor, gain: float, gen: Source) -> torch.Tensor:
    """(Semi-)orthogonal ``(shape[0], prod(shape[1:]))`` matrix times ``gain`` (internal).

    QR of a Gaussian matrix with the signs of R's diagonal folded into Q (Haar measure), as
    ``torch.nn.init.orthogonal_`` does; computed in float32 (float64 for float64 tensors). With a
    key, ``kaiming.orthogonal(..., layout="torch", key=...)`` (NumPy, float64 QR on the host).
    """
    if isinstance(gen, Keyed):
        return gen.host_(tensor, _st.orthogonal, gain)
    rows = tensor.shape[0]
    cols = tensor.numel() // rows

    def draw(dtype: torch.dtype) -> torch.Tensor:
        flat = torch.empty((rows, cols), dtype=dtype, device=tensor.device).normal_(0.0, 1.0, generator=gen)
        if rows < cols:
            flat = flat.T
        q, r = torch.linalg.qr(flat)
        q = q * torch.sign(torch.diagonal(r, 0))
        if rows < cols:
            q = q.T
        scaled: torch.Tensor = q * gain
        return scaled

    return _fill(tensor, draw)


def fill_array(tensor: torch.Tensor, values: NDArray[np.floating]) -> torch.Tensor:
    """Copy a NumPy array of ``tensor``'s shape into it (internal; for deterministic inits).

    A float16 tensor gets the values rounded once, by NumPy, as the NumPy family's float16
    arrays are: torch rounds float64 to float16 through float32, which differs when a value
    lies within 2**-29 of a tie (``1 + 2**-11 + 2**-40`` is 1.0 there, 1.00098 here)."""
    if tensor.dtype == torch.float16:
        values = values.astype(np.float16)
    return _fill(tensor, lambda dtype: torch.as_tensor(values, dtype=dtype, device=tensor.device))


# ---------------------------------------------------------------------------------------------
# randomness of a public call: generator, seed or key
# ---------------------------------------------------------------------------------------------


def _randomness(
    tensor: torch.Tensor,
    generator: torch.Generator | None,
    seed: int | None,
    key: StreamKey | None,
) -> tuple[torch.Tensor, Source]:
    """The tensor to write and where its numbers come from.

    ``key`` (a ``kaiming.stream.StreamKey``) gives the counter stream over ``tensor``'s global
    shape; a DTensor then writes its local shard alone (``local_part``). Otherwise the tensor
    itself and ``make_generator``'s generator. At most one of generator/seed/key.
    """
    if key is None:
        return tensor, make_generator(tensor.device, generator=generator, seed=seed)
    if not isinstance(key, StreamKey):
        raise TypeError(f"key must be a kaiming.stream.StreamKey (from kaiming.stream.key), got {key!r}")
    for name, value in (("generator", generator), ("seed", seed)):
        if value is not None:
            raise ValueError(
                f"pass either key (counter-based stream) or {name} (torch generator), not both; "
                f"got key={key!r} and {name}={value!r}"
            )
    target, index = local_part(tensor)
    return target, Keyed(key, tuple(tensor.shape), index)


def _drawn(
    tensor: torch.Tensor,
    generator: torch.Generator | None,
    seed: int | None,
    key: StreamKey | None,
) -> tuple[torch.Tensor, Source] | None:
    """``_randomness``, or ``None`` when there is nothing to write: a zero-element tensor (a
    warned no-op, as in torch) or a rank whose shard is empty."""
    target, source = _randomness(tensor, generator, seed, key)
    if _empty(tensor) or target.numel() == 0:
        return None
    return target, source


# ---------------------------------------------------------------------------------------------
# public in-place initializers
# ---------------------------------------------------------------------------------------------


def _fan(tensor: torch.Tensor, mode: str) -> float:
    fan_in, fan_out = fans_of(tuple(tensor.shape), "torch")
    return fan_for_mode(mode, fan_in, fan_out)


def _fill_checked(
    tensor: torch.Tensor,
    name: str,
    value: float,
    distribution: Distribution,
    std: float,
    gen: Source,
) -> torch.Tensor:
    """``fill_distribution``, refusing values beyond the tensor's dtype (errors name ``name``)."""
    scale = sampler_scale(distribution, std)
    check_magnitude(tensor, name, value, scale * (TRUNCATION if distribution == "truncated_normal" else 1.0))
    if distribution == "normal" and may_overflow(tensor, 0.0, scale):
        return guarded_fill(tensor, name, value, lambda t: fill_distribution(t, distribution, std, gen))
    return fill_distribution(tensor, distribution, std, gen)


def _variance_scaled_(
    tensor: torch.Tensor,
    name: str,
    value: float,
    scale: float,
    mode: Mode,
    distribution: Distribution,
    generator: torch.Generator | None,
    seed: int | None,
    key: StreamKey | None,
) -> torch.Tensor:
    """The one implementation of the variance-scaling family: zero-mean ``distribution`` with
    variance ``scale / fan`` (fans of the global shape); errors about the values' size name
    ``name=value`` (``scale``, or ``gain`` for the named initializers)."""
    _check_tensor(tensor, min_dims=2)
    drawn = _drawn(tensor, generator, seed, key)
    if drawn is not None:
        target, source = drawn
        _fill_checked(target, name, value, distribution, variance_std(scale, _fan(tensor, mode)), source)
    return tensor


def _kaiming_(
    tensor: torch.Tensor,
    a: float,
    mode: str,
    nonlinearity: str,
    distribution: Distribution,
    generator: torch.Generator | None,
    seed: int | None,
    key: StreamKey | None,
) -> torch.Tensor:
    """He/Kaiming: variance ``calculate_gain(nonlinearity, a)**2 / fan``."""
    checked: Mode = check_choice("mode", mode, ("fan_in", "fan_out"))
    gain = _gain_for(a, nonlinearity)
    return _variance_scaled_(tensor, "gain", gain, gain**2, checked, distribution, generator, seed, key)


def _gain_scaled_(
    tensor: torch.Tensor,
    gain: float,
    mode: Mode,
    distribution: Distribution,
    generator: torch.Generator | None,
    seed: int | None,
    key: StreamKey | None,
) -> torch.Tensor:
    """Xavier (``fan_avg``) and LeCun (``fan_in``): variance ``gain**2 / fan``."""
    gain = check_squarable("gain", check_nonnegative("gain", gain))
    return _variance_scaled_(tensor, "gain", gain, gain**2, mode, distribution, generator, seed, key)


def variance_scaling_(
    tensor: torch.Tensor,
    scale: float = 1.0,
    mode: Mode = "fan_in",
    distribution: Distribution = "normal",
    *,
    generator: torch.Generator | None = None,
    seed: int | None = None,
    key: StreamKey | None = None,
) -> torch.Tensor:
    """Fill ``tensor`` with zero-mean values of variance ``scale / fan``, in place.

    ``fan`` is ``fan_in``, ``fan_out`` or their mean (``mode``) of the torch layout
    ``(out, in, *kernel)``; ``distribution`` is ``"normal"``, ``"uniform"``
    (``U(-b, b)``, ``b = sqrt(3 scale / fan)``) or ``"truncated_normal"`` (cut at 2 sigma and
    rescaled so the std is exactly ``sqrt(scale / fan)``). The NumPy twin is
    ``kaiming.variance_scaling(..., layout="torch")``; with ``key=`` the values equal its keyed
    draw bit for bit.

    Example:
        >>> w = variance_scaling_(torch.empty(256, 512), 2.0, "fan_in", "uniform", seed=0)
        >>> round(float(w.std()) * 16, 1)                # sqrt(2 / 512) = 1/16
        1.0
    """
    scale = check_nonnegative("scale", scale)
    mode = check_choice("mode", mode, MODES)
    distribution = check_choice("distribution", distribution, DISTRIBUTIONS)
    return _variance_scaled_(tensor, "scale", scale, scale, mode, distribution, generator, seed, key)


class KaimingInitializer(Protocol):
    """The signature of ``kaiming_normal_``, ``kaiming_uniform_`` and ``he_truncated_normal_``."""

    def __call__(
        self,
        tensor: torch.Tensor,
        a: float = ...,
        mode: str = ...,
        nonlinearity: str = ...,
        *,
        generator: torch.Generator | None = ...,
        seed: int | None = ...,
        key: StreamKey | None = ...,
    ) -> torch.Tensor: ...


class GainInitializer(Protocol):
    """The signature of the Xavier and LeCun in-place initializers."""

    def __call__(
        self,
        tensor: torch.Tensor,
        gain: float = ...,
        *,
        generator: torch.Generator | None = ...,
        seed: int | None = ...,
        key: StreamKey | None = ...,
    ) -> torch.Tensor: ...


def kaiming_normal_(
    tensor: torch.Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    *,
    generator: torch.Generator | None = None,
    seed: int | None = None,
    key: StreamKey | None = None,
) -> torch.Tensor:
    """He/Kaiming normal, in place: ``N(0, std**2)``, ``std = gain / sqrt(fan)``.

    ``gain = calculate_gain(nonlinearity, a)``. torch's defaults are kept on purpose so that
    code ported from ``torch.nn.init.kaiming_normal_`` behaves the same: ``nonlinearity=
    "leaky_relu"`` with ``a=0`` *is* ReLU (gain ``sqrt(2)``); pass ``a`` for a leaky slope.
    ``mode`` is ``"fan_in"`` (preserves forward variance) or ``"fan_out"`` (backward).
    ``key=kaiming.stream.key(seed, name)`` draws from the counter stream instead:
    the values of ``kaiming.he_normal(shape, layout="torch", key=...)``, bit for bit.

    Example:
        >>> w = kaiming_normal_(torch.empty(128, 1024), seed=0)
        >>> round(float(w.std()) * (1024 / 2) ** 0.5, 1)
        1.0
        >>> import kaiming
        >>> k = kaiming.stream.key(0, "fc.weight")
        >>> w = kaiming_normal_(torch.empty(128, 1024), key=k)
        >>> ref = kaiming.he_normal((128, 1024), layout="torch", key=k, dtype=np.float32)
        >>> bool(np.array_equal(w.numpy(), ref))
        True
    """
    return _kaiming_(tensor, a, mode, nonlinearity, "normal", generator, seed, key)


def kaiming_uniform_(
    tensor: torch.Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    *,
    generator: torch.Generator | None = None,
    seed: int | None = None,
    key: StreamKey | None = None,
) -> torch.Tensor:
    """He/Kaiming uniform, in place: ``U(-b, b)``, ``b = gain * sqrt(3 / fan)``.

    Arguments and defaults as ``kaiming_normal_`` (``torch.nn.init.kaiming_uniform_``
    semantics). Note ``nn.Linear``'s own default is this with ``a=sqrt(5)``, i.e.
    ``b = 1 / sqrt(fan_in)`` — a compatibility default, not He init.

    Example:
        >>> w = kaiming_uniform_(torch.empty(64, 50), seed=0)
        >>> bool(w.abs().max() <= (6 / 50) ** 0.5)
        True
    """
    return _kaiming_(tensor, a, mode, nonlinearity, "uniform", generator, seed, key)


def he_truncated_normal_(
    tensor: torch.Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    *,
    generator: torch.Generator | None = None,
    seed: int | None = None,
    key: StreamKey | None = None,
) -> torch.Tensor:
    """He normal truncated at 2 sigma and rescaled to std ``gain / sqrt(fan)``, in place.

    Example:
        >>> w = he_truncated_normal_(torch.empty(64, 128), seed=0)
        >>> bool(w.abs().max() <= 2 * (2 / 128) ** 0.5 / 0.8796 + 1e-6)
        True
    """
    return _kaiming_(tensor, a, mode, nonlinearity, "truncated_normal", generator, seed, key)


he_normal_ = kaiming_normal_
he_uniform_ = kaiming_uniform_


def xavier_normal_(
    tensor: torch.Tensor,
    gain: float = 1.0,
    *,
    generator: torch.Generator | None = None,
    seed: int | None = None,
    key: StreamKey | None = None,
) -> torch.Tensor:
    """Xavier/Glorot normal, in place: ``std = gain * sqrt(2 / (fan_in + fan_out))``.

    Example:
        >>> w = xavier_normal_(torch.empty(300, 100), seed=0)
        >>> round(float(w.std()), 3)                     # sqrt(2 / 400)
        0.071
    """
    return _gain_scaled_(tensor, gain, "fan_avg", "normal", generator, seed, key)


def xavier_uniform_(
    tensor: torch.Tensor,
    gain: float = 1.0,
    *,
    generator: torch.Generator | None = None,
    seed: int | None = None,
    key: StreamKey | None = None,
) -> torch.Tensor:
    """Xavier/Glorot uniform, in place: ``U(-b, b)``, ``b = gain * sqrt(6 / (fan_in + fan_out))``.

    Example:
        >>> w = xavier_uniform_(torch.empty(300, 100), seed=0)
        >>> bool(w.abs().max() <= (6 / 400) ** 0.5)
        True
    """
    return _gain_scaled_(tensor, gain, "fan_avg", "uniform", generator, seed, key)


def xavier_truncated_normal_(
    tensor: torch.Tensor,
    gain: float = 1.0,
    *,
    generator: torch.Generator | None = None,
    seed: int | None = None,
    key: StreamKey | None = None,
) -> torch.Tensor:
    """Xavier normal truncated at 2 sigma, rescaled to std ``gain * sqrt(2 / (fan_in + fan_out))``.

    Example:
        >>> xavier_truncated_normal_(torch.empty(3, 4), seed=0).shape
        torch.Size([3, 4])
    """
    return _gain_scaled_(tensor, gain, "fan_avg", "truncated_normal", generator, seed, key)


def lecun_normal_(
    tensor: torch.Tensor,
    gain: float = 1.0,
    *,
    generator: torch.Generator | None = None,
    seed: int | None = None,
    key: StreamKey | None = None,
) -> torch.Tensor:
    """LeCun normal, in place: ``std = gain / sqrt(fan_in)`` (the SELU rule; untruncated).

    Example:
        >>> w = lecun_normal_(torch.empty(100, 400), seed=0)
        >>> round(float(w.std()), 2)                     # 1 / 20
        0.05
    """
    return _gain_scaled_(tensor, gain, "fan_in", "normal", generator, seed, key)


def lecun_uniform_(
    tensor: torch.Tensor,
    gain: float = 1.0,
    *,
    generator: torch.Generator | None = None,
    seed: int | None = None,
    key: StreamKey | None = None,
) -> torch.Tensor:
    """LeCun uniform, in place: ``U(-b, b)``, ``b = gain * sqrt(3 / fan_in)``.

    Example:
        >>> w = lecun_uniform_(torch.empty(100, 300), seed=0)
        >>> bool(w.abs().max() <= 0.1)
        True
    """
    return _gain_scaled_(tensor, gain, "fan_in", "uniform", generator, seed, key)


def lecun_truncated_normal_(
    tensor: torch.Tensor,
    gain: float = 1.0,
    *,
    generator: torch.Generator | None = None,
    seed: int | None = None,
    key: StreamKey | None = None,
) -> torch.Tensor:
    """LeCun normal truncated at 2 sigma, rescaled to std ``gain / sqrt(fan_in)``.

    Example:
        >>> lecun_truncated_normal_(torch.empty(3, 4), seed=0).shape
        torch.Size([3, 4])
    """
    return _gain_scaled_(tensor, gain, "fan_in", "truncated_normal", generator, seed, key)


glorot_normal_ = xavier_normal_
glorot_uniform_ = xavier_uniform_


def normal_(
    tensor: torch.Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    *,
    generator: torch.Generator | None = None,
    seed: int | None = None,
    key: StreamKey | None = None,
) -> torch.Tensor:
    """``N(mean, std**2)``, in place (any number of dims).

    With ``key=``: ``mean + std * z``, ``z`` the stream's standard normal, computed in float32
    (float64 for float64 tensors) and rounded once: ``kaiming.normal(shape, mean, std, key=...)``.

    Example:
        >>> float(normal_(torch.empty(3), std=0.0)[0])
        0.0
    """
    mean = check_real("mean", mean)
    std = check_nonnegative("std", std)
    _check_tensor(tensor)
    drawn = _drawn(tensor, generator, seed, key)
    if drawn is None:
        return tensor
    target, source = drawn
    check_magnitude(target, "mean", mean, abs(mean), random=False)
    check_magnitude(target, "std", std, std)
    if may_overflow(target, mean, std):
        guarded_fill(target, "std", std, lambda t: fill_normal(t, mean, std, source))
    else:
        fill_normal(target, mean, std, source)
    return tensor


def uniform_(
    tensor: torch.Tensor,
    a: float = 0.0,
    b: float = 1.0,
    *,
    generator: torch.Generator | None = None,
    seed: int | None = None,
    key: StreamKey | None = None,
) -> torch.Tensor:
    """``U(a, b)``, in place (any number of dims); ``a <= b``.

    With ``key=``: ``(a + b) / 2 + (b - a) / 2 * v``, ``v`` the stream's uniform on (-1, 1), in
    float32 (float64 for float64 tensors) and rounded once: ``kaiming.uniform(shape, a, b, key=...)``.

    Example:
        >>> w = uniform_(torch.empty(1000), -1.0, 1.0, seed=0)
        >>> bool(w.min() >= -1.0) and bool(w.max() <= 1.0)
        True
    """
    a, b = check_real("a", a), check_real("b", b)
    if a > b:
        raise ValueError(f"uniform_ needs a <= b, got a={a}, b={b}")
    _check_tensor(tensor)
    drawn = _drawn(tensor, generator, seed, key)
    if drawn is None:
        return tensor
    target, source = drawn
    for name, value in (("a", a), ("b", b)):
        check_magnitude(target, name, value, abs(value), random=False)
    check_magnitude(target, "b - a", b - a, b - a)  # the width U(0, 1) is scaled by
    fill_uniform(target, a, b, source)
    return tensor


def trunc_normal_(
    tensor: torch.Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    *,
    generator: torch.Generator | None = None,
    seed: int | None = None,
    key: StreamKey | None = None,
) -> torch.Tensor:
    """``N(mean, std**2)`` restricted to ``(a, b)`` (absolute bounds), in place.

    ``torch.nn.init.trunc_normal_`` semantics: ``std`` is the std *before* truncation (the
    values' std is smaller). Drawn by the inverse CDF in float64, with the complementary CDF of
    the nearer bound when the interval lies on one side of the mean, so the values follow the
    truncated normal even far in a tail (``a=6, b=7`` with ``std=1``); none is ever on or
    outside a bound (``kaiming.torch._truncated``). Like torch, warns when the mean is more
    than 2 std from ``[a, b]`` (the same text, so warning filters written for torch match).
    For a truncated normal whose final std is a chosen value, use
    ``variance_scaling_(..., "truncated_normal")``. With ``key=``, the uniforms come from the
    stream (float64, ``(v + 1) / 2``) and always go through the inverse CDF, so each value
    depends on its own index only (a DTensor shard equals the slice of the whole).

    Example:
        >>> w = trunc_normal_(torch.empty(1000), std=1.0, a=-0.5, b=0.5, seed=0)
        >>> bool(w.abs().max() < 0.5)
        True
        >>> w = trunc_normal_(torch.empty(1000), a=1.0, b=3.0, seed=0)  # one side of the mean
        >>> bool(w.min() > 1.0) and bool(w.max() < 3.0)
        True
    """
    mean, a, b = check_real("mean", mean), check_real("a", a), check_real("b", b)
    std = check_nonnegative("std", std)
    if std == 0 or a >= b:
        raise ValueError(f"trunc_normal_ needs std > 0 and a < b, got std={std}, a={a}, b={b}")
    _check_tensor(tensor)
    target, source = _randomness(tensor, generator, seed, key)
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn(
            f"{TORCH_TRUNC_WARNING} (kaiming.torch.trunc_normal_ draws this tail exactly, in float64 "
            "with the complementary CDF; the text is torch's so that its warning filters match)",
            stacklevel=2,
        )
    if _empty(tensor) or target.numel() == 0:
        return tensor
    for name, value in (("a", a), ("b", b), ("mean", mean)):  # every value lies in (a, b)
        check_magnitude(target, name, value, abs(value), random=False)
    spread = ("std", std) if std <= (b - a) / 2 else ("b - a", b - a)  # the narrower one
    check_not_tiny(target, *spread, min(std, (b - a) / 2))
    fill_truncated(target, mean, std, a, b, source)
    return tensor


def orthogonal_(
    tensor: torch.Tensor,
    gain: float = 1.0,
    *,
    generator: torch.Generator | None = None,
    seed: int | None = None,
    key: StreamKey | None = None,
) -> torch.Tensor:
    """(Semi-)orthogonal init (Saxe et al., 2014), in place.

    The tensor is viewed as the matrix ``M`` of shape ``(shape[0], prod(shape[1:]))`` (rows are
    output units, as ``torch.nn.init.orthogonal_`` flattens); ``M @ M.T = gain**2 I`` if ``M``
    has no more rows than columns, else ``M.T @ M = gain**2 I``. With ``key=``, the values of
    ``kaiming.orthogonal(shape, gain, layout="torch", key=...)``: QR needs the whole matrix, so
    it is computed on the host in float64 (for a DTensor, by every rank, which keeps its shard).

    Example:
        >>> w = orthogonal_(torch.empty(32, 64), seed=0)
        >>> bool(torch.allclose(w @ w.T, torch.eye(32), atol=1e-5))
        True
    """
    gain = check_nonnegative("gain", gain)
    _check_tensor(tensor, min_dims=2)
    check_magnitude(tensor, "gain", gain, gain)  # orthonormal entries are at most 1 in magnitude
    drawn = _drawn(tensor, generator, seed, key)
    if drawn is not None:
        target, source = drawn
        fill_orthogonal(target, gain, source)
    return tensor


def delta_orthogonal_(
    tensor: torch.Tensor,
    gain: float = 1.0,
    *,
    generator: torch.Generator | None = None,
    seed: int | None = None,
    key: StreamKey | None = None,
) -> torch.Tensor:
    """Delta-orthogonal conv kernel (Xiao et al., 2018), in place, torch layout ``(out, in, *k)``.

    Zero except the spatial centre, which holds an ``out x in`` matrix with orthonormal columns
    times ``gain`` (needs ``in <= out``); the convolution then preserves norms exactly. With
    ``key=``, the values of ``kaiming.delta_orthogonal(shape, gain, layout="torch", key=...)``
    (QR on the host, as for ``orthogonal_``).

    Example:
        >>> w = delta_orthogonal_(torch.empty(32, 16, 3, 3), seed=0)
        >>> c = w[:, :, 1, 1]
        >>> bool(torch.allclose(c.T @ c, torch.eye(16), atol=1e-5)), float(w[:, :, 0, 0].abs().max())
        (True, 0.0)
    """
    gain = check_nonnegative("gain", gain)
    _check_tensor(tensor, min_dims=3)
    shape = tuple(tensor.shape)
    if tensor.dim() > 5 or shape[1] > shape[0]:
        raise ValueError(
            "delta_orthogonal_ needs a tensor that is a conv kernel (out, in, *k) with 3 to 5 dims "
            "and in <= out, "
            f"got shape {shape}"
        )
    check_magnitude(tensor, "gain", gain, gain)
    drawn = _drawn(tensor, generator, seed, key)
    if drawn is None:
        return tensor
    target, source = drawn
    if isinstance(source, Keyed):
        source.host_(target, _st.delta_orthogonal, gain)
        return tensor
    centre = torch.empty(shape[:2], dtype=tensor.dtype, device=tensor.device)
    fill_orthogonal(centre, gain, source)
    with torch.no_grad():
        tensor.zero_()
        index: tuple[slice | int, ...] = (slice(None), slice(None), *(k // 2 for k in shape[2:]))
        tensor[index] = centre
    return tensor


def constant_(tensor: torch.Tensor, val: float) -> torch.Tensor:
    """Fill with ``val``, in place.

    Example:
        >>> constant_(torch.empty(2), 0.5)
        tensor([0.5000, 0.5000])
    """
    val = check_real("val", val)
    _check_tensor(tensor)
    check_magnitude(tensor, "val", val, abs(val), random=False)
    with torch.no_grad():
        return tensor.fill_(val)


def zeros_(tensor: torch.Tensor) -> torch.Tensor:
    """Fill with 0, in place.

    Example:
        >>> zeros_(torch.ones(2))
        tensor([0., 0.])
    """
    return constant_(tensor, 0.0)


def ones_(tensor: torch.Tensor) -> torch.Tensor:
    """Fill with 1, in place.

    Example:
        >>> ones_(torch.zeros(2))
        tensor([1., 1.])
    """
    return constant_(tensor, 1.0)


def eye_(tensor: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    """``gain`` times the (rectangular) identity matrix, in place; 2-D tensors only (a
    zero-element one is a warned no-op).

    Example:
        >>> eye_(torch.empty(2, 3))
        tensor([[1., 0., 0.],
                [0., 1., 0.]])
    """
    _check_tensor(tensor, min_dims=2)
    gain = check_real("gain", gain)
    if tensor.numel() == 0:  # validated as torch would, then a warned no-op (torch's text)
        if tensor.dim() != 2:
            raise ValueError(f"eye_ needs a 2-D tensor, got shape {tuple(tensor.shape)}")
        _empty(tensor)
        return tensor
    check_magnitude(tensor, "gain", gain, abs(gain), random=False)
    return fill_array(tensor, _st.identity(tuple(tensor.shape), gain))


identity_ = eye_


def dirac_(tensor: torch.Tensor, groups: int = 1, gain: float = 1.0) -> torch.Tensor:
    """Dirac delta conv kernel, in place (``torch.nn.init.dirac_`` semantics; 3-5 dims; a
    zero-element tensor is a warned no-op).

    For each group and each ``d < min(out_per_group, in)`` the centre tap from input channel
    ``d`` to output channel ``g * out_per_group + d`` is ``gain``: the conv copies channels.

    Example:
        >>> w = dirac_(torch.empty(2, 2, 3))
        >>> w[:, :, 1]
        tensor([[1., 0.],
                [0., 1.]])
    """
    _check_tensor(tensor, min_dims=3)
    gain = check_real("gain", gain)
    if tensor.numel() == 0:  # validated as torch would, then a warned no-op (torch's text)
        if tensor.dim() > 5:
            raise ValueError(f"dirac_ needs a tensor with 3 to 5 dims, got shape {tuple(tensor.shape)}")
        groups = check_positive_int("groups", groups)
        if tensor.shape[0] % groups:
            raise ValueError(f"out channels ({tensor.shape[0]}) must be divisible by groups ({groups})")
        _empty(tensor)
        return tensor
    check_magnitude(tensor, "gain", gain, abs(gain), random=False)
    return fill_array(tensor, _st.dirac(tuple(tensor.shape), groups, gain, layout="torch"))


def sparse_(
    tensor: torch.Tensor,
    sparsity: float,
    std: float = 0.01,
    *,
    generator: torch.Generator | None = None,
    seed: int | None = None,
    key: StreamKey | None = None,
) -> torch.Tensor:
    """Sparse init (Martens, 2010), in place, 2-D ``(out, in)`` tensors.

    ``N(0, std**2)`` with ``ceil(sparsity * rows)`` entries of each column zeroed at random
    rows (``torch.nn.init.sparse_`` semantics). With ``key=``, the values of
    ``kaiming.sparse(shape, sparsity, std, layout="torch", key=...)``, computed on the host
    (each column's zeros depend on the whole column; a DTensor keeps its shard).

    Example:
        >>> w = sparse_(torch.empty(10, 4), sparsity=0.3, seed=0)
        >>> (w == 0).sum(dim=0).tolist()
        [3, 3, 3, 3]
    """
    sparsity = check_fraction("sparsity", sparsity)
    std = check_nonnegative("std", std)
    _check_tensor(tensor, min_dims=2)
    if tensor.dim() != 2:
        raise ValueError(f"sparse_ needs a 2-D tensor, got shape {tuple(tensor.shape)}")
    drawn = _drawn(tensor, generator, seed, key)
    if drawn is None:
        return tensor
    target, gen = drawn
    check_magnitude(target, "std", std, std)
    if isinstance(gen, Keyed):
        gen.host_(target, _st.sparse, sparsity, std)
        return tensor
    rows, cols = tensor.shape
    if may_overflow(tensor, 0.0, std):
        guarded_fill(tensor, "std", std, lambda t: fill_normal(t, 0.0, std, gen))
    else:
        fill_normal(tensor, 0.0, std, gen)
    n_zero = math.ceil(sparsity * rows)
    if n_zero:
        keys = torch.rand((rows, cols), generator=gen, device=tensor.device)
        zero_rows = torch.argsort(keys, dim=0)[:n_zero]
        with torch.no_grad():
            tensor.scatter_(0, zero_rows, 0.0)
    return tensor
