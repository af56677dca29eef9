"""The explorer's web server: a Starlette app serving the page and a JSON API over the probe.

Routes (all ``GET``):

- ``/`` the page; ``/static/...`` its script, style sheet and icon (package data, no CDN);
- ``/api/probe`` one simulated network (:func:`kaiming.probe`) as JSON;
- ``/api/compare`` the same network under several initializers, for the overlay charts;
- ``/api/options`` the names, defaults and bounds the page builds its controls from;
- ``/api/openapi.json`` the OpenAPI 3.1 description of the above.

Every query parameter is validated and bounded (:mod:`kaiming.explorer._params`); a bad request
gets HTTP 400 with ``{"error": "..."}`` naming the parameter, and any unexpected failure gets
HTTP 500 with a JSON message and no traceback (the traceback goes to the server log). The NumPy
work runs in Starlette's thread pool, so requests are served concurrently; at most
``max_parallel`` simulations run at once and the last ``cache_size`` results are kept, keyed
by their full parameters (a probe is deterministic given its seed).

BLAS threads: the server runs NumPy with ``blas_threads`` BLAS threads per simulation (default
1, set process-wide with ``threadpoolctl``) and serves requests in parallel instead. On a busy
machine multi-threaded BLAS oversubscribes the cores: we measured one thread 7x faster than two
for the same probe on a loaded 2-core machine.

Starlette, uvicorn and threadpoolctl are the optional extra ``kaiming[explorer]``; only this
module imports them.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from kaiming.propagation import probe

from .._json import jsonable
from ._openapi import openapi_spec
from ._options import options
from ._params import BadRequestError, parse_compare, parse_probe

__all__ = [
    "LOOPBACK_HOSTS",
    "STATIC_DIR",
    "ServerThread",
    "bind_socket",
    "create_app",
    "is_loopback",
    "serve",
]

STATIC_DIR = Path(__file__).with_name("static")
"""Folder of the page's files, shipped as package data."""

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

_log = logging.getLogger("kaiming.explorer")

_SECURITY_HEADERS = (
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)

Kwargs = dict[str, Any]


class _Guard:
    """ASGI middleware: refuse unexpected ``Host`` headers (JSON 400) and add security headers.

    The host check guards a loopback server against DNS rebinding; the headers set a strict
    same-origin content-security policy and no content sniffing on every response.
    """

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str] | None = None) -> None:
        self.app = app
        self.allowed = None if allowed_hosts is None else frozenset(h.lower() for h in allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_SECURITY_HEADERS]
            await send(message)

        host = _host_name(Headers(scope=scope).get("host", ""))
        if self.allowed is not None and host not in self.allowed:
            response = _error(
                400, f"Invalid Host header {host!r}; this server answers only {sorted(self.allowed)}"
            )
            await response(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)


def _host_name(header: str) -> str:
    """The host part of a ``Host`` header, lower-cased, without its port."""
    header = header.strip().lower()
    if header.startswith("["):  # [::1]:8765
        return header[: header.find("]") + 1] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class _Runner:
    """Runs probes with a bound on parallel work, keeping the most recent results."""

    def __init__(self, cache_size: int, max_parallel: int) -> None:
        self._cache: OrderedDict[tuple[tuple[str, Any], ...], dict[str, Any]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_parallel)

    def run(self, kwargs: Kwargs) -> tuple[dict[str, Any], bool]:
        """The probe's ``to_dict()`` for ``kwargs`` (JSON-ready) and whether it came from the cache."""
        key = tuple(sorted(kwargs.items()))
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit, True
        with self._slots:
            try:
                result = probe(**kwargs)
            except (ValueError, TypeError) as exc:  # the probe's own validation
                raise BadRequestError(str(exc)) from exc
            data = jsonable(result.to_dict())
        assert isinstance(data, dict)
        with self._lock:
            self._cache[key] = data
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return data, False


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers={"cache-control": "no-store"})


def _api(handler: Callable[[Sequence[tuple[str, str]]], dict[str, Any]]) -> Callable[[Request], Response]:
    """Wrap a handler of query items into a sync endpoint answering JSON, 400 on BadRequestError."""

    def endpoint(request: Request) -> Response:
        start = time.perf_counter()
        try:
            body = handler(request.query_params.multi_items())
        except BadRequestError as exc:
            return _error(400, str(exc))
        body["elapsed_ms"] = round((time.perf_counter() - start) * 1000.0, 3)
        return JSONResponse(body, headers={"cache-control": "no-store"})

    return endpoint


