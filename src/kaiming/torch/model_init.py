"""Initialize a whole PyTorch model, layer by layer, following the activation after each layer.

``init_model(model)`` walks ``model.named_parameters()`` and gives every parameter a rule:

============================  =================================================================
layer                         rule
============================  =================================================================
Linear, Conv1d/2d/3d,         weight: by ``scheme`` (below); bias: zeros (the He and Glorot
ConvTranspose1d/2d/3d,        papers' choice: the pre-activation's variance then comes from the
Hugging Face ``Conv1D``       weights alone); ``Conv1D`` (GPT-2) stores its weight ``(in, out)``
Embedding, EmbeddingBag       weight ``N(0, 1)`` (torch's default: unit-variance features), the
                              ``padding_idx`` row zero — under every scheme
BatchNorm*, LayerNorm,        weight 1, bias 0 — under every scheme; with
GroupNorm, InstanceNorm*,     ``zero_init_residual=True`` the last norm of each residual branch
RMSNorm                       gets weight 0, so every block starts as the identity (Goyal et
                              al., 2017)
anything else                 untouched (reported as such); buffers (BatchNorm running
                              statistics) are never touched
============================  =================================================================

Fans use torch's layout ``(out, in, *k)``: ``fan_in = in/groups * prod(k)``, ``fan_out = out *
prod(k)``. A ConvTranspose weight is stored ``(in, out/groups, *k)``; its fans are counted from
its connectivity: an output position receives ``in/groups * prod(k) / prod(stride)`` terms on
average (each input position feeds ``prod(k)`` outputs spaced ``stride`` apart), so ``fan_in =
in/groups * prod(k) / prod(stride)``, and ``fan_out = out * prod(k)`` (``torch.nn.init`` reads
them the wrong way round and without the stride: a stride-2 2-D layer's outputs would then have
half the std He's rule aims for).

``scheme="auto"`` picks each weight's rule from the activation that consumes the layer's output
(found by one run of the real forward on meta tensors, ``kaiming.torch._tracer``, or by
``torch.fx`` without example inputs, ``kaiming.torch._graph``):

==========================================  ===================================================
activation                                  rule
==========================================  ===================================================
ReLU (also ReLU6)                           He normal, ``std = sqrt(2 / fan_in)``
LeakyReLU(a), PReLU (its current slope a),  He normal with the slope:
RReLU (mean slope)                          ``std = sqrt(2 / ((1 + a**2) fan_in))``
Tanh, Sigmoid                               Xavier uniform with torch's gain (5/3, 1),
                                            ``bound = gain * sqrt(6 / (fan_in + fan_out))``
SELU                                        LeCun normal, ``std = sqrt(1 / fan_in)``
GELU, SiLU, Mish, ELU, Softplus and other   He normal with the activation's own mean-field gain
elementwise activations                     ``1 / sqrt(E[phi(z)^2])`` (GELU 1.53, SiLU 1.68,
                                            Mish 1.56...; for ReLU this formula *is* sqrt(2))
none (an output layer, softmax or attention  LeCun normal, ``std = sqrt(1 / fan_in)``
next, the ``up`` projection of a gated MLP)
==========================================  ===================================================

Why He for GELU/SiLU/Mish: they are smooth ReLUs (identity for large positive inputs, zero for
large negative ones), so He's argument — choose the weight variance that keeps the second moment
of the pre-activations constant from layer to layer — is the one that applies; the same
derivation with the activation's exact second moment gives the gain used here instead of ReLU's
sqrt(2) (which would shrink the signal by about 8% per layer for GELU). Why LeCun for the last
layer: with no nonlinearity the variance-preserving gain is 1, so the outputs (e.g. logits) keep
the scale of the features; Xavier would also average in the (often small) number of outputs.

Explicit scheme names apply one family to every Linear/Conv weight: ``he_*``/``kaiming_*``
(gain sqrt(2), or sqrt(2 / (1 + a**2)) when a leaky slope ``a`` follows the layer),
``xavier_*``/``glorot_*`` and ``lecun_*`` (gain 1), ``orthogonal`` (with the gain ``"auto"``
would use, so an orthogonal ReLU net keeps its scale), and ``torch_default`` (what
``reset_parameters`` draws: ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` for weights and biases, with
torch's own fan reading, but from our seeded generators). A mapping applies schemes per layer:
keys are module names (exact, or ``fnmatch`` patterns such as ``"head.*"``) or module classes;
precedence is exact name, then class, then pattern; unmatched layers get ``"auto"``.

Randomness: each parameter draws from its own ``torch.Generator`` seeded from ``(seed,
parameter name)``, so the weights depend on neither torch's global RNG nor the other parameters.
"""

