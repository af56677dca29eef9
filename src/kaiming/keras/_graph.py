"""Which activation follows each Dense/Conv layer of a built Keras model (internal).

A layer's own ``activation`` counts first (unless it is ``linear``). Otherwise the layer graph
is followed forward (``layer._outbound_nodes``, restricted to the model's layers, so a layer
shared with another model is read in this one) through *transparent* layers — dropout, noise,
reshaping, pooling, padding, cropping, up-sampling, normalization, ``Add`` (a residual sum) —
to the first activation layer: ``Activation``, ``ReLU``, ``LeakyReLU``, ``ELU``, ``PReLU``.
Any other layer, a softmax, or the model's output ends the path with "no activation"; when
several paths reach activations, the first consumer in graph order wins. Sequential models are
functional graphs once built, so both read the same way. The layers inside a nested model are
read within that model.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from .._gauss import gaussian_expectation
from ..gains import NONLINEARITIES, calculate_gain

__all__ = ["DENSE_LAYERS", "Activation", "Found", "all_layers", "find_activations", "function_activation"]

DENSE_LAYERS: tuple[type[Any], ...] = (
    keras.layers.Dense,
    keras.layers.Conv1D,
    keras.layers.Conv2D,
    keras.layers.Conv3D,
    keras.layers.Conv1DTranspose,
    keras.layers.Conv2DTranspose,
    keras.layers.Conv3DTranspose,
    keras.layers.DepthwiseConv1D,
    keras.layers.DepthwiseConv2D,
    keras.layers.SeparableConv1D,
    keras.layers.SeparableConv2D,
)
"""The layers whose kernel ``init_model`` initializes by the activation after them (a separable
convolution's pointwise kernel; its depthwise kernel has no activation after it)."""

_L = keras.layers
_TRANSPARENT: tuple[type[Any], ...] = (
    _L.Dropout, _L.SpatialDropout1D, _L.SpatialDropout2D, _L.SpatialDropout3D, _L.GaussianNoise,
    _L.GaussianDropout, _L.AlphaDropout, _L.Flatten, _L.Reshape, _L.Permute, _L.Identity,
    _L.MaxPooling1D, _L.MaxPooling2D, _L.MaxPooling3D, _L.AveragePooling1D, _L.AveragePooling2D,
    _L.AveragePooling3D, _L.GlobalAveragePooling1D, _L.GlobalAveragePooling2D,
    _L.GlobalAveragePooling3D, _L.GlobalMaxPooling1D, _L.GlobalMaxPooling2D, _L.GlobalMaxPooling3D,
    _L.ZeroPadding1D, _L.ZeroPadding2D, _L.ZeroPadding3D, _L.Cropping1D, _L.Cropping2D,
    _L.Cropping3D, _L.UpSampling1D, _L.UpSampling2D, _L.UpSampling3D, _L.BatchNormalization,
    _L.LayerNormalization, _L.GroupNormalization, _L.Add,
)  # fmt: skip
_OUTPUT_FUNCTIONS = ("softmax", "log_softmax")
_DEFAULT_PARAM = {"leaky_relu": 0.2, "elu": 1.0}  # keras.activations' own defaults


@dataclass(frozen=True)
class Activation:
    """An activation after a layer: its kind, its parameter (slope, alpha) and its gain.

    ``gain`` is ``kaiming.calculate_gain(kind, param)`` for the names kaiming knows, else
    ``1 / sqrt(E[phi(z)^2])`` for ``z ~ N(0, 1)``, computed by quadrature from the Keras
    activation itself (mish, hard_silu, ...).
    """

    kind: str
    param: float | None
    gain: float

    def __str__(self) -> str:
        return self.kind if self.param is None else f"{self.kind}({self.param:g})"


@dataclass(frozen=True)
class Found:
    """The activation after a layer (``None``: none) and the layer whose output is the
    post-activation value (the layer itself when it applies its own activation)."""

    activation: Activation | None
    post_layer: Any


def _known(kind: str, param: float | None = None) -> Activation:
    return Activation(kind, param, calculate_gain(kind, param))


def function_activation(fn: Callable[..., Any]) -> Activation | str | None:
    """The activation a ``keras.activations`` function applies; ``"linear"`` for the identity,
    ``None`` for an output function (softmax)."""
    name = getattr(fn, "__name__", type(fn).__name__)
    if name == "linear":
        return "linear"
    if name in _OUTPUT_FUNCTIONS:
        return None
    if name == "relu6":
        return _known("relu")
    if name in NONLINEARITIES:
        return _known(name, _DEFAULT_PARAM.get(name))

    def phi_squared(z: np.ndarray[Any, np.dtype[np.float64]]) -> np.ndarray[Any, np.dtype[np.float64]]:
        values = keras.ops.convert_to_numpy(fn(keras.ops.convert_to_tensor(z.astype(np.float32))))
        squared: np.ndarray[Any, np.dtype[np.float64]] = np.asarray(values, dtype=np.float64) ** 2
        return squared

    return Activation(name, None, 1.0 / math.sqrt(gaussian_expectation(phi_squared)))


def _layer_activation(layer: Any) -> Activation | str | None:
    """The activation an activation layer applies; ``"linear"``; or ``"other"`` for other layers."""
    if isinstance(layer, _L.ReLU):
        slope = float(layer.negative_slope)
        return _known("relu") if slope == 0.0 else _known("leaky_relu", slope)
    if isinstance(layer, _L.LeakyReLU):
        return _known("leaky_relu", float(layer.negative_slope))
    if isinstance(layer, _L.ELU):
        return _known("elu", float(layer.alpha))
    if isinstance(layer, _L.PReLU):
        slope = float(np.mean(keras.ops.convert_to_numpy(layer.alpha)))
        return _known("prelu", slope)
    if isinstance(layer, _L.Softmax):
        return None
    if isinstance(layer, _L.Activation):
        return function_activation(layer.activation)
    return "linear" if isinstance(layer, _TRANSPARENT) else "other"


def _consumers(layer: Any, members: set[int]) -> list[Any]:
    return [node.operation for node in layer._outbound_nodes if id(node.operation) in members]


def _follow(layer: Any, members: set[int], seen: set[int]) -> Found:
    for consumer in _consumers(layer, members):
        if id(consumer) in seen:
            continue
        seen.add(id(consumer))
        kind = _layer_activation(consumer)
        if isinstance(kind, Activation):
            return Found(kind, consumer)
        if kind == "linear":
            found = _follow(consumer, members, seen)
            if found.activation is not None:
                return found
    return Found(None, layer)


def all_layers(model: Any) -> list[Any]:
    """The model's layers, nested models' layers included (depth first), without the models."""
    out: list[Any] = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            out.extend(all_layers(layer))
        else:
            out.append(layer)
    return out


def find_activations(model: Any, layers: Iterable[Any]) -> dict[int, Found]:
    """``id(layer) -> Found`` for each of ``layers`` (Dense/Conv layers of ``model``)."""
    result: dict[int, Found] = {}
    groups = [model, *(m for m in _nested(model))]
    for layer in layers:
        own = function_activation(layer.activation)
        if isinstance(own, Activation) or own is None:
            result[id(layer)] = Found(own, layer)
            continue
        found = Found(None, layer)
        for group in groups:
            members = {id(m) for m in group.layers}
            if id(layer) in members:
                found = _follow(layer, members, set())
                break
        result[id(layer)] = found
    return result


def _nested(model: Any) -> list[Any]:
    out = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            out.append(layer)
            out.extend(_nested(layer))
    return out
