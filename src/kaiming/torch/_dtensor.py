"""DTensor helpers: which slice of the global tensor a rank's local part holds."""

from __future__ import annotations

import torch

__all__ = ["is_dtensor", "local_index", "local_part"]


def is_dtensor(tensor: object) -> bool:
    """Whether ``tensor`` is a ``torch.distributed.tensor.DTensor`` (False without distributed)."""
    if not torch.distributed.is_available():
        return False
    from torch.distributed.tensor import DTensor

    return isinstance(tensor, DTensor)


def local_index(param: torch.Tensor) -> tuple[slice, ...]:
    """The slice of the global tensor that this rank's local part of DTensor ``param`` holds.

    From the DTensor's global shape, device mesh and placements (torch's own
    ``compute_local_shape_and_global_offset``, which follows ``torch.chunk`` for uneven
    shards). A replicated tensor gives the full slice.
    """
    from torch.distributed.tensor import DTensor
    from torch.distributed.tensor._utils import compute_local_shape_and_global_offset

    if not isinstance(param, DTensor):
        raise TypeError(f"param must be a DTensor, got {type(param).__name__}")
    shape, offset = compute_local_shape_and_global_offset(param.shape, param.device_mesh, param.placements)
    local = tuple(param.to_local().shape)
    if tuple(shape) != local:
        raise ValueError(
            f"DTensor placements {param.placements} give a local shape {tuple(shape)}, but the local "
            f"tensor has shape {local} (unsupported sharding)"
        )
    return tuple(slice(o, o + n) for o, n in zip(offset, shape, strict=True))


def local_part(tensor: torch.Tensor) -> tuple[torch.Tensor, tuple[slice, ...] | None]:
    """The tensor this rank writes and the slice of the global tensor it holds: a DTensor's
    local part and ``local_index``, or a plain tensor itself and ``None`` (the whole)."""
    if not is_dtensor(tensor):
        return tensor, None
    index = local_index(tensor)
    local: torch.Tensor = tensor.to_local()  # type: ignore[attr-defined]
    return local, index
