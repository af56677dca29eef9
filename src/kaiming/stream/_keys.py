"""Stream keys: the 64-bit Philox key of a tensor, derived from ``(seed, name)``.

The derivation is a BLAKE2b digest of the seed's 8 little-endian bytes and the name's UTF-8
bytes, so it is the same on every platform, Python version and process (unlike ``hash()``).
"""

from __future__ import annotations

import hashlib
import numbers
from dataclasses import dataclass, field

import numpy as np

__all__ = ["StreamKey", "key"]

_PERSON = b"kaiming.stream"
_SEED_LIMIT = 1 << 64


@dataclass(frozen=True)
class StreamKey:
    """The key of one counter-based stream: two 32-bit Philox key words and a readable label.

    Make one with ``kaiming.stream.key(seed, name)``; derive independent sub-streams with
    ``child(name)``. Two keys are equal when their words are equal.

    Example:
        >>> k = key(0, "layer1.weight")
        >>> k == key(0, "layer1.weight"), k == key(1, "layer1.weight")
        (True, False)
    """

    k0: int
    k1: int
    label: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        for word, value in (("k0", self.k0), ("k1", self.k1)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= value < 2**32:
                raise ValueError(f"StreamKey.{word} must be an int in [0, 2**32), got {value!r}")

    @property
    def words(self) -> tuple[np.uint64, np.uint64]:
        """The key words as ``uint64`` scalars, as the generator consumes them."""
        return np.uint64(self.k0), np.uint64(self.k1)

    def child(self, name: str | int) -> StreamKey:
        """An independent key derived from this one and ``name`` (e.g. one per sub-tensor).

        Example:
            >>> k = key(0, "block")
            >>> k.child("q") != k.child("k")
            True
        """
        data = self.k0.to_bytes(4, "little") + self.k1.to_bytes(4, "little") + _name_bytes(name)
        return _from_digest(data, f"{self.label}/{name}")


def _name_bytes(name: object) -> bytes:
    if isinstance(name, str):
        return b"s" + name.encode("utf-8")
    if isinstance(name, numbers.Integral) and not isinstance(name, bool):
        return b"i" + str(int(name)).encode("ascii")
    raise TypeError(f"name must be a str (e.g. a parameter name) or an int id, got {name!r}")


def _from_digest(data: bytes, label: str) -> StreamKey:
    digest = hashlib.blake2b(data, digest_size=8, person=_PERSON).digest()
    return StreamKey(int.from_bytes(digest[:4], "little"), int.from_bytes(digest[4:], "little"), label)


def key(seed: int, name: str | int) -> StreamKey:
    """The stream key of tensor ``name`` (e.g. ``"layer1.weight"``, or an int id) under ``seed``.

    ``key = BLAKE2b-64(seed as 8 little-endian bytes || tag || name)``, split into the two
    32-bit Philox key words. The value at flat index ``i`` of any tensor drawn with this key
    depends only on the key, ``i``, the distribution and the dtype.

    Example:
        >>> key(42, "encoder.0.weight")
        StreamKey(k0=1612967777, k1=849442337, label="seed=42, name='encoder.0.weight'")

    Raises:
        TypeError / ValueError: ``seed`` not an int in ``[0, 2**64)``; ``name`` not a str/int.
    """
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int in [0, 2**64), got {seed!r}")
    if not 0 <= int(seed) < _SEED_LIMIT:
        raise ValueError(f"seed must be an int in [0, 2**64), got {int(seed)}")
    data = int(seed).to_bytes(8, "little") + _name_bytes(name)
    return _from_digest(data, f"seed={int(seed)}, name={name!r}")
