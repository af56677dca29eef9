"""Where the probe's random numbers come from (internal): NumPy's Generator or the counter stream.

``stream="generator"`` (the default): one ``numpy.random.Generator`` from ``seed`` draws, in
order, the input, the shared input row (with ``input_corr``), per layer ``W_l`` (the registry
initializer, number for number) and ``b_l``, then the output gradient.

``stream="counter"``: every tensor comes from ``kaiming.stream`` under its own key
``kaiming.stream.key(seed, name)``, with the names ``"input"``, ``"input.shared"``,
``"layer{l}.weight"``, ``"layer{l}.bias"`` (``l`` 1-based) and ``"output.grad"``. The weights are
the keyed initializers' (``variance_scaling(..., key=...)``, ``orthogonal(..., key=...)``), so
``W_l`` equals e.g. ``kaiming.he_normal((fan_in, fan_out), key=key(seed, "layer3.weight"),
dtype=...)``; the order of the draws no longer matters, and the draws are cheaper (the numba
fast path when installed, see ``docs/performance.md``).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Generator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from .. import stream as cs
from .._checks import check_choice
from .._random import resolve_rng
from ._inits import InitSpec

__all__ = ["STREAMS", "CounterDraws", "Draws", "GeneratorDraws", "layer_weights", "make_draws"]

STREAMS: tuple[str, ...] = ("generator", "counter")
"""The probe's random streams: NumPy's ``Generator`` (the default) or the counter stream."""

Array = NDArray[np.floating]
DType = np.dtype[np.floating]
_SQRT3 = math.sqrt(3.0)


class Draws(Protocol):
    """The random tensors of one probe run, in the order the probe asks for them."""

    def input(
        self, dist: str, rows: int, width: int, dtype: np.dtype[np.floating], shared: bool
    ) -> Array: ...

    def weight(
        self, spec: InitSpec, layer: int, fan_in: int, fan_out: int, dtype: DType, out: Array | None = None
    ) -> Array:
        """``W_layer``: a new array, or written into ``out`` (C-contiguous, ``(fan_in, fan_out)``,
        ``dtype``) and returned; the same values either way."""
        ...

    def bias(self, layer: int, fan_out: int, std: float, dtype: np.dtype[np.floating]) -> Array: ...

    def output_grad(self, rows: int, width: int, dtype: np.dtype[np.floating]) -> Array: ...


class GeneratorDraws:
    """Everything from one ``numpy.random.Generator``, in call order (the probe's default)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def input(self, dist: str, rows: int, width: int, dtype: np.dtype[np.floating], shared: bool) -> Array:
        if dist == "normal":
            normal: Array = self.rng.standard_normal((rows, width), dtype=dtype)
            return normal
        x: Array = self.rng.random((rows, width), dtype=dtype)
        x *= 2.0 * _SQRT3
        x -= _SQRT3
        return x

    def weight(
        self, spec: InitSpec, layer: int, fan_in: int, fan_out: int, dtype: DType, out: Array | None = None
    ) -> Array:
        return _into(out, spec.draw(fan_in, fan_out, dtype, rng=self.rng))

    def bias(self, layer: int, fan_out: int, std: float, dtype: np.dtype[np.floating]) -> Array:
        bias: Array = self.rng.standard_normal(fan_out, dtype=dtype)
        bias *= dtype.type(std)
        return bias

    def output_grad(self, rows: int, width: int, dtype: np.dtype[np.floating]) -> Array:
        grad: Array = self.rng.standard_normal((rows, width), dtype=dtype)
        return grad


class CounterDraws:
    """Every tensor from the counter stream under ``key(seed, name)`` (see the module docstring)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        # The same bits on either path; numba's was about twice as fast (one thread) for a
        # 256 x 256 layer, below the size from which ``backend="auto"`` takes it (docs/probe.md).
        self.backend: cs.Backend = "numba" if cs.fast_path_available() else "numpy"

    def _key(self, name: str) -> cs.StreamKey:
        return cs.key(self.seed, name)

    def input(self, dist: str, rows: int, width: int, dtype: np.dtype[np.floating], shared: bool) -> Array:
        name = "input.shared" if shared else "input"
        scale = 1.0 if dist == "normal" else _SQRT3
        return self._sample(dist, (rows, width), name, scale, dtype)

    def weight(
        self, spec: InitSpec, layer: int, fan_in: int, fan_out: int, dtype: DType, out: Array | None = None
    ) -> Array:
        name = f"layer{layer}.weight"
        if spec.kind == "orthogonal":  # a QR factor: the keyed initializer itself
            return _into(out, spec.draw(fan_in, fan_out, dtype, key=self._key(name)))
        # What variance_scaling(..., key=...) returns (tests check it bit for bit), on the fast path.
        return self._sample(
            spec.distribution, (fan_in, fan_out), name, spec.sampler_scale(fan_in, fan_out), dtype, out
        )

    def bias(self, layer: int, fan_out: int, std: float, dtype: np.dtype[np.floating]) -> Array:
        return self._sample("normal", (fan_out,), f"layer{layer}.bias", std, dtype)

    def output_grad(self, rows: int, width: int, dtype: np.dtype[np.floating]) -> Array:
        return self._sample("normal", (rows, width), "output.grad", 1.0, dtype)

    def _sample(
        self,
        dist: str,
        shape: tuple[int, ...],
        name: str,
        scale: float,
        dtype: np.dtype[np.floating],
        out: Array | None = None,
    ) -> Array:
        key = self._key(name)
        return cs.sample(dist, shape, key, scale=scale, dtype=dtype, backend=self.backend, out=out)  # type: ignore[arg-type]


def layer_weights(
    draws: Draws,
    spec: InitSpec,
    fans: list[tuple[int, int]],
    dtype: np.dtype[np.floating],
    slot: Callable[[int], Array],
) -> Generator[Array, None, None]:
    """Each layer's ``W_l`` in order, written into ``slot(l)`` (0-based ``l``).

    With the counter stream, whose values do not depend on the order of the draws, the next
    layer's weights are drawn in a second thread while the caller works on the current layer
    (numba's kernel releases the GIL, as BLAS does), with the calling thread's numba thread count.
    NumPy's ``Generator`` draws in call order (the biases come between the weights), so its
    weights are drawn when asked for. Either way the values are the same.
    """

    def draw(index: int) -> Array:
        fan_in, fan_out = fans[index]
        return draws.weight(spec, index + 1, fan_in, fan_out, dtype, slot(index))

    if not isinstance(draws, CounterDraws) or len(fans) < 2:
        for index in range(len(fans)):
            yield draw(index)
        return
    threads = _numba_threads()
    with ThreadPoolExecutor(1, initializer=_set_numba_threads, initargs=(threads,)) as pool:
        ahead: Future[Array] = pool.submit(draw, 0)
        for index in range(len(fans)):
            current = ahead.result()
            if index + 1 < len(fans):
                ahead = pool.submit(draw, index + 1)
            yield current


def _numba_threads() -> int | None:
    numba = sys.modules.get("numba")
    return None if numba is None else int(numba.get_num_threads())


def _set_numba_threads(threads: int | None) -> None:
    numba = sys.modules.get("numba")
    if numba is not None and threads is not None:
        numba.set_num_threads(threads)


def _into(out: Array | None, values: Array) -> Array:
    if out is None:
        return values
    out[...] = values
    return out


def make_draws(stream: object, seed: object) -> GeneratorDraws | CounterDraws:
    """The draws of ``stream`` (one of ``STREAMS``) under ``seed``.

    Example:
        >>> type(make_draws("counter", 0)).__name__
        'CounterDraws'
        >>> make_draws("philox", 0)
        Traceback (most recent call last):
        ...
        ValueError: Invalid stream 'philox'; allowed: 'generator', 'counter'
    """
    name = check_choice("stream", stream, STREAMS)
    if name == "generator":
        return GeneratorDraws(resolve_rng(seed))
    if seed is None:
        raise ValueError("stream='counter' needs an int seed (its keys are (seed, tensor name)); got None")
    cs.key(seed, "input")  # type: ignore[arg-type]  # the stream's own check: an int in [0, 2**64)
    return CounterDraws(int(seed))  # type: ignore[call-overload]
