"""The counter stream in eager torch ops, on any device, bit-identical to NumPy.

Tested on the CPU; ``pytest -m cuda`` checks CUDA against the NumPy bits; MPS (no float64,
its own ``sqrt``) has not been checked.

Philox words are ``int64`` tensors holding values in ``[0, 2**32)`` (every torch device has
int64 arithmetic; uint32 support is partial), and each 32x32-bit product is built from two
16x32-bit products so nothing overflows int64. The float transforms are ``_xp``'s, one eager
op at a time: torch eager runs each op as its own kernel, so nothing is contracted into an
FMA and nothing is re-associated (``torch.compile`` is not used here). The one op that is not
correctly rounded on the CPU, ``sqrt``, is replaced there (``TorchOps.sqrt``).

Large draws are made in chunks of ``chunk`` values (a few MiB of temporaries: the tensor
itself is written once, each chunk's ~100 intermediate passes stay in cache). Importing this
module needs torch.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .._checks import check_choice, check_nonnegative, check_shape
from ._index import IndexLike, plan
from ._keys import StreamKey
from ._sample import STREAM_DISTRIBUTIONS
from ._transforms import values_per_block
from ._xp import block_values, lane_values, philox_rounds

__all__ = ["TorchOps", "default_chunk", "philox4x32_torch", "sample_torch"]

_MASK32 = 0xFFFFFFFF
_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


class TorchOps:
    """``_xp.Ops`` for torch (int64-held 32-bit words, eager ops)."""

    def where(self, cond: Any, a: Any, b: Any) -> Any:
        return torch.where(cond, a, b)

    def sqrt(self, x: Any) -> Any:
        """Correctly rounded square root. torch's CPU ``sqrt`` is not (it hands large tensors
        to MKL's vector math, which is off by one ulp in ~1-10 % of float32 and ~1 % of float64
        results here), so CPU tensors go through NumPy's IEEE ``sqrt`` on the same memory (no
        copy); CUDA's ``sqrt`` is IEEE (``-prec-sqrt=true``, torch builds without fast math)."""
        if x.device.type == "cpu":
            return torch.from_numpy(np.sqrt(x.numpy()))
        return torch.sqrt(x)

    def cast(self, x: Any, kind: str) -> Any:
        return x.to(getattr(torch, kind))

    def bitcast(self, x: Any, kind: str) -> Any:
        return x.view(getattr(torch, kind))

    def mulhilo(self, m: int, a: Any) -> tuple[Any, Any]:
        """``m * a`` as ``m * a_lo + (m * a_hi << 16)``: two products below ``2**48``."""
        low = (a & 0xFFFF) * m
        high = (a >> 16) * m
        mid = low + ((high & 0xFFFF) << 16)
        return (high >> 16) + (mid >> 32), mid & _MASK32

    def word(self, value: int) -> Any:
        return value

    def keep(self, x: Any) -> Any:
        return x  # eager: every op is rounded on its own


_OPS = TorchOps()


def philox4x32_torch(counter: Any, key: Any, rounds: int = 10) -> tuple[torch.Tensor, ...]:
    """Philox4x32 on int64 tensors (words in ``[0, 2**32)``): four counter words and two key
    words (ints or tensors) in, four words out.

    Example:
        >>> zero = torch.zeros(1, dtype=torch.int64)
        >>> [hex(int(w)) for w in philox4x32_torch([zero] * 4, [0, 0])]
        ['0x6627e8d5', '0xe169c58d', '0xbc57ac4c', '0x9b00dbd8']
    """
    c0, c1, c2, c3 = counter
    return philox_rounds(_OPS, c0, c1, c2, c3, key[0], key[1], rounds)


def default_chunk(device: torch.device) -> int:
    """Values per chunk: 2**16 on the CPU (the temporaries stay in L2), 2**22 elsewhere
    (enough work per kernel launch)."""
    return 1 << 16 if device.type == "cpu" else 1 << 22


def _words(blocks: torch.Tensor, key: tuple[int, int]) -> tuple[torch.Tensor, ...]:
    zero = torch.zeros_like(blocks)
    return philox_rounds(_OPS, blocks & _MASK32, blocks >> 32, zero, zero, key[0], key[1])


def _run_values(
    dist_key: tuple[str, str], first: int, size: int, key: tuple[int, int], device: torch.device
) -> torch.Tensor:
    """Values of flat indices ``first .. first + size - 1``, a block at a time."""
    per_block = values_per_block(dist_key)
    b0, lead = divmod(first, per_block)
    n_blocks = (lead + size - 1) // per_block + 1
    blocks = torch.arange(b0, b0 + n_blocks, dtype=torch.int64, device=device)
    values = torch.stack(block_values(_OPS, dist_key, _words(blocks, key)), dim=-1).reshape(-1)
    return values[lead : lead + size]


