"""The explorer's web server: a Starlette app serving the page and a JSON API over the probe.

Routes (all ``GET``):

- ``/`` the page; ``/static/...`` its script, style sheet and icon (package data, no CDN);
- ``/api/probe`` one simulated network (:func:`kaiming.probe`) as JSON;
- ``/api/compare`` the same network under several initializers, for the overlay charts;
- ``/api/options`` the names, defaults and bounds the page builds its controls from;
- ``/api/openapi.json`` the OpenAPI 3.1 description of the above.

Every query parameter is validated and bounded (:mod:`kaiming.explorer._params`); a bad request
gets HTTP 400 with ``{"error": "..."}`` naming the parameter, and any unexpected failure gets
HTTP 500 with a JSON message and no traceback (the traceback goes to the server log).

The simulations run on :class:`kaiming.explorer._jobs.Scheduler`'s threads: cheapest first, with
one thread kept for cheap requests, identical requests coalesced, a bounded queue (HTTP 503 with
``Retry-After`` when full), a memory budget over the running jobs' estimated working sets, a
byte-bounded cache of results, and cancellation of the work of a client that has gone away.

API requests from a page of another site (``Sec-Fetch-Site: cross-site``/``same-site``, or an
``Origin`` that is not the server's own) get HTTP 403, and a malformed ``Host`` header HTTP 400
(:mod:`kaiming.explorer._guard`).

BLAS threads: the server runs NumPy with ``blas_threads`` BLAS threads per simulation (default
1, set process-wide with ``threadpoolctl``) and serves requests in parallel instead. On a busy
machine multi-threaded BLAS oversubscribes the cores: we measured one thread 7x faster than two
for the same probe on a loaded 2-core machine.

Starlette, uvicorn and threadpoolctl are the optional extra ``kaiming[explorer]``; only this
module imports them.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
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

from kaiming import stream
from kaiming.propagation import probe
from kaiming.propagation.correlation import depth_scales
from kaiming.propagation.phase import phase_diagram, phase_point

from .._json import jsonable
from ._guard import cross_site_reason, parse_host
from ._jobs import Job, OverloadedError, Scheduler, keep_freed_memory
from ._openapi import openapi_spec
from ._options import options
from ._params import (
    BadRequestError,
    parse_compare,
    parse_phase,
    parse_probe,
    probe_cost,
    probe_memory,
)

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
    """ASGI middleware: refuse bad ``Host`` headers (400) and cross-site API requests (403), and
    add security headers.

    The host check guards a loopback server against DNS rebinding; the cross-site check stops a
    page of another site from making a visitor's browser run simulations; the headers set a
    strict same-origin content-security policy and no content sniffing on every response.
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

        headers = Headers(scope=scope)
        refusal = self._refusal(headers, scope)
        if refusal is not None:
            await refusal(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)

    def _refusal(self, headers: Headers, scope: Scope) -> Response | None:
        raw = headers.get("host", "")
        parsed = parse_host(raw)
        if parsed is None:
            return _error(400, f"Invalid Host header {raw[:100]!r}: expected host[:port]")
        if self.allowed is not None and parsed[0] not in self.allowed:
            return _error(
                400, f"Invalid Host header {parsed[0]!r}; this server answers only {sorted(self.allowed)}"
            )
        if str(scope.get("path", "")).startswith("/api/"):
            reason = cross_site_reason(
                raw, str(scope.get("scheme", "http")), headers.get("origin"), headers.get("sec-fetch-site")
            )
            if reason is not None:
                return _error(403, f"Cross-site request refused: {reason}")
        return None


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers={"cache-control": "no-store"})


PHASE_GRID = (np.linspace(0.25, 4.0, 24), np.linspace(0.0, 0.5, 11))
"""The ``(sigma_w2, sigma_b2)`` grid of the page's phase diagram."""
_PHASE_COST = 2.0**31  # seconds of quadrature for some activations: never in the cheap lane
_PHASE_MEMORY = 64 * 2**20


