"""Look inside a real model on a real batch: per-layer signal statistics and a health verdict.

``analyze(model, inputs)`` runs one forward and one backward pass and reports, for every leaf
layer that holds parameters (Linear, Conv, ConvTranspose, Embedding, norms, ...; one row per
call when a layer is called more than once):

- *pre-activation*: the layer's output — mean, std;
- *post-activation*: the output of the activation that consumes the layer's output, found by
  following the data flow of this very forward run (``kaiming.torch._tracer``: module and
  functional activations, through transparent ops such as norms, pooling, dropout, reshapes
  and residual sums; the up projection of a gated MLP has none); so after ``conv -> bn ->
  relu`` the conv's post-activation is ``relu(bn(conv(x)))``. With no activation (an output
  layer, attention projections), post = pre. No separate trace is made: the model runs once;
- ``dead_fraction``: share of post-activation values exactly 0; ``dead_units_fraction``: share
  of units (channels for conv-like layers, features otherwise) that are 0 for the whole batch;
- ``grad_std``: std of dL/d(layer output); ``weight_grad_std``: std of dL/d(weight);
- ``health``: the worse of ``forward_health`` (``kaiming._health.health_of`` on the stds divided
  by the input's std: ``VANISHING_STD = 1e-3``, ``EXPLODING_STD = 1e3``, ``DYING_UNITS = 0.6``;
  integer inputs, e.g. token ids, use 1 as the reference std) and ``backward_health``
  (``kaiming._health.gradient_health_of`` on ``grad_std`` divided by the ``grad_std`` of the
  last layer called, where the backward pass starts; ``None`` without gradients).

The loss: ``loss_fn(output, targets)`` if given; else cross-entropy for integer ``targets`` and
MSE for floating ones; with neither, ``sum(output * g)`` with ``g ~ N(0, 1)`` fixed by ``seed``,
which sends a unit-variance gradient into the output (the probe's convention).

Nothing is left behind: hooks are removed in ``finally``; gradients are computed with
``torch.autograd.grad`` so every ``.grad`` stays as it was; buffers (BatchNorm running stats)
are restored; each module's train/eval flag is restored; dropout draws inside
``torch.random.fork_rng`` seeded by ``seed``, so torch's global RNG is not advanced.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from .._health import gradient_health_of, health_of, summarize_health, worst_health
from ._forward import batch_fits
from ._graph import Activation, module_activation
from ._table import NamedRows, format_table, json_number
from ._tensors import make_generator
from ._tracer import FlowTracer, split_inputs

__all__ = ["Analysis", "LayerReport", "analyze"]

_CHANNEL_FIRST = (nn.modules.conv._ConvNd, nn.modules.batchnorm._NormBase, nn.GroupNorm)


@dataclass(frozen=True)
class LayerReport:
    """Statistics of one layer call (see the module docstring for each field)."""

    name: str
    module: str
    activation: str | None
    pre_mean: float
    pre_std: float
    post_mean: float
    post_std: float
    dead_fraction: float
    dead_units_fraction: float
    grad_std: float | None
    weight_grad_std: float | None
    health: str
    forward_health: str | None = None
    backward_health: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (non-finite numbers as strings)."""
        return {k: json_number(v) if isinstance(v, float) else v for k, v in asdict(self).items()}


_COLUMNS = (
    "layer",
    "module",
    "activation",
    "pre mean",
    "pre std",
    "post mean",
    "post std",
    "dead units %",
    "zero values %",
    "grad std",
    "w grad std",
    "health",
)


@dataclass(frozen=True)
class Analysis(NamedRows):
    """What ``analyze`` found: ``layers`` in call order, the input's std and the loss. ``traced``
    is True (the activations come from the data flow of the analyzed forward run) and
    ``reason`` None; both are kept for the JSON format."""

    layers: tuple[LayerReport, ...]
    input_std: float
    loss: float
    traced: bool
    reason: str | None

    def _rows(self) -> tuple[LayerReport, ...]:
        return self.layers

    def __getitem__(self, name: str) -> LayerReport:
        row: LayerReport = super().__getitem__(name)
        return row

    def __iter__(self) -> Iterator[LayerReport]:
        return iter(self.layers)

    def summary(self) -> str:
        """One sentence: all healthy, or the first layer of each problem."""
        return summarize_health([(r.name, r.health) for r in self.layers])

    def table(self) -> str:
        """The per-layer statistics as a plain-text table, under a one-line summary."""
        rows = [
            (
                r.name, r.module, r.activation, r.pre_mean, r.pre_std, r.post_mean, r.post_std,
                f"{100 * r.dead_units_fraction:.1f}", f"{100 * r.dead_fraction:.1f}", r.grad_std,
                r.weight_grad_std, r.health,
            )
            for r in self.layers
        ]  # fmt: skip
        graph = "forward data flow" if self.traced else f"call order ({self.reason})"
        head = (
            f"Analysis: input std {self.input_std:.4g}, loss {self.loss:.4g}, graph {graph}: {self.summary()}"
        )
        return head + "\n" + format_table(_COLUMNS, rows)

    def __str__(self) -> str:
        return self.table()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: ``input_std``, ``loss``, ``traced``, ``reason``, ``summary``, ``layers``."""
        return {
            "input_std": json_number(self.input_std),
            "loss": json_number(self.loss),
            "traced": self.traced,
            "reason": self.reason,
            "summary": self.summary(),
            "layers": [r.to_dict() for r in self.layers],
        }


# --------------------------------------------------------------------------------------------
# recording


class _GradProbe(torch.autograd.Function):
    """Identity (a copy, so later in-place ops are safe) that records the std of its gradient."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, slot: list[float]) -> torch.Tensor:
        ctx.slot = slot
        return x.clone()

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        ctx.slot.append(_std(grad))
        return grad, None


