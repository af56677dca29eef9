"""LSUV: layer-sequential unit-variance initialization (Mishkin & Matas, 2016).

"All you need is a good init" (ICLR 2016) makes every layer's output variance 1 *on real data*:

1. pre-initialize every ``Linear``/``Conv1d/2d/3d``/``ConvTranspose1d/2d/3d`` weight with an
   orthonormal matrix (rows of ``W`` reshaped to ``(out, in * prod(k))``; a ConvTranspose
   weight, stored ``(in, out/groups, *k)``, is orthogonalized as its transpose ``(out/groups,
   in, *k)``) and set its bias to zero;
2. then, layer by layer in the order the forward pass calls them, measure the variance ``v`` of
   the layer's output on the batch and divide the weight by ``sqrt(v)``, repeating until
   ``|v - 1| < tol`` or ``max_iters`` rescalings were made.

With a zero bias the output is linear in the weight, so one rescaling is exact; more are needed
when a bias or a data-dependent layer in between makes the variance respond non-linearly, and a
layer can fail to converge at all (for instance when its bias alone has variance above
``1 + tol`` across units): that layer gets a :class:`LSUVWarning` and ``converged=False``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from .._checks import check_positive_int, check_real
from ._forward import batch_fits, check_materialized
from ._schemes import (
    WEIGHT_LAYERS,
    Batch,
    StopForward,
    check_batch,
    check_model,
    forward_order,
    inspection,
    layer_bias,
    layer_weight,
    model_generator,
    run_forward,
)
from ._table import NamedRows, format_table, json_number
from ._tensors import orthogonal_, zeros_

__all__ = ["LSUVLayer", "LSUVReport", "LSUVWarning", "lsuv_"]

_LSUV_LAYERS: tuple[type[nn.Module], ...] = (*WEIGHT_LAYERS, nn.modules.conv._ConvTransposeNd)
"""The layers LSUV rescales: Linear, Conv1d/2d/3d and ConvTranspose1d/2d/3d."""


class LSUVWarning(RuntimeWarning):
    """A layer's output variance did not get within ``tol`` of 1 in ``max_iters`` rescalings."""


@dataclass(frozen=True)
class LSUVLayer:
    """What LSUV did to one layer.

    ``scale`` is the total factor the weight was multiplied by after the orthogonal pre-init,
    ``initial_var``/``final_var`` the output variance on the batch before/after rescaling, and
    ``iterations`` the number of rescalings made.
    """

    name: str
    kind: str
    scale: float
    initial_var: float
    final_var: float
    iterations: int
    converged: bool


