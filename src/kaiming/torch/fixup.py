r"""Fixup: training deep residual networks without normalization (Zhang, Dauphin & Ma, ICLR 2019).

A residual network ``x_{l+1} = x_l + F_l(x_l)`` with ``L`` branches of ``m`` weight layers each,
He-initialized everywhere, has an output variance that grows like ``2^L`` at init for ReLU
branches (each branch adds as much variance as its input has), and a gradient step changes the
output by ``O(L)`` times what one branch would. Fixup rescales the branches so that one SGD
step changes the output by ``O(1)`` whatever ``L`` is:

1. the last layer of every residual branch, and the classification head, start at **zero**;
2. every other branch layer is He-initialized and then multiplied by ``L^(-1/(2m-2))``
   (``L^(-1/2)`` for the usual 2-layer branch) — a branch whose layers are scaled by ``c`` and
   whose last one moves by a step ``eta`` changes the output by ``~ c^(m-1) * eta``, and
   ``L * (L^(-1/(2m-2)))^(2(m-1)) = 1`` keeps the *sum over branches* of those (squared) changes
   at ``O(1)``;
3. a scalar multiplier (init 1) in every branch and a scalar bias (init 0) before every
   weight layer and activation replace what BatchNorm's affine parameters did.

Any module can be a Fixup branch: give it a ``fixup_layers()`` method returning its weight layers
in order (the last one is zeroed) and, if it has scalar biases/multipliers, a
``reset_fixup_scalars()`` method; :class:`FixupBlock` and :class:`FixupConvBlock` are the paper's
basic block for MLPs and CNNs, :class:`FixupResidualMLP` and :class:`FixupResidualCNN` small
complete networks built from them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol, runtime_checkable

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 - the conventional name

from .._checks import check_positive_int
from ._schemes import WEIGHT_LAYERS, check_model, layer_bias, layer_weight, model_generator
from ._table import NamedRows, format_table
from ._tensors import kaiming_normal_, zeros_

__all__ = [
    "FixupBlock",
    "FixupBranch",
    "FixupConvBlock",
    "FixupParam",
    "FixupReport",
    "FixupResidualCNN",
    "FixupResidualMLP",
    "fixup_init_",
]


@runtime_checkable
class FixupBranch(Protocol):
    """A residual branch: ``fixup_layers()`` are its ``m >= 2`` weight layers in forward order."""

    def fixup_layers(self) -> Sequence[nn.Module]:
        """The branch's Linear/Conv layers in the order the branch applies them."""
        ...


@dataclass(frozen=True)
class FixupParam:
    """How :func:`fixup_init_` set one parameter: its name, the rule in words, and the std drawn with."""

    name: str
    rule: str
    std: float


