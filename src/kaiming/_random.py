"""How random numbers are made: an explicit ``numpy.random.Generator``, never global state."""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["SeedLike", "resolve_rng"]

SeedLike = int | np.integer | np.random.SeedSequence | None


def resolve_rng(seed: object = None, rng: object = None) -> np.random.Generator:
    """Return the generator to draw from, given a ``seed`` *or* an ``rng`` (not both).

    - ``rng`` (a ``numpy.random.Generator``) is passed through unchanged, so consecutive calls
      continue its stream;
    - ``seed`` (an int >= 0 or a ``SeedSequence``) gives ``np.random.default_rng(seed)``, so the
      same seed gives the same numbers;
    - neither gives a generator seeded from fresh OS entropy (never a module-level one).
    """
    if rng is not None and seed is not None:
        raise ValueError("pass either seed or rng, not both")
    if rng is not None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        return rng
    if seed is None or isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int >= 0, a SeedSequence or None, got {seed!r}")
    if int(seed) < 0:
        raise ValueError(f"seed must be an int >= 0, got {int(seed)}")
    return np.random.default_rng(int(seed))
