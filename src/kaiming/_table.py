"""Plain-text tables for terminal output (internal): one renderer for every report."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

__all__ = ["render_table"]


def render_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], align: Literal["left", "right"] = "left"
) -> str:
    """Columns of already-formatted cells separated by two spaces, a dashed rule under the header.

    Example:
        >>> print(render_table(["init", "acc"], [["he", "0.97"], ["xavier", "0.9"]], align="right"))
          init   acc
        ------  ----
            he  0.97
        xavier   0.9
    """
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        padded = (c.ljust(w) if align == "left" else c.rjust(w) for c, w in zip(cells, widths, strict=True))
        return "  ".join(padded).rstrip()

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])
