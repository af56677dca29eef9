"""Which activation follows which layer, found by running the real forward once (internal).

``trace_flow(model, layers, example_inputs)`` runs ``model``'s own ``forward`` **once on meta
tensors** (no values, no memory, no arithmetic) under a ``TorchFunctionMode`` and module hooks,
and follows the data flow from each layer's output to the next nonlinearity. ``FlowTracer`` is
the same machinery on any run, used by ``analyze`` on the real batch.

Every tensor carries a set of *sources*: the layer calls whose output reaches it through
transparent operations only. The rules, applied to each module call and to each torch function
call made outside a recognized module:

- a **layer** (a module of ``layers``: Linear, Conv, ConvTranspose, Hugging Face ``Conv1D``...)
  starts a new flow: its output's sources are ``{the layer call}`` (a norm layer also passes
  its input's sources on);
- an **activation** (module: ``nn.ReLU``, ``nn.GELU``, ``nn.SiLU``, ... and Hugging Face's
  ``transformers.activations`` classes such as ``NewGELUActivation`` ("gelu_new"); function or
  method: ``F.relu``, ``torch.tanh``, ``x.sigmoid()``, ``F.leaky_relu(x, a)``, ``F.gelu``,
  ``F.silu``, ``F.mish``, ...; a parameter-free module of one's own that computes an
  elementwise function, found by probing it once on 24 CPU values) is *the* activation of
  every source of its input (the first one reached wins); its output has no sources;
- **transparent** operations pass their inputs' sources on: norms (modules, including Hugging
  Face ``*Norm`` classes such as ``LlamaRMSNorm``, and ``F.*_norm``), dropout, pooling, padding,
  interpolation, reshapes/views/indexing/concatenation, dtype casts, sums and differences
  (``+``, ``-``: residual adds), and products or quotients in which *only one* operand carries
  sources (a rescaling, a mask, or a gate);
- **anything else** (matmul, attention, softmax, a product of two layer outputs, exp, pow, ...)
  ends the flow: its output has no sources. A layer whose flow ends with no activation is
  linear as far as the rule is concerned (LeCun under ``"auto"``).

Gated MLPs, ``down(act(gate(x)) * up(x))`` (Llama's SwiGLU, GeGLU): the gate projection's
output reaches the activation, so *gate* gets the activation's rule (He with SiLU's gain). The
*up* projection's output is multiplied by the activation's output — a product where only one
operand carries sources — and then reaches ``down``, a layer, with no activation: *up* is
linear (LeCun, gain 1), and is marked "gated by silu" in ``gated``. For independent
pre-activations, ``E[(act(g) u)^2] = E[act(g)^2] E[u^2] = E[act(g)^2]``: the gated product
carries the second moment the activation alone carries in a plain MLP; the gate adds no scale.

Residual branches: at a two-input sum, the input with the longer path from the model's input
is the branch; if it comes straight (through identity/dropout only) from a norm module, that
norm *ends a residual branch* (``residual_norms``, used by ``zero_init_residual``).

Side effects: the forward runs exactly once, on meta copies of the parameters and buffers
(``torch.func.functional_call``), in eval mode, under ``torch.no_grad()``; the model's own
tensors, modes and torch's RNG are untouched. Python side effects of ``forward`` (prints,
counters, caches it sets on ``self``) happen once. A forward that needs values (``.item()``,
data-dependent branching on tensor contents) cannot run on meta tensors; ``trace_flow`` then
raises ``FlowError`` with the reason.
"""

from __future__ import annotations

import re
import sys
import warnings
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_leaves, tree_map
from torch.utils.weak import WeakIdKeyDictionary

from ._graph import (
    _FIXED_FUNCTIONS,
    _FIXED_METHODS,
    _OTHER_FUNCTIONS,
    NORM_MODULES,
    Activation,
    GraphInfo,
    TracingFallbackWarning,
    _known,
    _numeric,
    is_transparent_module,
    module_activation,
)

__all__ = ["Flow", "FlowError", "FlowTracer", "split_inputs", "trace_flow", "warn_fallback"]

_GAIN_NAMES = ("relu", "leaky_relu", "prelu", "elu", "selu", "gelu", "silu", "tanh", "sigmoid", "softplus")


class FlowError(RuntimeError):
    """The model's forward could not run on meta tensors (the message says why)."""


