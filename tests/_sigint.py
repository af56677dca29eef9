"""For tests that send SIGINT to a child process.

A runner started in the background of a non-interactive shell ignores SIGINT, and a child
inherits that: Python then installs no KeyboardInterrupt handler and a Ctrl-C test's child runs
on. ``sigint_default`` (a ``preexec_fn``) gives the child SIGINT's default action back first.
"""

from __future__ import annotations

import signal


def sigint_default() -> None:
    """Run in the child before ``exec``: SIGINT's default action, whatever the parent's."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
