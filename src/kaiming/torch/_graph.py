"""Activation rules, and the torch.fx / module-order ways to find which activation follows a layer (internal).

The primary way is ``kaiming.torch._tracer``: one run of the real forward on meta tensors,
following data flow (it needs example inputs). This module holds what it shares with it —
which modules and functions are activations (``Activation``, ``module_activation``) and which
modules are transparent — and the two fallbacks that ``_activation_search.analyze_graph`` uses
when the forward cannot run:

1. ``torch.fx.symbolic_trace`` (the graph: module calls *and* functional calls such as
   ``F.relu``, ``torch.tanh`` or ``x.relu()``). From each layer's call the graph is followed
   forward through *transparent* operations — ones that move, select, normalize, pool, drop or
   add values without a nonlinearity of their own:

   - modules: Identity, Dropout*, Flatten/Unflatten, pooling (max/avg/adaptive/LP), norms
     (BatchNorm*, LayerNorm, GroupNorm, InstanceNorm*, LocalResponseNorm, RMSNorm), padding,
     Upsample, PixelShuffle/Unshuffle, ChannelShuffle;
   - functions and methods: reshaping (view, reshape, flatten, squeeze, unsqueeze, permute,
     transpose, contiguous, expand, getitem, chunk, split, cat), mean, F.dropout*, F.*pool*,
     F.*_norm, F.interpolate, F.pad, and addition (``+``, ``torch.add``, ``x.add``): a residual
     sum passes its value on to the activation after it;

   until the first activation (module, function or method). Any other operation (another layer,
   a product, softmax, the output) ends that path with "no activation". When several paths
   reach activations, the first in graph order wins. fx runs the model's Python code
   symbolically (its side effects happen once more) and fails on most real models (Hugging
   Face transformers: "co_varnames is too small", proxies used in control flow).

2. When fx fails too, module registration order (``model.named_modules()``): the activation
   module registered after a layer, skipping transparent modules, before the next
   non-transparent module. It cannot see functional activations, and it reads registration
   order, not call order; ``init_model`` warns when it is used.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import fx, nn

from .._gauss import gaussian_expectation
from ..gains import calculate_gain

__all__ = ["Activation", "GraphInfo", "TracingFallbackWarning", "trace"]


class TracingFallbackWarning(UserWarning):
    """``torch.fx`` could not trace the model; activations were guessed from module order."""


_GAIN_NAMES = ("relu", "leaky_relu", "prelu", "elu", "selu", "gelu", "silu", "tanh", "sigmoid", "softplus")


@dataclass(frozen=True)
class Activation:
    """An activation found after a layer: its kind (a ``kaiming.gains`` name or a torch class /
    function name), its parameter (slope, alpha, beta) and its gain.

    ``gain`` is ``calculate_gain(kind, param)`` for the names ``kaiming.gains`` knows (torch's
    values where torch has them) and ``1 / sqrt(E[phi(z)^2])``, ``z ~ N(0, 1)``, computed by
    Gauss-Hermite quadrature from the activation itself, for the others (mish, hardswish, ...).
    """

    kind: str
    param: float | None
    gain: float

    def __str__(self) -> str:
        return self.kind if self.param is None else f"{self.kind}({self.param:g})"


def _known(kind: str, param: float | None = None) -> Activation:
    return Activation(kind, param, calculate_gain(kind, param))


def _numeric(kind: str, fn: Callable[[torch.Tensor], torch.Tensor]) -> Activation:
    def phi_squared(z: np.ndarray[Any, np.dtype[np.float64]]) -> np.ndarray[Any, np.dtype[np.float64]]:
        with torch.no_grad():
            values = fn(torch.from_numpy(z)).numpy()
        squared: np.ndarray[Any, np.dtype[np.float64]] = values**2
        return squared

    return Activation(kind, None, 1.0 / math.sqrt(gaussian_expectation(phi_squared)))


# --------------------------------------------------------------------------------------------
# activations as modules

_NOT_ELEMENTWISE = (nn.Softmax, nn.Softmin, nn.LogSoftmax, nn.Softmax2d, nn.GLU, nn.MultiheadAttention)


def module_activation(module: nn.Module) -> Activation | None:
    """The activation a module applies, or None if it is not an elementwise activation."""
    if isinstance(module, (nn.ReLU, nn.ReLU6)):
        return _known("relu")
    if isinstance(module, nn.LeakyReLU):
        return _known("leaky_relu", float(module.negative_slope))
    if isinstance(module, nn.PReLU):  # on meta: the slope it was built with
        weight = module.weight.detach()
        return _known("prelu", float(module.init) if weight.is_meta else float(weight.float().mean()))
    if isinstance(module, nn.RReLU):
        return _known("leaky_relu", (module.lower + module.upper) / 2.0)
    simple = {nn.SELU: "selu", nn.GELU: "gelu", nn.SiLU: "silu", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid"}
    for cls, kind in simple.items():
        if isinstance(module, cls):
            return _known(kind)
    if isinstance(module, nn.ELU):
        return _known("elu", float(module.alpha))
    if isinstance(module, nn.Softplus):
        return _known("softplus", float(module.beta))
    if isinstance(module, nn.Mish):
        return _numeric("mish", F.mish)
    if module.__class__.__module__ == "torch.nn.modules.activation" and not isinstance(
        module, _NOT_ELEMENTWISE
    ):
        return _numeric(type(module).__name__, module)
    return None


_TRANSPARENT_MODULES: tuple[type[nn.Module], ...] = (
    nn.Identity,
    nn.Flatten,
    nn.Unflatten,
    nn.modules.dropout._DropoutNd,
    nn.modules.pooling._MaxPoolNd,
    nn.modules.pooling._AvgPoolNd,
    nn.modules.pooling._AdaptiveAvgPoolNd,
    nn.modules.pooling._AdaptiveMaxPoolNd,
    nn.modules.pooling._LPPoolNd,
    nn.modules.batchnorm._NormBase,
    nn.LayerNorm,
    nn.GroupNorm,
    nn.LocalResponseNorm,
    nn.RMSNorm,
    nn.modules.padding._ConstantPadNd,
    nn.modules.padding._ReflectionPadNd,
    nn.modules.padding._ReplicationPadNd,
    nn.modules.padding._CircularPadNd,
    nn.Upsample,
    nn.PixelShuffle,
    nn.PixelUnshuffle,
    nn.ChannelShuffle,
)

NORM_MODULES: tuple[type[nn.Module], ...] = (
    nn.modules.batchnorm._NormBase,
    nn.LayerNorm,
    nn.GroupNorm,
    nn.RMSNorm,
)


def is_transparent_module(module: nn.Module) -> bool:
    return isinstance(module, _TRANSPARENT_MODULES)


# --------------------------------------------------------------------------------------------
# activations as functions and methods


def _arg(node: fx.Node, index: int, key: str, default: float) -> float | None:
    """A constant argument of a call (positional ``index`` or keyword ``key``), None if traced."""
    value = node.args[index] if len(node.args) > index else node.kwargs.get(key, default)
    return float(value) if isinstance(value, (int, float)) else None


def _prelu_slope(node: fx.Node, root: nn.Module) -> float:
    weight = node.args[1] if len(node.args) > 1 else node.kwargs.get("weight")
    if isinstance(weight, fx.Node) and weight.op == "get_attr":
        value = operator.attrgetter(str(weight.target))(root)
        return float(torch.as_tensor(value).detach().float().mean())
    return 0.25


_FIXED_FUNCTIONS: dict[Any, str] = {
    F.relu: "relu",
    F.relu_: "relu",
    torch.relu: "relu",
    torch.relu_: "relu",
    F.relu6: "relu",
    F.selu: "selu",
    torch.selu: "selu",
    F.gelu: "gelu",
    F.silu: "silu",
    torch.tanh: "tanh",
    F.tanh: "tanh",
    torch.sigmoid: "sigmoid",
    F.sigmoid: "sigmoid",
}
_FIXED_METHODS = {
    "relu": "relu",
    "relu_": "relu",
    "tanh": "tanh",
    "tanh_": "tanh",
    "sigmoid": "sigmoid",
    "sigmoid_": "sigmoid",
}
_OTHER_FUNCTIONS: tuple[Any, ...] = (
    F.hardswish,
    F.hardsigmoid,
    F.hardtanh,
    F.softsign,
    F.tanhshrink,
    F.logsigmoid,
    F.celu,
    F.hardshrink,
    F.softshrink,
)


def node_activation(node: fx.Node, root: nn.Module) -> Activation | None:
    """The activation a graph node applies, or None."""
    if node.op == "call_module":
        return module_activation(root.get_submodule(str(node.target)))
    if node.op == "call_method":
        kind = _FIXED_METHODS.get(str(node.target))
        return _known(kind) if kind else None
    if node.op != "call_function":
        return None
    target = node.target
    if target in _FIXED_FUNCTIONS:
        return _known(_FIXED_FUNCTIONS[target])
    if target in (F.leaky_relu, F.leaky_relu_):
        return _known("leaky_relu", _arg(node, 1, "negative_slope", 0.01))
    if target in (F.elu, F.elu_):
        return _known("elu", _arg(node, 1, "alpha", 1.0))
    if target is F.softplus:
        return _known("softplus", _arg(node, 1, "beta", 1.0))
    if target is F.prelu:
        return _known("prelu", _prelu_slope(node, root))
    if target is F.mish:
        return _numeric("mish", F.mish)
    if target in _OTHER_FUNCTIONS and all(not isinstance(a, fx.Node) for a in node.args[1:]):
        fn: Callable[..., torch.Tensor] = target  # type: ignore[assignment]
        args, kwargs = node.args[1:], dict(node.kwargs)
        return _numeric(getattr(fn, "__name__", str(fn)), lambda z: fn(z, *args, **kwargs))
    return None


_TRANSPARENT_FUNCTIONS: tuple[Any, ...] = (
    operator.add,
    operator.iadd,
    operator.getitem,
    torch.add,
    torch.cat,
    torch.concat,
    torch.flatten,
    torch.reshape,
    torch.squeeze,
    torch.unsqueeze,
    torch.transpose,
    torch.permute,
    torch.chunk,
    torch.split,
    torch.mean,
    F.dropout,
    F.dropout1d,
    F.dropout2d,
    F.dropout3d,
    F.alpha_dropout,
    F.max_pool1d,
    F.max_pool2d,
    F.max_pool3d,
    F.avg_pool1d,
    F.avg_pool2d,
    F.avg_pool3d,
    F.adaptive_avg_pool1d,
    F.adaptive_avg_pool2d,
    F.adaptive_avg_pool3d,
    F.adaptive_max_pool1d,
    F.adaptive_max_pool2d,
    F.adaptive_max_pool3d,
    F.batch_norm,
    F.layer_norm,
    F.group_norm,
    F.instance_norm,
    F.rms_norm,
    F.interpolate,
    F.pad,
)
_TRANSPARENT_METHODS = frozenset(
    {
        *("view", "reshape", "flatten", "squeeze", "unsqueeze", "permute", "transpose", "contiguous"),
        *("expand", "chunk", "split", "add", "add_", "mean"),
    }
)

ADD_FUNCTIONS: tuple[Any, ...] = (operator.add, operator.iadd, torch.add)


def is_add(node: fx.Node) -> bool:
    """Whether ``node`` is a sum (``+``, ``+=``, ``torch.add``, ``x.add``)."""
    if node.op == "call_function":
        return node.target in ADD_FUNCTIONS
    return node.op == "call_method" and node.target in ("add", "add_")


def _is_transparent_node(node: fx.Node, root: nn.Module) -> bool:
    if node.op == "call_module":
        return is_transparent_module(root.get_submodule(str(node.target)))
    if node.op == "call_method":
        return node.target in _TRANSPARENT_METHODS
    return node.op == "call_function" and node.target in _TRANSPARENT_FUNCTIONS


def consumer_activation(node: fx.Node, root: nn.Module) -> tuple[fx.Node, Activation] | None:
    """The first activation reached from ``node`` through transparent operations, with its node."""
    order = {n: i for i, n in enumerate(node.graph.nodes)}
    frontier = list(node.users)
    seen: set[fx.Node] = set()
    found: list[tuple[int, fx.Node, Activation]] = []
    while frontier:
        user = frontier.pop()
        if user in seen:
            continue
        seen.add(user)
        activation = node_activation(user, root)
        if activation is not None:
            found.append((order[user], user, activation))
        elif _is_transparent_node(user, root):
            frontier.extend(user.users)
    if not found:
        return None
    _, act_node, activation = min(found, key=lambda item: item[0])
    return act_node, activation


# --------------------------------------------------------------------------------------------
# the whole model


class _LayerTracer(fx.Tracer):
    """fx's tracer, keeping the named ``layers`` whole (one ``call_module`` node each) even when
    they are not ``torch.nn`` classes, such as Hugging Face's ``Conv1D``: traced through, such a
    layer leaves no node of its own, and the activation after it would not be found."""

    def __init__(self, layers: Collection[str]) -> None:
        super().__init__()
        self.layers = frozenset(layers)

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return module_qualified_name in self.layers or super().is_leaf_module(m, module_qualified_name)


def trace(model: nn.Module, layers: Collection[str] = ()) -> tuple[fx.GraphModule | None, str | None]:
    """``(graph_module, None)``, or ``(None, reason)`` when ``torch.fx`` cannot trace ``model``;
    the modules named in ``layers`` stay whole (``_LayerTracer``)."""
    try:
        graph = _LayerTracer(layers).trace(model)
        return fx.GraphModule(model, graph, type(model).__name__), None
    except Exception as exc:  # fx raises many types (TraceError, TypeError, NotImplementedError...)
        return None, f"{type(exc).__name__}: {exc}".splitlines()[0]


@dataclass(frozen=True)
class GraphInfo:
    """What the graph says about a model's layers.

    ``activations`` maps a module name to the activation consuming its output (None: none found);
    ``residual_norms`` lists the norm modules that end a residual branch (traced models only);
    ``traced`` says whether the data flow was followed (``method`` ``"forward"``: one run of the
    real forward on meta tensors, ``kaiming.torch._tracer``; ``"torch.fx"``: fx's symbolic
    trace) or guessed from module order (``method`` ``"module order"``), ``reason`` why the
    better methods could not be used; ``gated`` maps each layer whose output is multiplied by
    an activation's output (the ``up`` projection of a gated MLP) to that activation.
    """

    activations: dict[str, Activation | None]
    residual_norms: tuple[str, ...]
    traced: bool
    reason: str | None
    method: str = "torch.fx"
    gated: dict[str, str] = field(default_factory=dict)


def module_order_activations(model: nn.Module, names: list[str]) -> dict[str, Activation | None]:
    """The fallback: the activation module registered after each layer (see module docstring)."""
    leaves = [(name, module) for name, module in model.named_modules() if not any(module.children())]
    result: dict[str, Activation | None] = {}
    for i, (name, _) in enumerate(leaves):
        if name not in names:
            continue
        result[name] = None
        for _, later in leaves[i + 1 :]:
            activation = module_activation(later)
            if activation is not None:
                result[name] = activation
                break
            if not is_transparent_module(later):
                break
    for name in names:
        result.setdefault(name, None)
    return result


def _ancestors(node: fx.Node) -> set[fx.Node]:
    seen: set[fx.Node] = set()
    stack = list(node.all_input_nodes)
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(current.all_input_nodes)
    return seen


def _norm_source(node: fx.Node, root: nn.Module) -> fx.Node | None:
    """The norm module call that feeds ``node`` through pass-through ops (identity, dropout)."""
    while node.op == "call_module":
        module = root.get_submodule(str(node.target))
        if isinstance(module, NORM_MODULES):
            return node
        if not isinstance(module, (nn.Identity, nn.modules.dropout._DropoutNd)):
            return None
        node = node.all_input_nodes[0]
    return None


def residual_norms(graph_module: fx.GraphModule) -> tuple[str, ...]:
    """Norm modules that end a residual branch.

    For each two-input sum, the *branch* is the input with more ancestors in the graph (the
    shortcut, identity or projection, is the shorter path); if the branch ends in a norm module
    (through identity/dropout only), that norm is listed. Equal ancestor counts: none listed.
    """
    found: list[str] = []
    for node in graph_module.graph.nodes:
        inputs = [n for n in node.args[:2] if isinstance(n, fx.Node)] if is_add(node) else []
        if len(inputs) != 2:
            continue
        depth = [len(_ancestors(n)) for n in inputs]
        if depth[0] == depth[1]:
            continue
        source = _norm_source(inputs[0] if depth[0] > depth[1] else inputs[1], graph_module)
        if source is not None and str(source.target) not in found:
            found.append(str(source.target))
    return tuple(found)
