"""Which flat indices of a C-ordered tensor an ``index=`` selects, as equal-length runs.

A selection ``full[index]`` (basic NumPy indexing: ints, slices with any step, one Ellipsis)
is described by the flat start of each contiguous run and the common run length, in the
C order of the result. Rows ``a:b`` of a matrix are one run; columns ``c:d`` are one run per
row. Nothing proportional to the full tensor is ever allocated.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from types import EllipsisType
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import NDArray

__all__ = ["IndexLike", "Pieces", "Selection", "check_index", "plan", "select"]

IndexEntry: TypeAlias = "int | slice | EllipsisType"
IndexLike: TypeAlias = "int | slice | EllipsisType | tuple[int | slice | EllipsisType, ...] | None"

Pieces: TypeAlias = "tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]"
"""``(starts, lengths, out_offsets)`` of the pieces a selection is cut into."""

PIECE = 1 << 15
"""Runs are cut into pieces of at most this many elements (the unit of parallel work)."""


@dataclass(frozen=True)
class Selection:
    """``shape`` of the result; ``starts[j]`` is the flat index where run ``j`` begins."""

    shape: tuple[int, ...]
    starts: NDArray[np.int64]
    run: int

    @property
    def size(self) -> int:
        return int(self.starts.size) * self.run

    def pieces(self) -> Pieces:
        """``(starts, lengths, out_offsets)`` of pieces of <= ``PIECE`` elements, in order."""
        cuts = np.arange(0, self.run, PIECE, dtype=np.int64)
        starts = (self.starts[:, None] + cuts[None, :]).ravel()
        lengths = np.broadcast_to(np.minimum(PIECE, self.run - cuts), (self.starts.size, cuts.size)).ravel()
        offsets = (np.arange(self.starts.size, dtype=np.int64)[:, None] * self.run + cuts[None, :]).ravel()
        return starts, np.ascontiguousarray(lengths), offsets


def _entries(ndim: int, index: object) -> list[object]:
    if index is None:
        entries: list[object] = []
    elif isinstance(index, tuple):
        entries = list(index)
    else:
        entries = [index]
    n_ellipsis = sum(entry is Ellipsis for entry in entries)
    if n_ellipsis > 1:
        raise ValueError(f"index may contain at most one Ellipsis (...), got {index!r}")
    if len(entries) - n_ellipsis > ndim:
        raise ValueError(f"index {index!r} has more entries than the shape has dimensions ({ndim})")
    fill = [slice(None)] * (ndim - len(entries) + n_ellipsis)
    if n_ellipsis:
        at = next(i for i, entry in enumerate(entries) if entry is Ellipsis)
        return entries[:at] + fill + entries[at + 1 :]
    return entries + fill


def _axis(entry: object, dim: int, axis: int, index: object) -> tuple[int, int, int, bool]:
    """``(start, step, count, kept)`` of one index entry on an axis of size ``dim``."""
    if isinstance(entry, slice):
        try:
            start, stop, step = entry.indices(dim)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"index {index!r}: bad slice {entry!r} for axis {axis}: {exc}") from None
        return start, step, len(range(start, stop, step)), True
    if isinstance(entry, (bool, np.bool_)) or not isinstance(entry, numbers.Integral):
        raise TypeError(
            f"index entries must be ints, slices or one Ellipsis, got {entry!r} in index {index!r}"
        )
    i = int(entry)
    if not -dim <= i < dim:
        raise ValueError(f"index {index!r}: {i} is out of range for axis {axis} of size {dim}")
    return i % dim, 1, 1, False


def plan(shape: tuple[int, ...], index: object) -> Selection:
    """The runs of flat indices that ``full[index]`` selects from a tensor of ``shape``."""
    axes = [
        _axis(e, d, a, index) for a, (e, d) in enumerate(zip(_entries(len(shape), index), shape, strict=True))
    ]
    out_shape = tuple(count for _, _, count, kept in axes if kept)
    if any(count == 0 for _, _, count, _ in axes):  # nothing selected: no runs
        return Selection(out_shape, np.zeros(0, dtype=np.int64), 0)
    strides = [math.prod(shape[a + 1 :]) for a in range(len(shape))]
    j = len(shape) - 1
    while j >= 0 and axes[j][:3] == (0, 1, shape[j]):
        j -= 1
    if j < 0:  # the whole tensor: one run
        return Selection(out_shape, np.zeros(1, dtype=np.int64), math.prod(shape))
    start_j, step_j, count_j, _ = axes[j]
    tail = math.prod(shape[j + 1 :])
    if step_j == 1 or count_j == 1:
        run, outer, base = count_j * tail, j, start_j * strides[j]
    else:
        run, outer, base = tail, j + 1, 0
    starts = np.full(1, base, dtype=np.int64)
    for a in range(outer):
        start, step, count, _ = axes[a]
        offsets = (start + step * np.arange(count, dtype=np.int64)) * strides[a]
        starts = np.add.outer(starts, offsets).ravel()
    return Selection(out_shape, starts, run)


def check_index(shape: tuple[int, ...], index: object) -> tuple[int, ...]:
    """Validate ``index`` for a tensor of ``shape`` as ``plan`` does, allocating nothing; return
    the shape of ``full[index]``."""
    axes = [
        _axis(e, d, a, index) for a, (e, d) in enumerate(zip(_entries(len(shape), index), shape, strict=True))
    ]
    return tuple(count for _, _, count, kept in axes if kept)


def select(full: NDArray[np.floating], index: object) -> NDArray[np.floating]:
    """``full[index]`` after validating ``index`` as ``plan`` does (for initializers that need
    the whole tensor, such as orthogonal)."""
    plan(full.shape, index)  # validates, with this module's messages
    entries: Any = tuple(_entries(full.ndim, index))
    result: NDArray[np.floating] = np.array(full[entries], copy=True)
    return result
