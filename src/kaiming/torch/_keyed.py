"""The ``key=`` randomness of the in-place initializers (internal).

A call with ``key=kaiming.stream.key(seed, name)`` writes ``full[index]`` of the keyed tensor of
the global ``shape``: the whole tensor, or a DTensor's local shard alone. Values are made on the
tensor's own device (``_device_stream.fill_keyed_``: torch ops off the CPU, numba/NumPy on it)
and equal, bit for bit, the NumPy family's keyed draws of the same shape and dtype
(``kaiming.he_normal(shape, layout="torch", key=...)``, ``kaiming.normal(shape, mean, std,
key=...)``, ...). bfloat16, which NumPy lacks, is the float32 draw rounded once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .. import stream
from ._device_stream import fill_keyed_
from ._truncated import Uniforms

__all__ = ["Keyed"]

_LOW_PRECISION = (torch.float16, torch.bfloat16)
_NUMPY: dict[torch.dtype, Any] = {
    torch.float16: np.float16,
    torch.float32: np.float32,
    torch.float64: np.float64,
}
_BELOW_ONE = 1.0 - 2.0**-53
"""The largest float64 below 1: ``(v + 1) / 2`` of a stream uniform ``v`` near 1 can round to 1."""


@dataclass(frozen=True)
class Keyed:
    """A stream key, the global shape, and the part ``index`` of it that a call writes
    (``None``: the whole tensor; a DTensor's ``local_index`` otherwise)."""

    key: stream.StreamKey
    shape: tuple[int, ...]
    index: tuple[slice, ...] | None = None

    def fill_(self, target: torch.Tensor, distribution: str, scale: float) -> torch.Tensor:
        """``scale * x`` of the stream's ``distribution`` into ``target`` (``kaiming.stream.sample``)."""
        return fill_keyed_(target, distribution, self.key, scale, self.shape, self.index)

    def affine_(self, target: torch.Tensor, distribution: str, scale: float, shift: float) -> torch.Tensor:
        """``scale * x + shift`` computed in the working precision (float32, float64 for float64)
        and rounded once into ``target``, as ``kaiming.normal``/``kaiming.uniform`` do with a key."""
        work = torch.float32 if target.dtype in _LOW_PRECISION else target.dtype
        with torch.no_grad():
            if target.dtype == work:
                return self.fill_(target, distribution, scale).add_(shift)
            values = torch.empty(target.shape, dtype=work, device=target.device)
            return target.copy_(self.fill_(values, distribution, scale).add_(shift))

    def uniforms(self, part: tuple[int, ...], device: torch.device) -> Uniforms:
        """Float64 uniforms on (0, 1) for rows of the part of shape ``part``, made on ``device``
        from the stream's uniform ``v`` on (-1, 1) as ``(v + 1) / 2``."""
        whole = tuple(slice(0, n) for n in self.shape)
        base = whole if self.index is None else self.index

        def rows(start: int, stop: int) -> torch.Tensor:
            if not part:  # a 0-d tensor is one row
                index = None
                values = torch.empty((), dtype=torch.float64, device=device)
            else:
                first = base[0]
                index = (slice(first.start + start, first.start + stop), *base[1:])
                values = torch.empty((stop - start, *part[1:]), dtype=torch.float64, device=device)
            drawn = fill_keyed_(values, "uniform", self.key, 1.0, self.shape, index)
            return drawn.reshape(-1).add_(1.0).mul_(0.5).clamp_(max=_BELOW_ONE)

        return rows

    def host_(self, target: torch.Tensor, make: Callable[..., Any], *args: float) -> torch.Tensor:
        """``make(shape, *args, layout="torch", key=..., index=..., dtype=...)`` (the part
        ``index``) into ``target``, ``make`` being ``kaiming.orthogonal``,
        ``kaiming.delta_orthogonal`` or ``kaiming.sparse``: their QR, or each column's zeros,
        need the whole matrix, so it runs on the host (the QR in float64, as ``init_model``'s
        orthogonal rule does) and only the part is copied over."""
        dtype = _NUMPY.get(target.dtype, np.float32)
        values = make(self.shape, *args, layout="torch", key=self.key, index=self.index, dtype=dtype)
        with torch.no_grad():
            return target.copy_(torch.from_numpy(np.ascontiguousarray(values)))
