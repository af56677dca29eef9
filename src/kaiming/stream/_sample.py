"""Draw (a part of) a tensor from a counter-based stream: the public sampling functions."""

from __future__ import annotations

import importlib
import math
from types import ModuleType
from typing import Any, Literal

import numpy as np
from numpy.typing import DTypeLike, NDArray

from .. import _checks
from .._checks import (
    check_choice,
    check_dtype,
    check_finite_result,
    check_nonnegative,
    check_representable,
    check_shape,
    overflow_possible,
)
from . import _numpy_path
from ._index import IndexLike, check_index, plan
from ._keys import StreamKey
from ._memory import peak_bytes_per_value

__all__ = ["BACKENDS", "STREAM_DISTRIBUTIONS", "Backend", "check_keyed", "fast_path_available", "sample"]

StreamDistribution = Literal["normal", "uniform", "truncated_normal"]
STREAM_DISTRIBUTIONS: tuple[StreamDistribution, ...] = ("normal", "uniform", "truncated_normal")
Backend = Literal["auto", "numpy", "numba"]
BACKENDS: tuple[Backend, ...] = ("auto", "numpy", "numba")

AUTO_NUMBA_MIN = 1 << 18
"""With ``backend="auto"``, draws of at least this many values use numba when it is installed
(smaller ones are not worth the one-off compilation). The bits are the same either way."""

_fast: list[ModuleType | None] = []


def _numba_module() -> ModuleType | None:
    if not _fast:
        try:
            _fast.append(importlib.import_module("kaiming.stream._numba_path"))
        except ImportError:
            _fast.append(None)
    return _fast[0]


def fast_path_available() -> bool:
    """Whether the numba fast path can be used (numba is installed: ``kaiming[fast]``).

    Example:
        >>> isinstance(fast_path_available(), bool)
        True
    """
    return _numba_module() is not None


def check_keyed(key: object, index: object, seed: object = None, rng: object = None) -> bool:
    """Whether an initializer call uses the stream (``key`` given); refuses mixed arguments.

    Example:
        >>> check_keyed(None, None, seed=0)
        False
    """
    if key is None:
        if index is not None:
            raise ValueError(f"index= selects part of a keyed tensor: pass key= too (index={index!r})")
        return False
    if not isinstance(key, StreamKey):
        raise TypeError(f"key must be a kaiming.stream.StreamKey (from kaiming.stream.key), got {key!r}")
    if seed is not None or rng is not None:
        raise ValueError("pass either key (counter-based stream) or seed/rng (NumPy generator), not both")
    return True


def sample(
    distribution: StreamDistribution,
    shape: int | tuple[int, ...],
    key: StreamKey,
    *,
    scale: float = 1.0,
    index: IndexLike = None,
    dtype: DTypeLike = np.float64,
    backend: Backend = "auto",
    out: NDArray[np.floating[Any]] | None = None,
) -> NDArray[np.floating[Any]]:
    """``full[index]`` of the tensor of ``shape`` whose flat element ``i`` is ``scale * x_i``.

    ``x_i`` depends only on ``key``, ``i``, ``distribution`` and the working precision
    (float32 for ``dtype`` float16/float32, float64 for float64):

    - ``"normal"``: N(0, 1) by Box-Muller;
    - ``"uniform"``: U(-1, 1) (never exactly 0 or +-1);
    - ``"truncated_normal"``: N(0, 1) restricted to [-2, 2], by the inverse CDF.

    Only the selected elements (and the Philox blocks they share) are computed, so a shard
    costs its own size. ``backend`` picks the NumPy reference path, the numba fast path, or
    (``"auto"``) numba for large draws when installed: the bits are identical. ``out``, a
    C-contiguous writeable array of the result's shape and ``dtype``, receives the values in
    place (no new memory) and is returned.

    Example:
        >>> from kaiming.stream import key
        >>> full = sample("normal", (4, 6), key(0, "w"))
        >>> part = sample("normal", (4, 6), key(0, "w"), index=(slice(1, 3), slice(None, None, 2)))
        >>> bool(np.array_equal(part, full[1:3, ::2]))
        True

    Raises:
        TypeError / ValueError: bad distribution, shape, key, scale, dtype, index or backend;
            ImportError for ``backend="numba"`` without numba.
    """
    distribution = check_choice("distribution", distribution, STREAM_DISTRIBUTIONS)
    dims = check_shape(shape)
    if not isinstance(key, StreamKey):
        raise TypeError(f"key must be a kaiming.stream.StreamKey (from kaiming.stream.key), got {key!r}")
    out_dtype = check_dtype(dtype)
    scale = check_nonnegative("scale", scale)
    backend = check_choice("backend", backend, BACKENDS)
    work = np.dtype(np.float64) if out_dtype == np.float64 else np.dtype(np.float32)
    dist_key = (distribution, work.name)
    # each value: the work array, the cast result when the dtype differs, and the share of the
    # run table and of a group's temporaries (``_memory``); first as if the selection were one run,
    # so that an absurd size is refused before its run table is built
    result_bytes = work.itemsize + (0 if out_dtype == work or out is not None else out_dtype.itemsize)
    part = check_index(dims, index)
    size = math.prod(part)
    what = f"shape={dims}" if index is None else f"index={index!r} of shape={dims} (a {part} result)"
    what += f" as {out_dtype.name}"
    _checks.check_memory(size * peak_bytes_per_value(dist_key, result_bytes, size, size), what)
    selection = plan(dims, index)
    _checks.check_memory(size * peak_bytes_per_value(dist_key, result_bytes, size, selection.run), what)
    check_representable(
        "scale", scale, out_dtype, scale * (2.0 if distribution == "truncated_normal" else 1.0)
    )
    target = _check_out(out, selection.shape, out_dtype)
    in_place = target is not None and out_dtype == work
    flat = target.reshape(-1) if target is not None and in_place else np.empty(selection.size, work)
    pieces = selection.pieces()
    fast = _numba_module() if backend != "numpy" else None
    if backend == "numba" and fast is None:
        raise ImportError('backend="numba" needs numba: pip install "kaiming[fast]"')
    with np.errstate(over="ignore"):  # an overflow is refused just below
        if fast is not None and (backend == "numba" or selection.size >= AUTO_NUMBA_MIN):
            fast.fill(dist_key, key.words, pieces, work.type(scale), flat)
        else:
            _numpy_path.fill(dist_key, key.words, pieces, work.type(scale), flat)
    if distribution == "normal" and overflow_possible(scale, out_dtype):
        with np.errstate(over="ignore"):
            check_finite_result(flat.astype(out_dtype, copy=False), "scale", scale)
    if target is None:
        return flat.reshape(selection.shape).astype(out_dtype, copy=False)
    if not in_place:
        target[...] = flat.reshape(selection.shape)
    return target


def _check_out(
    out: object, shape: tuple[int, ...], dtype: np.dtype[np.floating[Any]]
) -> NDArray[np.floating[Any]] | None:
    if out is None:
        return None
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy.ndarray, got {type(out).__name__}")
    if out.shape != shape or out.dtype != dtype:
        raise ValueError(
            f"out must have the result's shape {shape} and dtype {dtype.name}, "
            f"got shape {out.shape} and dtype {out.dtype.name}"
        )
    if not (out.flags.c_contiguous and out.flags.writeable):
        raise ValueError("out must be C-contiguous and writeable")
    return out