from __future__ import annotations

import fnmatch
import hashlib
import math
import numbers
import secrets
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch import nn

from .._checks import check_choice
from .._rules import auto_rule, orthogonal_rule, transposed_fans, variance_rule
from ..fans import fans_of
from ..registry import INITIALIZER_NAMES
from ._activation_search import analyze_graph
from ._counter import counter_fill_
from ._graph import NORM_MODULES, Activation
from ._materialize import initialize_, own_rule
from ._plan import InitPlan, ParamRule
from ._tensors import fill_distribution, fill_orthogonal, fill_uniform, make_generator
from ._tied_rules import aliases_of, tied_rule
from ._tracer import split_inputs, warn_fallback

__all__ = ["SCHEMES", "STREAMS", "apply_rule", "init_model", "param_seed"]


def _family(name: str) -> tuple[str, str, str]:
    """(canonical rule, fan mode, distribution) of a registry name such as ``glorot_uniform``."""
    rule = name.replace("kaiming", "he").replace("glorot", "xavier")
    family, _, distribution = rule.partition("_")
    return rule, "fan_avg" if family == "xavier" else "fan_in", distribution


_FAMILIES = {name: _family(name) for name in INITIALIZER_NAMES if name != "orthogonal"}
SCHEMES: tuple[str, ...] = ("auto", *_FAMILIES, "orthogonal", "torch_default", "own")
"""The scheme names ``init_model`` accepts."""

STREAMS: tuple[str, ...] = ("torch", "counter")
"""Random streams ``init_model`` can draw from: ``"torch"``, a ``torch.Generator`` per parameter;
``"counter"``, the counter-based ``kaiming.stream`` (shard-invariant, see ``kaiming.torch.distributed``)."""

_DENSE = (nn.Linear, nn.modules.conv._ConvNd)
_EMBEDDING = (nn.Embedding, nn.EmbeddingBag)
_NORMS = (*NORM_MODULES, nn.modules.instancenorm._InstanceNorm)
_RELU_FAMILY = ("relu", "leaky_relu", "prelu")

SchemeArg = str | Mapping[str | type[nn.Module], str]


# --------------------------------------------------------------------------------------------
# the one place where a rule is applied to a parameter