_DIAGRAMS: dict[tuple[str, float | None], dict[str, Any]] = {}  # one per activation: a few kB each


def _diagram(act: str, param: float | None) -> dict[str, Any]:
    """The page's phase diagram of an activation (computed once: seconds of quadrature)."""
    key = (act, param)
    if key not in _DIAGRAMS:
        _DIAGRAMS[key] = phase_diagram(act, *PHASE_GRID, activation_param=param).to_dict()
    return _DIAGRAMS[key]


def _phase(kwargs: Kwargs) -> dict[str, Any]:
    """The phase diagram of ``kwargs``' activation and where its network sits on it."""
    act, param = kwargs["activation"], kwargs.get("activation_param")
    diagram = _diagram(act, param)
    sigma_w2, sigma_b2 = phase_point(**kwargs)
    scales = depth_scales(act, sigma_w2, sigma_b2, activation_param=param)
    point = {
        "sigma_w2": sigma_w2,
        "sigma_b2": sigma_b2,
        "chi_1": scales.chi_1,
        "xi_c": scales.xi_c,
        "phase": scales.phase,
    }
    return {"diagram": diagram, "point": point}


def _compute(kwargs: Kwargs, draw_threads: int | None = None) -> bytes:
    """One probe (or, with ``kind="phase"``, one phase diagram) as compact strict-JSON bytes; the
    library's own ``ValueError``/``TypeError`` is a 400. ``draw_threads``: see :func:`create_app`."""
    _limit_draw_threads(draw_threads)
    rest = {k: v for k, v in kwargs.items() if k != "kind"}
    try:
        # A probe's to_dict() is JSON-safe already; the phase diagram's dict is not.
        data = jsonable(_phase(rest)) if kwargs.get("kind") == "phase" else probe(**rest).to_dict()
    except (ValueError, TypeError) as exc:
        raise BadRequestError(str(exc)) from exc
    return json.dumps(data, separators=(",", ":"), allow_nan=False).encode()


def _limit_draw_threads(threads: int | None) -> None:
    """Use at most ``threads`` numba threads for the counter stream's draws started from the
    calling thread (numba's setting is per thread); nothing without numba or with ``None``."""
    if threads is None or not stream.fast_path_available():
        return
    import numba  # present: the fast path needs it

    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))  # type: ignore[attr-defined]


@functools.cache
def _warm_draws() -> None:
    """Load the counter stream's compiled kernels (numba's disk cache: about a second) before the
    first request needs them; once per process."""
    if not stream.fast_path_available():
        return
    for dist in stream.STREAM_DISTRIBUTIONS:
        for dtype in (np.float32, np.float64):
            stream.sample(dist, 1, stream.key(0, "warm-up"), dtype=dtype, backend="numba")


