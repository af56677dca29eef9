"""Initializers that are not variance scaling: orthogonal, delta-orthogonal, identity/Dirac,
constant, and sparse.

Layouts as everywhere: ``"jax"`` is ``(*kernel, in, out)``, ``"torch"`` is ``(out, in, *kernel)``.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import DTypeLike, NDArray

from ._checks import (
    check_array_request,
    check_choice,
    check_dtype,
    check_finite_result,
    check_fraction,
    check_nonnegative,
    check_positive_int,
    check_real,
    check_representable,
    check_size_fits,
    overflow_possible,
)
from ._random import SeedLike, resolve_rng
from .fans import LAYOUTS, Layout
from .stream import IndexLike, StreamKey, check_keyed, sample, select
from .stream._index import check_index

__all__ = [
    "constant",
    "delta_orthogonal",
    "dirac",
    "identity",
    "ones",
    "orthogonal",
    "sparse",
    "zeros",
]

Array = NDArray[np.floating]


_QR_BYTES = 42
"""Peak memory per element of a float64 QR (measured): the Gaussian matrix, LAPACK's copy, Q and
its scaled copy, plus R when the matrix is square."""


def _setup(
    shape: object, dtype: object, layout: object, min_rank: int, bytes_per_element: float | None = None
) -> tuple[tuple[int, ...], np.dtype[np.floating], Layout]:
    dims, out_dtype = check_array_request(shape, dtype, min_rank, bytes_per_element)
    return dims, out_dtype, check_choice("layout", layout, LAYOUTS)


def _gain_fits(gain: object, dtype: np.dtype[np.floating], *, random: bool = False) -> float:
    """``gain`` as a float whose values (at most ``|gain|``) fit in ``dtype``; for ``random``
    (orthogonal) values, a nonzero gain also at least the smallest normal number, as
    ``kaiming.torch.orthogonal_`` requires."""
    value = check_real("gain", gain)
    check_representable("gain", value, dtype, abs(value), random=random)
    return value


def _orthogonal_matrix(gen: np.random.Generator | StreamKey, rows: int, cols: int) -> NDArray[np.float64]:
    """A ``rows x cols`` matrix with orthonormal rows (rows <= cols) or columns (rows >= cols).

    QR of a Gaussian matrix (from a NumPy generator or a stream key), with the signs of R's
    diagonal folded into Q so that Q is Haar-distributed (Mezzadri, 2007).
    """
    flip = rows < cols
    size = (cols, rows) if flip else (rows, cols)
    gaussian = sample("normal", size, gen) if isinstance(gen, StreamKey) else gen.standard_normal(size)
    q, r = np.linalg.qr(gaussian)
    q *= np.where(np.diag(r) < 0, -1.0, 1.0)
    return q.T if flip else q


def orthogonal(
    shape: int | tuple[int, ...],
    gain: float = 1.0,
    *,
    layout: Layout = "jax",
    seed: SeedLike = None,
    rng: np.random.Generator | None = None,
    key: StreamKey | None = None,
    index: IndexLike = None,
    dtype: DTypeLike = np.float64,
) -> Array:
    """A (semi-)orthogonal matrix times ``gain`` (Saxe et al., 2014), reshaped to ``shape``.

    The tensor is viewed as a matrix ``M`` with one row per *input* position and one column per
    output unit: ``jax`` layout ``(prod(shape[:-1]), shape[-1])``, ``torch`` layout
    ``(shape[0], prod(shape[1:]))`` with rows = output units, as ``torch.nn.init.orthogonal_``
    flattens. Then ``M @ M.T == gain**2 I`` when ``M`` has fewer rows than columns and
    ``M.T @ M == gain**2 I`` otherwise.

    With ``key`` (a ``kaiming.stream.StreamKey``) the Gaussian matrix comes from the counter
    stream, so the result is the same in every process. QR needs the whole matrix, so
    ``index`` computes the full result and returns ``full[index]`` (memory and time of the
    full tensor, unlike the variance-scaling family).

    Example:
        >>> w = orthogonal((64, 32), seed=0)
        >>> bool(np.allclose(w.T @ w, np.eye(32)))
        True
    """
    out_dtype = check_dtype(dtype)
    dims, out_dtype, layout = _setup(shape, dtype, layout, 2, _QR_BYTES + out_dtype.itemsize)
    gain = _gain_fits(check_nonnegative("gain", gain), out_dtype, random=True)
    gen = _source(key, index, seed, rng)
    if index is not None:
        check_index(dims, index)  # before the (possibly long) QR
    if layout == "jax":
        rows, cols = math.prod(dims[:-1]), dims[-1]
    else:
        rows, cols = dims[0], math.prod(dims[1:])
    matrix = _orthogonal_matrix(gen, rows, cols) * gain
    return _part(matrix.reshape(dims).astype(out_dtype, copy=False), index)


def _source(key: object, index: object, seed: object, rng: object) -> np.random.Generator | StreamKey:
    """The stream key when one is given, else the NumPy generator of ``seed``/``rng``."""
    if check_keyed(key, index, seed, rng) and isinstance(key, StreamKey):
        return key
    return resolve_rng(seed, rng)


def _part(full: Array, index: object) -> Array:
    return full if index is None else select(full, index)


def _center(kernel: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(k // 2 for k in kernel)


def _conv_axes(dims: tuple[int, ...], layout: Layout) -> tuple[tuple[int, ...], int, int]:
    """``(kernel, in_channels, out_channels)`` of a conv kernel shape."""
    if layout == "jax":
        return dims[:-2], dims[-2], dims[-1]
    return dims[2:], dims[1], dims[0]


def delta_orthogonal(
    shape: tuple[int, ...],
    gain: float = 1.0,
    *,
    layout: Layout = "jax",
    seed: SeedLike = None,
    rng: np.random.Generator | None = None,
    key: StreamKey | None = None,
    index: IndexLike = None,
    dtype: DTypeLike = np.float64,
) -> Array:
    """Delta-orthogonal conv kernel (Xiao et al., 2018): zero everywhere but the spatial centre,
    which holds an orthogonal ``in x out`` matrix times ``gain``.

    ``shape`` is a conv kernel of rank 3 to 5 (1-D to 3-D convolution): ``(*kernel, in, out)``
    in the jax layout, ``(out, in, *kernel)`` in the torch layout, with ``in <= out`` so that the
    centre matrix has orthonormal rows (``in`` of them) and the convolution is norm-preserving.
    ``key``/``index`` as for ``orthogonal``.

    Example:
        >>> w = delta_orthogonal((3, 3, 16, 32), seed=0)
        >>> bool(np.allclose(w[1, 1] @ w[1, 1].T, np.eye(16))), float(abs(w[0, 0]).max())
        (True, 0.0)
    """
    dims, out_dtype, layout = _setup(shape, dtype, layout, min_rank=3)
    if len(dims) > 5:
        raise ValueError(f"shape must have 3 to 5 dims (a 1-D to 3-D conv kernel), got {dims}")
    gain = _gain_fits(check_nonnegative("gain", gain), out_dtype, random=True)
    kernel, n_in, n_out = _conv_axes(dims, layout)
    if n_in > n_out:
        raise ValueError(
            f"delta_orthogonal needs in_channels <= out_channels, got in={n_in}, out={n_out} "
            f"for shape {dims} in the {layout} layout"
        )
    check_size_fits(
        dims, out_dtype, bytes_per_element=out_dtype.itemsize * 2 + _QR_BYTES * n_in * n_out / math.prod(dims)
    )
    gen = _source(key, index, seed, rng)
    if index is not None:
        check_index(dims, index)
    centre = _orthogonal_matrix(gen, n_in, n_out) * gain
    out = np.zeros(dims, dtype=out_dtype)
    if layout == "jax":
        out[_center(kernel)] = centre
    else:
        torch_index: tuple[int | slice, ...] = (slice(None), slice(None), *_center(kernel))
        out[torch_index] = centre.T
    return _part(out, index)


def identity(
    shape: int | tuple[int, ...],
    gain: float = 1.0,
    *,
    dtype: DTypeLike = np.float64,
) -> Array:
    """``gain`` times the identity matrix of a 2-D ``shape`` (rectangular: ones on the diagonal).

    The layout does not matter: ``eye(n, m)`` and its transpose have the same diagonal.

    Example:
        >>> identity((3, 3), gain=2.0)[1]
        array([0., 2., 0.])
    """
    out_dtype = check_dtype(dtype)
    dims, out_dtype, _ = _setup(shape, dtype, "jax", 2, 2 * out_dtype.itemsize)
    if len(dims) != 2:
        raise ValueError(f"identity needs a 2-D shape, got {dims}; for conv kernels use dirac")
    gain = _gain_fits(gain, out_dtype)
    eye: Array = np.eye(*dims, dtype=out_dtype) * out_dtype.type(gain)
    return eye


def dirac(
    shape: tuple[int, ...],
    groups: int = 1,
    gain: float = 1.0,
    *,
    layout: Layout = "jax",
    dtype: DTypeLike = np.float64,
) -> Array:
    """Dirac delta conv kernel: the convolution passes channels through, times ``gain``.

    For each of ``groups`` groups and each ``d < min(out_per_group, in)``, the centre tap that
    connects input channel ``d`` to output channel ``g * out_per_group + d`` is ``gain``
    (``torch.nn.init.dirac_`` semantics). ``shape`` has rank 3 to 5.

    Example:
        >>> w = dirac((4, 4, 3), layout="torch")
        >>> w[:, :, 1]
        array([[1., 0., 0., 0.],
               [0., 1., 0., 0.],
               [0., 0., 1., 0.],
               [0., 0., 0., 1.]])
    """
    dims, out_dtype, layout = _setup(shape, dtype, layout, min_rank=3)
    if len(dims) > 5:
        raise ValueError(f"shape must have 3 to 5 dims (a 1-D to 3-D conv kernel), got {dims}")
    groups = check_positive_int("groups", groups)
    gain = _gain_fits(gain, out_dtype)
    kernel, n_in, n_out = _conv_axes(dims, layout)
    if n_out % groups:
        raise ValueError(f"out channels ({n_out}) must be divisible by groups ({groups})")
    per_group = n_out // groups
    out = np.zeros(dims, dtype=out_dtype)
    centre = _center(kernel)
    for g in range(groups):
        for d in range(min(per_group, n_in)):
            unit = g * per_group + d
            index = (*centre, d, unit) if layout == "jax" else (unit, d, *centre)
            out[index] = gain
    return out


def constant(shape: int | tuple[int, ...], value: float, *, dtype: DTypeLike = np.float64) -> Array:
    """An array of ``shape`` filled with ``value``.

    Example:
        >>> constant((2, 2), 0.5)
        array([[0.5, 0.5],
               [0.5, 0.5]])
    """
    dims, out_dtype = check_array_request(shape, dtype)
    fill = check_real("value", value)
    check_representable("value", fill, out_dtype, abs(fill), random=False)
    filled: Array = np.full(dims, fill, dtype=out_dtype)
    return filled


def zeros(shape: int | tuple[int, ...], *, dtype: DTypeLike = np.float64) -> Array:
    """``constant(shape, 0.0)``.

    Example:
        >>> zeros(3)
        array([0., 0., 0.])
    """
    return constant(shape, 0.0, dtype=dtype)


def ones(shape: int | tuple[int, ...], *, dtype: DTypeLike = np.float64) -> Array:
    """``constant(shape, 1.0)``.

    Example:
        >>> ones(2)
        array([1., 1.])
    """
    return constant(shape, 1.0, dtype=dtype)


def sparse(
    shape: tuple[int, int],
    sparsity: float,
    std: float = 0.01,
    *,
    layout: Layout = "jax",
    seed: SeedLike = None,
    rng: np.random.Generator | None = None,
    key: StreamKey | None = None,
    index: IndexLike = None,
    dtype: DTypeLike = np.float64,
) -> Array:
    """Sparse init (Martens, 2010): ``N(0, std**2)`` with ``ceil(sparsity * shape[0])`` entries
    of each column set to zero, at random rows.

    ``shape`` is 2-D. In the jax layout ``(in, out)`` a column is an output unit, so each unit
    has ``ceil(sparsity * fan_in)`` of its incoming weights zero (Martens' rule). In the torch
    layout ``(out, in)`` this is exactly ``torch.nn.init.sparse_`` (and
    ``kaiming.torch.sparse_``): ``ceil(sparsity * out)`` entries of each *column* — of each
    input's outgoing weights — are zero, torch's rule, kept so that the two agree.
    ``sparsity`` is in ``[0, 1)``.

    With ``key=`` (a ``kaiming.stream`` key) the values come from its counter stream: the
    normal values are ``kaiming.normal(shape, 0.0, std, key=key, dtype=dtype)``'s (float32
    arithmetic for float16/float32), and the zero rows of each column are the first
    ``ceil(sparsity * shape[0])`` of a stable argsort of the float64 uniforms of
    ``key.child("sparse mask")``. ``index`` then returns ``full[index]``: the whole array is
    computed, since each column's zeros depend on the whole column.

    Example:
        >>> w = sparse((10, 4), sparsity=0.3, seed=0)
        >>> (w == 0).sum(axis=0)                 # 3 of 10 inputs zero per output unit
        array([3, 3, 3, 3])
        >>> t = sparse((10, 4), sparsity=0.3, layout="torch", seed=0)   # (out, in), torch's rule
        >>> (t == 0).sum(axis=0)                 # 3 of 10 outputs zero per input column
        array([3, 3, 3, 3])
    """
    out_dtype = check_dtype(dtype)
    # peak (measured): float64 values, uniform keys, their int64 argsort, the cast result
    dims, out_dtype, layout = _setup(shape, dtype, layout, 2, 24 + out_dtype.itemsize)
    if len(dims) != 2:
        raise ValueError(f"sparse needs a 2-D shape, got {dims}")
    sparsity = check_fraction("sparsity", sparsity)
    std = check_nonnegative("std", std)
    check_representable("std", std, out_dtype, std)
    gen = _source(key, index, seed, rng)
    if index is not None:
        check_index(dims, index)
    rows, cols = dims
    n_zero = math.ceil(sparsity * rows)
    zero_rows = None
    if isinstance(gen, StreamKey):
        work = np.dtype(np.float64) if out_dtype == np.float64 else np.dtype(np.float32)
        values = sample("normal", dims, gen, scale=std, dtype=work)
        if n_zero:
            mask_keys = sample("uniform", dims, gen.child("sparse mask"), dtype=np.float64)
            zero_rows = np.argsort(mask_keys, axis=0, kind="stable")[:n_zero]
    else:
        values = gen.standard_normal((rows, cols)) * std
        if n_zero:
            zero_rows = np.argsort(gen.random((rows, cols)), axis=0)[:n_zero]
    if zero_rows is not None:
        np.put_along_axis(values, zero_rows, 0.0, axis=0)
    with np.errstate(over="ignore"):  # an overflow is refused just below
        result = values.astype(out_dtype, copy=False)
    if overflow_possible(std, out_dtype):
        check_finite_result(result, "std", std)
    return _part(result, index)