def split_inputs(inputs: object, name: str = "inputs") -> tuple[tuple[Any, ...], dict[str, Any]]:
    """``(args, kwargs)`` for ``model(*args, **kwargs)`` from a tensor, a tuple/list or a dict."""
    if isinstance(inputs, torch.Tensor):
        return (inputs,), {}
    if isinstance(inputs, (tuple, list)):
        return tuple(inputs), {}
    if isinstance(inputs, Mapping):
        return (), {str(k): v for k, v in inputs.items()}
    raise TypeError(
        f"{name} must be a tensor, a tuple/list of positional inputs or a dict of keyword inputs, "
        f"got {type(inputs).__name__}"
    )


# --------------------------------------------------------------------------------------------
# what a module or a function call is


def _hf_activation(module: nn.Module) -> Activation | str | None:
    """A ``transformers.activations`` module: its Activation, ``"linear"`` for the identity, or None."""
    acts = sys.modules.get("transformers.activations")
    if acts is None or type(module).__module__ != "transformers.activations":
        return None
    kind = next(
        (key for key, value in getattr(acts, "ACT2CLS", {}).items() if value is type(module)),
        type(module).__name__,
    )
    if kind == "linear":
        return "linear"
    if kind in _GAIN_NAMES:
        return _known(kind)
    if any(True for _ in module.parameters()) or any(True for _ in module.buffers()):
        return None
    return _numeric(kind, module)


_NORM_NAME = re.compile(r"(Layer|RMS|Batch|Group|Instance)Norm|Norm$")


def _is_hf_norm(module: nn.Module) -> bool:
    """A norm module outside torch (``LlamaRMSNorm``, ``T5LayerNorm``, ...), by its class name."""
    cls = type(module)
    return (
        bool(_NORM_NAME.search(cls.__name__))
        and not cls.__module__.startswith("torch.")
        and not any(module.children())
    )


def classify(module: nn.Module) -> Activation | str | None:
    """An ``Activation``, ``"norm"``, ``"transparent"`` or None (none of these)."""
    found = _hf_activation(module)
    if found == "linear":
        return "transparent"
    if found is not None:
        return found
    activation = module_activation(module)
    if activation is not None:
        return activation
    if isinstance(module, NORM_MODULES) or _is_hf_norm(module):
        return "norm"
    if is_transparent_module(module):
        return "transparent"
    return _custom_elementwise(module)


def _custom_elementwise(module: nn.Module) -> Activation | str | None:
    """A parameter-free leaf module defined outside torch that computes an elementwise function
    (a custom ``Swish``/``Mish``/``QuickGELU``...): its numeric Activation, or ``"transparent"``
    when the function is linear (``c * x``); None for anything else.

    Probed once, on the CPU, with 24 float64 values in [-3, 3]: the output must have the
    input's shape, be finite, and not depend on the input's shape or order (reshaped to 1-D or
    reversed, the same values come out) — which softmax, mixing or reshaping modules fail.
    """
    cls = type(module)
    if cls.__module__.startswith("torch.") or any(module.children()):
        return None
    if any(True for _ in module.parameters()) or any(True for _ in module.buffers()):
        return None
    z = torch.linspace(-3.0, 3.0, 24, dtype=torch.float64).reshape(2, 3, 4)
    try:
        with torch.no_grad():
            y = module(z)
            flat = module(z.reshape(24))
            reverse = module(z.flip(-1))
    except Exception:  # not callable on one float tensor: not an elementwise function
        return None
    if not all(isinstance(t, torch.Tensor) for t in (y, flat, reverse)):
        return None
    if (
        y.shape != z.shape
        or flat.shape != (24,)
        or reverse.shape != z.shape
        or not bool(torch.isfinite(y).all())
    ):
        return None
    if not (torch.allclose(flat.reshape(z.shape), y) and torch.allclose(reverse.flip(-1), y)):
        return None
    scale = float((y * z).sum() / (z * z).sum())
    if torch.allclose(y, scale * z):
        return "transparent"
    return _numeric(cls.__name__, module)


