"""Framework-neutral pieces of the model-init rules (internal): which rule follows an activation,
and a rule's values from the counter stream in torch's ``(out, in, *kernel)`` layout.

``kaiming.keras.init_model`` uses both; the values equal what ``kaiming.torch.init_model(...,
stream="counter")`` writes for the same rule, seed and parameter name (``std`` becomes the
sampler's scale through the one rule ``kaiming._sampling.sampler_scale``).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import stream
from ._plan import ParamRule
from ._sampling import fan_for_mode, sampler_scale, variance_std
from .structured import orthogonal

__all__ = [
    "auto_rule",
    "orthogonal_rule",
    "rule_values",
    "stream_parameters",
    "to_jax_layout",
    "transposed_fans",
    "variance_rule",
]


def auto_rule(kind: str | None, gain: float) -> tuple[str, str, str, float]:
    """(rule, fan mode, distribution, gain) of ``scheme="auto"`` after an activation ``kind``.

    No activation (an output layer) or SELU: LeCun normal, gain 1; tanh or sigmoid: Xavier
    uniform with the activation's gain; any other activation: He normal with its gain.

    Example:
        >>> auto_rule("relu", 2**0.5)[0], auto_rule(None, 1.0)[0], auto_rule("tanh", 5 / 3)[0]
        ('he_normal', 'lecun_normal', 'xavier_uniform')
    """
    if kind is None or kind == "selu":
        return "lecun_normal", "fan_in", "normal", 1.0
    if kind in ("tanh", "sigmoid"):
        return "xavier_uniform", "fan_avg", "uniform", gain
    return "he_normal", "fan_in", "normal", gain


def transposed_fans(taps: int, strides: int) -> float:
    """A transposed convolution's fan_in: its ``taps = in/groups * prod(k)`` weights per output
    channel, of which an output position receives ``1 / prod(stride)`` on average (each input
    position feeds ``prod(k)`` outputs spaced ``stride`` apart). An int when it divides.

    Example:
        >>> transposed_fans(64 * 9, 4), transposed_fans(3 * 3, 2)
        (144, 4.5)
    """
    return taps // strides if taps % strides == 0 else taps / strides


def variance_rule(
    base: ParamRule, rule: str, mode: str, distribution: str, gain: float, fan_in: float, fan_out: float
) -> ParamRule:
    """``base`` with a variance-scaling rule filled in: ``std = sqrt(gain**2 / fan)`` for the
    ``mode``'s fan, and the uniform's half-width ``sqrt(3) * std``.

    Example:
        >>> base = ParamRule("fc.weight", (4, 8), "Linear", "auto", "normal")
        >>> row = variance_rule(base, "he_normal", "fan_in", "normal", 2**0.5, 8, 4)
        >>> row.std == variance_std(2.0000000000000004, 8), row.bound
        (True, None)
    """
    fan = fan_for_mode(mode, fan_in, fan_out)
    std = variance_std(gain**2, fan)
    return replace(
        base, rule=rule, distribution=distribution, fan_mode=mode, fan=fan, gain=gain, std=std,
        bound=sampler_scale("uniform", std) if distribution == "uniform" else None,
    )  # fmt: skip


def orthogonal_rule(base: ParamRule, gain: float, rows: int, cols: int) -> ParamRule:
    """``base`` as an orthogonal rule: a (semi-)orthogonal ``rows x cols`` matrix times ``gain``,
    whose entries have std ``gain / sqrt(max(rows, cols))``.

    Example:
        >>> orthogonal_rule(ParamRule("w", (4, 8), "Linear", "orthogonal", "normal"), 1.0, 4, 8).std
        0.3535533905932738
    """
    return replace(base, distribution="orthogonal", gain=gain, std=gain / math.sqrt(max(rows, cols)))


def stream_parameters(rule: ParamRule) -> tuple[str, float]:
    """The counter-stream distribution and sampler scale of a ``normal``/``uniform``/
    ``truncated_normal`` rule: the uniform's ``bound`` when the rule has one, else the scale that
    ``sampler_scale`` derives from ``std``.

    Example:
        >>> stream_parameters(ParamRule("w", (2, 2), "Linear", "he_uniform", "uniform", bound=0.5))
        ('uniform', 0.5)
    """
    if rule.distribution == "uniform" and rule.bound is not None:
        return "uniform", float(rule.bound)
    if rule.distribution in ("uniform", "truncated_normal", "normal"):
        return rule.distribution, sampler_scale(rule.distribution, float(rule.std or 0.0))  # type: ignore[arg-type]
    raise ValueError(f"rule {rule.name}: distribution {rule.distribution!r} has no counter stream")


def rule_values(rule: ParamRule, seed: int, dtype: Any = np.float32) -> NDArray[np.floating[Any]]:
    """The values of ``rule`` (its ``shape`` in torch's layout) from the stream ``key(seed, rule.name)``.

    Example:
        >>> rule = ParamRule("fc.weight", (3, 4), "Dense", "he_normal", "normal", std=0.5)
        >>> bool(np.array_equal(rule_values(rule, 0), 0.5 * stream.normal((3, 4), stream.key(0, "fc.weight"),
        ...                                                                   dtype=np.float32)))
        True
    """
    if rule.distribution == "constant":
        return np.full(rule.shape, 0.0 if rule.value is None else rule.value, dtype=dtype)
    key = stream.key(seed, rule.name)
    if rule.distribution == "orthogonal":
        gain = 1.0 if rule.gain is None else rule.gain
        return orthogonal(rule.shape, gain, layout="torch", key=key, dtype=dtype)
    dist, scale = stream_parameters(rule)
    values = stream.sample(dist, rule.shape, key, scale=scale, dtype=dtype)  # type: ignore[arg-type]
    if rule.zero_index is not None:
        values[rule.zero_index] = 0.0
    return values


def to_jax_layout(values: NDArray[Any]) -> NDArray[Any]:
    """A torch-layout ``(out, in, *kernel)`` array moved to the jax layout ``(*kernel, in, out)``.

    Rank 0 and 1 arrays are returned as they are.

    Example:
        >>> to_jax_layout(np.zeros((8, 4, 3, 3))).shape
        (3, 3, 4, 8)
    """
    if values.ndim < 2:
        return values
    return values.transpose(*range(2, values.ndim), 1, 0)
