"""Keeping a deep probe's signal inside the float range: exact power-of-two scales (internal).

A signal that shrinks (or grows) by a constant factor per layer leaves float32's range within a
few dozen layers: N(0, 0.01²) weights on ReLU at width 512 lose a factor 0.16 per layer, reach
float32's smallest normal (1.2e-38) near layer 47 and are exactly 0 a few layers later. The
probe then used to report std 0 and 100% dead units for a network whose units are all alive.

Instead, the simulation keeps each array as ``working * 2**k`` with an integer ``k`` per layer:
when the working std leaves ``[2**-LIMIT, 2**LIMIT]`` it is multiplied by a power of two (exact
in binary floating point) and ``k`` absorbs it; the reported statistics are
``math.ldexp(working_stat, k)``. That is exact wherever ``phi(2**k z) = 2**k phi(z)``:

- the backward pass always (it is linear in the gradient), so gradients are tracked for every
  network;
- the forward pass of positively homogeneous activations (``linear``, ``relu``, ``leaky_relu``,
  ``prelu``) without bias and batch norm (a bias or the normalization's ``eps`` sets a scale).

The smooth activations with ``phi(0) = 0`` (``tanh``, ``gelu``, ``silu``/``swish``, ``elu``,
``selu``) are tracked once the true pre-activations are tiny (all below ``TINY = 2**-30``
in magnitude): there ``phi`` equals its piecewise-linear limit ``phi'(0+) z`` / ``phi'(0-) z``
to a relative ``O(2**-30)`` (tanh: ``O(2**-60)``), which is applied to the working values, and
the derivative is the slope. When the true values grow back above ``TINY``, the layer returns to
``phi`` itself. ``sigmoid`` and ``softplus`` (``phi(0) != 0``) cannot vanish to zero and need no
tracking. Reported numbers below float64's range (about 1e-308) are still 0.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

__all__ = ["HOMOGENEOUS", "LIMIT", "SMOOTH_SLOPES", "TINY", "recenter_", "scaled", "slopes", "tracking"]

Array = NDArray[np.floating]

LIMIT = 40
"""Working stds are kept within ``[2**-LIMIT, 2**LIMIT]``: far from float32's 2**-126 .. 2**128."""
TINY = 2.0**-30
"""Below this magnitude a smooth activation is replaced by its piecewise-linear limit."""
HOMOGENEOUS = ("linear", "relu", "leaky_relu", "prelu")
SMOOTH_SLOPES = ("tanh", "gelu", "silu", "swish", "elu", "selu")


def tracking(activation: str, bias_std: float, batch_norm: bool) -> str | None:
    """How the forward pass of this network is tracked: ``"exact"``, ``"smooth"`` or ``None``."""
    if bias_std > 0 or batch_norm:
        return None
    if activation in HOMOGENEOUS:
        return "exact"
    return "smooth" if activation in SMOOTH_SLOPES else None


def slopes(activation: str, param: float) -> tuple[float, float]:
    """``(phi'(0+), phi'(0-))`` of a tracked smooth activation."""
    from .._activations import SELU_ALPHA, SELU_SCALE

    if activation == "tanh":
        return 1.0, 1.0
    if activation in ("gelu", "silu", "swish"):
        return 0.5, 0.5
    if activation == "elu":
        return 1.0, param
    if activation == "selu":
        return SELU_SCALE, SELU_SCALE * SELU_ALPHA
    raise ValueError(f"activation {activation!r} has no tracked linear limit")


def recenter_(values: Array, std: float, *, always: bool = False) -> int:
    """Multiply ``values`` in place by ``2**-e`` so that ``std * 2**-e`` is in ``[0.5, 1)`` when
    ``std`` is outside ``[2**-LIMIT, 2**LIMIT]`` (or ``always``); return ``e`` (0: nothing done)."""
    if not 0.0 < std < math.inf or (not always and 2.0**-LIMIT <= std <= 2.0**LIMIT):
        return 0
    exponent = math.frexp(std)[1]
    values *= values.dtype.type(math.ldexp(1.0, -exponent))
    return exponent


def scaled(value: float, exponent: int) -> float:
    """``value * 2**exponent`` as a Python float (exact unless it leaves float64's range)."""
    if exponent == 0 or not math.isfinite(value):
        return value
    try:
        return math.ldexp(value, exponent)
    except OverflowError:
        return math.copysign(math.inf, value)
