"""Where kaiming.torch computes counter-stream values: on the tensor's own device.

A tensor that is not on the CPU (CUDA, MPS, ...) gets its values from the torch-ops executor
(``kaiming.stream._torch_path``), computed on that device and written in place: no host
array, no host-to-device copy. CPU tensors keep the numba/NumPy path, which writes straight
into the tensor's memory. Both give the same bits (``tests/test_torch_device_stream.py``).

``device_stream_on_cpu()`` sends CPU tensors through the torch-ops executor too, so that the
device path is exercised by tests on machines without an accelerator.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, overload

import numpy as np
import torch
from numpy.typing import DTypeLike, NDArray

from .. import stream
from ..stream._index import IndexLike
from ..stream._torch_path import sample_torch

__all__ = ["device_stream_on_cpu", "fill_keyed_", "sample_into", "uses_device_stream"]

_ON_CPU: ContextVar[bool] = ContextVar("kaiming_device_stream_on_cpu", default=False)

_DEVICE_DISTRIBUTIONS = frozenset(stream.STREAM_DISTRIBUTIONS)
_NUMPY = {torch.float16: np.float16, torch.float32: np.float32, torch.float64: np.float64}


@contextmanager
def device_stream_on_cpu() -> Iterator[None]:
    """Within the block, CPU tensors take the device (torch-ops) path as well.

    Example:
        >>> with device_stream_on_cpu():
        ...     uses_device_stream(torch.empty(2, 2), "normal")
        True
    """
    token = _ON_CPU.set(True)
    try:
        yield
    finally:
        _ON_CPU.reset(token)


def uses_device_stream(tensor: torch.Tensor, distribution: str) -> bool:
    """Whether ``tensor``'s counter values are made by torch ops on its device: a tensor off
    the CPU (or any, inside ``device_stream_on_cpu``) and a distribution the stream draws
    (orthogonal needs a QR of the whole matrix and stays on the host).

    Example:
        >>> cpu = torch.empty(2, 2)
        >>> uses_device_stream(cpu, "normal"), uses_device_stream(cpu, "orthogonal")
        (False, False)
    """
    return distribution in _DEVICE_DISTRIBUTIONS and (tensor.device.type != "cpu" or _ON_CPU.get())


@overload
def sample_into(
    distribution: str,
    shape: tuple[int, ...],
    key: stream.StreamKey,
    *,
    scale: float,
    index: IndexLike = ...,
    dtype: DTypeLike = ...,
    out: torch.Tensor,
) -> torch.Tensor: ...


@overload
def sample_into(
    distribution: str,
    shape: tuple[int, ...],
    key: stream.StreamKey,
    *,
    scale: float,
    index: IndexLike = ...,
    dtype: DTypeLike = ...,
    out: NDArray[np.floating[Any]] | None = ...,
) -> NDArray[np.floating[Any]]: ...


def sample_into(
    distribution: str,
    shape: tuple[int, ...],
    key: stream.StreamKey,
    *,
    scale: float,
    index: IndexLike = None,
    dtype: DTypeLike = np.float32,
    out: NDArray[np.floating[Any]] | torch.Tensor | None = None,
) -> NDArray[np.floating[Any]] | torch.Tensor:
    """``kaiming.stream.sample``, or, when ``out`` is a torch tensor, the same values computed
    by torch ops on ``out``'s device and written into it (``dtype`` is then ``out``'s).

    Example:
        >>> k = stream.key(0, "w")
        >>> t = sample_into("normal", (3, 4), k, scale=1.0, out=torch.empty(3, 4))
        >>> bool(np.array_equal(t.numpy(), stream.sample("normal", (3, 4), k, dtype=np.float32)))
        True
    """
    if not isinstance(out, torch.Tensor):
        return stream.sample(distribution, shape, key, scale=scale, index=index, dtype=dtype, out=out)  # type: ignore[arg-type]
    with torch.no_grad():
        if out.is_contiguous():
            return sample_torch(distribution, shape, key, scale=scale, index=index, dtype=out.dtype, out=out)
        values = sample_torch(
            distribution, shape, key, scale=scale, index=index, dtype=out.dtype, device=out.device
        )
        out.copy_(values)  # device to device
    return out


def fill_keyed_(
    tensor: torch.Tensor,
    distribution: str,
    key: stream.StreamKey,
    scale: float,
    shape: tuple[int, ...] | None = None,
    index: IndexLike = None,
) -> torch.Tensor:
    """Write ``full[index]`` of the keyed tensor of ``shape`` (default: ``tensor``'s own shape)
    into ``tensor`` in place, element ``i`` being ``scale * x_i`` of ``distribution``.

    Off the CPU (or inside ``device_stream_on_cpu``) the values are made by torch ops on the
    tensor's device; on the CPU a float16/32/64 contiguous tensor is filled through a NumPy view
    of its memory, any other (bfloat16, strided) from the float32/float64 draw in one copy.

    Example:
        >>> k = stream.key(0, "w")
        >>> t = fill_keyed_(torch.empty(4, 3, dtype=torch.bfloat16), "uniform", k, 0.5)
        >>> ref = torch.from_numpy(stream.uniform((4, 3), k, limit=0.5, dtype=np.float32))
        >>> torch.equal(t, ref.to(torch.bfloat16))
        True
    """
    full = tuple(tensor.shape) if shape is None else shape
    with torch.no_grad():
        if uses_device_stream(tensor, distribution):
            return sample_into(distribution, full, key, scale=scale, index=index, out=tensor)
        if tensor.dtype in _NUMPY and tensor.is_contiguous():
            sample_into(
                distribution,
                full,
                key,
                scale=scale,
                index=index,
                dtype=_NUMPY[tensor.dtype],
                out=tensor.detach().numpy(),
            )
            return tensor
        work = np.float64 if tensor.dtype == torch.float64 else np.float32
        tensor.copy_(
            torch.from_numpy(sample_into(distribution, full, key, scale=scale, index=index, dtype=work))
        )
    return tensor
