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
from typing import Literal

from ._checks import check_choice, check_shape

__all__ = ["LAYOUTS", "Layout", "compute_fans"]

Layout = Literal["jax", "torch"]
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
