"""The ``stream="counter"`` path of ``init_model``: a rule's values from ``kaiming.stream``.

A parameter named ``name`` under base seed ``seed`` gets the counter-based stream
``kaiming.stream.key(seed, name)``. Its element at flat index ``i`` of the **global** shape
depends on nothing else, so a shard (a plain tensor holding ``full[index]``, or the local part
of a DTensor) is computed alone and equals the slice of the single-process tensor bit for bit;
std/bound come from the rule, i.e. from the global shape's fans.
"""

from __future__ import annotations

import contextlib
import ctypes
import sys
import warnings
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from .. import stream
from .._sampling import sampler_scale
from ..structured import orthogonal
from ._device_stream import sample_into, uses_device_stream
from ._dtensor import local_index
from ._plan import ParamRule

__all__ = ["counter_fill_", "counter_values", "materialize_"]

_NUMPY_DTYPES = {torch.float16: np.float16, torch.float32: np.float32, torch.float64: np.float64}
Index = tuple[slice, ...] | None


def counter_values(
    rule: ParamRule,
    seed: int,
    index: Index = None,
    dtype: Any = np.float32,
    out: NDArray[np.floating[Any]] | None = None,
) -> NDArray[np.floating[Any]]:
    """``full[index]`` of the tensor that ``rule`` describes, from the stream of ``(seed, rule.name)``.

    ``out`` (C-contiguous, the part's shape and ``dtype``) receives the values without an
    intermediate copy, except for ``orthogonal``, which needs the whole matrix anyway.

    Example:
        >>> rule = ParamRule("w", (4, 6), "Linear", "he_normal", "normal", std=0.5)
        >>> full = counter_values(rule, 0)
        >>> bool(np.array_equal(counter_values(rule, 0, (slice(1, 3), slice(None))), full[1:3]))
        True
    """
    key = stream.key(seed, rule.name)
    if rule.distribution == "orthogonal":
        gain = 1.0 if rule.gain is None else rule.gain
        values = orthogonal(rule.shape, gain, layout="torch", key=key, index=index, dtype=dtype)
        if out is None:
            return values
        out[...] = values
        return out
    if rule.distribution == "uniform" and rule.bound is not None:
        dist, scale = "uniform", float(rule.bound)
    elif rule.distribution in ("uniform", "truncated_normal", "normal"):
        dist, scale = rule.distribution, sampler_scale(rule.distribution, float(rule.std or 0.0))  # type: ignore[arg-type]
    else:
        raise ValueError(f"rule {rule.name}: distribution {rule.distribution!r} has no counter stream")
    values = sample_into(dist, rule.shape, key, scale=scale, index=index, dtype=dtype, out=out)
    _zero_row(values, rule, index)
    return values


def _zero_row(values: NDArray[np.floating[Any]], rule: ParamRule, index: Index) -> None:
    """Zero the rule's ``zero_index`` row (an Embedding's padding_idx) where the part holds it."""
    if rule.zero_index is None:
        return
    rows = range(rule.shape[0]) if not index else range(*index[0].indices(rule.shape[0]))
    if rule.zero_index % rule.shape[0] in rows:
        values[rows.index(rule.zero_index % rule.shape[0])] = 0.0


def counter_fill_(tensor: torch.Tensor, rule: ParamRule, seed: int) -> None:
    """Write the rule's values into ``tensor`` in place: the whole tensor, or for a DTensor the
    part its placements give this rank (computing only that part)."""
    index: Index = None
    if _is_dtensor(tensor):
        index = local_index(tensor)
        tensor = tensor.to_local()  # type: ignore[attr-defined]
        if tensor.numel() == 0:
            return
    if rule.distribution == "constant":
        with torch.no_grad():
            tensor.fill_(0.0 if rule.value is None else rule.value)
        return
    if uses_device_stream(tensor, rule.distribution):  # computed on the tensor's own device
        with torch.no_grad():
            counter_values(rule, seed, index, out=tensor)  # type: ignore[arg-type]
        return
    target = _numpy_view(tensor)
    if target is not None:  # CPU float16/32/64: the values go straight into the tensor's memory
        counter_values(rule, seed, index, target.dtype, out=target)
        return
    values = counter_values(rule, seed, index, np.float64 if tensor.dtype == torch.float64 else np.float32)
    with torch.no_grad():  # bfloat16 rounds the float32 stream once; other devices copy over
        tensor.copy_(torch.from_numpy(values))


def _numpy_view(tensor: torch.Tensor) -> NDArray[np.floating[Any]] | None:
    """A NumPy array sharing ``tensor``'s memory, if it is a contiguous CPU float16/32/64 one."""
    if tensor.device.type != "cpu" or tensor.dtype not in _NUMPY_DTYPES or not tensor.is_contiguous():
        return None
    view: NDArray[np.floating[Any]] = tensor.detach().numpy()
    return view


def _is_dtensor(tensor: torch.Tensor) -> bool:
    if not torch.distributed.is_available():
        return False
    from torch.distributed.tensor import DTensor

    return isinstance(tensor, DTensor)


_HUGE_PAGE = 1 << 21
_MADV_HUGEPAGE = 14


def _advise_huge_pages(tensor: torch.Tensor) -> None:
    """Ask Linux to back a fresh, untouched CPU tensor of >= 4 MiB with transparent huge pages
    (what NumPy does for its own large arrays): the first writes then fault in 2 MiB pages,
    not 4 KiB ones, about 4x faster on the benchmark machine. A no-op elsewhere."""
    nbytes = tensor.untyped_storage().nbytes()
    if sys.platform != "linux" or tensor.device.type != "cpu" or nbytes < 2 * _HUGE_PAGE:
        return
    start = -(-tensor.data_ptr() // _HUGE_PAGE) * _HUGE_PAGE
    end = (tensor.data_ptr() + nbytes) // _HUGE_PAGE * _HUGE_PAGE
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.madvise(ctypes.c_void_p(start), ctypes.c_size_t(end - start), _MADV_HUGEPAGE)


def materialize_(model: nn.Module, device: torch.device | str = "cpu") -> bool:
    """Give a model with parameters on the ``meta`` device real (uninitialized) storage.

    Uses ``model.to_empty(device=...)`` (DTensor/FSDP2 parameters get their local shard only;
    large CPU parameters are advised to use huge pages), then restores what can be restored:
    norm layers' running statistics. Returns whether
    anything was on the meta device; warns about other buffers left uninitialized.
    """
    tensors = [*model.parameters(), *model.buffers()]
    if not any(t.is_meta for t in tensors):
        return False
    meta_buffers = [name for name, b in model.named_buffers() if b.is_meta]
    model.to_empty(device=device)
    for param in model.parameters():
        _advise_huge_pages(param.to_local() if _is_dtensor(param) else param)  # type: ignore[attr-defined]
    restored: set[str] = set()
    for module_name, module in model.named_modules():
        reset = getattr(module, "reset_running_stats", None)
        if callable(reset):
            reset()
            restored.update(
                f"{module_name}.{n}" if module_name else n for n, _ in module.named_buffers(recurse=False)
            )
    left = [name for name in meta_buffers if name not in restored]
    if left:
        warnings.warn(
            f"init_model: buffers {left} were on the meta device and are now uninitialized memory; "
            "set them yourself",
            stacklevel=3,
        )
    return True
