"""Orthogonal initialization as jax arrays (internal module; ``kaiming.jax.orthogonal``).

The QR of the stream's Gaussian matrix runs on the host in float64, as ``kaiming.orthogonal``
computes it (and ``kaiming.torch.orthogonal_`` with a key), through ``jax.pure_callback``: the
values are the NumPy function's bit for bit, eagerly and under ``jax.jit``/``vmap``, and a
traced JAX key works. The arguments are checked before the callback, so a bad one raises its
``ValueError``/``TypeError`` where the call is written.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import check_array_request, check_choice, check_nonnegative
from ..fans import LAYOUTS, Layout
from ..stream import IndexLike, StreamKey
from ..stream._index import check_index
from ..stream._jax_path import check_x64
from ..structured import _QR_BYTES, _gain_fits
from ..structured import orthogonal as numpy_orthogonal
from ._arrays import _dtype, stream_words

__all__ = ["orthogonal"]


def orthogonal(
    shape: int | tuple[int, ...],
    gain: float = 1.0,
    *,
    key: Any,
    layout: Layout = "jax",
    index: IndexLike = None,
    dtype: Any = jnp.float32,
) -> jax.Array:
    """``kaiming.orthogonal``: a (semi-)orthogonal matrix times ``gain``, as a jax array.

    The matrix is ``(prod(shape[:-1]), shape[-1])`` in the jax layout (columns are the output
    units, as ``jax.nn.initializers.orthogonal`` with ``column_axis=-1``), ``(shape[0],
    prod(shape[1:]))`` with ``layout="torch"``; its rows (if no more rows than columns) or
    columns are orthonormal, times ``gain``. Drawn from the stream of ``key`` (a
    ``kaiming.stream.StreamKey`` or a JAX PRNG key, possibly traced) and computed on the host:
    ``kaiming.orthogonal(shape, gain, layout=layout, key=..., dtype=dtype)`` bit for bit
    (bfloat16: its float32 values rounded once). ``index`` returns ``full[index]``.

    Example:
        >>> import numpy as np, kaiming
        >>> k = kaiming.stream.key(0, "w")
        >>> w = orthogonal((64, 32), key=k)
        >>> bool(np.allclose(np.asarray(w).T @ np.asarray(w), np.eye(32), atol=1e-5))
        True
        >>> bool(np.array_equal(np.asarray(w), kaiming.orthogonal((64, 32), key=k, dtype=np.float32)))
        True
    """
    name = _dtype(dtype)
    check_x64(name)
    host_dtype = np.dtype(np.float32 if name == "bfloat16" else name)
    dims, _ = check_array_request(shape, host_dtype, 2, _QR_BYTES + host_dtype.itemsize)
    layout = check_choice("layout", layout, LAYOUTS)
    gain = _gain_fits(check_nonnegative("gain", gain), jnp.dtype(name), random=True)
    part = check_index(dims, index)
    words = stream_words(key)

    def host(key_words: Any) -> Any:
        k0, k1 = (int(w) for w in np.asarray(key_words))
        values = numpy_orthogonal(
            dims, gain, layout=layout, key=StreamKey(k0, k1), index=index, dtype=host_dtype
        )
        return np.ascontiguousarray(values)

    result = jax.ShapeDtypeStruct(part, host_dtype)  # type: ignore[no-untyped-call]
    values: jax.Array = jax.pure_callback(host, result, words, vmap_method="sequential")
    return values.astype(name)
