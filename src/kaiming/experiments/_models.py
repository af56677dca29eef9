"""The plain multilayer perceptrons of the studies (PyTorch)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._checks import check_choice, check_positive_int

if TYPE_CHECKING:
    import torch

__all__ = ["TORCH_ACTIVATIONS", "make_mlp"]

TORCH_ACTIVATIONS: tuple[str, ...] = ("relu", "leaky_relu", "tanh", "linear", "selu", "gelu", "silu", "elu")


def make_mlp(
    in_features: int,
    out_features: int | None,
    depth: int,
    width: int,
    *,
    activation: str = "relu",
    batch_norm: bool = False,
) -> torch.nn.Sequential:
    """Return ``depth`` hidden blocks ``Linear(width) [-> BatchNorm1d] -> activation`` and a
    final ``Linear(out_features)`` (none if ``out_features`` is None), on the CPU in float32.

    The parameters are left *uninitialized* (built on the meta device, then materialized
    empty): call ``apply_init`` next. BatchNorm layers start at weight 1, bias 0. Building this
    way never touches torch's global random state.

    Example:
        >>> net = make_mlp(64, 10, depth=3, width=32, batch_norm=True)
        >>> [type(m).__name__ for m in net][:4]
        ['Linear', 'BatchNorm1d', 'ReLU', 'Linear']
        >>> sum(1 for m in net if type(m).__name__ == "Linear")
        4
    """
    import torch
    from torch import nn

    in_features = check_positive_int("in_features", in_features)
    if out_features is not None:
        out_features = check_positive_int("out_features", out_features)
    depth = check_positive_int("depth", depth)
    width = check_positive_int("width", width)
    activation = check_choice("activation", activation, TORCH_ACTIVATIONS)
    layers: list[nn.Module] = []
    fan_in = in_features
    with torch.device("meta"):
        for _ in range(depth):
            layers.append(nn.Linear(fan_in, width))
            if batch_norm:
                layers.append(nn.BatchNorm1d(width))
            layers.append(_activation_module(activation))
            fan_in = width
        if out_features is not None:
            layers.append(nn.Linear(fan_in, out_features))
    model = nn.Sequential(*layers).to_empty(device="cpu")
    for module in model.modules():
        if isinstance(module, nn.BatchNorm1d):
            module.reset_parameters()
    return model


def _activation_module(name: str) -> torch.nn.Module:
    from torch import nn

    modules: dict[str, type[nn.Module]] = {
        "relu": nn.ReLU,
        "leaky_relu": nn.LeakyReLU,
        "tanh": nn.Tanh,
        "linear": nn.Identity,
        "selu": nn.SELU,
        "gelu": nn.GELU,
        "silu": nn.SiLU,
        "elu": nn.ELU,
    }
    return modules[name]()