_TRANSPARENT_NAMES = frozenset(
    {
        # reshaping, selecting, joining, casting
        *("view", "view_as", "reshape", "reshape_as", "flatten", "unflatten", "squeeze", "unsqueeze"),
        *("permute", "transpose", "t", "contiguous", "expand", "expand_as", "movedim", "swapaxes"),
        *("chunk", "split", "tensor_split", "unbind", "cat", "concat", "concatenate", "narrow"),
        *("select", "__getitem__", "to", "type", "float", "half", "bfloat16", "double", "clone"),
        *("type_as", "repeat", "roll"),
        # sums and means
        *("add", "add_", "__add__", "__iadd__", "__radd__", "sub", "sub_", "__sub__", "__isub__"),
        *("__rsub__", "mean", "__neg__", "neg"),
        # dropout, pooling, norms, resampling, padding
        *("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"),
        *("max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d"),
        *("adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d"),
        *("adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d", "lp_pool1d", "lp_pool2d"),
        *("batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm", "local_response_norm"),
        *("interpolate", "upsample", "pad", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle"),
    }
)
_SCALE_NAMES = frozenset(
    {
        "mul",
        "mul_",
        "__mul__",
        "__imul__",
        "__rmul__",
        "multiply",
        "div",
        "div_",
        "__truediv__",
        "__itruediv__",
    }
)
_DROPOUT_NAMES = frozenset({"dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout"})


def _is_method(func: Any, name: str) -> bool:
    return getattr(torch.Tensor, name, None) is func


def _const(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, key: str, default: float) -> float:
    value = args[index] if len(args) > index else kwargs.get(key, default)
    return float(value) if isinstance(value, (int, float)) else default


def call_activation(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Activation | None:
    """The activation a torch function or Tensor method call applies, or None."""
    if func in _FIXED_FUNCTIONS:
        return _known(_FIXED_FUNCTIONS[func])
    name = getattr(func, "__name__", "")
    if name in _FIXED_METHODS and _is_method(func, name):
        return _known(_FIXED_METHODS[name])
    if func in (F.leaky_relu, F.leaky_relu_):
        return _known("leaky_relu", _const(args, kwargs, 1, "negative_slope", 0.01))
    if func in (F.elu, F.elu_):
        return _known("elu", _const(args, kwargs, 1, "alpha", 1.0))
    if func is F.softplus:
        return _known("softplus", _const(args, kwargs, 1, "beta", 1.0))
    if func is F.prelu:
        weight = args[1] if len(args) > 1 else kwargs.get("weight")
        slope = 0.25
        if isinstance(weight, torch.Tensor) and not weight.is_meta:
            slope = float(weight.detach().float().mean())
        return _known("prelu", slope)
    if func is F.mish:
        return _numeric("mish", F.mish)
    if func in _OTHER_FUNCTIONS and not any(isinstance(a, torch.Tensor) for a in args[1:]):
        rest, kw = args[1:], dict(kwargs)
        return _numeric(getattr(func, "__name__", str(func)), lambda z: func(z, *rest, **kw))
    return None


# --------------------------------------------------------------------------------------------
# the tracer

Token = Hashable


@dataclass
class _Info:
    """What one tensor carries: its sources, its path length, the norm it comes straight from,
    and whether it is an activation's output (with that activation)."""

    sources: frozenset[Token] = frozenset()
    depth: int = 0
    norm: str | None = None
    activation: Activation | None = None


@dataclass
class _Frame:
    module: nn.Module
    role: Activation | str  # "layer", "norm-layer", "norm", "transparent" or an Activation
    inputs: list[_Info]


@dataclass
class Flow:
    """The result of a trace: the first activation found for each token (a layer name, or what
    ``on_layer`` returned), the gate activation multiplying each ungated ``up`` projection, the
    norms ending residual branches, and the tokens of the layers that were called."""

    activations: dict[Token, Activation] = field(default_factory=dict)
    gated: dict[Token, str] = field(default_factory=dict)
    residual_norms: list[str] = field(default_factory=list)
    called: list[Token] = field(default_factory=list)


OnLayer = Callable[[str, nn.Module, Any], tuple[Any, Token]]
OnActivation = Callable[[Iterable[Token], Activation, torch.Tensor], None]


class FlowTracer(TorchFunctionMode):
    """Follow data flow during one forward run (see the module docstring for the rules).

    ``layers`` maps each module to report to its name. ``on_layer(name, module, output)`` is
    called at each layer call and returns ``(output, token)`` (the output may be replaced, as a
    forward hook can); ``on_activation(tokens, activation, output)`` is called once per token,
    when its first activation is reached. Use it as ``with tracer.attached(model): model(...)``.
    """

    def __init__(
        self,
        layers: Mapping[nn.Module, str],
        on_layer: OnLayer | None = None,
        on_activation: OnActivation | None = None,
    ) -> None:
        super().__init__()
        self.layers = dict(layers)
        self.on_layer = on_layer
        self.on_activation = on_activation
        self.flow = Flow()
        # tensor -> info, by identity; weak, so no tensor lives longer than the forward keeps it
        self._info: WeakIdKeyDictionary = WeakIdKeyDictionary()
        self._stack: list[_Frame | None] = []
        self._paused = 0
        self._names: dict[nn.Module, str] = {}
        self._roles: dict[nn.Module, Activation | str] = {}

    # ---- tensors' information

    def _get(self, value: object) -> _Info | None:
        if not isinstance(value, torch.Tensor):
            return None
        info: _Info | None = self._info.get(value)  # type: ignore[no-untyped-call]
        return info

    def _inputs(self, *values: object) -> list[_Info]:
        found = []
        for leaf in tree_leaves(list(values)):
            info = self._get(leaf)
            if info is not None:
                found.append(info)
        return found

    def _set(self, output: object, inputs: list[_Info], **fields: Any) -> None:
        depth = 1 + max((i.depth for i in inputs), default=0)
        for leaf in tree_leaves(output):
            if isinstance(leaf, torch.Tensor):
                self._info[leaf] = _Info(depth=depth, **fields)

    def _reach(self, inputs: list[_Info], activation: Activation, output: torch.Tensor) -> None:
        new = [t for i in inputs for t in i.sources if t not in self.flow.activations]
        for token in new:
            self.flow.activations[token] = activation
        if new and self.on_activation is not None:
            self._paused += 1
            try:
                self.on_activation(list(dict.fromkeys(new)), activation, output)
            finally:
                self._paused -= 1

    # ---- module calls

    def attached(self, model: nn.Module) -> _Attached:
        """Context manager: hooks on ``model``'s modules and this mode, both removed on exit."""
        return _Attached(self, model)

    def _pre(self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if self._stack or self._paused:
            self._stack.append(None)  # inside another recognized module: not followed
            return
        role = self._roles[module]
        self._stack.append(_Frame(module, role, self._inputs(args, kwargs)))

    def _post(self, module: nn.Module, _args: Any, _kwargs: Any, output: Any) -> Any:
        frame = self._stack.pop() if self._stack else None
        if frame is None:
            return None
        inputs, role, name = frame.inputs, frame.role, self._names[module]
        if isinstance(role, Activation):
            tensors = [t for t in tree_leaves(output) if isinstance(t, torch.Tensor)]
            if tensors:
                self._reach(inputs, role, tensors[0])
            self._set(output, inputs, activation=role)
            return None
        if role in ("layer", "norm-layer"):
            token: Token = name
            replaced = output
            if self.on_layer is not None:
                self._paused += 1
                try:
                    replaced, token = self.on_layer(name, module, output)
                finally:
                    self._paused -= 1
            self.flow.called.append(token)
            carried = frozenset(t for i in inputs for t in i.sources) if role == "norm-layer" else frozenset()
            norm = name if role == "norm-layer" and isinstance(module, _NORMS) else None
            self._set(replaced, inputs, sources=carried | {token}, norm=norm)
            return None if replaced is output else replaced
        sources = frozenset(t for i in inputs for t in i.sources)
        norm = name if role == "norm" else None
        if role == "transparent" and isinstance(module, (nn.Identity, nn.modules.dropout._DropoutNd)):
            norm = next((i.norm for i in inputs if i.norm), None)
        self._set(output, inputs, sources=sources, norm=norm)
        return None

    # ---- function calls

    def __torch_function__(
        self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
    ) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if self._stack or self._paused:
            return out
        name = getattr(func, "__name__", "")
        if name in ("__get__", "__set__", "size", "dim", "numel", "is_floating_point", "__len__"):
            return out
        inputs = self._inputs(args, kwargs)
        activation = call_activation(func, args, kwargs)
        if activation is not None:
            if isinstance(out, torch.Tensor):
                self._reach(inputs, activation, out)
            self._set(out, inputs, activation=activation)
            return out
        sources: frozenset[Token] = frozenset()
        norm = None
        if name in _TRANSPARENT_NAMES:
            sources = frozenset(t for i in inputs for t in i.sources)
            if name in _DROPOUT_NAMES or name in ("contiguous", "clone", "to"):
                norm = next((i.norm for i in inputs if i.norm), None)
            if name in ("add", "add_", "__add__", "__iadd__", "__radd__"):
                self._residual(args)
        elif name in _SCALE_NAMES:
            sources = self._scaled(args)
        self._set(out, inputs, sources=sources, norm=norm)
        return out

    def _scaled(self, args: tuple[Any, ...]) -> frozenset[Token]:
        """Sources of a product/quotient: passed on when only one operand carries any."""
        operands = [self._get(a) if isinstance(a, torch.Tensor) else None for a in args[:2]]
        carrying = [i for i in operands if i is not None and i.sources]
        if len(carrying) != 1:
            return frozenset()
        other = operands[1] if operands[0] is carrying[0] else operands[0]
        if other is not None and other.activation is not None:
            for token in carrying[0].sources:
                self.flow.gated.setdefault(token, str(other.activation))
        return carrying[0].sources

    def _residual(self, args: tuple[Any, ...]) -> None:
        operands = [self._get(a) for a in args[:2]]
        a, b = [*operands, None, None][:2]
        if a is None or b is None:
            return
        if a.depth == b.depth:
            return
        branch = a if a.depth > b.depth else b
        if branch.norm is not None and branch.norm not in self.flow.residual_norms:
            self.flow.residual_norms.append(branch.norm)


_NORMS = (*NORM_MODULES, nn.modules.instancenorm._InstanceNorm)


class _Attached:
    def __init__(self, tracer: FlowTracer, model: nn.Module) -> None:
        self.tracer = tracer
        self.model = model
        self.handles: list[Any] = []

    def __enter__(self) -> FlowTracer:
        tracer = self.tracer
        for name, module in self.model.named_modules():
            role: Activation | str | None = classify(module)
            if module in tracer.layers:
                role = "norm-layer" if role == "norm" else "layer"
                name = tracer.layers[module]
            if role is None:
                continue
            tracer._names[module] = name
            tracer._roles[module] = role
            self.handles.append(module.register_forward_pre_hook(tracer._pre, with_kwargs=True))
            self.handles.append(
                module.register_forward_hook(tracer._post, with_kwargs=True, always_call=True)
            )
        try:
            tracer.__enter__()  # type: ignore[no-untyped-call]
        except BaseException:
            self._remove()
            raise
        return tracer

    def __exit__(self, *exc: object) -> None:
        try:
            self.tracer.__exit__(*exc)  # type: ignore[no-untyped-call]
        finally:
            self._remove()

    def _remove(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles.clear()


# --------------------------------------------------------------------------------------------
# one run on meta tensors


def _to_meta(value: Any) -> Any:
    return tree_map(lambda v: v.to("meta") if isinstance(v, torch.Tensor) else v, value)


def trace_flow(model: nn.Module, layers: Mapping[nn.Module, str], example_inputs: object) -> Flow:
    """Run ``model``'s forward once on meta tensors with ``example_inputs``' shapes and dtypes,
    following data flow (module docstring). Raises ``FlowError`` when the forward cannot run."""
    args, kwargs = split_inputs(example_inputs, "example_inputs")
    args, kwargs = _to_meta(args), _to_meta(kwargs)
    modes = {m: m.training for m in model.modules()}
    tracer = FlowTracer(layers)
    state = {
        name: torch.empty_like(t, device="meta")
        for name, t in (*model.named_parameters(), *model.named_buffers())
        if not t.is_meta
    }
    try:
        model.eval()
        with torch.no_grad(), tracer.attached(model):
            if state:
                torch.func.functional_call(model, state, args, kwargs, tie_weights=True, strict=False)
            else:
                model(*args, **kwargs)
    except Exception as exc:  # the forward may raise anything
        raise FlowError(f"{type(exc).__name__}: {exc}".splitlines()[0]) from exc
    finally:
        for module, flag in modes.items():
            module.training = flag
    return tracer.flow


def warn_fallback(info: GraphInfo, model_name: str, zero_init_residual: bool = False) -> None:
    """``TracingFallbackWarning`` unless the real forward was traced: what was used instead and why."""
    if info.method == "forward":
        return
    if info.method == "torch.fx":
        if info.reason is not None:  # example_inputs were given but the meta run failed
            warnings.warn(
                f"init_model: could not run the forward of {model_name} on meta tensors: "
                f"{info.reason}; the activations were found with torch.fx instead",
                TracingFallbackWarning,
                stacklevel=3,
            )
        return
    warnings.warn(
        f"init_model: could not trace {model_name} ({info.reason}); the activation after each "
        "layer is guessed from module registration order, which cannot see functional activations "
        "(F.relu) and may differ from the call order; pass example_inputs= (a tensor, tuple or "
        "dict of the forward's inputs) to follow the real forward"
        + ("; zero_init_residual needs the graph and zeroes nothing" if zero_init_residual else ""),
        TracingFallbackWarning,
        stacklevel=3,
    )