def _std(t: torch.Tensor) -> float:
    return float(t.detach().float().std(correction=0)) if t.numel() > 1 else 0.0


_Post = tuple[float, float, float, float]


@dataclass
class _Call:
    """One call of a layer: its pre-activation stats, and later its post-activation stats."""

    name: str
    module: nn.Module
    pre: tuple[float, float]
    units_dim: int
    grads: list[float]
    activation: str | None = None
    post: _Post | None = None


def _post_stats(t: torch.Tensor) -> tuple[_Post, _Post]:
    """(mean, std, dead fraction, dead-units fraction) of a post-activation tensor, with units
    along the last dim (index 0) and along dim 1, the channels (index 1)."""
    x = t.detach().float()
    zero = x == 0
    mean, std, dead = float(x.mean()), _std(x), float(zero.float().mean())

    def dead_units(dim: int) -> float:
        if x.dim() < 2:
            return float(zero.all())
        units = zero.movedim(dim, -1).reshape(-1, x.shape[dim])
        return float(units.all(dim=0).float().mean())

    last = (mean, std, dead, dead_units(x.dim() - 1))
    channels = (mean, std, dead, dead_units(1)) if x.dim() > 2 else last
    return last, channels


def _record(name: str, module: nn.Module, output: torch.Tensor, calls: list[_Call]) -> torch.Tensor:
    """Record a layer call's output; return the (gradient-probed) tensor to continue with."""
    channel_first = isinstance(module, _CHANNEL_FIRST)
    count = sum(1 for c in calls if c.module is module)
    label = name if count == 0 else f"{name} (call {count + 1})"
    pre = (float(output.detach().float().mean()), _std(output))
    call = _Call(label, module, pre, int(channel_first and output.dim() > 2), [])
    calls.append(call)
    if output.requires_grad:
        probed: torch.Tensor = _GradProbe.apply(output, call.grads)  # type: ignore[no-untyped-call]
        return probed
    return output


def _layers(model: nn.Module) -> dict[nn.Module, str]:
    """Leaf modules holding parameters, except activations (PReLU): module -> name."""
    return {
        m: n
        for n, m in model.named_modules()
        if not any(m.children())
        and any(True for _ in m.parameters(recurse=False))
        and module_activation(m) is None
    }


def _run_flow(
    model: nn.Module, layers: dict[nn.Module, str], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, list[_Call]]:
    """Run the model once under the forward tracer: record each layer call, and the statistics of
    the first activation its output reaches (``kaiming.torch._tracer``)."""
    calls: list[_Call] = []

    def on_layer(name: str, module: nn.Module, output: Any) -> tuple[Any, int]:
        if not isinstance(output, torch.Tensor):
            return output, -1
        result = _record(name, module, output, calls)
        return result, len(calls) - 1

    def on_activation(tokens: Iterable[Hashable], activation: Activation, output: torch.Tensor) -> None:
        stats = _post_stats(output)
        for token in tokens:
            if isinstance(token, int) and token >= 0:
                call = calls[token]
                call.activation, call.post = str(activation), stats[call.units_dim]

    tracer = FlowTracer(layers, on_layer, on_activation)
    with tracer.attached(model), batch_fits("inputs", model, args, kwargs):
        output = model(*args, **kwargs)
    return output, calls


# --------------------------------------------------------------------------------------------
# the public function


def _tensors_in(value: object) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _tensors_in(v)]
    return []


def _input_std(args: tuple[Any, ...], kwargs: dict[str, Any]) -> float:
    for t in _tensors_in([*args, *kwargs.values()]):
        if t.is_floating_point():
            return _std(t)
    return 1.0