def param_seed(seed: int, name: str) -> int:
    """The 64-bit seed of parameter ``name`` under base ``seed`` (BLAKE2b of both; stable).

    Example:
        >>> param_seed(0, "fc1.weight") == param_seed(0, "fc1.weight") != param_seed(0, "fc2.weight")
        True
    """
    digest = hashlib.blake2b(f"{seed}\x00{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def apply_rule(param: torch.Tensor, rule: ParamRule, *, seed: int, stream: str = "torch") -> None:
    """Initialize ``param`` in place by ``rule``, drawing from the stream of ``(seed, rule.name)``.

    This is the single function through which ``init_model`` writes values; ``stream`` selects
    how random numbers are made (``"torch"``: a ``torch.Generator`` seeded with
    ``param_seed(seed, rule.name)`` on the parameter's device; ``"counter"``: the stream
    ``kaiming.stream.key(seed, rule.name)``, filling only the local shard of a DTensor).

    Example:
        >>> w = torch.empty(4, 8)
        >>> apply_rule(w, ParamRule("w", (4, 8), "Linear", "he_normal", "normal", std=0.5), seed=0)
        >>> bool(w.abs().max() > 0)
        True
    """
    if rule.distribution == "none":
        return
    if param.is_meta:
        raise ValueError(f"parameter {rule.name} is on the meta device; materialize the model first")
    if rule.distribution == "constant":
        with torch.no_grad():
            param.fill_(0.0 if rule.value is None else rule.value)
        return
    if stream not in STREAMS:
        raise ValueError(f"stream={stream!r} is not available; allowed: {', '.join(map(repr, STREAMS))}")
    if stream == "counter":
        counter_fill_(param, rule, seed)
        return
    gen = make_generator(param.device, seed=param_seed(seed, rule.name))
    if rule.distribution == "orthogonal":
        fill_orthogonal(param, 1.0 if rule.gain is None else rule.gain, gen)
    elif rule.bound is not None and rule.distribution == "uniform":
        fill_uniform(param, -rule.bound, rule.bound, gen)
    else:
        fill_distribution(param, rule.distribution, float(rule.std or 0.0), gen)  # type: ignore[arg-type]
    if rule.zero_index is not None:
        with torch.no_grad():
            param[rule.zero_index].zero_()


# --------------------------------------------------------------------------------------------
# rules


def _is_hf_conv1d(module: nn.Module) -> bool:
    """Hugging Face's ``Conv1D`` (GPT-2): a Linear whose weight is stored ``(in, out)``."""
    cls = type(module)
    return cls.__name__ == "Conv1D" and cls.__module__.startswith("transformers") and hasattr(module, "nf")


def _is_dense(module: nn.Module) -> bool:
    return isinstance(module, _DENSE) or _is_hf_conv1d(module)


def _torch_fan_in(module: nn.Module, shape: tuple[int, ...]) -> int:
    """The fan_in ``reset_parameters`` reads (torch's, also for ConvTranspose); (in, out) for Conv1D."""
    return shape[0] if _is_hf_conv1d(module) else fans_of(shape, "torch")[0]


def _layer_fans(module: nn.Module, shape: tuple[int, ...]) -> tuple[float, float]:
    if _is_hf_conv1d(module):
        return shape[0], shape[1]
    if isinstance(module, nn.modules.conv._ConvTransposeNd):
        groups, receptive = module.groups, math.prod(shape[2:])
        return transposed_fans(shape[0] // groups * receptive, math.prod(module.stride)), (
            shape[1] * groups * receptive
        )
    return fans_of(shape, "torch")


def _auto(activation: Activation | None) -> tuple[str, str, str, float]:
    """(rule, fan mode, distribution, gain) that ``"auto"`` uses after ``activation``."""
    if activation is None:
        return auto_rule(None, 1.0)
    return auto_rule(activation.kind, activation.gain)


def _he_gain(activation: Activation | None) -> float:
    """He's gain: sqrt(2 / (1 + a**2)) after a ReLU-family activation with slope a, else sqrt(2)."""
    if activation is not None and activation.kind in _RELU_FAMILY:
        return activation.gain
    return math.sqrt(2.0)


def _weight_rule(
    name: str, module: nn.Module, shape: tuple[int, ...], scheme: str, activation: Activation | None
) -> ParamRule:
    base = ParamRule(name, shape, type(module).__name__, scheme, "normal", activation=_label(activation))
    if scheme == "torch_default":
        torch_fan = _torch_fan_in(module, shape)
        bound = 1.0 / math.sqrt(torch_fan)
        return replace(
            base, distribution="uniform", fan_mode="fan_in", fan=torch_fan, std=bound / math.sqrt(3.0),
            bound=bound, note="torch's fan reading",
        )  # fmt: skip
    if scheme == "orthogonal":
        gain = _auto(activation)[3]
        rows, cols = shape[0], math.prod(shape[1:])
        return orthogonal_rule(base, gain, rows, cols)
    if scheme == "auto":
        rule, mode, distribution, gain = _auto(activation)
    else:
        rule, mode, distribution = _FAMILIES[scheme]
        gain = _he_gain(activation) if rule.startswith("he") else 1.0
    return variance_rule(base, rule, mode, distribution, gain, *_layer_fans(module, shape))


def _label(activation: Activation | None) -> str | None:
    return None if activation is None else str(activation)


def _constant(
    name: str, module: nn.Module, shape: tuple[int, ...], value: float, note: str = ""
) -> ParamRule:
    rule = "ones" if value == 1.0 else "zeros"
    return ParamRule(name, shape, type(module).__name__, rule, "constant", value=value, note=note)


def _rule_for(
    name: str,
    attr: str,
    module: nn.Module,
    param: torch.Tensor,
    scheme: str,
    activation: Activation | None,
    zero_norm: bool,
) -> ParamRule:
    shape = tuple(param.shape)
    if scheme == "own":
        return own_rule(name, module, shape)
    if _is_dense(module) and attr == "weight":
        return _weight_rule(name, module, shape, scheme, activation)
    if _is_dense(module) and attr == "bias":
        if scheme != "torch_default":
            return _constant(name, module, shape, 0.0)
        weight_fan = _torch_fan_in(module, tuple(getattr(module, "weight").shape))  # noqa: B009
        bound = 1.0 / math.sqrt(weight_fan)
        return ParamRule(
            name, shape, type(module).__name__, "torch_default", "uniform", fan_mode="fan_in",
            fan=weight_fan, std=bound / math.sqrt(3.0), bound=bound,
        )  # fmt: skip
    if isinstance(module, _EMBEDDING) and attr == "weight":
        padding = getattr(module, "padding_idx", None)
        note = "" if padding is None else f"row {padding} (padding_idx) zero"
        return ParamRule(
            name,
            shape,
            type(module).__name__,
            "embedding_normal",
            "normal",
            std=1.0,
            note=note,
            zero_index=padding,
        )
    if isinstance(module, _NORMS) and attr in ("weight", "bias"):
        if attr == "weight" and zero_norm:
            return _constant(name, module, shape, 0.0, note="zero_init_residual")
        return _constant(name, module, shape, 1.0 if attr == "weight" else 0.0)
    return ParamRule(
        name, shape, type(module).__name__, "untouched", "none", note="no rule for this parameter"
    )


# --------------------------------------------------------------------------------------------
# arguments


def _check_seed(seed: object) -> int:
    if seed is None:
        return secrets.randbits(63)
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int >= 0 or None, got {seed!r}")
    if not 0 <= int(seed) < 2**64:
        raise ValueError(f"seed must be an int in [0, 2**64), got {int(seed)}")
    return int(seed)


def _check_mapping(scheme: object, modules: dict[str, nn.Module]) -> dict[str | type[nn.Module], str]:
    if isinstance(scheme, str):
        return {"*": check_choice("scheme", scheme, SCHEMES)}
    if not isinstance(scheme, Mapping):
        raise TypeError(f"scheme must be a scheme name or a mapping, got {type(scheme).__name__}")
    mapping: dict[str | type[nn.Module], str] = {}
    for key, value in scheme.items():
        if isinstance(key, type) and issubclass(key, nn.Module):
            used = any(isinstance(m, key) for m in modules.values())
        elif isinstance(key, str):
            used = any(fnmatch.fnmatchcase(n, key) for n in modules)
        else:
            raise TypeError(
                f"scheme mapping keys must be module names, patterns or nn.Module classes, got {key!r}"
            )
        if not used:
            raise ValueError(
                f"scheme mapping key {key!r} matches no module of the model; names: {list(modules)}"
            )
        mapping[key] = check_choice(f"scheme[{key!r}]", value, SCHEMES)
    return mapping


def _scheme_for(name: str, module: nn.Module, mapping: dict[str | type[nn.Module], str]) -> str:
    if name in mapping:
        return mapping[name]
    for key, value in mapping.items():
        if isinstance(key, type) and isinstance(module, key):
            return value
    for key, value in mapping.items():
        if isinstance(key, str) and fnmatch.fnmatchcase(name, key):
            return value
    return "auto"


def _owners(model: nn.Module) -> dict[str, tuple[nn.Module, str, str]]:
    """Parameter name -> (owning module, attribute name, module name), first owner of shared ones."""
    owners: dict[str, tuple[nn.Module, str, str]] = {}
    for module_name, module in model.named_modules():
        for attr, param in module.named_parameters(recurse=False):
            if isinstance(param, nn.parameter.UninitializedParameter):
                raise ValueError(
                    f"parameter {module_name}.{attr} of lazy module {type(module).__name__} is not "
                    "materialized yet; run one forward pass before init_model"
                )
            owners.setdefault(f"{module_name}.{attr}" if module_name else attr, (module, attr, module_name))
    return owners


# --------------------------------------------------------------------------------------------
# the public function


def init_model(
    model: nn.Module,
    scheme: SchemeArg = "auto",
    *,
    seed: int | None = 0,
    dry_run: bool = False,
    zero_init_residual: bool = False,
    stream: str = "torch",
    example_inputs: object = None,
) -> InitPlan:
    """Initialize every Linear/Conv/ConvTranspose/Embedding/norm parameter of ``model`` in place.

    ``scheme`` is ``"auto"`` (each weight follows the activation consuming its layer's output),
    a name from ``SCHEMES`` applied to every Linear/Conv weight, or a mapping ``{module name |
    fnmatch pattern | module class: scheme}`` (unmatched layers: ``"auto"``). The rules and
    their formulas are in this module's docstring.

    The activation after each layer is found by running the model's real ``forward`` once on
    meta tensors shaped like ``example_inputs`` (a tensor, a tuple of positional inputs or a
    dict of keyword inputs; only shapes and dtypes are used, the values never) and following
    the data flow (``kaiming.torch._tracer``); the forward's Python side effects happen once.
    Without ``example_inputs`` nothing is inferred about the inputs: ``torch.fx`` traces the
    model symbolically instead; if that fails too (most Hugging Face models), activations are
    guessed from module registration order and a ``TracingFallbackWarning`` says so, as it does
    when the meta run fails. ``plan.method`` tells which was used.

    Each parameter draws from a generator seeded by ``(seed, parameter name)``: the same model
    and seed give the same weights whatever else used torch's global RNG (which is never
    touched). ``seed=None`` picks a random 63-bit base seed (an int64), reported in the plan. With
    ``dry_run=True`` nothing is changed and the plan says what would be done.
    ``zero_init_residual=True`` sets to 0 the weight of the last norm layer of every residual
    branch (traced models only). A parameter shared by several modules (tied weights) gets
    the rule of its first use; its row lists the other names, and a ``TiedParameterWarning``
    is issued when the uses imply different rules. ``stream="counter"`` draws
    from ``kaiming.stream`` instead: a model on the ``meta`` device is materialized on the CPU
    first, and DTensor/FSDP2 parameters get only their local shard computed
    (``kaiming.torch.distributed``). ``scheme="own"`` (``stream="counter"``) replays the
    initialization recorded by ``kaiming.torch.deferred_init``; on the meta path every tensor
    no rule covers is replayed the same way. Every call ends with an audit: a tensor left
    unwritten, a non-finite parameter or a NaN buffer raises ``InitializationError``.

    Returns:
        ``InitPlan``: one row per parameter (rule, fan, gain, std or bound, activation found);
        ``print(plan)`` shows the table.

    Example:
        >>> net = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
        >>> plan = init_model(net, seed=0)
        >>> plan["0.weight"].rule, plan["0.weight"].activation, round(plan["0.weight"].std, 4)
        ('he_normal', 'relu', 0.1768)
        >>> plan["2.weight"].rule, plan["2.bias"].rule
        ('lecun_normal', 'zeros')
        >>> plan = init_model(net, seed=0, example_inputs=torch.randn(8, 64), dry_run=True)
        >>> plan.method, plan["0.weight"].activation
        ('forward', 'relu')
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    base_seed = _check_seed(seed)
    if not isinstance(dry_run, bool) or not isinstance(zero_init_residual, bool):
        raise TypeError("dry_run and zero_init_residual must be bools")
    if stream not in STREAMS:
        raise ValueError(f"stream={stream!r} is not available; allowed: {', '.join(map(repr, STREAMS))}")
    modules = dict(model.named_modules())
    mapping = _check_mapping(scheme, modules)
    owners = _owners(model)
    if example_inputs is not None:
        split_inputs(example_inputs, "example_inputs")  # validates the type at once
    layers = [n for n, m in modules.items() if _is_dense(m)]
    info = analyze_graph(model, layers, example_inputs)
    warn_fallback(info, type(model).__name__, zero_init_residual)
    zero_norms = set(info.residual_norms) if zero_init_residual else set()
    rows = []
    every = dict(model.named_parameters(remove_duplicate=False))

    def rule_of(name: str) -> ParamRule:
        module, attr, module_name = owners[name]
        rule = _rule_for(
            name,
            attr,
            module,
            every[name],
            _scheme_for(module_name, module, mapping),
            info.activations.get(module_name),
            module_name in zero_norms,
        )
        if module_name in info.gated and attr == "weight" and rule.activation is None:
            rule = replace(
                rule, note=f"linear factor of a gated product ({info.gated[module_name]}(gate) * this)"
            )
        return rule

    params = dict(model.named_parameters())
    aliases = aliases_of(model)
    for name in params:
        rule = rule_of(name)
        if name in aliases:
            rule = tied_rule(rule, [rule_of(other) for other in aliases[name]])
        rows.append(rule)
    if not dry_run:
        initialize_(model, rows, seed=base_seed, stream=stream, apply=apply_rule)
    label: Any = (
        scheme if isinstance(scheme, str) else {str(getattr(k, "__name__", k)): v for k, v in mapping.items()}
    )
    return InitPlan(
        tuple(rows), base_seed, str(label), stream, info.traced, info.reason, dry_run, info.method
    )
