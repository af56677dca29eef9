"""The initializations the studies compare, each defined once for torch and for the probe.

Every torch init goes through our own ``kaiming.torch`` functions with an explicit
``torch.Generator`` (no global RNG). Biases start at zero except for ``torch_default``, which
reproduces ``nn.Linear.reset_parameters``: weights ``kaiming_uniform_(a=sqrt(5))`` (i.e.
``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``) and biases ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``.

Every ``nn.Linear`` of the model, the output layer included, gets the same rule, as in the He
et al. (2015) experiments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._checks import check_choice

if TYPE_CHECKING:
    import torch

__all__ = ["CONVERGENCE_INITS", "DEPTH_INITS", "INIT_SPECS", "InitSpec", "apply_init"]

RANDOM_STD = 0.01


@dataclass(frozen=True)
class InitSpec:
    """One compared initialization: its label, whether the model has BatchNorm, its probe args."""

    name: str
    label: str
    formula: str
    batch_norm: bool = False
    probe_init: str | None = None
    probe_mode: str | None = None
    probe_std: float | None = None
    probe_gain: float | None = None


INIT_SPECS: dict[str, InitSpec] = {
    spec.name: spec
    for spec in (
        InitSpec("random", "N(0, 0.01²)", "W ~ N(0, 0.01²)", probe_init="random", probe_std=RANDOM_STD),
        InitSpec("xavier", "Xavier", "W ~ N(0, 2/(fan_in+fan_out))", probe_init="xavier_normal"),
        InitSpec(
            "he_fan_in", "He (fan_in)", "W ~ N(0, 2/fan_in)", probe_init="he_normal", probe_mode="fan_in"
        ),
        InitSpec(
            "he_fan_out", "He (fan_out)", "W ~ N(0, 2/fan_out)", probe_init="he_normal", probe_mode="fan_out"
        ),
        InitSpec(
            "he_bn",
            "He + BatchNorm",
            "W ~ N(0, 2/fan_in), BatchNorm before each ReLU",
            batch_norm=True,
            probe_init="he_normal",
        ),
        InitSpec("lecun", "LeCun", "W ~ N(0, 1/fan_in)", probe_init="lecun_normal"),
        InitSpec(
            "orthogonal",
            "Orthogonal (gain 1)",
            "W = Q of a QR decomposition, gain 1",
            probe_init="orthogonal",
        ),
        InitSpec(
            "orthogonal_relu",
            "Orthogonal (gain √2)",
            "W = √2 · Q of a QR decomposition (the ReLU gain, as LSUV and Saxe et al. for ReLU)",
            probe_init="orthogonal",
            probe_gain=math.sqrt(2.0),
        ),
        InitSpec("lsuv", "LSUV", "orthogonal, then each layer rescaled to unit output variance on a batch"),
        InitSpec("torch_default", "torch default", "W, b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))"),
    )
}

CONVERGENCE_INITS: tuple[str, ...] = (
    "random",
    "xavier",
    "he_fan_in",
    "he_fan_out",
    "he_bn",
    "orthogonal",
    "orthogonal_relu",
    "lsuv",
    "torch_default",
)
# fan_out equals fan_in in the constant-width nets of the depth study, so he_fan_out is left out;
# LSUV and torch's default have no probe counterpart.
DEPTH_INITS: tuple[str, ...] = (
    "random",
    "xavier",
    "he_fan_in",
    "he_bn",
    "lecun",
    "orthogonal",
    "orthogonal_relu",
)


def apply_init(
    model: torch.nn.Module,
    name: str,
    *,
    seed: int,
    data: torch.Tensor | None = None,
) -> None:
    """Initialize every ``nn.Linear`` of ``model`` in place with the init called ``name``.

    ``data`` (a batch of inputs) is needed by ``"lsuv"`` only.
    """
    import torch

    from .. import torch as kt

    check_choice("init", name, INIT_SPECS)
    if name == "lsuv":
        if data is None:
            raise ValueError("init 'lsuv' needs data: a batch of training inputs")
        kt.lsuv_(model, data, seed=seed)  # orthogonal pre-init, then per-layer rescaling
        return
    generator = torch.Generator().manual_seed(seed)
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        for layer in linears:
            weight, bias = layer.weight, layer.bias
            if name == "random":
                kt.normal_(weight, 0.0, RANDOM_STD, generator=generator)
            elif name == "xavier":
                kt.xavier_normal_(weight, generator=generator)
            elif name in ("he_fan_in", "he_bn"):
                kt.kaiming_normal_(weight, mode="fan_in", nonlinearity="relu", generator=generator)
            elif name == "he_fan_out":
                kt.kaiming_normal_(weight, mode="fan_out", nonlinearity="relu", generator=generator)
            elif name == "lecun":
                kt.lecun_normal_(weight, generator=generator)
            elif name == "orthogonal":
                kt.orthogonal_(weight, generator=generator)
            elif name == "orthogonal_relu":
                kt.orthogonal_(weight, math.sqrt(2.0), generator=generator)
            else:  # torch_default
                kt.kaiming_uniform_(weight, a=math.sqrt(5.0), generator=generator)
            if bias is None:
                continue
            if name == "torch_default":
                bound = 1.0 / math.sqrt(weight.shape[1])
                kt.uniform_(bias, -bound, bound, generator=generator)
            else:
                kt.zeros_(bias)
