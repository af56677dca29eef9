"""Plain-text tables for ``kaiming.torch``'s reports (their home is the neutral ``kaiming._rows``)."""

from __future__ import annotations

from .._rows import NamedRows, cell, format_table, json_number

__all__ = ["NamedRows", "cell", "format_table", "json_number"]
