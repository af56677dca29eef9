r"""Lottery-ticket style sparse initialization: a random mask whose survivors keep the input variance.

Why the survivors are scaled by ``1/sqrt(density)``, not ``1/(1 - sparsity)``
-----------------------------------------------------------------------------
A unit of a ``Linear``/``Conv`` layer computes ``y = sum_j m_j w_j x_j`` over its ``n = fan_in``
inputs (for a conv, ``n = in/groups * prod(kernel)``), with weights ``w_j`` drawn independently of
the inputs, mean 0 and variance ``s^2`` (He: ``s^2 = 2/n``). Dense (all ``m_j = 1``)::

    Var[y] = n * s^2 * E[x^2]

The mask keeps exactly ``k = round(density * n)`` inputs of every unit (a fixed fan-in per unit).
Multiplying the survivors by ``c``::

    Var[y] = k * c^2 * s^2 * E[x^2]

which equals the dense variance iff ``c^2 * k = n``, i.e. ``c = sqrt(n / k) = 1/sqrt(density)``
(this module uses the exact ``sqrt(n / k)`` of each unit). The factor ``1/(1 - sparsity) =
1/density`` is the "inverted dropout" factor: it preserves the *mean* ``E[y] = k * c * E[w] *
E[x]`` (the expected sum of the weights), but for zero-mean weights that mean is 0 whatever the
factor, and what carries the signal through depth is the second moment. With ``c = 1/density``,
``Var[y] = n * s^2 * E[x^2] / density``: too large by ``1/density`` per layer (10x at 90%
sparsity, so ``10^L`` after ``L`` layers), exactly the explosion He init exists to prevent.
The tests measure both factors on real layers.

Training with the mask
----------------------
:func:`sparse_init_` returns a :class:`SparseMasks`; ``masks.register(model)`` adds gradient
hooks that zero the gradient of every pruned weight, so with the pruned weights at 0 they stay
exactly 0 under SGD (momentum, weight decay) and Adam/AdamW; ``masks.apply_(model)`` zeroes them
again explicitly (e.g. after an optimizer that could move them, or after loading weights).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from .._checks import check_real, check_shape
from ._schemes import WEIGHT_LAYERS, check_model, layer_weight, model_generator
from ._table import NamedRows, format_table
from ._tensors import make_generator

__all__ = ["MaskedLayer", "SparseMasks", "apply_mask_", "random_mask", "sparse_init_"]


def _check_density(density: object) -> float:
    value = check_real("density", density)
    if not 0.0 < value <= 1.0:
        raise ValueError(f"density must be in (0, 1] (the share of weights kept), got {value}")
    return value


def _kept_per_unit(density: float, fan_in: int) -> int:
    return max(1, round(density * fan_in))


def random_mask(
    shape: Sequence[int] | torch.Size,
    density: float,
    *,
    seed: int | None = None,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """A boolean mask of torch layout ``shape = (out, in, *k)`` keeping ``k`` inputs of every unit.

    Every output unit (row ``mask[i]``, ``n = prod(shape[1:])`` inputs) keeps exactly
    ``k = max(1, round(density * n))`` entries, chosen uniformly without replacement and
    independently per unit, so each unit's fan-in is fixed (no unit is left without inputs).

    Args:
        shape: weight shape in torch layout ``(out, in, *k)``, at least 2 dims.
        density: share of weights kept, in ``(0, 1]``; ``sparsity = 1 - density``.
        seed: seed of a new ``torch.Generator`` (int >= 0), or pass ``generator`` (not both).
        generator: the ``torch.Generator`` to draw from, on ``device``.
        device: where the mask is drawn and returned (default CPU).

    Example:
        >>> from kaiming.torch import random_mask
        >>> mask = random_mask((3, 10), density=0.3, seed=0)
        >>> mask.sum(dim=1).tolist()
        [3, 3, 3]
    """
    dims = check_shape(tuple(shape), "shape", min_rank=2)
    density = _check_density(density)
    gen = make_generator(device if device is not None else "cpu", generator=generator, seed=seed)
    fan_in = math.prod(dims[1:])
    kept = _kept_per_unit(density, fan_in)
    scores = torch.rand((dims[0], fan_in), generator=gen, device=gen.device)
    chosen = scores.argsort(dim=1)[:, :kept]
    mask = torch.zeros((dims[0], fan_in), dtype=torch.bool, device=gen.device).scatter_(1, chosen, True)
    return mask.reshape(dims)


def apply_mask_(weight: torch.Tensor, mask: torch.Tensor, *, rescale: bool = True) -> torch.Tensor:
    """Zero ``weight`` where ``mask`` is False; with ``rescale``, keep each unit's input variance.

    With ``rescale=True`` each unit's survivors are multiplied by ``sqrt(n / k_i)`` (``n`` its
    fan-in, ``k_i`` its survivors), so ``sum_j w_ij^2`` keeps its expectation ``n * Var[w]`` and
    the unit's pre-activation variance is preserved (see the module docstring for why
    ``1/(1 - sparsity)`` would be wrong). Torch layout ``(out, in, *k)``; works in place under
    ``torch.no_grad()`` and returns ``weight``.

    Example:
        >>> import torch
        >>> from kaiming.torch import apply_mask_
        >>> w = torch.ones(2, 4)
        >>> mask = torch.tensor([[True, False, False, False], [True, True, True, True]])
        >>> apply_mask_(w, mask)
        tensor([[2., 0., 0., 0.],
                [1., 1., 1., 1.]])
    """
    if not isinstance(weight, torch.Tensor) or not isinstance(mask, torch.Tensor):
        raise TypeError(
            f"weight and mask must be torch tensors, got {type(weight).__name__} and {type(mask).__name__}"
        )
    if weight.dim() < 2:
        raise ValueError(f"weight must have >= 2 dims (out, in, *k), got shape {tuple(weight.shape)}")
    if mask.shape != weight.shape or mask.dtype != torch.bool:
        raise ValueError(
            f"mask must be a bool tensor of the weight's shape {tuple(weight.shape)}, "
            f"got {mask.dtype} of shape {tuple(mask.shape)}"
        )
    mask = mask.to(weight.device)
    with torch.no_grad():
        weight.mul_(mask)
        if rescale:
            fan_in = math.prod(weight.shape[1:])
            kept = mask.reshape(mask.shape[0], -1).sum(dim=1).clamp(min=1)
            factor = (fan_in / kept.double()).sqrt().to(weight.dtype)
            weight.mul_(factor.reshape(-1, *([1] * (weight.dim() - 1))))
    return weight


@dataclass(frozen=True)
class MaskedLayer:
    """One masked weight: its parameter name, shape, fan-in, survivors per unit and survivor factor."""

    name: str
    shape: tuple[int, ...]
    fan_in: int
    kept_per_unit: int
    density: float
    scale: float


def _masking_hook(mask: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    def hook(grad: torch.Tensor) -> torch.Tensor:
        return grad * mask

    return hook


@dataclass(frozen=True)
class SparseMasks(NamedRows):
    """The masks :func:`sparse_init_` applied, by parameter name, and helpers to keep them in training."""

    layers: tuple[MaskedLayer, ...]
    masks: dict[str, torch.Tensor] = field(repr=False)

    @property
    def density(self) -> float:
        """Share of the masked weights kept, over all masked layers."""
        total = sum(m.numel() for m in self.masks.values())
        return sum(int(m.sum()) for m in self.masks.values()) / total

    def _params(self, model: nn.Module) -> list[tuple[torch.Tensor, torch.Tensor]]:
        params = dict(model.named_parameters())
        missing = [name for name in self.masks if name not in params]
        if missing:
            raise ValueError(f"model has no parameter(s) {missing}; these masks were made for another model")
        return [(params[name], mask) for name, mask in self.masks.items()]

    def apply_(self, model: nn.Module) -> None:
        """Zero every pruned weight of ``model`` again (no rescaling): call after steps that moved them."""
        with torch.no_grad():
            for param, mask in self._params(check_model(model)):
                param.mul_(mask.to(param.device))

    def register(self, model: nn.Module) -> list[RemovableHandle]:
        """Add gradient hooks zeroing the pruned weights' gradients; returns the handles to remove them.

        Pruned weights that are 0 then stay 0 under SGD (momentum, weight decay) and Adam/AdamW.
        """
        handles: list[RemovableHandle] = []
        for param, mask in self._params(check_model(model)):
            hook = _masking_hook(mask.to(param.device))
            handles.append(param.register_hook(hook))  # type: ignore[no-untyped-call]
        return handles

    def _rows(self) -> tuple[Any, ...]:
        return self.layers

    def table(self) -> str:
        """One row per masked weight."""
        headers = ("parameter", "shape", "fan_in", "kept_per_unit", "density", "scale")
        return format_table(headers, [tuple(asdict(layer).values()) for layer in self.layers])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable summary (the masks themselves are not included)."""
        return {"density": self.density, "layers": [asdict(layer) for layer in self.layers]}

    def __str__(self) -> str:
        return self.table()


