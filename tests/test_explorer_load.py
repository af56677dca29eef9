"""The explorer server under hostile or heavy use: Host parsing, cross-site requests, coalescing,
scheduling by cost, the bounded queue, cancellation and the memory bounds.

The simulations are replaced by stand-ins whose duration is set by the request (``width``), so
each timing below has a margin of several times the work involved; the real load figures come
from ``benchmarks/bench_explorer_load.py``.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import tracemalloc
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

with warnings.catch_warnings():  # starlette >= 1.0 suggests httpx2 for its TestClient; httpx works
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from kaiming._interrupt import checkpoint
from kaiming.explorer import _jobs, server
from kaiming.explorer._guard import parse_host
from kaiming.explorer._jobs import Scheduler
from kaiming.explorer._params import parse_probe, probe_memory
from kaiming.propagation import probe

TINY = {"depth": 2, "width": 4, "batch": 4}
HEAVY = {"depth": 100, "width": 2048, "batch": 16}  # cost ~ 10**10, far above the cheap threshold
NO_LIMIT = 2**40  # memory budget for stand-in simulations, which allocate almost nothing


# ---------- Host header ----------

MALFORMED_HOSTS = [
    "localhost:evil.com",
    "127.0.0.1:80@evil.com",
    "evil.com@127.0.0.1",
    "127.0.0.1/evil",
    "127.0.0.1:",
    "127.0.0.1:99999",
    "127.0.0.1:8o",
    "local host",
    "[::1",
    "[evil.com]:80",
    "::1",
    "-bad-.example",
    "",
]


@pytest.mark.parametrize("host", MALFORMED_HOSTS)
def test_malformed_host_headers_are_refused(host: str) -> None:
    assert parse_host(host) is None
    client = TestClient(server.create_app(allowed_hosts=["127.0.0.1", "localhost", "[::1]"]))
    response = client.get("/api/options", headers={"host": host})
    assert response.status_code == 400 and "Host" in response.json()["error"]


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:8765", "LOCALHOST:1", "[::1]:8765", "[::1]"])
def test_well_formed_loopback_hosts_are_served(host: str) -> None:
    client = TestClient(server.create_app(allowed_hosts=["127.0.0.1", "localhost", "[::1]"]))
    assert client.get("/api/options", headers={"host": host}).status_code == 200


@settings(max_examples=60, deadline=None)
@given(hs.text(max_size=40))
def test_parse_host_accepts_only_what_it_can_rebuild(header: str) -> None:
    parsed = parse_host(header)
    if parsed is not None:
        host, port = parsed
        rest = header.lower().removeprefix(host)
        assert rest == "" if port is None else (rest[0] == ":" and int(rest[1:]) == port)
        assert "@" not in host and "/" not in host and " " not in host
        assert port is None or 0 <= port <= 65535


# ---------- cross-site requests ----------


@pytest.fixture()
def counting(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    real = server.probe

    def counted(**kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(server, "probe", counted)
    return calls


@pytest.mark.parametrize(
    "headers",
    [
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"origin": "http://127.0.0.1:9999"},  # another port is another origin
        {"sec-fetch-site": "same-origin", "origin": "http://evil.example"},
    ],
)
def test_cross_site_api_requests_are_refused_before_any_work(
    counting: list[dict[str, Any]], headers: dict[str, str]
) -> None:
    client = TestClient(server.create_app(), base_url="http://127.0.0.1:8765")
    for path in ("/api/probe", "/api/compare", "/api/options"):
        response = client.get(path, params=TINY if path != "/api/options" else None, headers=headers)
        assert response.status_code == 403, (path, response.text)
        assert "Cross-site request refused" in response.json()["error"]
    assert counting == []
    # The page itself may be opened from a link on another site.
    assert client.get("/", headers=headers).status_code == 200


def test_same_origin_and_non_browser_requests_are_served(counting: list[dict[str, Any]]) -> None:
    client = TestClient(server.create_app(), base_url="http://127.0.0.1:8765")
    own = {"sec-fetch-site": "same-origin", "origin": "http://127.0.0.1:8765"}
    assert client.get("/api/probe", params=TINY, headers=own).status_code == 200
    assert (
        client.get("/api/probe", params={**TINY, "seed": 1}, headers={"sec-fetch-site": "none"}).status_code
        == 200
    )
    assert client.get("/api/probe", params={**TINY, "seed": 2}).status_code == 200  # curl: no such headers
    assert len(counting) == 3


# ---------- a real server with stand-in simulations ----------


def stand_in(calls: list[dict[str, Any]], seconds: Callable[[dict[str, Any]], float]) -> Callable[..., Any]:
    """A probe that sleeps in small steps, each a checkpoint where it can be stopped as the real
    one is between layers, before running the real one."""
    real = server.probe

    def slow(**kwargs: Any) -> Any:
        record: dict[str, Any] = {"kwargs": kwargs, "finished": False, "start": time.perf_counter()}
        calls.append(record)
        deadline = time.perf_counter() + seconds(kwargs)
        while time.perf_counter() < deadline:
            checkpoint()
            time.sleep(0.005)
        record["finished"] = True
        small = {**kwargs, "depth": 2, "width": 4, "batch": 4, "histogram_layer": 2}
        return real(**small)

    return slow


@pytest.fixture()
def calls() -> list[dict[str, Any]]:
    return []


def serve(app: Any) -> Iterator[str]:
    with server.ServerThread(app) as running:
        yield running.url


def fire(url: str, params: dict[str, Any], out: list[Any], timeout: float = 60.0) -> threading.Thread:
    def go() -> None:
        start = time.perf_counter()
        try:
            response = httpx.get(url + "api/probe", params=params, timeout=timeout)
            out.append((response.status_code, time.perf_counter() - start, response))
        except httpx.TimeoutException:
            out.append(("timeout", time.perf_counter() - start, None))

    thread = threading.Thread(target=go)
    thread.start()
    return thread


def test_identical_requests_in_flight_are_computed_once(
    monkeypatch: pytest.MonkeyPatch, calls: list[dict[str, Any]]
) -> None:
    monkeypatch.setattr(server, "probe", stand_in(calls, lambda kw: 0.6))
    app = server.create_app(max_parallel=4, memory_budget=NO_LIMIT)
    with server.ServerThread(app) as running:
        out: list[Any] = []
        threads = [fire(running.url, TINY, out) for _ in range(4)]
        for thread in threads:
            thread.join()
        stats = httpx.get(running.url + "api/stats").json()
    assert [code for code, _, _ in out] == [200] * 4
    assert len(calls) == 1
    assert len({response.json()["layers"][0]["post_std"] for _, _, response in out}) == 1
    assert stats["computed"] == 1 and stats["coalesced"] + stats["cache_hits"] == 3


def test_cheap_requests_are_answered_while_expensive_ones_run(
    monkeypatch: pytest.MonkeyPatch, calls: list[dict[str, Any]]
) -> None:
    # Expensive: 3 s each; one worker. Without the reserved thread and the cost order, the
    # tiny requests would wait for the expensive ones (>= 3 s).
    monkeypatch.setattr(server, "probe", stand_in(calls, lambda kw: 3.0 if kw["width"] > 64 else 0.0))
    app = server.create_app(max_parallel=1, max_queued_heavy=8, memory_budget=NO_LIMIT)
    with server.ServerThread(app) as running:
        heavy: list[Any] = []
        threads = [fire(running.url, {**HEAVY, "seed": s}, heavy) for s in range(3)]
        time.sleep(0.5)
        tiny: list[Any] = []
        threads += [fire(running.url, {**TINY, "seed": s}, tiny) for s in range(10)]
        for thread in threads[3:]:
            thread.join()
        assert [code for code, _, _ in tiny] == [200] * 10
        assert max(elapsed for _, elapsed, _ in tiny) < 2.0, tiny
        assert sum(r["finished"] for r in calls if r["kwargs"]["width"] > 64) == 0  # still running
        app.state.scheduler.close()  # stop the expensive ones from queueing further
        for thread in threads[:3]:
            thread.join()


def test_a_full_queue_answers_503_with_retry_after(
    monkeypatch: pytest.MonkeyPatch, calls: list[dict[str, Any]]
) -> None:
    monkeypatch.setattr(server, "probe", stand_in(calls, lambda kw: 1.5))
    app = server.create_app(max_parallel=1, max_queued_heavy=1, memory_budget=NO_LIMIT)
    with server.ServerThread(app) as running:
        out: list[Any] = []
        threads = []
        for seed in range(3):
            threads.append(fire(running.url, {**HEAVY, "seed": seed}, out))
            time.sleep(0.3)  # in order: the first runs, the second waits, the third is refused
        for thread in threads:
            thread.join()
    codes = sorted(code for code, _, _ in out)
    assert codes == [200, 200, 503], out
    refused = next(response for code, _, response in out if code == 503)
    assert int(refused.headers["retry-after"]) >= 1
    assert "busy" in refused.json()["error"]


def test_work_of_a_client_that_left_is_stopped(
    monkeypatch: pytest.MonkeyPatch, calls: list[dict[str, Any]]
) -> None:
    monkeypatch.setattr(server, "probe", stand_in(calls, lambda kw: 20.0 if kw["width"] > 64 else 0.0))
    app = server.create_app(max_parallel=1, max_queued_heavy=4, memory_budget=NO_LIMIT)
    with server.ServerThread(app) as running:
        out: list[Any] = []
        # One runs, one waits in the queue; the waiting client gives up first, then the other.
        threads = [fire(running.url, {**HEAVY, "seed": 0}, out, timeout=1.5)]
        time.sleep(0.3)
        threads.append(fire(running.url, {**HEAVY, "seed": 1}, out, timeout=0.8))
        for thread in threads:
            thread.join()
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            stats = httpx.get(running.url + "api/stats").json()
            if stats["cancelled"] == 2 and stats["memory_in_use"] == 0:
                break
            time.sleep(0.05)
        assert stats["cancelled"] == 2 and stats["memory_in_use"] == 0, stats
        assert len(calls) == 1 and not calls[0]["finished"]  # the queued one never started
        # The worker is free again: a new request is served at once.
        assert httpx.get(running.url + "api/probe", params=TINY, timeout=10).status_code == 200
    assert [code for code, _, _ in out] == ["timeout", "timeout"]


# ---------- memory ----------


def test_running_work_stays_within_the_memory_budget(
    monkeypatch: pytest.MonkeyPatch, calls: list[dict[str, Any]]
) -> None:
    monkeypatch.setattr(server, "probe", stand_in(calls, lambda kw: 0.5))
    one = probe_memory(parse_probe([(k, str(v)) for k, v in HEAVY.items()]))
    app = server.create_app(max_parallel=4, memory_budget=int(1.5 * one))  # room for one at a time
    with server.ServerThread(app) as running:
        out: list[Any] = []
        threads = [fire(running.url, {**HEAVY, "seed": s}, out) for s in range(3)]
        for thread in threads:
            thread.join()
        stats = httpx.get(running.url + "api/stats").json()
    assert [code for code, _, _ in out] == [200] * 3
    assert stats["peak_memory_in_use"] == one <= stats["memory_budget"]
    starts = sorted(r["start"] for r in calls)
    assert starts[1] - starts[0] >= 0.45 and starts[2] - starts[1] >= 0.45  # one after the other


def test_a_request_over_the_memory_budget_is_refused_at_once() -> None:
    client = TestClient(server.create_app(memory_budget=2**20))
    message = client.get("/api/probe", params={"depth": 10, "width": 512, "batch": 64}).json()["error"]
    assert "memory budget" in message and "depth, width or batch" in message


def test_the_cache_is_bounded_by_bytes() -> None:
    budget = 20_000
    client = TestClient(server.create_app(cache_bytes=budget))
    sizes = [len(client.get("/api/probe", params={**TINY, "depth": 8, "seed": s}).content) for s in range(12)]
    stats = client.get("/api/stats").json()
    assert sum(sizes) > 2 * budget  # the requests would not all fit
    assert 0 < stats["cache_bytes"] <= budget and stats["cache_entries"] < 12


@pytest.mark.parametrize(
    ("init", "depth", "width", "batch", "dtype"),
    [
        ("he_normal", 10, 256, 256, "float32"),
        ("orthogonal", 6, 512, 16, "float64"),
        ("he_truncated_normal", 6, 512, 16, "float32"),
        ("xavier_uniform", 3, 32, 2048, "float32"),
    ],
)
def test_the_memory_estimate_bounds_the_measured_peak(
    init: str, depth: int, width: int, batch: int, dtype: str
) -> None:
    kwargs = parse_probe(
        [
            ("init", init),
            ("depth", str(depth)),
            ("width", str(width)),
            ("batch", str(batch)),
            ("dtype", dtype),
        ]
    )
    tracemalloc.start()
    try:
        probe(**{**kwargs, "batch_norm": True, "bias_std": 0.1})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    estimate = probe_memory(kwargs)
    assert peak <= estimate <= 3 * peak + 2**21, (peak, estimate)


def test_scheduler_runs_the_cheapest_queued_job_first() -> None:
    order: list[int] = []
    gate = threading.Event()

    def compute(kwargs: dict[str, Any]) -> bytes:
        gate.wait(10)
        order.append(kwargs["n"])
        return b"{}"

    scheduler = Scheduler(compute, workers=1, memory_budget=10**9, light_cost=0.0, max_queued_heavy=8)
    try:
        first, _ = scheduler.acquire("first", {"n": 0}, cost=5.0, memory=1)
        time.sleep(0.2)  # the worker takes it and blocks on the gate
        jobs = [
            scheduler.acquire(f"job{n}", {"n": n}, cost=float(c), memory=1)[0]
            for n, c in [(1, 9), (2, 3), (3, 6)]
        ]
        gate.set()
        for job in [first, *jobs]:
            assert job is not None
            job.future.result(timeout=10)
            scheduler.release(job)
    finally:
        scheduler.close()
    assert order == [0, 2, 3, 1]


def test_a_compare_request_is_not_refused_by_its_own_jobs(
    monkeypatch: pytest.MonkeyPatch, calls: list[dict[str, Any]]
) -> None:
    # Three expensive inits of one request with room for one waiting job: the request was
    # admitted by its first job, so the other two must not be answered 503.
    monkeypatch.setattr(server, "probe", stand_in(calls, lambda kw: 0.1))
    client = TestClient(server.create_app(max_parallel=1, max_queued_heavy=1, memory_budget=NO_LIMIT))
    response = client.get(
        "/api/compare", params={**HEAVY, "batch": 4, "inits": "he_normal,xavier_normal,random"}
    )
    assert response.status_code == 200, response.text
    assert [run["init"] for run in response.json()["runs"]] == ["he_normal", "xavier_normal", "random"]
    assert len(calls) == 3


# ---------- memory kept for reuse ----------

_FAULTS_OF_A_REUSED_ARRAY = """
import resource, sys
import numpy as np
from kaiming.explorer._jobs import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
n = 3 * 2**20 // 8  # 3 MiB: above glibc's first mmap threshold, below NumPy's huge-page size
np.ones(n).sum()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
np.ones(n).sum()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(_jobs._LIBC is None, reason="mallopt is glibc's")
def test_freed_memory_is_reused_without_page_faults() -> None:
    """With keep_freed_memory, an array allocated again after being freed reuses the same pages;
    by default glibc maps it afresh (768 faults of 4 KiB for 3 MiB)."""
    faults = {}
    for mode in ("keep", "default"):
        run = [sys.executable, "-c", _FAULTS_OF_A_REUSED_ARRAY, mode]
        faults[mode] = int(subprocess.run(run, capture_output=True, text=True, check=True).stdout)
    assert faults["default"] >= 700, faults
    assert faults["keep"] < 50, faults
