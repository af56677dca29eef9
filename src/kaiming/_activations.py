"""Activation functions and their derivatives in NumPy, by name (internal).

Shared by ``gains`` (second-moment gains), ``probe`` (simulation) and ``theory`` (mean-field
expectations). Each function keeps the dtype of its input, so a float32 simulation stays float32.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["ACTIVATIONS", "Activation", "erf", "get_activation"]

Array = NDArray[np.floating]
Fn = Callable[[Array, float], Array]

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
_SQRT_HALF = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327


def erf(x: Array) -> Array:
    """Error function with relative error < 1.2e-7 (Numerical Recipes ``erfcc``), vectorized."""
    z = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = -1.26551223 + t * (
        1.00002368
        + t
        * (
            0.37409196
            + t
            * (
                0.09678418
                + t
                * (
                    -0.18628806
                    + t
                    * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))
                )
            )
        )
    )
    erfc = t * np.exp(-z * z + poly)
    result: Array = np.sign(x) * (1.0 - erfc)
    return result


def _sigmoid(x: Array) -> Array:
    result: Array = 0.5 * (1.0 + np.tanh(0.5 * x))
    return result


def _normal_cdf(x: Array) -> Array:
    return 0.5 * (1.0 + erf(x * _SQRT_HALF))


def _relu(x: Array, p: float) -> Array:
    return np.maximum(x, 0)


def _relu_d(x: Array, p: float) -> Array:
    return (x > 0).astype(x.dtype)


def _leaky(x: Array, p: float) -> Array:
    return np.where(x > 0, x, x * p)


def _leaky_d(x: Array, p: float) -> Array:
    return np.where(x > 0, 1.0, p).astype(x.dtype)


def _elu(x: Array, p: float) -> Array:
    return np.where(x > 0, x, p * np.expm1(np.minimum(x, 0)))


def _elu_d(x: Array, p: float) -> Array:
    return np.where(x > 0, 1.0, p * np.exp(np.minimum(x, 0))).astype(x.dtype)


def _selu(x: Array, p: float) -> Array:
    return SELU_SCALE * _elu(x, SELU_ALPHA)


def _selu_d(x: Array, p: float) -> Array:
    return SELU_SCALE * _elu_d(x, SELU_ALPHA)


def _gelu(x: Array, p: float) -> Array:
    return x * _normal_cdf(x)


def _gelu_d(x: Array, p: float) -> Array:
    return _normal_cdf(x) + x * _INV_SQRT_2PI * np.exp(-0.5 * x * x)


def _silu(x: Array, p: float) -> Array:
    return x * _sigmoid(x)


def _silu_d(x: Array, p: float) -> Array:
    s = _sigmoid(x)
    return s + x * s * (1.0 - s)


def _tanh(x: Array, p: float) -> Array:
    return np.tanh(x)


def _tanh_d(x: Array, p: float) -> Array:
    return 1.0 - np.tanh(x) ** 2


def _sigmoid_f(x: Array, p: float) -> Array:
    return _sigmoid(x)


def _sigmoid_d(x: Array, p: float) -> Array:
    s = _sigmoid(x)
    return s * (1.0 - s)


def _softplus(x: Array, p: float) -> Array:
    result: Array = np.logaddexp(0.0, p * x).astype(x.dtype) / p
    return result


def _softplus_d(x: Array, p: float) -> Array:
    return _sigmoid(p * x)


def _linear(x: Array, p: float) -> Array:
    return x


def _linear_d(x: Array, p: float) -> Array:
    return np.ones_like(x)


@dataclass(frozen=True)
class Activation:
    """An activation ``phi(x; param)`` with its derivative and its parameter's meaning."""

    name: str
    fn: Fn
    derivative: Fn
    param_name: str | None = None
    default_param: float = 0.0

    def __call__(self, x: Array, param: float | None = None) -> Array:
        return self.fn(x, self.default_param if param is None else param)

    def grad(self, x: Array, param: float | None = None) -> Array:
        return self.derivative(x, self.default_param if param is None else param)


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("linear", _linear, _linear_d),
        Activation("relu", _relu, _relu_d),
        Activation("leaky_relu", _leaky, _leaky_d, "negative_slope", 0.01),
        Activation("prelu", _leaky, _leaky_d, "negative_slope", 0.25),
        Activation("elu", _elu, _elu_d, "alpha", 1.0),
        Activation("selu", _selu, _selu_d),
        Activation("gelu", _gelu, _gelu_d),
        Activation("silu", _silu, _silu_d),
        Activation("swish", _silu, _silu_d),
        Activation("tanh", _tanh, _tanh_d),
        Activation("sigmoid", _sigmoid_f, _sigmoid_d),
        Activation("softplus", _softplus, _softplus_d, "beta", 1.0),
    )
}


def get_activation(name: str) -> Activation:
    """The activation called ``name`` (validated by the caller)."""
    return ACTIVATIONS[name]