def _flat_values(dist_key: tuple[str, str], flat: torch.Tensor, key: tuple[int, int]) -> torch.Tensor:
    """Element-wise: the values at arbitrary flat indices (each from its own block)."""
    per_block = values_per_block(dist_key)
    sh = per_block.bit_length() - 1
    lane = flat & (per_block - 1)
    return lane_values(_OPS, dist_key, _words(flat >> sh, key), lane)  # type: ignore[no-any-return]


def _key_words(key: object) -> tuple[int, int]:
    if isinstance(key, StreamKey):
        return key.k0, key.k1
    if (
        isinstance(key, (tuple, list))
        and len(key) == 2
        and all(isinstance(w, (int, np.integer)) for w in key)
    ):
        k0, k1 = int(key[0]), int(key[1])
        if 0 <= k0 <= _MASK32 and 0 <= k1 <= _MASK32:
            return k0, k1
    raise TypeError(f"key must be a kaiming.stream.StreamKey or two ints in [0, 2**32), got {key!r}")


def sample_torch(
    distribution: str,
    shape: int | tuple[int, ...],
    key: StreamKey | tuple[int, int],
    *,
    scale: float = 1.0,
    index: IndexLike = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
    out: torch.Tensor | None = None,
    chunk: int | None = None,
) -> torch.Tensor:
    """``kaiming.stream.sample(distribution, shape, key, scale=scale, index=index, dtype=dtype)``
    computed by torch ops on ``device`` (or ``out``'s device), bit for bit.

    Element ``i`` of the full tensor is ``scale * x_i``, ``x_i`` a pure function of the key,
    ``i``, the distribution and the working precision (float32; float64 for float64). ``dtype``
    is float16, bfloat16, float32 or float64 (half precisions round the float32 value to
    nearest even, once). ``out`` (contiguous, the selection's shape and ``dtype``) is filled in
    place and returned. Work goes ``chunk`` values at a time (``default_chunk(device)``).

    Example:
        >>> import numpy as np
        >>> from kaiming import stream
        >>> k = stream.key(0, "w")
        >>> w = sample_torch("normal", (4, 6), k, scale=0.5, index=(slice(1, 3),))
        >>> ref = stream.sample("normal", (4, 6), k, scale=0.5, dtype=np.float32)[1:3]
        >>> bool(np.array_equal(w.numpy(), ref))
        True
    """
    distribution = check_choice("distribution", distribution, STREAM_DISTRIBUTIONS)
    dims = check_shape(shape)
    if math.prod(dims) >= 1 << 63:
        raise ValueError(f"shape {dims} is too large for the stream: fewer than 2**63 elements allowed")
    words = _key_words(key)
    scale = check_nonnegative("scale", scale)
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be one of float16, bfloat16, float32, float64, got {dtype}")
    selection = plan(dims, index)
    if out is not None:
        if not isinstance(out, torch.Tensor):
            raise TypeError(f"out must be a torch.Tensor, got {type(out).__name__}")
        if tuple(out.shape) != selection.shape or out.dtype != dtype or not out.is_contiguous():
            raise ValueError(
                f"out must be contiguous with the selection's shape {selection.shape} and dtype {dtype}, "
                f"got shape {tuple(out.shape)}, dtype {out.dtype}, contiguous={out.is_contiguous()}"
            )
        target = out
    else:
        target = torch.empty(selection.shape, dtype=dtype, device=device)
    if chunk is None:
        chunk = default_chunk(target.device)
    elif isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk must be a positive int, got {chunk!r}")
    work = "float64" if dtype == torch.float64 else "float32"
    dist_key = (distribution, work)
    w_scale = float(np.float64(scale)) if work == "float64" else float(np.float32(scale))
    flat_out = target.view(-1)
    with torch.no_grad():
        _fill(dist_key, selection.starts, selection.run, words, w_scale, flat_out, chunk)
    return target


def _fill(
    dist_key: tuple[str, str],
    starts: np.ndarray[Any, np.dtype[np.int64]],
    run: int,
    key: tuple[int, int],
    scale: float,
    flat_out: torch.Tensor,
    chunk: int,
) -> None:
    device = flat_out.device
    total = int(starts.size) * run
    if total == 0:
        return
    if run >= min(chunk, 4096) or starts.size == 1:  # long runs: a block at a time
        for j, s in enumerate(starts.tolist()):
            for a in range(0, run, chunk):
                n = min(chunk, run - a)
                values = _run_values(dist_key, s + a, n, key, device)
                flat_out[j * run + a : j * run + a + n] = values * scale
        return
    starts_t = torch.from_numpy(starts).to(device)  # the selection's run starts, not values
    for a in range(0, total, chunk):
        n = min(chunk, total - a)
        pos = torch.arange(a, a + n, dtype=torch.int64, device=device)
        flat = starts_t[pos // run] + pos % run
        flat_out[a : a + n] = _flat_values(dist_key, flat, key) * scale
