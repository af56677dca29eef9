"""Write a matplotlib figure atomically: to a temporary file in the target's folder, then
``os.replace`` it onto the target, so an error or Ctrl-C mid-write leaves neither a truncated
image nor a temporary file behind (and an existing file at the target stays as it was)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any


def save_figure(figure: Any, path: str | Path, dpi: int) -> Path:
    """``figure.savefig`` to ``path`` atomically (creating the folder); returns ``path`` as a Path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(fd)
    try:
        figure.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".").lower() or "png")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it 0o600; give it a normal file's mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
