"""Fan-in and fan-out of a weight tensor, in the two common memory layouts.

- ``layout="jax"`` (the NumPy family's default; also Keras and Flax): ``(*kernel, in, out)``.
  A dense matrix is ``(fan_in, fan_out)`` so that ``y = x @ W``.
- ``layout="torch"``: ``(out, in, *kernel)``, as ``torch.nn.Linear``/``Conv*d`` store weights.

For a tensor of rank ``r >= 2`` with receptive field ``k = prod(kernel dims)``::

    fan_in  = in  * k
    fan_out = out * k

Rank 0 and rank 1 tensors (scalars, bias vectors) have no defined fans: both layouts raise
``ValueError``. To initialize a bias from its layer's fans, pass ``fans=(fan_in, fan_out)``
to the initializer instead.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Literal

from ._checks import check_choice, check_shape

__all__ = ["LAYOUTS", "AxisLike", "Layout", "compute_fans", "fans_by_axis"]

Layout = Literal["jax", "torch"]
AxisLike = int | Sequence[int]
LAYOUTS: tuple[Layout, ...] = ("jax", "torch")


def compute_fans(shape: object, layout: Layout = "jax") -> tuple[int, int]:
    """Return ``(fan_in, fan_out)`` of a weight tensor of ``shape``.

    ``fan_in = in * prod(kernel)`` and ``fan_out = out * prod(kernel)``, where the layout says
    which axes are ``in``, ``out`` and the kernel: ``"jax"`` is ``(*kernel, in, out)``,
    ``"torch"`` is ``(out, in, *kernel)``.

    Example:
        >>> compute_fans((3, 3, 16, 32))                 # 3x3 conv, 16 -> 32 channels
        (144, 288)
        >>> compute_fans((32, 16, 3, 3), layout="torch")
        (144, 288)

    Raises:
        ValueError: for a shape of fewer than 2 dims, a non-positive dim or an unknown layout.
    """
    layout = check_choice("layout", layout, LAYOUTS)
    dims = check_shape(shape, min_rank=2)
    return fans_of(dims, layout)


def fans_of(shape: tuple[int, ...], layout: Layout) -> tuple[int, int]:
    """``compute_fans`` for an already validated shape of rank >= 2 (internal)."""
    if layout == "jax":
        receptive = math.prod(shape[:-2])
        return shape[-2] * receptive, shape[-1] * receptive
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def fans_by_axis(
    shape: object, in_axis: AxisLike = -2, out_axis: AxisLike = -1, batch_axis: AxisLike = ()
) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of ``shape`` with the axes named, as ``jax.nn.initializers`` reads them.

    With ``k = prod(shape) / (prod(shape[in_axis]) * prod(shape[out_axis]) * prod(shape[batch_axis]))``
    (the receptive field: every axis not named)::

        fan_in  = prod(shape[in_axis])  * k
        fan_out = prod(shape[out_axis]) * k

    Each axis argument is an int or a sequence of ints (negative counts from the end); batch
    axes count in neither fan. The defaults ``(-2, -1, ())`` give the ``"jax"`` layout.

    Example:
        >>> fans_by_axis((3, 3, 16, 32))                          # = compute_fans, jax layout
        (144, 288)
        >>> fans_by_axis((8, 64, 128), batch_axis=0)              # 8 stacked 64 -> 128 matrices
        (64, 128)
        >>> fans_by_axis((32, 16, 3, 3), in_axis=1, out_axis=0)   # the torch layout
        (144, 288)

    Raises:
        TypeError / ValueError: a bad shape, an axis that is not an int, out of range, or named
            twice (e.g. in ``in_axis`` and ``out_axis``).
    """
    dims = check_shape(shape)
    named: dict[int, str] = {}
    groups = []
    for arg, value in (("in_axis", in_axis), ("out_axis", out_axis), ("batch_axis", batch_axis)):
        axes = _axes(arg, value, len(dims))
        for axis in axes:
            if axis in named:
                raise ValueError(
                    f"{arg}={value!r} names axis {axis} of shape {dims}, already named by {named[axis]}"
                )
            named[axis] = f"{arg}={value!r}"
        groups.append(math.prod(dims[a] for a in axes))
    receptive = math.prod(d for a, d in enumerate(dims) if a not in named)
    return groups[0] * receptive, groups[1] * receptive


def _axes(arg: str, value: object, rank: int) -> tuple[int, ...]:
    """``value`` (an int or a sequence of ints) as non-negative axes of a rank-``rank`` shape."""
    items = (value,) if isinstance(value, numbers.Integral) else value
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
        raise TypeError(f"{arg} must be an int or a sequence of ints, got {value!r}")
    axes = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, numbers.Integral):
            raise TypeError(f"{arg} must be an int or a sequence of ints, got {value!r}")
        if not -rank <= int(item) < rank:
            raise ValueError(
                f"{arg}={value!r} is out of range for a shape of rank {rank} (allowed: {-rank} to {rank - 1})"
            )
        axes.append(int(item) % rank)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{arg}={value!r} names an axis twice")
    return tuple(axes)
