"""Serve the interactive explorer, a local web page (default http://127.0.0.1:8765/).

The ``kaiming explore`` subcommand, a plugin of ``kaiming.cli``: it exposes
``add_arguments(parser)`` and ``run(args) -> int`` and imports nothing heavy at import time (the
server and Starlette load inside ``run``).
"""

from __future__ import annotations

import argparse
import sys

SUMMARY = "serve the interactive explorer web page (default http://127.0.0.1:8765/)"
"""One line for ``kaiming --help``."""

EXAMPLES = """examples:
  kaiming explore                      # http://127.0.0.1:8765/, this machine only
  kaiming explore --port 0 --open      # a free port, opened in the default browser
  kaiming explore --blas-threads 0     # let BLAS use all cores per simulation

stop the server with Ctrl-C; needs the explorer extra: pip install 'kaiming[explorer]'
"""
"""The examples ``kaiming explore --help`` prints."""

__all__ = ["add_arguments", "run"]


def _port(text: str) -> int:
    try:
        port = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port must be an integer in [0, 65535], got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be an integer in [0, 65535], got {port}")
    return port


def _blas_threads(text: str) -> int:
    try:
        threads = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"blas-threads must be an integer >= 0, got {text!r}") from None
    if threads < 0:
        raise argparse.ArgumentTypeError(f"blas-threads must be an integer >= 0, got {threads}")
    return threads


def _memory_gb(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"memory-gb must be a number > 0, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"memory-gb must be a finite number > 0, got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``kaiming explore`` to ``parser``.

    Example:
        >>> p = argparse.ArgumentParser()
        >>> add_arguments(p)
        >>> p.parse_args(["--port", "0", "--open"])
        Namespace(host='127.0.0.1', port=0, open=True, blas_threads=1, memory_gb=None)
    """
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1, this machine only; anything else exposes "
        "the server to your network)",
    )
    parser.add_argument(
        "--port", type=_port, default=8765, help="TCP port (default 8765; 0 picks a free one)"
    )
    parser.add_argument("--open", action="store_true", help="open the page in the default web browser")
    parser.add_argument(
        "--blas-threads",
        type=_blas_threads,
        default=1,
        metavar="N",
        help="BLAS threads per simulation (default 1: requests run in parallel instead; 0: BLAS's default)",
    )
    parser.add_argument(
        "--memory-gb",
        type=_memory_gb,
        default=None,
        metavar="GB",
        help="memory budget of the running simulations in GiB (default: half the available memory); "
        "a request needing more is refused, others wait",
    )


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; 0 on a clean stop, 2 with one line on stderr if it cannot start."""
    try:
        from . import server
    except ImportError as exc:
        print(
            f"kaiming explore: needs Starlette, uvicorn and threadpoolctl ({exc.name} is missing); "
            "install them with: pip install 'kaiming[explorer]'",
            file=sys.stderr,
        )
        return 2
    if not server.is_loopback(args.host):
        print(
            f"kaiming explore: warning: listening on {args.host}, reachable from other machines",
            file=sys.stderr,
        )
    try:
        server.serve(
            args.host,
            args.port,
            open_browser=args.open,
            blas_threads=args.blas_threads or None,
            memory_budget=None if args.memory_gb is None else int(args.memory_gb * 2**30),
        )
    except OSError as exc:
        print(
            f"kaiming explore: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        pass
    return 0