def _loss(
    output: Any, targets: object, loss_fn: Callable[..., torch.Tensor] | None, seed: int
) -> torch.Tensor:
    if loss_fn is not None:
        return loss_fn(output) if targets is None else loss_fn(output, targets)
    if targets is not None:
        if not isinstance(output, torch.Tensor) or not isinstance(targets, torch.Tensor):
            raise TypeError("targets without loss_fn needs a tensor output and tensor targets; pass loss_fn")
        if targets.is_floating_point():
            return F.mse_loss(output, targets)
        return F.cross_entropy(output, targets)
    outputs = [t for t in _tensors_in(output) if t.is_floating_point() and t.requires_grad]
    if not outputs:
        raise ValueError("the model's output has no floating tensor that depends on its parameters")
    gen = make_generator(outputs[0].device, seed=seed)
    total = sum(
        (
            (t * torch.randn(t.shape, generator=gen, device=t.device, dtype=torch.float32).to(t.dtype)).sum()
            for t in outputs
        ),
        start=torch.zeros((), device=outputs[0].device),
    )
    return total


def _report(call: _Call, weight_grad: float | None, input_std: float, grad_ref: float | None) -> LayerReport:
    pre_mean, pre_std = call.pre
    post = call.post if call.post is not None else (pre_mean, pre_std, 0.0, 0.0)  # no activation: post = pre
    scale = input_std if input_std > 0 else 1.0
    forward = health_of(pre_std / scale, post[1] / scale, post[3])
    grad = sum(call.grads) / len(call.grads) if call.grads else None
    backward = None if grad is None or not grad_ref else gradient_health_of(grad / grad_ref)
    return LayerReport(
        name=call.name, module=type(call.module).__name__, activation=call.activation,
        pre_mean=pre_mean, pre_std=pre_std, post_mean=post[0], post_std=post[1],
        dead_fraction=post[2], dead_units_fraction=post[3],
        grad_std=grad, weight_grad_std=weight_grad, health=worst_health(forward, backward),
        forward_health=forward, backward_health=backward,
    )  # fmt: skip


def analyze(
    model: nn.Module,
    inputs: object,
    targets: object = None,
    loss_fn: Callable[..., torch.Tensor] | None = None,
    *,
    train: bool | None = None,
    seed: int = 0,
) -> Analysis:
    """One forward and one backward pass of ``model`` on ``inputs``, with per-layer statistics.

    ``inputs`` is a tensor, a tuple/list of positional inputs, or a dict of keyword inputs.
    ``train`` runs the model in train (True) or eval (False) mode for the analysis (None: as it
    is); every module's mode is restored afterwards. See the module docstring for what is
    measured, the loss used, and the health thresholds. The model's weights, buffers, ``.grad``
    and modes, and torch's global RNG, are left exactly as they were.

    Example:
        >>> net = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 4))
        >>> report = analyze(net, torch.randn(128, 32, generator=torch.Generator().manual_seed(0)))
        >>> [r.name for r in report], report["0"].activation, report["0"].health
        (['0', '2'], 'relu', 'healthy')
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if train is not None and not isinstance(train, bool):
        raise TypeError(f"train must be a bool or None, got {train!r}")
    if loss_fn is not None and not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    make_generator(seed=seed)  # validates seed
    args, kwargs = split_inputs(inputs)
    layers = _layers(model)
    modes = {m: m.training for m in model.modules()}
    buffers = [(b, b.detach().clone()) for b in model.buffers()]
    params = [p for p in model.parameters() if p.requires_grad]
    devices = sorted({p.device.index or 0 for p in model.parameters() if p.device.type == "cuda"})
    try:
        if train is not None:
            model.train(train)
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            with torch.enable_grad():
                output, calls = _run_flow(model, layers, args, kwargs)
                loss = _loss(output, targets, loss_fn, seed)
                grads = torch.autograd.grad(loss, params, allow_unused=True) if params else ()
    finally:
        for module, flag in modes.items():
            module.training = flag
        with torch.no_grad():
            for buffer, saved in buffers:
                buffer.copy_(saved)
    weight_grads = {id(p): (None if g is None else _std(g)) for p, g in zip(params, grads, strict=True)}
    input_std = _input_std(args, kwargs)
    grad_ref = next((sum(c.grads) / len(c.grads) for c in reversed(calls) if c.grads), None)
    reports = [
        _report(c, weight_grads.get(id(getattr(c.module, "weight", None))), input_std, grad_ref)
        for c in calls
    ]
    return Analysis(tuple(reports), input_std, float(loss.detach()), True, None)
