"""Private helpers shared by the data-dependent schemes (LSUV, dead-ReLU repair, masks, Fixup).

- validation of the ``model`` / ``batch`` / ``seed`` / ``generator`` arguments at the public boundary;
- :func:`inspection`: run a model on a batch with hooks that are *always* removed, under
  ``torch.no_grad()`` and in eval mode, restoring every module's train/eval flag afterwards;
- :func:`forward_order`: the weight layers a forward pass actually calls, in call order;
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from ._tensors import make_generator

__all__ = [
    "WEIGHT_LAYERS",
    "Batch",
    "StopForward",
    "check_batch",
    "check_model",
    "forward_order",
    "inspection",
    "layer_bias",
    "layer_weight",
    "model_generator",
    "run_forward",
]

#: The layers whose weight is an ``(out, in, *k)`` matrix of "units" (rows) that the schemes rescale.
WEIGHT_LAYERS: tuple[type[nn.Module], ...] = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)

Batch = torch.Tensor | tuple[torch.Tensor, ...]


class StopForward(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised by a hook to end a forward pass early once the tensor it wanted has been seen."""


def check_model(model: object, name: str = "model") -> nn.Module:
    """Return ``model`` if it is an ``nn.Module``."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(model).__name__}")
    return model


def check_batch(batch: object, name: str = "batch") -> tuple[torch.Tensor, ...]:
    """Return ``batch`` as the tuple of positional arguments to call the model with."""
    args = batch if isinstance(batch, (tuple, list)) else (batch,)
    if not args or not all(isinstance(a, torch.Tensor) for a in args):
        raise TypeError(
            f"{name} must be a torch.Tensor or a tuple of tensors (the model's positional inputs), "
            f"got {type(batch).__name__}"
        )
    first = args[0]
    if first.dim() == 0 or first.shape[0] < 2:
        raise ValueError(
            f"{name} must hold at least 2 samples along its first dimension, got shape {tuple(first.shape)}"
        )
    return tuple(args)


def layer_weight(layer: nn.Module) -> torch.Tensor:
    """The ``weight`` tensor of a ``WEIGHT_LAYERS`` module."""
    weight = layer.weight
    if not isinstance(weight, torch.Tensor):
        raise TypeError(f"{type(layer).__name__}.weight must be a tensor, got {type(weight).__name__}")
    return weight


def layer_bias(layer: nn.Module) -> torch.Tensor | None:
    """The ``bias`` tensor of a layer, or None when it has none."""
    bias = getattr(layer, "bias", None)
    return bias if isinstance(bias, torch.Tensor) else None


def model_generator(model: nn.Module, seed: int | None, generator: torch.Generator | None) -> torch.Generator:
    """The one generator a scheme draws from, on the device of ``model``'s first parameter (CPU if none).

    See :func:`kaiming.torch.make_generator`: ``generator`` is passed through, ``seed`` seeds a
    new one, neither seeds a new one from OS entropy; never torch's global generator.
    """
    first = next(model.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    return make_generator(device, generator=generator, seed=seed)


@contextmanager
def inspection(model: nn.Module) -> Iterator[list[RemovableHandle]]:
    """Eval mode + ``no_grad`` for the block; every handle appended to the list is removed on exit.

    The hooks are removed and each module's own train/eval flag restored even when the block
    raises (for example because the model's ``forward`` raised).
    """
    modes = [(module, module.training) for module in model.modules()]
    handles: list[RemovableHandle] = []
    model.eval()
    try:
        with torch.no_grad():
            yield handles
    finally:
        for handle in handles:
            handle.remove()
        for module, training in modes:
            module.training = training


def run_forward(model: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
    """Call ``model(*args)``, treating :class:`StopForward` from a hook as a normal early end."""
    with suppress(StopForward):
        model(*args)


def forward_order(
    model: nn.Module,
    args: tuple[torch.Tensor, ...],
    handles: list[RemovableHandle],
    kinds: tuple[type[nn.Module], ...] = WEIGHT_LAYERS,
) -> list[tuple[str, nn.Module]]:
    """The layers of ``kinds`` (default ``WEIGHT_LAYERS``) that one forward pass of ``model``
    calls, in the order of their first call.

    Must run inside :func:`inspection` (``handles`` is its list); the hooks it adds are removed
    before it returns.
    """
    names = {module: name for name, module in model.named_modules() if isinstance(module, kinds)}
    order: list[tuple[str, nn.Module]] = []
    seen: set[nn.Module] = set()

    def record(module: nn.Module, _inputs: Any, _output: Any) -> None:
        if module not in seen:
            seen.add(module)
            order.append((names[module], module))

    own = [module.register_forward_hook(record) for module in names]
    handles.extend(own)
    try:
        run_forward(model, args)
    finally:
        for handle in own:
            handle.remove()
    return order
