"""Counter-based random streams: the same weights for any slice, shard, chunking or thread count.

The value at flat index ``i`` of a tensor is a pure function of a key, ``i``, the
distribution and the working precision: Philox4x32-10 (Random123) turns the counter
``i // values_per_block`` and the key into 128 random bits, and fixed-cost transforms
(Box-Muller, an inverse CDF) turn those into floats. So ``full[a:b]`` can be computed alone,
by any process, and equals the slice of the full tensor bit for bit.

- ``key(seed, name)`` -> ``StreamKey`` (BLAKE2b of the seed and the tensor's name);
- ``normal``, ``uniform``, ``truncated_normal`` (and ``sample``) draw a tensor or a part of it
  (``index=``, basic NumPy indexing);
- ``philox4x32`` is the raw bit generator (checked against Random123's known answers).

The NumPy reference path and the optional numba fast path (``pip install kaiming[fast]``)
give identical bits; see ``docs/performance.md``.
"""

from __future__ import annotations

from ._index import IndexLike, select
from ._keys import StreamKey, key
from ._public import normal, philox4x32, truncated_normal, uniform
from ._sample import BACKENDS, STREAM_DISTRIBUTIONS, Backend, check_keyed, fast_path_available, sample

__all__ = [
    "BACKENDS",
    "STREAM_DISTRIBUTIONS",
    "Backend",
    "IndexLike",
    "StreamKey",
    "check_keyed",
    "fast_path_available",
    "key",
    "normal",
    "philox4x32",
    "sample",
    "select",
    "truncated_normal",
    "uniform",
]
