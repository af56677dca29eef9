"""Refuse values a tensor's dtype cannot hold, before (or instead of) writing them (internal).

A fill whose values are bounded (uniform, truncated, constant, orthogonal) is checked before
drawing: ``magnitude <= torch.finfo(dtype).max``. A normal is unbounded, so when its rare large
values could overflow (``|mean| + 64 std`` beyond the largest finite value) it is drawn into a
temporary copy, refused if any value is not finite, and only then copied into the tensor: a
refused call leaves the tensor as it was.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .._checks import too_small_error

__all__ = ["check_magnitude", "check_not_tiny", "guarded_fill", "may_overflow"]

REACH = 64.0
"""Normal draws are treated as reaching ``REACH`` standard deviations when deciding to check."""


def _largest(tensor: torch.Tensor) -> float:
    return float(torch.finfo(tensor.dtype).max)


def check_magnitude(
    tensor: torch.Tensor, name: str, value: float, magnitude: float, *, random: bool = True
) -> None:
    """Refuse ``name=value`` when the values it gives reach ``magnitude`` beyond ``tensor``'s
    dtype, or (``random`` draws, nonzero) stay below its smallest normal number."""
    largest = _largest(tensor)
    dtype = str(tensor.dtype).removeprefix("torch.")
    if not magnitude <= largest:
        raise ValueError(
            f"{name}={value:g} gives values of magnitude up to {magnitude:.4g}, beyond the largest "
            f"finite {dtype} ({largest:.6g}); use a smaller value or a wider dtype"
        )
    if random:
        check_not_tiny(tensor, name, value, magnitude)


def check_not_tiny(tensor: torch.Tensor, name: str, value: float, magnitude: float) -> None:
    """Refuse ``name=value`` when the random values it gives, of typical ``magnitude``, are
    nonzero but below the smallest normal number of ``tensor``'s dtype."""
    smallest = float(torch.finfo(tensor.dtype).smallest_normal)
    if 0 < magnitude < smallest:
        raise too_small_error(name, value, magnitude, str(tensor.dtype).removeprefix("torch."), smallest)


def may_overflow(tensor: torch.Tensor, mean: float, std: float) -> bool:
    """Whether a normal ``N(mean, std**2)`` fill could produce a value beyond the dtype."""
    return abs(mean) + REACH * std > _largest(tensor)


def guarded_fill(
    tensor: torch.Tensor, name: str, value: float, fill: Callable[[torch.Tensor], torch.Tensor]
) -> torch.Tensor:
    """``fill(tensor)`` through a temporary copy, refused (tensor untouched) if not all finite."""
    scratch = torch.empty_like(tensor)
    fill(scratch)
    if not bool(torch.isfinite(scratch).all()):
        dtype = str(tensor.dtype).removeprefix("torch.")
        raise ValueError(
            f"{name}={value:g} makes values overflow {dtype} (largest finite {_largest(tensor):.6g}); "
            "use a smaller value or a wider dtype"
        )
    with torch.no_grad():
        return tensor.copy_(scratch)