def _available_memory() -> int:
    """``MemAvailable`` of ``/proc/meminfo`` in bytes (4 GiB where it cannot be read)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 4 * 2**30


class _ClientGoneError(Exception):
    """The client closed its connection before its answer was ready."""


async def _wait_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _bridge(job: Job, loop: asyncio.AbstractEventLoop) -> asyncio.Future[bytes]:
    """An asyncio future that follows ``job.future`` (cancelling it does not touch the job)."""
    waiter: asyncio.Future[bytes] = loop.create_future()

    def copy(_: object) -> None:
        if waiter.done():
            return
        if job.future.cancelled():
            waiter.set_exception(OverloadedError("the computation was interrupted; retry", 1))
        elif (exc := job.future.exception()) is not None:
            waiter.set_exception(exc)
        else:
            waiter.set_result(job.future.result())

    job.future.add_done_callback(lambda _: loop.call_soon_threadsafe(copy, None))
    return waiter


async def _results(
    scheduler: Scheduler, runs: Sequence[Kwargs], receive: Receive
) -> list[tuple[bytes, bool]]:
    """Each run's JSON bytes and whether it came from the cache, waiting while watching the client."""
    loop = asyncio.get_running_loop()
    jobs: list[Job] = []
    slots: list[bytes | asyncio.Future[bytes]] = []
    watcher = None
    try:
        for kwargs in runs:
            key = tuple(sorted(kwargs.items()))
            phase = kwargs.get("kind") == "phase"
            known = (kwargs.get("activation"), kwargs.get("activation_param")) in _DIAGRAMS
            cost = (1.0 if known else _PHASE_COST) if phase else probe_cost(kwargs)
            memory = _PHASE_MEMORY if phase else probe_memory(kwargs)
            try:
                job, hit = scheduler.acquire(key, kwargs, cost, memory, admitted=bool(slots))
            except ValueError as exc:
                raise BadRequestError(str(exc)) from exc
            if job is None:
                assert hit is not None
                slots.append(hit)
            else:
                jobs.append(job)
                slots.append(_bridge(job, loop))
        pending: set[asyncio.Future[Any]] = {s for s in slots if isinstance(s, asyncio.Future)}
        if pending:
            watcher = asyncio.ensure_future(_wait_disconnect(receive))
            while pending:
                waits: set[asyncio.Future[Any]] = {*pending, watcher}
                done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                if watcher in done:
                    raise _ClientGoneError
                pending -= done
        return [(s, True) if isinstance(s, bytes) else (s.result(), False) for s in slots]
    finally:
        if watcher is not None:
            watcher.cancel()
        for slot in slots:
            if isinstance(slot, asyncio.Future) and not slot.done():
                slot.cancel()
        for job in jobs:
            scheduler.release(job)


def _with_fields(data: bytes, fields: dict[str, Any]) -> bytes:
    """``data`` (a JSON object) with ``fields`` added in front."""
    head = json.dumps(fields, separators=(",", ":")).encode()
    return head[:-1] + (b"," + data[1:] if data != b"{}" else b"}")


