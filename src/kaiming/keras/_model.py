"""Re-initialize a built Keras model layer by layer, following the activation after each layer.

================================  ============================================================
layer                             rule
================================  ============================================================
Dense, Conv1D/2D/3D,              kernel: by ``scheme``; bias: zeros
Conv1D/2D/3DTranspose,
DepthwiseConv1D/2D
SeparableConv1D/2D                pointwise kernel: by ``scheme``; depthwise kernel: by
                                  ``scheme`` with no activation after it; bias: zeros
Embedding                         embeddings ``N(0, 1)``
BatchNormalization,               gamma 1, beta 0 (moving statistics untouched)
LayerNormalization,
GroupNormalization
anything else                     untouched (reported as such)
================================  ============================================================

``scheme="auto"`` follows the activation found after the layer (``kaiming.keras._graph``) with
the rules of ``kaiming.torch.init_model``: ReLU-family and other elementwise activations -> He
normal with the activation's gain; tanh/sigmoid -> Xavier uniform with its gain; SELU or no
activation (an output layer, softmax next) -> LeCun normal. A family name (``"he_normal"``,
``"xavier_uniform"``, ``"orthogonal"``...) applies that family to every Dense/Conv kernel.

Names and values: the parameter of layer ``L`` is called ``L.weight`` (kernel, embeddings,
gamma) or ``L.bias`` (bias, beta), as PyTorch names them. Every value comes from the counter
stream ``kaiming.stream.key(seed, name)`` laid out over the torch-layout shape ``(out, in,
*kernel)`` and moved to Keras' ``(*kernel, in, out)``. So a Keras model and a PyTorch model with
the same layer names get the same weights from ``kaiming.keras.init_model(model, seed=s)`` and
``kaiming.torch.init_model(twin, seed=s, stream="counter")``: the kernel is the torch weight
transposed, bit for bit, on either Keras backend. The twins of the other kernels:

- ``ConvNDTranspose(out, k, strides=s)`` on ``in`` channels: ``nn.ConvTransposeNd(in, out, k,
  stride=s)``, whose weight ``(in, out, *k)`` is the Keras kernel ``(*k, out, in)`` transposed;
  fans as ``kaiming.torch`` gives them, ``fan_in = in * prod(k) / prod(s)``, ``fan_out = out *
  prod(k)``;
- ``DepthwiseConvND(k, depth_multiplier=m)`` on ``in`` channels: ``nn.ConvNd(in, in * m, k,
  groups=in)``, weight ``(in * m, 1, *k)``, output channel ``c * m + j`` being the Keras
  kernel's ``[..., c, j]``; ``fan_in = prod(k)``, ``fan_out = in * m * prod(k)`` (torch's
  count, which does not divide by the groups);
- ``SeparableConvND`` ``L``: ``L = nn.Sequential(OrderedDict(depthwise=nn.ConvNd(in, in * m,
  k, groups=in, bias=False), pointwise=nn.ConvNd(in * m, out, 1)))``, parameters
  ``L.depthwise.weight``, ``L.pointwise.weight`` and ``L.pointwise.bias``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, replace
from typing import Any

import keras
import numpy as np
from numpy.typing import NDArray

from .._checks import check_choice
from .._plan import InitPlan, ParamRule
from .._rules import auto_rule, orthogonal_rule, rule_values, to_jax_layout, transposed_fans, variance_rule
from ..fans import fans_of
from ..registry import INITIALIZER_NAMES
from ._graph import DENSE_LAYERS, Activation, all_layers, find_activations

__all__ = ["SCHEMES", "init_model"]

SCHEMES: tuple[str, ...] = ("auto", *INITIALIZER_NAMES)
"""The scheme names ``init_model`` accepts."""

_NORMS = (keras.layers.BatchNormalization, keras.layers.LayerNormalization, keras.layers.GroupNormalization)
_TORCH_NAMES = {"kernel": "weight", "embeddings": "weight", "gamma": "weight", "bias": "bias", "beta": "bias"}
_RELU_FAMILY = ("relu", "leaky_relu", "prelu")
_STATISTICS = ("moving_mean", "moving_variance")  # BatchNormalization's, never touched
_KERNELS = ("kernel", "depthwise_kernel", "pointwise_kernel")


_SEPARABLE_NAMES = {
    "depthwise_kernel": "depthwise.weight",
    "pointwise_kernel": "pointwise.weight",
    "bias": "pointwise.bias",
}
_TRANSPOSED = (keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose, keras.layers.Conv3DTranspose)
_DEPTHWISE = (keras.layers.DepthwiseConv1D, keras.layers.DepthwiseConv2D)
_SEPARABLE = (keras.layers.SeparableConv1D, keras.layers.SeparableConv2D)


@dataclass(frozen=True)
class Twin:
    """A Keras kernel's PyTorch twin: the torch weight's ``shape`` and the ``fans`` kaiming.torch
    gives it. A depthwise kernel (``multiplier`` set) is ``(*k, in, m)`` in Keras and ``(in * m,
    1, *k)`` in torch; any other kernel is the torch weight transposed."""

    shape: tuple[int, ...]
    fans: tuple[float, float]
    multiplier: int | None = None

    def to_keras(self, values: NDArray[Any]) -> NDArray[Any]:
        """The torch-layout ``values`` in the Keras kernel's layout."""
        if self.multiplier is None:
            return to_jax_layout(values)
        grouped = values.reshape(self.shape[0] // self.multiplier, self.multiplier, *self.shape[2:])
        return np.moveaxis(grouped, (0, 1), (-2, -1))


def twin_of(layer: Any, attr: str, shape: tuple[int, ...]) -> Twin:
    """The PyTorch twin of ``layer``'s kernel ``attr`` of Keras shape ``shape``."""
    kernel, receptive = shape[:-2], math.prod(shape[:-2])
    if attr == "depthwise_kernel" or isinstance(layer, _DEPTHWISE):
        channels, multiplier = shape[-2], shape[-1]
        torch_shape = (channels * multiplier, 1, *kernel)
        return Twin(torch_shape, (receptive, channels * multiplier * receptive), multiplier)
    torch_shape = (shape[-1], shape[-2], *kernel)
    if isinstance(layer, _TRANSPOSED):  # torch (in, out, *k): kaiming.torch's fans
        fan_in = transposed_fans(shape[-1] * receptive, math.prod(layer.strides))
        return Twin(torch_shape, (fan_in, shape[-2] * receptive))
    return Twin(torch_shape, fans_of(torch_shape, "torch"))


def _family(scheme: str, activation: Activation | None) -> tuple[str, str, str, float]:
    """(rule, fan mode, distribution, gain) of an explicit family name such as ``glorot_uniform``."""
    rule = scheme.replace("kaiming", "he").replace("glorot", "xavier")
    family, _, distribution = rule.partition("_")
    if family == "he":
        relu_like = activation is not None and activation.kind in _RELU_FAMILY
        return rule, "fan_in", distribution, activation.gain if relu_like else math.sqrt(2.0)  # type: ignore[union-attr]
    return rule, "fan_avg" if family == "xavier" else "fan_in", distribution, 1.0


def _kernel_rule(
    name: str, layer: Any, shape: tuple[int, ...], twin: Twin, scheme: str, act: Activation | None
) -> ParamRule:
    label = None if act is None else str(act)
    base = ParamRule(name, shape, type(layer).__name__, scheme, "normal", activation=label)
    if scheme == "orthogonal":
        gain = auto_rule(None if act is None else act.kind, 1.0 if act is None else act.gain)[3]
        return orthogonal_rule(base, gain, twin.shape[0], math.prod(twin.shape[1:]))
    if scheme == "auto":
        rule, mode, distribution, gain = auto_rule(
            None if act is None else act.kind, 1.0 if act is None else act.gain
        )
    else:
        rule, mode, distribution, gain = _family(scheme, act)
    return variance_rule(base, rule, mode, distribution, gain, *twin.fans)


Rules = list[tuple[Any, ParamRule, Twin | None]]


def _rules(layer: Any, scheme: str, act: Activation | None) -> Rules:
    """Each weight of ``layer`` with its rule and, for a kernel, its PyTorch twin."""
    out: Rules = []
    for var in layer.weights:  # trainable or frozen; not metrics or seed states
        attr = var.path.rsplit("/", 1)[-1]
        if attr in _STATISTICS:
            continue
        names = _SEPARABLE_NAMES if isinstance(layer, _SEPARABLE) else _TORCH_NAMES
        name = f"{layer.name}.{names.get(attr, attr)}"
        shape = tuple(int(d) for d in var.shape)
        kind = type(layer).__name__
        twin = None
        if isinstance(layer, DENSE_LAYERS) and attr in _KERNELS:
            twin = twin_of(layer, attr, shape)
            after = None if attr == "depthwise_kernel" else act  # separable: pointwise comes next
            rule = _kernel_rule(name, layer, shape, twin, scheme, after)
        elif isinstance(layer, DENSE_LAYERS + _NORMS) and attr in ("bias", "beta"):
            rule = ParamRule(name, shape, kind, "zeros", "constant", value=0.0)
        elif isinstance(layer, _NORMS) and attr == "gamma":
            rule = ParamRule(name, shape, kind, "ones", "constant", value=1.0)
        elif isinstance(layer, keras.layers.Embedding) and attr == "embeddings":
            rule = ParamRule(name, shape, kind, "embedding_normal", "normal", std=1.0)
        else:
            rule = ParamRule(name, shape, kind, "untouched", "none", note="no rule for this parameter")
        out.append((var, rule, twin))
    return out


def _check_seed(seed: object) -> int:
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int in [0, 2**64), got {seed!r}")
    if not 0 <= int(seed) < 2**64:
        raise ValueError(f"seed must be an int in [0, 2**64), got {int(seed)}")
    return int(seed)


def write_rule(var: Any, rule: ParamRule, seed: int, twin: Twin | None = None) -> None:
    """Assign ``rule``'s values (from the stream of ``(seed, rule.name)``, drawn over the torch
    ``twin``'s shape for a kernel) to the Keras variable."""
    if rule.distribution == "none":
        return
    dtype = keras.backend.standardize_dtype(var.dtype)
    work = np.float64 if dtype == "float64" else np.float32
    if twin is None:
        values = rule_values(rule, seed, work)
    else:
        values = twin.to_keras(rule_values(replace(rule, shape=twin.shape), seed, work))
    var.assign(keras.ops.convert_to_tensor(np.ascontiguousarray(values), dtype=dtype))


def init_model(model: Any, scheme: str = "auto", *, seed: int = 0, dry_run: bool = False) -> InitPlan:
    """Re-initialize every Dense/Conv/Embedding/norm weight of a built Keras ``model`` in place.

    Each kernel follows the activation after its layer (``scheme="auto"``) or the family
    ``scheme`` names; biases and betas are 0, gammas 1 (see this module's docstring for the
    rules and for how the values equal ``kaiming.torch.init_model(twin, seed=seed,
    stream="counter")``). With ``dry_run=True`` nothing changes.

    Returns:
        ``InitPlan`` (the same report as ``kaiming.torch``): one row per weight (frozen layers'
        too; batch-norm moving statistics are left alone and not listed), named
        ``<layer>.weight``/``<layer>.bias``, with the rule, fan, gain, std and activation.

    Example:
        >>> fc1 = keras.layers.Dense(32, activation="relu", name="fc1")
        >>> model = keras.Sequential([keras.Input((64,)), fc1, keras.layers.Dense(10, name="fc2")])
        >>> plan = init_model(model, seed=0)
        >>> plan["fc1.weight"].rule, plan["fc1.weight"].activation, round(plan["fc1.weight"].std, 4)
        ('he_normal', 'relu', 0.1768)
        >>> plan["fc2.weight"].rule, plan["fc1.bias"].rule
        ('lecun_normal', 'zeros')
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    if not model.built:
        raise ValueError(f"model {model.name!r} is not built: call it on data or build(input_shape) first")
    scheme = check_choice("scheme", scheme, SCHEMES)
    base_seed = _check_seed(seed)
    if not isinstance(dry_run, bool):
        raise TypeError(f"dry_run must be a bool, got {dry_run!r}")
    layers = all_layers(model)
    found = find_activations(model, [la for la in layers if isinstance(la, DENSE_LAYERS)])
    pairs: Rules = []
    for layer in layers:
        act = found[id(layer)].activation if id(layer) in found else None
        pairs.extend(_rules(layer, scheme, act))
    names = [rule.name for _, rule, _ in pairs]
    if len(set(names)) != len(names):
        raise ValueError(f"layer names must be unique to name the parameters, got {names}")
    if not dry_run:
        for var, rule, twin in pairs:
            write_rule(var, rule, base_seed, twin)
    rows = tuple(rule for _, rule, _ in pairs)
    return InitPlan(rows, base_seed, scheme, "counter", True, None, dry_run, method="keras layers")
