"""The peak memory of a stream draw, per value of the result, for the check made before drawing.

A draw holds, at its peak:

- the work array (float32 or float64) and, when the dtype differs and no ``out=`` takes the
  values, the cast result;
- the run table: the selection's run starts and each piece's start, length and offset, and
  the piece's group number on the NumPy path (``RUN_BYTES`` per run);
- one group's temporaries on the NumPy path (Philox words, indices, transformed values). A group
  is the pieces whose place in the result starts in one ``GROUP``-value window, so it holds at
  most ``GROUP - 1`` values and one more piece. Its pieces are computed a whole Philox block at
  a time, so a short piece makes up to a block of values more than it keeps: ``made_per_piece``.

The constants were measured with ``tracemalloc`` on the NumPy path (NumPy 2, 64-bit Linux) and
rounded up; ``tests/test_stream_memory.py`` checks the estimate against the measured peak.
"""

from __future__ import annotations

from ._index import PIECE
from ._numpy_path import GROUP
from ._transforms import values_per_block

__all__ = ["peak_bytes_per_value"]

MADE_BYTES: dict[tuple[str, str], int] = {
    ("normal", "float32"): 68,
    ("normal", "float64"): 102,
    ("uniform", "float32"): 50,
    ("uniform", "float64"): 90,
    ("truncated_normal", "float32"): 110,
    ("truncated_normal", "float64"): 176,
}
"""Bytes of a group's temporaries per value it makes, by (distribution, work dtype)."""

PIECE_BYTES = 56
"""Bytes of a group's temporaries per piece (block counts, shifts, gather indices)."""

RUN_BYTES = 48
"""Bytes of the run table per run (five int64 per piece, a piece per run for short runs)."""


def made_per_piece(dist_key: tuple[str, str], length: int) -> int:
    """The most values a piece of ``length`` values makes: whole Philox blocks of
    ``values_per_block`` values, from wherever in a block it starts.

    Example:
        >>> made_per_piece(("normal", "float32"), 1), made_per_piece(("normal", "float32"), 2)
        (4, 8)
    """
    per_block = values_per_block(dist_key)
    return per_block * ((length + per_block - 2) // per_block + 1)


def peak_bytes_per_value(dist_key: tuple[str, str], result_bytes: int, size: int, run: int) -> float:
    """The peak memory of a draw of ``size`` values in runs of ``run``, per value of the result.

    ``result_bytes`` is what each value of the result itself takes (the work array's itemsize,
    plus the cast result's where there is one). With ``run = size`` (one run) it is the least
    any selection of ``size`` values needs.

    Example:
        >>> round(peak_bytes_per_value(("uniform", "float64"), 8, 1 << 20, 1 << 20), 1)  # one run
        16.4
        >>> round(peak_bytes_per_value(("uniform", "float64"), 8, 1 << 20, 1), 1)  # single values
        70.8
    """
    if size == 0:
        return float(result_bytes)
    piece = max(min(run, PIECE), 1)
    in_group = min(size, GROUP - 1 + piece)
    group = in_group * (MADE_BYTES[dist_key] * made_per_piece(dist_key, piece) + PIECE_BYTES) / piece
    return result_bytes + RUN_BYTES / max(run, 1) + group / size
