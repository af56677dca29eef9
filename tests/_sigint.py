"""For tests that send SIGINT to a child process.

A runner started in the background of a non-interactive shell ignores SIGINT, and a child
inherits that: Python then installs no KeyboardInterrupt handler and a Ctrl-C test's child runs
on. ``child_process`` gives the child SIGINT's default action back first (``sigint_default``)
and never leaves it running after the test.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
from collections.abc import Iterator


def sigint_default() -> None:
    """Run in the child before ``exec``: SIGINT's default action, whatever the parent's."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextlib.contextmanager
def child_process(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """``args`` started with text stdout/stderr pipes and SIGINT's default action; killed on the
    way out if it is still running (a failed assertion must not leave it computing)."""
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, preexec_fn=sigint_default
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
