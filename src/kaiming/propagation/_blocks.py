"""The probe's per-layer arrays carved from two blocks (internal): one allocation each.

A probe with the backward pass keeps every layer's weights and pre-activations. Allocated one
array per layer, each is touched page by page on first use (one page fault per 4 KiB), and the
memory goes back to the system when the run ends, so the next run faults again. NumPy asks the
kernel for transparent huge pages on allocations of 4 MiB and more, so one block per kind is
touched with a few faults per 2 MiB instead. On the benchmark machine this cut the default
explorer probe (20 x 256 x 256, counter stream) from 3202 to 1925 page faults (docs/probe.md).
"""

from __future__ import annotations

import itertools

import numpy as np
from numpy.typing import NDArray

__all__ = ["LayerBlocks"]

Array = NDArray[np.floating]


class LayerBlocks:
    """Views ``weight(l)`` of shape ``(fan_in, fan_out)`` and ``pre(l)`` of shape
    ``(batch, fan_out)`` for layer index ``l`` (0-based) into two blocks of ``dtype``.

    With ``keep`` every layer has its own views (all kept for the backward pass). Without it the
    weights and the pre-activations each alternate between two slots: the next layer's weights
    may be drawn while the current ones are in use, and an activation may return its input
    itself, which the next product reads while it writes its own pre-activations.

    Example:
        >>> blocks = LayerBlocks([(3, 4), (4, 2)], batch=5, dtype=np.dtype(np.float32), keep=True)
        >>> blocks.weight(1).shape, blocks.pre(1).shape, blocks.weights.size, blocks.pres.size
        ((4, 2), (5, 2), 20, 30)
    """

    def __init__(
        self, fans: list[tuple[int, int]], batch: int, dtype: np.dtype[np.floating], keep: bool
    ) -> None:
        self.fans, self.batch, self.keep = fans, batch, keep
        weight_sizes = [fan_in * fan_out for fan_in, fan_out in fans]
        pre_sizes = [batch * fan_out for _, fan_out in fans]
        if keep:
            self._weight_starts = [0, *itertools.accumulate(weight_sizes)]
            self._pre_starts = [0, *itertools.accumulate(pre_sizes)]
            self.weights: Array = np.empty(self._weight_starts[-1], dtype)
            self.pres: Array = np.empty(self._pre_starts[-1], dtype)
        else:
            self._slot, self._weight_slot = max(pre_sizes), max(weight_sizes)
            self.weights = np.empty(2 * self._weight_slot, dtype)
            self.pres = np.empty(2 * self._slot, dtype)

    def weight(self, layer: int) -> Array:
        fan_in, fan_out = self.fans[layer]
        start = self._weight_starts[layer] if self.keep else (layer % 2) * self._weight_slot
        return self.weights[start : start + fan_in * fan_out].reshape(fan_in, fan_out)

    def pre(self, layer: int) -> Array:
        fan_out = self.fans[layer][1]
        start = self._pre_starts[layer] if self.keep else (layer % 2) * self._slot
        return self.pres[start : start + self.batch * fan_out].reshape(self.batch, fan_out)
