"""Philox4x32-10, the counter-based bit generator of Random123 (Salmon et al., SC'11).

One call maps a 128-bit counter ``(c0, c1, c2, c3)`` and a 64-bit key ``(k0, k1)`` to four
32-bit words through ten rounds of::

    (c0, c1, c2, c3) <- (hi(M1 * c2) ^ c1 ^ k0, lo(M1 * c2), hi(M0 * c0) ^ c3 ^ k1, lo(M0 * c0))
    (k0, k1) <- (k0 + W0, k1 + W1) mod 2**32          (between rounds)

The code is written once for NumPy arrays and numba scalars: every word is held in a
``uint64`` (so a 32x32-bit product is exact) and reduced with ``& 0xFFFFFFFF`` where it must
wrap. ``kaiming.stream._numba_path`` compiles these same functions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["block_words", "philox4x32_rounds"]

U64 = np.uint64
MASK32 = U64(0xFFFFFFFF)
SHIFT32 = U64(32)
ZERO = U64(0)
M0 = U64(0xD2511F53)
M1 = U64(0xCD9E8D57)
W0 = U64(0x9E3779B9)
W1 = U64(0xBB67AE85)
ROUNDS = 10


def philox4x32_rounds(
    c0: Any, c1: Any, c2: Any, c3: Any, k0: Any, k1: Any, rounds: int
) -> tuple[Any, Any, Any, Any]:
    """``rounds`` Philox4x32 rounds on uint64-held 32-bit words (arrays or scalars)."""
    for r in range(rounds):
        if r > 0:
            k0 = (k0 + W0) & MASK32
            k1 = (k1 + W1) & MASK32
        p0 = M0 * c0
        p1 = M1 * c2
        c0, c1, c2, c3 = (p1 >> SHIFT32) ^ c1 ^ k0, p1 & MASK32, (p0 >> SHIFT32) ^ c3 ^ k1, p0 & MASK32
    return c0, c1, c2, c3


def block_words(block: Any, k0: Any, k1: Any) -> tuple[Any, Any, Any, Any]:
    """The four words of block number ``block`` (uint64): counter ``(lo32, hi32, 0, 0)``."""
    return philox4x32_rounds(block & MASK32, block >> SHIFT32, ZERO, ZERO, k0 & MASK32, k1 & MASK32, ROUNDS)