@dataclass(frozen=True)
class LSUVReport(NamedRows):
    """Per-layer record of an :func:`lsuv_` call, in forward order; ``str()`` gives the table.

    ``report["conv1"]`` is the row of one layer; iterating gives the rows.
    """

    layers: tuple[LSUVLayer, ...]
    tol: float
    skipped: tuple[str, ...]
    """Weight layers of the model that the forward pass did not call (left untouched)."""

    @property
    def converged(self) -> bool:
        """Whether every layer ended within ``tol`` of unit variance."""
        return all(layer.converged for layer in self.layers)

    def _rows(self) -> tuple[Any, ...]:
        return self.layers

    def table(self) -> str:
        """The report as a plain-text table, one row per layer."""
        headers = ("layer", "kind", "scale", "initial_var", "final_var", "iters", "converged")
        return format_table(headers, [tuple(asdict(layer).values()) for layer in self.layers])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable dict of the report."""
        return {
            "tol": self.tol,
            "converged": self.converged,
            "layers": [
                {key: json_number(v) if isinstance(v, float) else v for key, v in asdict(layer).items()}
                for layer in self.layers
            ],
            "skipped": list(self.skipped),
        }

    def __str__(self) -> str:
        return self.table()


def lsuv_(
    model: nn.Module,
    batch: Batch,
    *,
    tol: float = 0.1,
    max_iters: int = 10,
    pre_init: bool = True,
    seed: int | None = None,
    generator: torch.Generator | None = None,
) -> LSUVReport:
    """Initialize ``model`` in place by LSUV so each layer's output variance on ``batch`` is ``1 ± tol``.

    For each ``Linear``/``Conv1d/2d/3d``/``ConvTranspose1d/2d/3d`` layer, in the order the
    forward pass first calls it,
    the weight is multiplied by ``1 / sqrt(Var[layer(x)])`` (variance over every element of the
    layer's output on the batch) until ``|Var - 1| < tol``, at most ``max_iters`` times. With
    ``pre_init=True`` (the paper's method) the weights are first set orthonormal with
    :func:`kaiming.torch.orthogonal_` (weight ``(out, in, *k)`` as an ``(out, in * prod(k))``
    matrix) drawn from one generator in forward order, and the biases to zero; with
    ``pre_init=False`` the current weights are only rescaled (LSUV on top of another init).

    The passes run in eval mode under ``torch.no_grad()`` (dropout off, BatchNorm running
    statistics untouched); each pass stops right after the layer being measured, so the cost is
    about ``L * (L + 1) / 2`` layer calls for ``L`` layers. The hooks are removed and each
    module's train/eval flag restored even if the model raises. A layer called several times in
    one forward pass is measured at its first call.

    Args:
        model: the network; ``model(*batch)`` (or ``model(batch)``) must run.
        batch: a tensor, or a tuple of tensors passed as positional arguments, with >= 2 samples
            and finite values. A batch that does not fit the model (shape, dtype, device) or
            makes a layer's output variance non-finite raises a ``ValueError``.
        tol: accepted distance of each output variance from 1; a number > 0.
        max_iters: most rescalings per layer, a positive int; a layer still off afterwards gets
            an :class:`LSUVWarning`.
        pre_init: orthonormal weights and zero biases first (``True``) or keep the current ones.
        seed: seed of the generator for the orthogonal pre-init (an int >= 0); or pass
            ``generator`` (not both). Neither: fresh OS entropy, never torch's global RNG.
        generator: a ``torch.Generator`` to draw the orthogonal pre-init from.

    Returns:
        An :class:`LSUVReport` with each layer's total scale and initial/final variance.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> from kaiming.torch import lsuv_
        >>> net = nn.Sequential(nn.Linear(20, 30), nn.Tanh(), nn.Linear(30, 10))
        >>> x = torch.randn(256, 20, generator=torch.Generator().manual_seed(0))
        >>> report = lsuv_(net, x, seed=0)
        >>> report.converged, [abs(layer.final_var - 1) < 0.1 for layer in report.layers]
        (True, [True, True])
    """
    check_model(model)
    check_materialized(model, "LSUV")
    args = check_batch(batch)
    tol = check_real("tol", tol)
    if tol <= 0:
        raise ValueError(f"tol must be a number > 0, got {tol}")
    max_iters = check_positive_int("max_iters", max_iters)
    if not isinstance(pre_init, bool):
        raise TypeError(f"pre_init must be a bool, got {pre_init!r}")
    gen = model_generator(model, seed, generator)
    for index, arg in enumerate(args):
        if (arg.is_floating_point() or arg.is_complex()) and not bool(torch.isfinite(arg).all()):
            where = "batch" if len(args) == 1 else f"batch[{index}]"
            raise ValueError(f"{where} holds non-finite values (NaN or inf); LSUV needs a finite batch")

    rows: list[LSUVLayer] = []
    with inspection(model) as handles:
        with batch_fits("batch", model, args):
            order = forward_order(model, args, handles, _LSUV_LAYERS)
        if not order:
            raise ValueError(
                "model has no Linear/Conv1d/2d/3d/ConvTranspose1d/2d/3d layer called by its forward "
                "pass; LSUV has nothing to scale"
            )
        called = {module for _, module in order}
        skipped = tuple(
            name
            for name, module in model.named_modules()
            if isinstance(module, _LSUV_LAYERS) and module not in called
        )
        if pre_init:
            for _, layer in order:
                weight = layer_weight(layer)
                if isinstance(layer, nn.modules.conv._ConvTransposeNd):
                    weight = weight.transpose(0, 1)  # (out/groups, in, *k): rows are output units
                orthogonal_(weight, generator=gen)
                bias = layer_bias(layer)
                if bias is not None:
                    zeros_(bias)
        for name, layer in order:
            rows.append(_rescale(name, layer, model, args, handles, tol, max_iters))
    return LSUVReport(layers=tuple(rows), tol=tol, skipped=skipped)


def _rescale(
    name: str,
    layer: nn.Module,
    model: nn.Module,
    args: tuple[torch.Tensor, ...],
    handles: list[RemovableHandle],
    tol: float,
    max_iters: int,
) -> LSUVLayer:
    """Rescale one layer's weight until its output variance is within ``tol`` of 1."""
    weight = layer_weight(layer)
    initial = var = _output_variance(layer, model, args, handles)
    _check_finite(initial, name, layer)
    scale = 1.0
    iterations = 0
    reason = f"still {var:.4g} after {max_iters} rescalings"
    while not abs(var - 1.0) < tol and iterations < max_iters:
        if var <= 0.0:
            reason = f"is {var:.4g}, which no rescaling can bring to 1"
            break
        factor = 1.0 / math.sqrt(var)
        weight.mul_(factor)
        scale *= factor
        iterations += 1
        var = _output_variance(layer, model, args, handles)
        _check_finite(var, name, layer)
    converged = abs(var - 1.0) < tol
    if not converged:
        warnings.warn(
            f"LSUV: output variance of layer {name!r} ({type(layer).__name__}) {reason}; "
            f"wanted 1 ± {tol:g} (initial variance {initial:.4g})",
            LSUVWarning,
            stacklevel=3,
        )
    return LSUVLayer(name, type(layer).__name__, scale, initial, var, iterations, converged)


def _check_finite(var: float, name: str, layer: nn.Module) -> None:
    """Refuse a non-finite output variance: no rescaling can fix it, and it would poison the weight."""
    if not math.isfinite(var):
        raise ValueError(
            f"batch gives layer {name!r} ({type(layer).__name__}) a non-finite output variance ({var}); "
            "LSUV needs finite activations (check the batch's scale and the layers before it)"
        )


def _output_variance(
    layer: nn.Module, model: nn.Module, args: tuple[torch.Tensor, ...], handles: list[RemovableHandle]
) -> float:
    """Variance of every element of ``layer``'s output at its first call in ``model(*args)``."""
    seen: list[float] = []

    def capture(_module: nn.Module, _inputs: Any, output: torch.Tensor) -> None:
        seen.append(float(output.detach().double().var(correction=0)))
        raise StopForward

    handle = layer.register_forward_hook(capture)
    handles.append(handle)
    try:
        with batch_fits("batch", model, args):
            run_forward(model, args)
    finally:
        handle.remove()
    if not seen:
        raise RuntimeError(
            f"{type(layer).__name__} layer was called by the first forward pass but not by a later one "
            "on the same batch; LSUV needs a forward pass that calls the same layers each time"
        )
    return seen[0]
