"""Independent seeds for the separate random streams of one run (weights, data order, inputs).

Seeding two ``torch.Generator`` objects with the same integer gives the *same* numbers: a
weight matrix and an input batch drawn that way are perfectly correlated. Each stream therefore
gets its own seed, derived from the run's seed and a stream number by ``numpy.random.SeedSequence``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["GRADIENT", "INPUTS", "SHUFFLE", "WEIGHTS", "derive_seed"]

WEIGHTS, SHUFFLE, INPUTS, GRADIENT = 0, 1, 2, 3


def derive_seed(seed: int, stream: int) -> int:
    """A 63-bit seed for ``stream`` of the run seeded ``seed``; streams are independent.

    Example:
        >>> derive_seed(0, WEIGHTS) == derive_seed(0, WEIGHTS)
        True
        >>> derive_seed(0, WEIGHTS) == derive_seed(0, INPUTS)
        False
    """
    state = np.random.SeedSequence([seed, stream]).generate_state(2, dtype=np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])
