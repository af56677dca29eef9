"""Entry point of the ``kaiming`` command (``[project.scripts]`` in pyproject.toml).

It lives outside the ``kaiming`` package on purpose: the console script imports the module that
holds its entry point before calling it, and importing any module of ``kaiming`` first runs
``kaiming/__init__.py`` (NumPy and the whole library). From here, a Ctrl-C at any moment after
this module is imported, including while ``kaiming`` is still importing, ends with one line on
stderr and exit code 130 (128 + SIGINT), not a traceback.
"""

from __future__ import annotations

import sys


def main() -> int:
    """Import and run :func:`kaiming.cli.main`; a Ctrl-C prints ``kaiming: interrupted``, exit 130."""
    try:
        from kaiming.cli import main as run

        return run()
    except KeyboardInterrupt:
        print("kaiming: interrupted", file=sys.stderr)
        return 130
