"""Plain-text tables and JSON-safe numbers for the framework adapters' reports (internal):
``kaiming.torch`` and ``kaiming.keras``."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

from ._table import render_table

__all__ = ["NamedRows", "cell", "format_table", "json_number"]


def cell(value: object) -> str:
    """A table cell: floats to 4 significant digits, None as '-', tuples as 'AxB'."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, tuple):
        return "x".join(str(v) for v in value) if value else "scalar"
    return str(value)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns separated by two spaces, with a dashed rule under the header."""
    return render_table(headers, [[cell(v) for v in row] for row in rows])


def json_number(value: float | None) -> float | str | None:
    """``value`` for JSON: NaN and infinities become the strings 'nan', 'inf', '-inf'."""
    if value is None or math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


class NamedRows:
    """Mixin for reports holding rows with a ``name``: ``report[name]``, iteration and ``len``."""

    def _rows(self) -> tuple[Any, ...]:
        raise NotImplementedError

    def __getitem__(self, name: str) -> Any:
        for row in self._rows():
            if row.name == name:
                return row
        raise KeyError(f"no row named {name!r}; names: {[r.name for r in self._rows()]}")

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows())

    def __len__(self) -> int:
        return len(self._rows())