def _api(
    scheduler: Scheduler, parse: Callable[[Sequence[tuple[str, str]]], list[Kwargs]], many: bool
) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint running the probes of ``parse(query)``: one object, or ``{"runs": [...]}``."""

    async def endpoint(request: Request) -> Response:
        start = time.perf_counter()
        try:
            runs = parse(request.query_params.multi_items())
            results = await _results(scheduler, runs, request.receive)
        except BadRequestError as exc:
            return _error(400, str(exc))
        except OverloadedError as exc:
            response = _error(503, str(exc))
            response.headers["retry-after"] = str(exc.retry_after)
            return response
        except _ClientGoneError:
            return Response(status_code=499)  # nobody reads it
        elapsed = {"elapsed_ms": round((time.perf_counter() - start) * 1000.0, 3)}
        if many:
            items = [
                _with_fields(data, {"init": kwargs["init"], "cached": hit})
                for kwargs, (data, hit) in zip(runs, results, strict=True)
            ]
            body = _with_fields(b'{"runs":[' + b",".join(items) + b"]}", elapsed)
        else:
            body = _with_fields(results[0][0], {"cached": results[0][1], **elapsed})
        return Response(body, media_type="application/json", headers={"cache-control": "no-store"})

    return endpoint


def create_app(
    *,
    cache_bytes: int = 64 * 2**20,
    max_parallel: int | None = None,
    memory_budget: int | None = None,
    max_queued: int = 256,
    max_queued_heavy: int | None = None,
    allowed_hosts: Iterable[str] | None = None,
    draw_threads: int | None = 1,
    warm: bool = True,
    reuse_memory: bool = True,
) -> Starlette:
    """Build the explorer's ASGI app.

    Args:
        cache_bytes: most bytes of JSON results kept (0 disables the cache).
        max_parallel: most simulations running at once besides the one thread kept for cheap
            requests (default: the number of CPUs less one, at least 1, so that a core is left
            for cheap requests and the event loop).
        memory_budget: most bytes the running simulations may hold, by their estimate
            (default: half the memory available when the app is built).
        max_queued: most cheap simulations waiting; more get HTTP 503.
        max_queued_heavy: most expensive simulations waiting (default ``2 * max_parallel``).
        allowed_hosts: accepted ``Host`` names (guards a loopback server against DNS
            rebinding); ``None`` accepts any well-formed one.
        draw_threads: numba threads per simulation for the counter stream's draws (``None``:
            numba's default, all cores). One, like one BLAS thread: simulations run side by
            side, and on a busy 2-core machine two threads per draw were slower than one.
        warm: load the counter stream's compiled kernels now (once per process, about a second)
            instead of during the first request.
        reuse_memory: keep freed heap memory in this process for the next simulation
            (:func:`kaiming.explorer._jobs.keep_freed_memory`: glibc's ``mallopt``, process-wide)
            instead of faulting it in afresh each time.

    Example:
        >>> app = create_app(allowed_hosts=["127.0.0.1", "localhost"])
        >>> [route.path for route in app.routes][:5]
        ['/', '/api/probe', '/api/compare', '/api/phase', '/api/options']
    """
    workers = max_parallel or max(1, (os.cpu_count() or 1) - 1)
    if warm:  # here, not in a background thread: nothing else runs beside a request's timing
        _warm_draws()
    if reuse_memory:
        keep_freed_memory()
    scheduler = Scheduler(
        functools.partial(_compute, draw_threads=draw_threads),
        workers=workers,
        memory_budget=memory_budget if memory_budget is not None else _available_memory() // 2,
        cache_bytes=cache_bytes,
        max_queued=max_queued,
        max_queued_heavy=max_queued_heavy,
    )

    def page(request: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html", headers={"cache-control": "no-cache"})

    def get_options(request: Request) -> Response:
        return JSONResponse(options())

    def get_stats(request: Request) -> Response:
        return JSONResponse(scheduler.stats(), headers={"cache-control": "no-store"})

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
        Route("/api/probe", _api(scheduler, lambda items: [parse_probe(items)], many=False)),
        Route("/api/compare", _api(scheduler, parse_compare, many=True)),
        Route(
            "/api/phase", _api(scheduler, lambda items: [{"kind": "phase", **parse_phase(items)}], many=False)
        ),
        Route("/api/options", get_options),
        Route("/api/stats", get_stats),
        Route("/api/openapi.json", get_openapi),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )
    app.state.scheduler = scheduler
    return app


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
        self._app = app if app is not None else create_app()
        self._server = _server(self._app, "warning")
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
        scheduler = getattr(getattr(self._app, "state", None), "scheduler", None)
        if isinstance(scheduler, Scheduler):
            scheduler.close()  # its worker threads end after their current job


def limit_blas_threads(threads: int | None) -> None:
    """Use ``threads`` BLAS threads in this process from now on (``None``: leave BLAS's default)."""
    if threads is not None:
        threadpool_limits(limits=threads, user_api="blas")


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    open_browser: bool = False,
    blas_threads: int | None = 1,
    memory_budget: int | None = None,
) -> None:
    """Serve the explorer on ``host:port`` until interrupted (Ctrl-C).

    A loopback ``host`` (the default) also refuses requests whose ``Host`` header names another
    machine. ``blas_threads`` is the number of BLAS threads per simulation (``None``: BLAS's
    default); ``memory_budget`` bounds the running simulations in bytes (see :func:`create_app`).
    Raises ``OSError`` if the port cannot be bound.
    """
    sock = bind_socket(host, port)
    limit_blas_threads(blas_threads)
    url = _url(sock)
    allowed = [*LOOPBACK_HOSTS, "[::1]"] if is_loopback(host) else None
    server = _server(create_app(allowed_hosts=allowed, memory_budget=memory_budget), "info")
    print(f"kaiming explorer: {url}  (Ctrl-C to stop)", flush=True)
    if open_browser:
        import webbrowser

        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
