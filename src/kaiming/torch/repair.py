"""Dead-ReLU repair: re-initialize the units that a ReLU zeroes for a whole data batch.

A unit of a ``Linear``/``Conv`` layer is *dead* on a batch when the ReLU that consumes the layer's
output gives 0 for every sample (and every spatial position, for a conv channel), i.e. its
pre-activation is ``<= 0`` everywhere. It then passes no signal forward and gets no gradient,
so training cannot bring it back. :func:`repair_dead_relus_` finds those units on a batch and
re-draws their incoming weights (and zeroes their bias) until the dead fraction is at most a
threshold, in a bounded number of rounds, and reports what it changed.

How a ReLU is matched to its layer: during the forward pass a ``TorchFunctionMode`` sees every
ReLU call (``nn.ReLU``, ``F.relu``, ``torch.relu``, ``x.relu()`` and their in-place forms) and a
forward hook records each layer's output; a ReLU whose input *is* a layer's output tensor is
attributed to that layer. A ReLU applied to anything else (a sum, a norm layer's output) is
counted in ``unattributed_relu_calls`` and not repaired.
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 - the conventional name
from torch.overrides import TorchFunctionMode
from torch.utils.hooks import RemovableHandle

from .._checks import check_choice, check_fraction, check_positive_int
from ._forward import batch_fits, check_materialized
from ._schemes import (
    WEIGHT_LAYERS,
    Batch,
    check_batch,
    check_model,
    inspection,
    layer_bias,
    layer_weight,
    model_generator,
    run_forward,
)
from ._table import NamedRows, format_table
from ._tensors import kaiming_normal_, normal_

__all__ = ["DeadUnitWarning", "RepairReport", "RepairedLayer", "repair_dead_relus_"]

_RELUS: frozenset[Callable[..., Any]] = frozenset(
    {F.relu, F.relu_, torch.relu, torch.relu_, torch.Tensor.relu, torch.Tensor.relu_}
)
_INITS: tuple[Literal["he", "match"], ...] = ("he", "match")


class DeadUnitWarning(RuntimeWarning):
    """The dead fraction is still above the threshold after ``max_attempts`` rounds of repair."""


@dataclass(frozen=True)
class RepairedLayer:
    """One layer feeding a ReLU: its units, dead units before/after, and rows re-drawn (all rounds)."""

    name: str
    kind: str
    units: int
    dead_before: int
    dead_after: int
    reinitialized: int


@dataclass(frozen=True)
class RepairReport(NamedRows):
    """What :func:`repair_dead_relus_` found and changed; ``str()`` is the per-layer table."""

    layers: tuple[RepairedLayer, ...]
    attempts: int
    """Rounds of re-initialization made (0 when nothing needed repair)."""
    dead_fraction_before: float
    dead_fraction_after: float
    max_dead_fraction: float
    unattributed_relu_calls: int
    """ReLU calls whose input was not directly a Linear/Conv output (not checked, not repaired)."""

    @property
    def success(self) -> bool:
        """Whether the dead fraction ended at or under ``max_dead_fraction``."""
        return self.dead_fraction_after <= self.max_dead_fraction

    def _rows(self) -> tuple[Any, ...]:
        return self.layers

    def table(self) -> str:
        """One row per layer, then the totals."""
        headers = ("layer", "kind", "units", "dead_before", "dead_after", "reinitialized")
        body = format_table(headers, [tuple(asdict(layer).values()) for layer in self.layers])
        return (
            f"{body}\ndead fraction {self.dead_fraction_before:.4g} -> {self.dead_fraction_after:.4g} "
            f"(threshold {self.max_dead_fraction:g}) in {self.attempts} round(s)"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable dict of the report."""
        out = {key: value for key, value in asdict(self).items() if key != "layers"}
        return {"layers": [asdict(layer) for layer in self.layers], "success": self.success, **out}

    def __str__(self) -> str:
        return self.table()