def create_app(
    *, cache_size: int = 128, max_parallel: int | None = None, allowed_hosts: Iterable[str] | None = None
) -> Starlette:
    """Build the explorer's ASGI app.

    Args:
        cache_size: how many recent probe results to keep (0 disables the cache).
        max_parallel: most simulations running at once (default: the number of CPUs).
        allowed_hosts: accepted ``Host`` headers (guards a loopback server against DNS
            rebinding); ``None`` accepts any.

    Example:
        >>> app = create_app(allowed_hosts=["127.0.0.1", "localhost"])
        >>> [route.path for route in app.routes]
        ['/', '/api/probe', '/api/compare', '/api/options', '/api/openapi.json', '/static']
    """
    runner = _Runner(cache_size, max_parallel or os.cpu_count() or 1)

    def one(items: Sequence[tuple[str, str]]) -> dict[str, Any]:
        data, cached = runner.run(parse_probe(items))
        return {**data, "cached": cached}

    def many(items: Sequence[tuple[str, str]]) -> dict[str, Any]:
        runs = []
        for kwargs in parse_compare(items):
            data, cached = runner.run(kwargs)
            runs.append({"init": kwargs["init"], **data, "cached": cached})
        return {"runs": runs}

    def page(request: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html", headers={"cache-control": "no-cache"})

    def get_options(request: Request) -> Response:
        return JSONResponse(options())

    def get_openapi(request: Request) -> Response:
        return JSONResponse(openapi_spec())

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return _error(exc.status_code, str(exc.detail))

    async def server_error(request: Request, exc: Exception) -> Response:
        _log.error("unhandled error on %s", request.url.path, exc_info=exc)
        return _error(500, f"internal server error ({type(exc).__name__}); see the server log")

    middleware = [Middleware(_Guard, allowed_hosts=allowed_hosts)]
    routes = [
        Route("/", page),
        Route("/api/probe", _api(one)),
        Route("/api/compare", _api(many)),
        Route("/api/options", get_options),
        Route("/api/openapi.json", get_openapi),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (``localhost`` or a loopback address)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free one); ``OSError`` if it cannot bind."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    # proto must be IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on such sockets, and without
    # it every keep-alive response waits ~40 ms (Nagle's algorithm against a delayed ACK).
    sock = socket.socket(family, kind, proto or socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _server(app: ASGIApp, log_level: str) -> uvicorn.Server:
    return uvicorn.Server(uvicorn.Config(app, log_level=log_level, lifespan="off", access_log=False))


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


class ServerThread:
    """The explorer served by uvicorn in a background thread (for tests and benchmarks).

    Example:
        >>> import urllib.request
        >>> with ServerThread() as server:
        ...     urllib.request.urlopen(server.url + "api/options").status
        200
    """

    def __init__(self, app: ASGIApp | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self._sock = bind_socket(host, port)
        self.url = _url(self._sock)
        self._server = _server(app if app is not None else create_app(), "warning")
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def __enter__(self) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + 30.0
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.close()
                raise RuntimeError("the explorer server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the server and wait for its thread."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=30.0)
        self._sock.close()


def limit_blas_threads(threads: int | None) -> None:
    """Use ``threads`` BLAS threads in this process from now on (``None``: leave BLAS's default)."""
    if threads is not None:
        threadpool_limits(limits=threads, user_api="blas")


def serve(
    host: str = "127.0.0.1", port: int = 8765, *, open_browser: bool = False, blas_threads: int | None = 1
) -> None:
    """Serve the explorer on ``host:port`` until interrupted (Ctrl-C).

    A loopback ``host`` (the default) also refuses requests whose ``Host`` header names another
    machine. ``blas_threads`` is the number of BLAS threads per simulation (``None``: BLAS's
    default). Raises ``OSError`` if the port cannot be bound.
    """
    sock = bind_socket(host, port)
    limit_blas_threads(blas_threads)
    url = _url(sock)
    allowed = [*LOOPBACK_HOSTS, "[::1]"] if is_loopback(host) else None
    server = _server(create_app(allowed_hosts=allowed), "info")
    print(f"kaiming explorer: {url}  (Ctrl-C to stop)", flush=True)
    if open_browser:
        import webbrowser

        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
