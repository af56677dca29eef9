"""Cooperative interruption of long computations (internal).

A caller that may want to stop a computation early (the explorer's scheduler, when nobody waits
for the answer any more) runs it inside ``interruptible(check)``; the computation calls
``checkpoint()`` at safe points (between two layers of a probe, between two steps of a phase
diagram), and ``check`` raises there to stop it. Outside ``interruptible`` a checkpoint does
nothing. Stopping only at checkpoints keeps every lock and thread pool of the computation (and
of the libraries it calls) in a consistent state, which an exception injected at an arbitrary
bytecode cannot promise.

Example:
    >>> def stop() -> None:
    ...     raise RuntimeError("stopped")
    >>> checkpoint()  # no check: nothing happens
    >>> with interruptible(stop):
    ...     try:
    ...         checkpoint()
    ...     except RuntimeError as exc:
    ...         print(exc)
    stopped
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar

__all__ = ["checkpoint", "interruptible"]

_CHECK: ContextVar[Callable[[], None] | None] = ContextVar("kaiming_interrupt_check", default=None)


def checkpoint() -> None:
    """Call the interruption check of the current context, if there is one (it may raise)."""
    check = _CHECK.get()
    if check is not None:
        check()


@contextlib.contextmanager
def interruptible(check: Callable[[], None]) -> Iterator[None]:
    """Run the block with ``check`` called at every ``checkpoint()`` (in this context only)."""
    token = _CHECK.set(check)
    try:
        yield
    finally:
        _CHECK.reset(token)
