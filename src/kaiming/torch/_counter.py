"""The ``stream="counter"`` path of ``init_model``: a rule's values from ``kaiming.stream``.

A parameter named ``name`` under base seed ``seed`` gets the counter-based stream
``kaiming.stream.key(seed, name)``. Its element at flat index ``i`` of the **global** shape
depends on nothing else, so a shard (a plain tensor holding ``full[index]``, or the local part
of a DTensor) is computed alone and equals the slice of the single-process tensor bit for bit;
std/bound come from the rule, i.e. from the global shape's fans.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from .. import stream
from .._rules import stream_parameters
from ..structured import orthogonal
from ._device_stream import sample_into, uses_device_stream
from ._dtensor import local_part
from ._plan import ParamRule

__all__ = ["counter_fill_", "counter_values", "draw"]

_NUMPY_DTYPES = {torch.float16: np.float16, torch.float32: np.float32, torch.float64: np.float64}
Index = tuple[slice, ...] | None


def draw(
    distribution: str,
    shape: tuple[int, ...],
    key: stream.StreamKey,
    *,
    scale: float = 1.0,
    index: Index = None,
    dtype: Any = np.float32,
    out: NDArray[np.floating[Any]] | None = None,
) -> NDArray[np.floating[Any]]:
    """``full[index]`` of the ``shape`` tensor whose flat element ``i`` is ``scale * x_i``, ``x_i``
    the ``distribution`` value of the counter stream ``key`` (see ``kaiming.stream.sample``).

    The one place where the ``stream="counter"`` paths (a rule's values, a replayed random op)
    turn (distribution, key, index) into numbers.

    Example:
        >>> k = stream.key(0, "w")
        >>> part = draw("normal", (4, 6), k, index=(slice(1, 3),))
        >>> bool(np.array_equal(part, draw("normal", (4, 6), k)[1:3]))
        True
    """
    return sample_into(distribution, shape, key, scale=scale, index=index, dtype=dtype, out=out)


def counter_values(
    rule: ParamRule,
    seed: int,
    index: Index = None,
    dtype: Any = np.float32,
    out: NDArray[np.floating[Any]] | None = None,
) -> NDArray[np.floating[Any]]:
    """``full[index]`` of the tensor that ``rule`` describes, from the stream of ``(seed, rule.name)``.

    ``out`` (C-contiguous, the part's shape and ``dtype``) receives the values without an
    intermediate copy, except for ``orthogonal``, which needs the whole matrix anyway.

    Example:
        >>> rule = ParamRule("w", (4, 6), "Linear", "he_normal", "normal", std=0.5)
        >>> full = counter_values(rule, 0)
        >>> bool(np.array_equal(counter_values(rule, 0, (slice(1, 3), slice(None))), full[1:3]))
        True
    """
    key = stream.key(seed, rule.name)
    if rule.distribution == "orthogonal":
        gain = 1.0 if rule.gain is None else rule.gain
        values = orthogonal(rule.shape, gain, layout="torch", key=key, index=index, dtype=dtype)
        if out is None:
            return values
        out[...] = values
        return out
    dist, scale = stream_parameters(rule)
    values = draw(dist, rule.shape, key, scale=scale, index=index, dtype=dtype, out=out)
    _zero_row(values, rule, index)
    return values


def _zero_row(values: NDArray[np.floating[Any]], rule: ParamRule, index: Index) -> None:
    """Zero the rule's ``zero_index`` row (an Embedding's padding_idx) where the part holds it."""
    if rule.zero_index is None:
        return
    rows = range(rule.shape[0]) if not index else range(*index[0].indices(rule.shape[0]))
    if rule.zero_index % rule.shape[0] in rows:
        values[rows.index(rule.zero_index % rule.shape[0])] = 0.0


def counter_fill_(tensor: torch.Tensor, rule: ParamRule, seed: int) -> None:
    """Write the rule's values into ``tensor`` in place: the whole tensor, or for a DTensor the
    part its placements give this rank (computing only that part)."""
    tensor, index = local_part(tensor)
    if index is not None and tensor.numel() == 0:
        return
    if rule.distribution == "constant":
        with torch.no_grad():
            tensor.fill_(0.0 if rule.value is None else rule.value)
        return
    if uses_device_stream(tensor, rule.distribution):  # computed on the tensor's own device
        with torch.no_grad():
            counter_values(rule, seed, index, out=tensor)  # type: ignore[arg-type]
        return
    target = _numpy_view(tensor)
    if target is not None:  # CPU float16/32/64: the values go straight into the tensor's memory
        counter_values(rule, seed, index, target.dtype, out=target)
        return
    values = counter_values(rule, seed, index, np.float64 if tensor.dtype == torch.float64 else np.float32)
    with torch.no_grad():  # bfloat16 rounds the float32 stream once; other devices copy over
        tensor.copy_(torch.from_numpy(values))


def _numpy_view(tensor: torch.Tensor) -> NDArray[np.floating[Any]] | None:
    """A NumPy array sharing ``tensor``'s memory, if it is a contiguous CPU float16/32/64 one."""
    if tensor.device.type != "cpu" or tensor.dtype not in _NUMPY_DTYPES or not tensor.is_contiguous():
        return None
    view: NDArray[np.floating[Any]] = tensor.detach().numpy()
    return view
