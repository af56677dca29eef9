"""A tiny progress bar on stderr (no tqdm dependency)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Count ``total`` steps and redraw one line on ``stream`` (default stderr).

    Disabled bars (``enabled=False``) count silently, so callers need no ``if``.

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> bar = Progress(2, "demo", stream=out, width=4)
        >>> bar.update("a"); bar.update("b"); bar.close()
        >>> out.getvalue().rstrip().rsplit(chr(13), 1)[-1][:14]
        'demo [####] 2/'
    """

    def __init__(
        self,
        total: int,
        label: str = "",
        *,
        stream: TextIO | None = None,
        enabled: bool = True,
        width: int = 28,
    ) -> None:
        self.total = max(int(total), 1)
        self.label = label
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled
        self.width = width
        self.done = 0
        self._start = time.perf_counter()
        self._last_draw = 0.0
        # redraw often on a terminal, seldom into a log file
        self._interval = 0.2 if getattr(self.stream, "isatty", lambda: False)() else 10.0

    def update(self, note: str = "", steps: int = 1) -> None:
        """Advance by ``steps`` and redraw (at most 5 times a second on a terminal, every 10 s
        into a file, always at the first and last step)."""
        self.done = min(self.done + steps, self.total)
        now = time.perf_counter()
        due = now - self._last_draw > self._interval or self.done in (1, self.total)
        if self.enabled and due:
            self._last_draw = now
            self._draw(note, now - self._start)

    def _draw(self, note: str, elapsed: float) -> None:
        filled = self.width * self.done // self.total
        bar = "#" * filled + "." * (self.width - filled)
        eta = elapsed / self.done * (self.total - self.done) if self.done else 0.0
        self.stream.write(
            f"\r{self.label} [{bar}] {self.done}/{self.total} {elapsed:5.0f}s eta {eta:4.0f}s {note[:30]:<30}"
        )
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line."""
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