def repair_dead_relus_(
    model: nn.Module,
    batch: Batch,
    *,
    max_dead_fraction: float = 0.0,
    max_attempts: int = 5,
    init: Literal["he", "match"] = "he",
    seed: int | None = None,
    generator: torch.Generator | None = None,
) -> RepairReport:
    """Re-initialize the units of ``model`` that are dead on ``batch`` until few enough are dead.

    Each round runs ``model(*batch)`` (eval mode, ``torch.no_grad()``), finds for every
    ``Linear``/``Conv1d/2d/3d`` layer whose output goes straight into a ReLU the units whose
    pre-activation is ``<= 0`` on the whole batch (a Linear unit is a feature of the last axis,
    a conv unit a channel over every position), and re-draws the incoming weights of those units
    (row ``i`` of the ``(out, in, *k)`` weight) and sets their bias to 0. It stops when
    ``dead units / all such units <= max_dead_fraction`` or after ``max_attempts`` rounds, with a
    :class:`DeadUnitWarning` if still above. Only dead units change: all other weights and the
    next layer's (outgoing) weights are left as they were. Hooks and the function mode are
    removed and each module's train/eval flag restored, even if the model raises.

    Args:
        model: the network; ``model(*batch)`` (or ``model(batch)``) must run.
        batch: a tensor, or a tuple of tensors passed as positional arguments, >= 2 samples.
        max_dead_fraction: accepted share of dead units, in ``[0, 1)``; 0 means none.
        max_attempts: most rounds of re-initialization, a positive int.
        init: ``"he"`` draws the new rows from ``N(0, 2 / fan_in)``; ``"match"`` from a normal with
            the std of the layer's live rows (better for a trained network whose weights have
            moved from their init scale; He when fewer than 2 live rows).
        seed: seed of the generator for the new rows (int >= 0), or pass ``generator``.
        generator: the ``torch.Generator`` to draw the new rows from.

    Returns:
        A :class:`RepairReport`: per layer, the units, dead before/after and rows re-drawn.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> from kaiming.torch import repair_dead_relus_
        >>> net = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 2))
        >>> with torch.no_grad():
        ...     net[0].bias[:5] = -100.0  # five units that no input can switch on
        >>> x = torch.randn(128, 10, generator=torch.Generator().manual_seed(0))
        >>> report = repair_dead_relus_(net, x, seed=0)
        >>> report.layers[0].dead_before, report.layers[0].dead_after, report.success
        (5, 0, True)
    """
    check_model(model)
    check_materialized(model, "dead-ReLU repair")
    args = check_batch(batch)
    max_dead_fraction = check_fraction("max_dead_fraction", max_dead_fraction)
    max_attempts = check_positive_int("max_attempts", max_attempts)
    init = check_choice("init", init, _INITS)
    gen = model_generator(model, seed, generator)
    names = {module: name for name, module in model.named_modules()}

    with inspection(model) as handles:
        dead, unattributed = _scan(model, args, handles)
        if not dead:
            raise ValueError(
                "no ReLU in the forward pass takes a Linear/Conv1d/Conv2d/Conv3d output directly "
                f"({unattributed} ReLU call(s) on other tensors); nothing to repair"
            )
        before = dict(dead)
        redrawn = dict.fromkeys(dead, 0)
        attempts = 0
        while _fraction(dead) > max_dead_fraction and attempts < max_attempts:
            for layer, mask in dead.items():
                if bool(mask.any()):
                    redrawn[layer] += _redraw_rows(layer, mask, init, gen)
            attempts += 1
            dead, unattributed = _scan(model, args, handles)

    report = RepairReport(
        layers=tuple(
            RepairedLayer(
                names[layer],
                type(layer).__name__,
                int(mask.numel()),
                int(mask.sum()),
                int(dead[layer].sum()) if layer in dead else 0,
                redrawn[layer],
            )
            for layer, mask in before.items()
        ),
        attempts=attempts,
        dead_fraction_before=_fraction(before),
        dead_fraction_after=_fraction(dead),
        max_dead_fraction=max_dead_fraction,
        unattributed_relu_calls=unattributed,
    )
    if not report.success:
        warnings.warn(
            f"dead-ReLU repair: dead fraction still {report.dead_fraction_after:.4g} > "
            f"{max_dead_fraction:g} after {attempts} round(s) of re-initialization "
            f"({report.dead_fraction_before:.4g} before); the batch may not reach these units at all",
            DeadUnitWarning,
            stacklevel=2,
        )
    return report


def _fraction(dead: dict[nn.Module, torch.Tensor]) -> float:
    units = sum(mask.numel() for mask in dead.values())
    return sum(int(mask.sum()) for mask in dead.values()) / units if units else 0.0


class _ReluWatcher(TorchFunctionMode):
    """Records, for each layer whose output tensor goes into a ReLU, which units are <= 0 everywhere."""

    def __init__(self, produced: dict[int, tuple[weakref.ref[torch.Tensor], nn.Module]]) -> None:
        super().__init__()
        self.produced = produced
        self.dead: dict[nn.Module, torch.Tensor] = {}
        self.unattributed = 0

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        if func in _RELUS and args and isinstance(args[0], torch.Tensor):
            self._record(args[0])
        return func(*args, **(kwargs or {}))

    def _record(self, x: torch.Tensor) -> None:
        entry = self.produced.get(id(x))
        if entry is None or entry[0]() is not x:
            self.unattributed += 1
            return
        layer = entry[1]
        unit_axis = x.dim() - 1 if isinstance(layer, nn.Linear) else 1
        off = (x <= 0).movedim(unit_axis, 0).reshape(x.shape[unit_axis], -1).all(dim=1)
        previous = self.dead.get(layer)
        self.dead[layer] = off if previous is None else previous & off


def _scan(
    model: nn.Module, args: tuple[torch.Tensor, ...], handles: list[RemovableHandle]
) -> tuple[dict[nn.Module, torch.Tensor], int]:
    """One forward pass: the dead-unit mask of each layer feeding a ReLU, and the unattributed ReLU calls."""
    produced: dict[int, tuple[weakref.ref[torch.Tensor], nn.Module]] = {}

    def record(module: nn.Module, _inputs: Any, output: Any) -> None:
        if isinstance(output, torch.Tensor):
            produced[id(output)] = (weakref.ref(output), module)

    own = [
        module.register_forward_hook(record)
        for module in model.modules()
        if isinstance(module, WEIGHT_LAYERS)
    ]
    handles.extend(own)
    watcher = _ReluWatcher(produced)
    try:
        with batch_fits("batch", model, args), watcher:
            run_forward(model, args)
    finally:
        for handle in own:
            handle.remove()
    return watcher.dead, watcher.unattributed


def _redraw_rows(layer: nn.Module, dead: torch.Tensor, init: str, gen: torch.Generator) -> int:
    """Re-draw the weight rows (and zero the bias entries) of the dead units; returns how many."""
    weight = layer_weight(layer)
    index = dead.nonzero().flatten().to(weight.device)
    fresh = torch.empty((index.numel(), *weight.shape[1:]), dtype=weight.dtype, device=weight.device)
    live = weight[~dead.to(weight.device)]
    if init == "match" and live.shape[0] >= 2:
        normal_(fresh, 0.0, float(live.std()), generator=gen)
    else:
        kaiming_normal_(fresh, mode="fan_in", nonlinearity="relu", generator=gen)
    weight[index] = fresh
    bias = layer_bias(layer)
    if bias is not None:
        bias[index] = 0.0
    return int(index.numel())
