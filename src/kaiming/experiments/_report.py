"""Shared output helpers: tables (terminal and Markdown), machine description, file writing."""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._json import jsonable
from .._table import render_table

__all__ = [
    "fmt_mean_std",
    "machine_info",
    "markdown_table",
    "process_seconds",
    "text_table",
    "write_json",
    "write_text",
]


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Return a plain aligned table for the terminal.

    Example:
        >>> print(text_table(["init", "acc"], [["he", "0.97"], ["xavier", "0.95"]]))
        init    acc
        ------  ----
        he      0.97
        xavier  0.95
    """
    return render_table([str(h) for h in header], [[str(cell) for cell in row] for row in rows])


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Return a GitHub Markdown table.

    Example:
        >>> print(markdown_table(["init", "acc"], [["he", "0.97"]]))
        | init | acc |
        | --- | --- |
        | he | 0.97 |
    """
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def fmt_mean_std(values: Sequence[float], digits: int = 3) -> str:
    """Format ``mean ± std`` (population std) of the finite values, or ``"-"`` if there are none.

    Example:
        >>> fmt_mean_std([0.5, 0.7], digits=2)
        '0.60 ± 0.10'
    """
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return "-"
    mean = sum(finite) / len(finite)
    std = math.sqrt(sum((v - mean) ** 2 for v in finite) / len(finite))
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def machine_info() -> dict[str, Any]:
    """Describe the machine and library versions a result was measured with."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
    }
    with contextlib.suppress(OSError):  # no load average off POSIX
        info["load_average_1min"] = round(os.getloadavg()[0], 2)
    import numpy

    info["numpy"] = numpy.__version__
    try:
        import torch

        info["torch"] = torch.__version__
    except ImportError:  # pragma: no cover - torch missing
        pass
    return info


def process_seconds(fallback_start: float) -> float:
    """Wall seconds since this process started (Linux ``/proc``), else since ``fallback_start``
    (a ``time.perf_counter()`` value): the time the user has waited, imports included.

    Example:
        >>> import time
        >>> 0 <= process_seconds(time.perf_counter()) < 1e6
        True
    """
    import time

    try:
        with open("/proc/self/stat", encoding="ascii") as stat_file:
            start_ticks = int(stat_file.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/stat", encoding="ascii") as stat_file:
            boot = next(int(line.split()[1]) for line in stat_file if line.startswith("btime"))
        started = boot + start_ticks / os.sysconf("SC_CLK_TCK")
        return max(time.time() - started, 0.0)
    except (OSError, ValueError, IndexError, StopIteration, AttributeError):
        return time.perf_counter() - fallback_start


def write_json(path: Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` as indented JSON (NaN written as null) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(jsonable(payload), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
