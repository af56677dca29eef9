"""The fast path: the same Philox and transform code compiled by numba, parallel over pieces.

Importing this module needs numba (``pip install kaiming[fast]``). It registers the shared
functions of ``_philox`` and ``_transforms`` as jit-callable and gives ``sel`` a scalar
implementation; the results are bit-identical to the NumPy path by construction (same
IEEE-exact operations in the same order) and by test. Kernels are compiled on first use and
cached on disk by numba.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numba
import numpy as np
from numba.core.errors import NumbaIRAssumptionWarning
from numba.extending import overload, register_jitable
from numpy.typing import NDArray

from . import _philox, _transforms
from ._index import Pieces

__all__ = ["fill"]

# error_model="numpy" everywhere: no zero-division branches, which would block SIMD.


def _sel_scalar(cond: Any, a: Any, b: Any) -> Callable[[Any, Any, Any], Any]:
    def impl(cond: Any, a: Any, b: Any) -> Any:
        return a if cond else b

    return impl


overload(_transforms.sel, jit_options={"error_model": "numpy"})(_sel_scalar)
for _small in _transforms.SMALL:
    register_jitable(error_model="numpy")(_small)
# Inlined at numba's IR level, so that LLVM sees one straight-line loop body it can vectorize.
_BIG: tuple[Callable[..., Any], ...] = (_philox.philox4x32_rounds, _philox.block_words, *_transforms.INLINE)
for _big in _BIG:
    register_jitable(inline="always", error_model="numpy")(_big)

_U64 = np.uint64
_block_words = _philox.block_words


def _source_stamp() -> int:
    """A hash of the shared sources, referenced by every cached kernel: numba keys its disk
    cache on a closure's variables, so editing ``_philox``/``_transforms`` recompiles."""
    digest = hashlib.blake2b(digest_size=7)
    for module in (_philox, _transforms):
        digest.update(inspect.getsource(module).encode())
    return int.from_bytes(digest.digest(), "little")


_STAMP = _source_stamp()


def _apply_1_1(fn: Any) -> Any:
    stamp = _STAMP

    def apply(words, values):  # type: ignore[no-untyped-def]
        if stamp < 0:
            return
        for m in range(values.size):
            values[m] = fn(words[m])

    return apply


def _apply_2_1(fn: Any) -> Any:
    stamp = _STAMP

    def apply(words, values):  # type: ignore[no-untyped-def]
        if stamp < 0:
            return
        for m in range(values.size):
            values[m] = fn(words[2 * m], words[2 * m + 1])

    return apply


def _apply_2_2(fn: Any) -> Any:
    stamp = _STAMP

    def apply(words, values):  # type: ignore[no-untyped-def]
        if stamp < 0:
            return
        for m in range(values.size // 2):
            values[2 * m], values[2 * m + 1] = fn(words[2 * m], words[2 * m + 1])

    return apply


def _apply_4_2(fn: Any) -> Any:
    stamp = _STAMP

    def apply(words, values):  # type: ignore[no-untyped-def]
        if stamp < 0:
            return
        for m in range(values.size // 2):
            values[2 * m], values[2 * m + 1] = fn(
                words[4 * m], words[4 * m + 1], words[4 * m + 2], words[4 * m + 3]
            )

    return apply


_APPLY = {(1, 1): _apply_1_1, (2, 1): _apply_2_1, (2, 2): _apply_2_2, (4, 2): _apply_4_2}


def _make_words() -> Any:
    stamp = _STAMP

    def words_of(k0, k1, first, words):  # type: ignore[no-untyped-def]
        if stamp < 0:
            return
        for i in range(words.size // 4):
            words[4 * i], words[4 * i + 1], words[4 * i + 2], words[4 * i + 3] = _block_words(
                _U64(first + i), k0, k1
            )

    return words_of


# Plain functions inlined into each kernel (not dispatchers): numba keys a cached closure on its
# variables' pickled values, and a dispatcher pickles differently in every process, which made
# every process miss the disk cache, compile for seconds and add an entry to it.
_words_of = register_jitable(inline="always", error_model="numpy")(_make_words())
_words_jit = numba.njit(cache=True, error_model="numpy")(_words_of)  # alone, for benchmarks


def _make_kernel(dist_key: tuple[str, str]) -> Any:
    fn, n_words, n_values = _transforms.GROUP_FUNCTIONS[dist_key]
    apply = register_jitable(inline="always", error_model="numpy")(_APPLY[n_words, n_values](fn))
    per_block = _transforms.values_per_block(dist_key)
    words_of = _words_of
    stamp = _STAMP

    def kernel(k0, k1, starts, lengths, offsets, scale, out):  # type: ignore[no-untyped-def]
        if stamp < 0:
            return
        for j in numba.prange(starts.shape[0]):
            s = starts[j]
            n = lengths[j]
            first = s // per_block
            n_blocks = (s + n - 1) // per_block - first + 1
            words = np.empty(4 * n_blocks, dtype=np.uint32)  # 32-bit lanes: 8-wide SIMD
            words_of(k0, k1, first, words)
            values = np.empty(n_blocks * per_block, dtype=out.dtype)
            apply(words, values)
            lead = s - first * per_block
            o = offsets[j]
            for i in range(n):
                out[o + i] = values[lead + i] * scale

    return numba.njit(parallel=True, nogil=True, cache=True, error_model="numpy")(kernel)


_KERNELS: dict[tuple[str, str], Any] = {}

# numba's "workqueue" threading layer (the fallback when neither TBB nor an OpenMP runtime is
# found) aborts the process when two threads launch parallel kernels at once. Launches are
# serialized until the layer is known, and for good when it is that one; "omp" and "tbb"
# accept concurrent launches.
_LAUNCH_LOCK = threading.Lock()
_launch_serial: bool | None = None  # None: no kernel has run yet, the layer is unknown
_UNSAFE_LAYERS = frozenset({"workqueue"})


def _layer_serializes(layer: str) -> bool:
    """Whether kernels launched under numba's threading ``layer`` must run one at a time."""
    return layer in _UNSAFE_LAYERS


@contextlib.contextmanager
def _launching() -> Iterator[None]:
    """Hold the launch lock while the threading layer is unknown or not thread-safe."""
    global _launch_serial
    if _launch_serial is False:
        yield
        return
    with _LAUNCH_LOCK:
        yield
        if _launch_serial is None:
            _launch_serial = _layer_serializes(numba.threading_layer())  # type: ignore[attr-defined]


def fill(
    dist_key: tuple[str, str],
    words: tuple[np.uint64, np.uint64],
    pieces: Pieces,
    scale: np.floating[Any],
    out: NDArray[np.floating[Any]],
) -> None:
    """``_numpy_path.fill``, compiled: same arguments, same bits.

    Safe to call from several threads under every numba threading layer (see ``_launching``).
    """
    kernel = _KERNELS.get(dist_key)
    if kernel is None:
        kernel = _make_kernel(dist_key)
        with warnings.catch_warnings(), _launching():
            # numba's pedantic SSA check warns about its own inlined selects; harmless
            warnings.simplefilter("ignore", NumbaIRAssumptionWarning)
            kernel(words[0], words[1], *pieces, scale, out)  # compiles, then runs
        _KERNELS[dist_key] = kernel
        return
    previous = numba.set_parallel_chunksize(1)  # hand out pieces one by one: a busy core lags less
    try:
        with _launching():
            kernel(words[0], words[1], *pieces, scale, out)
    finally:
        numba.set_parallel_chunksize(previous)
