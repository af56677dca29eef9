"""A small progress bar on stderr (no dependency).

The time estimate comes from measured steps only: the first step carries the warm-up (torch's
first kernels, thread pools, the first model build), so the rate is taken over the steps after
it, and no estimate is shown until one such step has been measured. ``close()`` reports the wall
time since the bar was created.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Count ``total`` steps and redraw one line on ``stream`` (default stderr).

    ETA = (time since the first step ended) / (steps since then) x (steps left): the warm-up in
    the first step is never extrapolated. Disabled bars (``enabled=False``) count silently, so
    callers need no ``if``. ``clock`` (seconds, default ``time.perf_counter``) is for tests.

    Example:
        >>> import io
        >>> ticks = iter([0.0, 9.0, 10.0, 11.0])  # created, then 3 steps: 9 s warm-up, 1 s each
        >>> out = io.StringIO()
        >>> bar = Progress(4, "demo", stream=out, width=4, clock=lambda: next(ticks))
        >>> bar.update("a"); bar.update("b"); bar.update("c")
        >>> bar.eta()   # 1 step left at 1 s per measured step
        1.0
        >>> out.getvalue().split(chr(13))[1].split()   # drawn after the warm-up step: no guess
        ['demo', '[#...]', '1/4', '9s', 'eta', '?', 'a']
    """

    def __init__(
        self,
        total: int,
        label: str = "",
        *,
        stream: TextIO | None = None,
        enabled: bool = True,
        width: int = 28,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.total = max(int(total), 1)
        self.label = label
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled
        self.width = width
        self.done = 0
        self._clock = clock
        self._start = clock()
        self._now = self._start
        self._first_end: float | None = None  # when the first (warm-up) step ended
        self._first_steps = 0
        self._last_draw = -float("inf")
        # redraw often on a terminal, seldom into a log file
        self._interval = 0.2 if getattr(self.stream, "isatty", lambda: False)() else 10.0

    def update(self, note: str = "", steps: int = 1) -> None:
        """Advance by ``steps`` and redraw (at most 5 times a second on a terminal, every 10 s
        into a file, always at the first and last step)."""
        self._now = self._clock()
        self.done = min(self.done + steps, self.total)
        if self._first_end is None:
            self._first_end, self._first_steps = self._now, self.done
        due = self._now - self._last_draw > self._interval or self.done in (1, self.total)
        if self.enabled and due:
            self._last_draw = self._now
            self._draw(note)

    def eta(self) -> float | None:
        """Seconds left, from the steps measured after the first; ``None`` until there is one."""
        if self._first_end is None or self.done <= self._first_steps:
            return None
        per_step = (self._now - self._first_end) / (self.done - self._first_steps)
        return per_step * (self.total - self.done)

    def elapsed(self) -> float:
        """Wall seconds since the bar was created (to the last update, or now after ``close``)."""
        return self._now - self._start

    def _draw(self, note: str) -> None:
        filled = self.width * self.done // self.total
        bar = "#" * filled + "." * (self.width - filled)
        eta = self.eta()
        left = "?" if eta is None else f"{eta:.0f}s"
        counts = f"{self.done}/{self.total} {self.elapsed():.0f}s eta {left:>5}"
        self.stream.write(f"\r{self.label} [{bar}] {counts} {note[:30]:<30}")
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line with the wall time it ran."""
        self._now = self._clock()
        if self.enabled:
            self.stream.write(f"\n{self.label}: {self.done}/{self.total} steps in {self.elapsed():.1f} s\n")
            self.stream.flush()
