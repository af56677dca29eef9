"""The reference path: Philox blocks and transforms on NumPy arrays, a group of pieces at a time."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._index import Pieces
from ._philox import block_words
from ._transforms import GROUP_FUNCTIONS, values_per_block

__all__ = ["fill"]

GROUP = 1 << 16
"""About this many values are made per vectorized step (bounds the temporary memory)."""


def fill(
    dist_key: tuple[str, str],
    words: tuple[np.uint64, np.uint64],
    pieces: Pieces,
    scale: np.floating[Any],
    out: NDArray[np.floating[Any]],
) -> None:
    """Write ``scale * value(i)`` for every flat index ``i`` of every piece into ``out``.

    Piece ``p`` covers flat indices ``starts[p] .. starts[p] + lengths[p] - 1`` and goes to
    ``out[offsets[p]:]``; each Philox block a piece touches is computed once.
    """
    starts, lengths, offsets = pieces
    if starts.size == 0:
        return
    fn, n_words, _ = GROUP_FUNCTIONS[dist_key]
    per_block = values_per_block(dist_key)
    group = offsets // GROUP
    cuts = [0, *(np.flatnonzero(np.diff(group)) + 1).tolist(), int(starts.size)]
    for a, b in itertools.pairwise(cuts):
        s, n, o = starts[a:b], lengths[a:b], offsets[a:b]
        first = s // per_block
        n_blocks = (s + n - 1) // per_block - first + 1
        block_at = np.cumsum(n_blocks) - n_blocks  # where each piece's first block lands
        blocks = np.repeat(first - block_at, n_blocks) + np.arange(int(n_blocks.sum()), dtype=np.int64)
        groups = np.stack(block_words(blocks.astype(np.uint64), *words), axis=1).reshape(-1, n_words)
        result = fn(*groups.T)
        values = np.stack(result if isinstance(result, tuple) else (result,), axis=-1).ravel()
        # value of flat index i of piece p sits at (block_at[p] - first[p]) * per_block + i
        shift = (block_at - first) * per_block + s - (o - o[0])
        total = int(n.sum())
        take = np.repeat(shift, n) + np.arange(total, dtype=np.int64)
        out[o[0] : o[0] + total] = values[take] * scale