def sparse_init_(
    model: nn.Module,
    density: float,
    *,
    seed: int | None = None,
    generator: torch.Generator | None = None,
    rescale: bool = True,
) -> SparseMasks:
    """Prune every ``Linear``/``Conv1d/2d/3d`` weight of ``model`` to ``density``, keeping input variance.

    Each layer (in ``named_modules`` order, one generator for all) gets a :func:`random_mask`
    of exactly ``k = max(1, round(density * fan_in))`` inputs per output unit, and
    :func:`apply_mask_` multiplies the survivors by ``sqrt(fan_in / k) ~ 1/sqrt(density)`` so
    that ``Var[y] = fan_in * Var[w] * E[x^2]`` is what it was dense. Initialize the dense weights
    first (e.g. He); biases are not masked. ``rescale=False`` only masks.

    Returns:
        :class:`SparseMasks`: the masks by parameter name, with ``register(model)`` (gradient
        hooks) and ``apply_(model)`` to keep them through training.

    Example:
        >>> from torch import nn
        >>> from kaiming.torch import sparse_init_
        >>> net = nn.Sequential(nn.Linear(100, 50), nn.ReLU(), nn.Linear(50, 10))
        >>> masks = sparse_init_(net, density=0.2, seed=0)
        >>> [layer.kept_per_unit for layer in masks.layers], round(masks.layers[0].scale, 3)
        ([20, 10], 2.236)
    """
    check_model(model)
    density = _check_density(density)
    if not isinstance(rescale, bool):
        raise TypeError(f"rescale must be a bool, got {rescale!r}")
    gen = model_generator(model, seed, generator)
    masks: dict[str, torch.Tensor] = {}
    layers: list[MaskedLayer] = []
    for name, module in model.named_modules():
        if not isinstance(module, WEIGHT_LAYERS):
            continue
        weight = layer_weight(module)
        mask = random_mask(weight.shape, density, generator=gen, device=weight.device)
        apply_mask_(weight, mask, rescale=rescale)
        param_name = f"{name}.weight" if name else "weight"
        fan_in = math.prod(weight.shape[1:])
        kept = _kept_per_unit(density, fan_in)
        masks[param_name] = mask
        scale = math.sqrt(fan_in / kept) if rescale else 1.0
        layers.append(MaskedLayer(param_name, tuple(weight.shape), fan_in, kept, kept / fan_in, scale))
    if not masks:
        raise ValueError("model has no Linear/Conv1d/Conv2d/Conv3d layer to mask")
    return SparseMasks(layers=tuple(layers), masks=masks)