@dataclass(frozen=True)
class FixupReport(NamedRows):
    """What :func:`fixup_init_` did: ``L`` branches, one row per parameter it set; ``str()`` is the table."""

    num_branches: int
    params: tuple[FixupParam, ...]

    def _rows(self) -> tuple[Any, ...]:
        return self.params

    def table(self) -> str:
        """One row per parameter: name, rule, std."""
        return format_table(("parameter", "rule", "std"), [tuple(asdict(p).values()) for p in self.params])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable dict of the report."""
        return {"num_branches": self.num_branches, "params": [asdict(p) for p in self.params]}

    def __str__(self) -> str:
        return self.table()


def fixup_init_(
    model: nn.Module,
    *,
    head: nn.Module | Literal["auto"] | None = "auto",
    seed: int | None = None,
    generator: torch.Generator | None = None,
) -> FixupReport:
    """Initialize ``model`` in place by Fixup; returns a report of every parameter set.

    With ``L`` the number of submodules implementing :class:`FixupBranch` and ``m`` the number
    of weight layers of a branch:

    - branch layers ``1 .. m-1``: He normal, ``std = sqrt(2 / fan_in) * L^(-1/(2m-2))``;
    - branch layer ``m`` (the last): weight 0;
    - ``head`` (default ``"auto"``: the model's ``head`` attribute if it is a Linear/Conv, else
      none; pass a module, or ``None`` to zero nothing): weight 0;
    - every other ``Linear``/``Conv1d/2d/3d`` (stems, shortcut projections): He normal,
      ``std = sqrt(2 / fan_in)``;
    - the biases of all those layers: 0; and every module with a ``reset_fixup_scalars()``
      method gets it called (the scalar biases to 0, multipliers to 1).

    ``fan_in = in/groups * prod(kernel)`` (torch layout ``(out, in, *k)``). Other parameters
    (e.g. of norm layers, which Fixup networks do not need) are left as they are. One generator
    draws all weights in ``named_modules`` order.

    Example:
        >>> import torch
        >>> from kaiming.torch import FixupResidualMLP
        >>> net = FixupResidualMLP(8, 16, num_blocks=100, out_features=3, seed=0)
        >>> x = torch.randn(4, 8, generator=torch.Generator().manual_seed(0))
        >>> net(x).abs().max().item()  # the zero head: output 0 at init
        0.0
        >>> round(net.blocks[0].layer1.weight.std().item() / (2 / 16) ** 0.5, 1)  # L^(-1/2) = 0.1
        0.1
    """
    check_model(model)
    gen = model_generator(model, seed, generator)
    branches = [module for module in model.modules() if isinstance(module, FixupBranch)]
    if not branches:
        raise ValueError(
            "model has no residual branch: Fixup needs submodules with a fixup_layers() method "
            "(see kaiming.torch.FixupBranch, FixupBlock, FixupConvBlock)"
        )
    head_module = _resolve_head(model, head)
    num_branches = len(branches)
    rules: dict[nn.Module, tuple[str, float]] = {}
    for branch in branches:
        layers = list(branch.fixup_layers())
        if len(layers) < 2 or not all(isinstance(layer, WEIGHT_LAYERS) for layer in layers):
            raise ValueError(
                f"{type(branch).__name__}.fixup_layers() must return >= 2 Linear/Conv layers "
                f"(Fixup's scale L^(-1/(2m-2)) needs m >= 2), got {[type(x).__name__ for x in layers]}"
            )
        m = len(layers)
        factor = num_branches ** (-1.0 / (2 * m - 2))
        for layer in layers[:-1]:
            rules[layer] = (f"he_normal(fan_in) * L^(-1/(2m-2)), L={num_branches}, m={m}", factor)
        rules[layers[-1]] = ("zeros (last layer of a residual branch)", 0.0)
    if head_module is not None:
        rules[head_module] = ("zeros (head)", 0.0)

    rows: list[FixupParam] = []
    for name, module in model.named_modules():
        if isinstance(module, WEIGHT_LAYERS):
            rule, factor = rules.get(module, ("he_normal(fan_in)", 1.0))
            rows.extend(_init_layer(name, module, rule, factor, gen))
        reset = getattr(module, "reset_fixup_scalars", None)
        if callable(reset):
            reset()
    return FixupReport(num_branches=num_branches, params=tuple(rows))


def _resolve_head(model: nn.Module, head: object) -> nn.Module | None:
    if head is None:
        return None
    if isinstance(head, str) and head == "auto":
        candidate = getattr(model, "head", None)
        return candidate if isinstance(candidate, WEIGHT_LAYERS) else None
    if not isinstance(head, WEIGHT_LAYERS):
        raise TypeError(f"head must be 'auto', None or a Linear/Conv module, got {head!r}")
    if not any(module is head for module in model.modules()):
        raise ValueError(f"head {head!r} is not a submodule of model")
    return head


def _init_layer(
    name: str, layer: nn.Module, rule: str, factor: float, gen: torch.Generator
) -> list[FixupParam]:
    """He normal times ``factor`` (zeros when ``factor == 0``) for the weight, zeros for the bias."""
    prefix = f"{name}." if name else ""
    weight = layer_weight(layer)
    if factor == 0.0:
        zeros_(weight)
        std = 0.0
    else:
        kaiming_normal_(weight, mode="fan_in", nonlinearity="relu", generator=gen)
        with torch.no_grad():
            weight.mul_(factor)
        std = math.sqrt(2.0 / weight[0].numel()) * factor
    rows = [FixupParam(f"{prefix}weight", rule, std)]
    bias = layer_bias(layer)
    if bias is not None:
        zeros_(bias)
        rows.append(FixupParam(f"{prefix}bias", "zeros (bias)", 0.0))
    return rows


class _TwoLayerBranch(nn.Module):
    """The paper's basic block around two weight layers ``layer1``, ``layer2`` (same in/out width).

    ``y = relu(x + scale * layer2(relu(layer1(x + b1a) + b1b) + b2a) + b2b)`` with scalar
    parameters ``b1a, b1b, b2a, b2b`` (init 0) and ``scale`` (init 1).
    """

    def __init__(self, layer1: nn.Module, layer2: nn.Module) -> None:
        super().__init__()
        self.bias1a = nn.Parameter(torch.zeros(1))
        self.layer1 = layer1
        self.bias1b = nn.Parameter(torch.zeros(1))
        self.bias2a = nn.Parameter(torch.zeros(1))
        self.layer2 = layer2
        self.scale = nn.Parameter(torch.ones(1))
        self.bias2b = nn.Parameter(torch.zeros(1))

    def fixup_layers(self) -> Sequence[nn.Module]:
        return (self.layer1, self.layer2)

    def reset_fixup_scalars(self) -> None:
        with torch.no_grad():
            for bias in (self.bias1a, self.bias1b, self.bias2a, self.bias2b):
                bias.zero_()
            self.scale.fill_(1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.layer1(x + self.bias1a) + self.bias1b)
        out = self.layer2(out + self.bias2a) * self.scale + self.bias2b
        return F.relu(x + out)


class FixupBlock(_TwoLayerBranch):
    """Fixup basic block for MLPs: two bias-free ``Linear(width, width)`` layers and the scalars.

    Not initialized by itself: call :func:`fixup_init_` on the network that contains it.
    """

    def __init__(self, width: int) -> None:
        width = check_positive_int("width", width)
        super().__init__(nn.Linear(width, width, bias=False), nn.Linear(width, width, bias=False))


class FixupConvBlock(_TwoLayerBranch):
    """Fixup basic block for CNNs: two bias-free 3x3 ``Conv2d(channels, channels)`` (stride 1, padding 1).

    Not initialized by itself: call :func:`fixup_init_` on the network that contains it.
    """

    def __init__(self, channels: int) -> None:
        channels = check_positive_int("channels", channels)
        super().__init__(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
        )


class _FixupNet(nn.Module):
    """Stem (weight layer + scalar bias + ReLU), Fixup blocks, an optional pooling, a zero head."""

    def __init__(self, stem: nn.Module, blocks: nn.Sequential, head: nn.Linear, *, seed: int | None) -> None:
        super().__init__()
        self.stem = stem
        self.stem_bias = nn.Parameter(torch.zeros(1))
        self.blocks = blocks
        self.head_bias = nn.Parameter(torch.zeros(1))
        self.head = head
        self.report = fixup_init_(self, seed=seed)

    def reset_fixup_scalars(self) -> None:
        with torch.no_grad():
            self.stem_bias.zero_()
            self.head_bias.zero_()

    def features(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.blocks(F.relu(self.stem(x) + self.stem_bias))
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.head(self.features(x) + self.head_bias)
        return out


class FixupResidualMLP(_FixupNet):
    """A residual MLP without normalization, Fixup-initialized (``seed`` for the draw).

    ``Linear(in_features, width)`` stem + ReLU, ``num_blocks`` :class:`FixupBlock` of ``width``,
    and a ``Linear(width, out_features)`` head (zero at init). ``self.report`` is the
    :class:`FixupReport` of the initialization. Input ``(batch, in_features)``.
    """

    def __init__(
        self, in_features: int, width: int, num_blocks: int, out_features: int, *, seed: int | None = None
    ) -> None:
        in_features = check_positive_int("in_features", in_features)
        width = check_positive_int("width", width)
        num_blocks = check_positive_int("num_blocks", num_blocks)
        out_features = check_positive_int("out_features", out_features)
        super().__init__(
            nn.Linear(in_features, width, bias=False),
            nn.Sequential(*(FixupBlock(width) for _ in range(num_blocks))),
            nn.Linear(width, out_features),
            seed=seed,
        )


class FixupResidualCNN(_FixupNet):
    """A residual CNN without normalization, Fixup-initialized (``seed`` for the draw).

    3x3 ``Conv2d(in_channels, channels)`` stem + ReLU, ``num_blocks`` :class:`FixupConvBlock`,
    global average pooling and a ``Linear(channels, num_classes)`` head (zero at init).
    Input ``(batch, in_channels, height, width)``.
    """

    def __init__(
        self, in_channels: int, channels: int, num_blocks: int, num_classes: int, *, seed: int | None = None
    ) -> None:
        in_channels = check_positive_int("in_channels", in_channels)
        channels = check_positive_int("channels", channels)
        num_blocks = check_positive_int("num_blocks", num_blocks)
        num_classes = check_positive_int("num_classes", num_classes)
        super().__init__(
            nn.Conv2d(in_channels, channels, 3, padding=1, bias=False),
            nn.Sequential(*(FixupConvBlock(channels) for _ in range(num_blocks))),
            nn.Linear(channels, num_classes),
            seed=seed,
        )

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return super().features(x).mean(dim=(2, 3))
