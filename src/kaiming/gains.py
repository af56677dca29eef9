"""Recommended gains per nonlinearity: ``std = gain / sqrt(fan)``.

For every name ``torch.nn.init.calculate_gain`` accepts, the value is torch's:

==========================================  ======================================
nonlinearity                                gain
==========================================  ======================================
linear, conv1d/2d/3d, conv_transpose1d/2d/3d 1
sigmoid                                     1
tanh                                        5/3
relu                                        sqrt(2)
leaky_relu (``param`` = negative slope a)   sqrt(2 / (1 + a**2)), a defaults to 0.01
selu                                        3/4
==========================================  ======================================

For the names torch does not know, the gain is derived from the mean-field fixed point: with
``z ~ N(0, 1)``, ``gain = 1 / sqrt(E[phi(z)**2])``, the weight scale that maps unit-variance
pre-activations to unit-variance pre-activations in the next layer. (Applied to ReLU this rule
gives torch's sqrt(2) exactly.) The expectation is computed by Gauss-Hermite quadrature:

- ``gelu`` (exact, erf form): about 1.534
- ``silu`` / ``swish``: about 1.676
- ``elu`` (``param`` = alpha, default 1): about 1.245 at alpha = 1
- ``softplus`` (``param`` = beta, default 1): about 1.042 at beta = 1
- ``prelu`` is ``leaky_relu`` with PyTorch's ``nn.PReLU`` initial slope 0.25 as default.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np

from ._activations import get_activation
from ._checks import check_choice, check_real
from ._gauss import gaussian_expectation

__all__ = ["NONLINEARITIES", "calculate_gain"]

_TORCH_UNIT = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
)
_PARAMETRIZED = {"leaky_relu": 0.01, "prelu": 0.25, "elu": 1.0, "softplus": 1.0}
_SECOND_MOMENT = ("gelu", "silu", "swish", "elu", "softplus")

NONLINEARITIES: tuple[str, ...] = (
    *_TORCH_UNIT,
    "tanh",
    "relu",
    "leaky_relu",
    "selu",
    "prelu",
    *_SECOND_MOMENT,
)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """Return the recommended gain for ``nonlinearity``, so that ``std = gain / sqrt(fan)``.

    ``param`` is the negative slope of ``leaky_relu``/``prelu``, ``alpha`` of ``elu`` and
    ``beta`` of ``softplus``; other nonlinearities take none. Values equal
    ``torch.nn.init.calculate_gain`` for every name torch accepts (see the module docstring for
    the table and for how the others are derived).

    Example:
        >>> round(calculate_gain("relu"), 6)
        1.414214
        >>> round(calculate_gain("leaky_relu", 0.2), 6)
        1.386750

    Raises:
        ValueError: unknown ``nonlinearity`` (the message lists the allowed names), a ``param``
            for a nonlinearity that takes none, a NaN/infinite ``param``, ``beta <= 0``, or a
            ``param`` so large (or small) that the gain is not a finite positive float64.
        TypeError: a non-string name or non-numeric ``param``.
    """
    name = check_choice("nonlinearity", nonlinearity, NONLINEARITIES)
    if name not in _PARAMETRIZED:
        if param is not None:
            raise ValueError(f"nonlinearity {name!r} takes no param, got param={param!r}")
        return _fixed_gain(name)
    value = _PARAMETRIZED[name] if param is None else check_real("param", param)
    if name in ("leaky_relu", "prelu"):
        if abs(value) < 1e150:  # torch's expression, so the float is torch's bit for bit
            return math.sqrt(2.0 / (1 + value**2))
        return math.sqrt(2.0) / math.hypot(1.0, value)  # the same for slopes whose square overflows
    if name == "softplus" and value <= 0:
        raise ValueError(f"softplus param (beta) must be > 0, got {value}")
    gain = _second_moment_gain(name, value)
    if not (math.isfinite(gain) and gain > 0):
        raise ValueError(
            f"param={value:g} is out of range for {name!r}: E[phi(z)**2] is not a finite positive "
            "float64, so no gain can be computed"
        )
    return gain


def _fixed_gain(name: str) -> float:
    if name in _TORCH_UNIT:
        return 1.0
    if name == "tanh":
        return 5.0 / 3.0
    if name == "relu":
        return math.sqrt(2.0)
    if name == "selu":
        return 0.75
    return _second_moment_gain(name, None)


@cache
def _second_moment_gain(name: str, param: float | None) -> float:
    act = get_activation(name)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        second_moment = gaussian_expectation(lambda z: act(z, param) ** 2)
    if not (math.isfinite(second_moment) and second_moment > 0):
        return math.nan
    return 1.0 / math.sqrt(second_moment)
