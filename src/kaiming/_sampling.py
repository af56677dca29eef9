"""How a target standard deviation becomes each zero-mean sampler's scale: one rule, every path.

The NumPy seeded path, the keyed stream, ``kaiming.torch``'s tensors and the counter/sharded
materialization all call ``sampler_scale``, so one test of the rule covers all of them.
"""

from __future__ import annotations

import math
from typing import Literal

__all__ = ["TRUNCATED_NORMAL_STD", "TRUNCATION", "fan_for_mode", "sampler_scale", "variance_std"]

TRUNCATION = 2.0
"""Truncated normals are cut at ``±TRUNCATION`` standard deviations of the underlying normal."""


def _truncated_std(bound: float) -> float:
    """Std of a standard normal truncated to [-bound, bound]: sqrt(1 - 2 b pdf(b) / Z)."""
    pdf = math.exp(-0.5 * bound * bound) / math.sqrt(2.0 * math.pi)
    mass = math.erf(bound / math.sqrt(2.0))
    return math.sqrt(1.0 - 2.0 * bound * pdf / mass)


TRUNCATED_NORMAL_STD = _truncated_std(TRUNCATION)
"""Std of N(0, 1) truncated to [-2, 2] (about 0.8796); truncated draws are divided by it."""


def fan_for_mode(mode: str, fan_in: float, fan_out: float) -> float:
    """The fan a variance-scaling ``mode`` divides by: ``fan_in``, ``fan_out`` or their mean.

    Example:
        >>> fan_for_mode("fan_avg", 100, 300)
        200.0
    """
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    if mode == "fan_avg":
        return (fan_in + fan_out) / 2.0
    raise ValueError(f"mode must be one of fan_in, fan_out, fan_avg, got {mode!r}")


def variance_std(scale: float, fan: float) -> float:
    """The standard deviation of variance scaling, ``sqrt(scale / fan)``; a gain ``g`` enters as
    ``scale = g**2``. Every path (NumPy, keyed, torch tensors, ``init_model`` in torch and Keras)
    computes the std with this one expression, so the float is the same everywhere.

    Example:
        >>> variance_std(2.0, 512) == 1 / 16
        True
    """
    return math.sqrt(scale / fan)


def sampler_scale(distribution: Literal["normal", "truncated_normal", "uniform"], std: float) -> float:
    """The scale of the zero-mean sampler whose values have standard deviation ``std``.

    - ``"normal"``: the normal's std, ``std``;
    - ``"uniform"``: the half-width ``limit`` of ``U(-limit, limit)``, ``sqrt(3) * std``;
    - ``"truncated_normal"``: the underlying normal's std ``s = std / 0.8796...``, cut at
      ``±2 s``, so that the *truncated* values have std ``std``.

    Example:
        >>> sampler_scale("normal", 0.5), round(sampler_scale("uniform", 1.0), 6)
        (0.5, 1.732051)
        >>> round(sampler_scale("truncated_normal", 1.0), 4)
        1.1369
    """
    if distribution == "normal":
        return std
    if distribution == "uniform":
        return math.sqrt(3.0) * std
    if distribution == "truncated_normal":
        return std / _truncated_std(TRUNCATION)  # TRUNCATED_NORMAL_STD, a few flops
    raise ValueError(f"distribution must be one of normal, truncated_normal, uniform, got {distribution!r}")
