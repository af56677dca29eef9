"""The traced peak of a call beside the peak the library estimated for it before allocating
(``kaiming._checks.check_memory``), shared by the memory-check tests."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

from kaiming import _checks


def peak_and_estimate(draw: Callable[[], Any], monkeypatch: pytest.MonkeyPatch) -> tuple[int, float]:
    """The least traced peak of three calls and the largest estimate checked before them.
    (tracemalloc also counts other threads' allocations: the quietest of three is kept.)"""
    estimates: list[float] = []
    with monkeypatch.context() as patch:
        patch.setattr(_checks, "check_memory", lambda peak, what: estimates.append(peak))
        draw()  # warm up (imports, caches)
        estimates.clear()
        peaks = []
        for _ in range(3):
            tracemalloc.start()
            result = draw()
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
            del result
    return min(peaks), max(estimates)
