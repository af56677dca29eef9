"""The explorer's work queue: cost-ordered, bounded, coalescing, memory-capped and cancellable.

A request's simulations become *jobs* keyed by their full parameters. :class:`Scheduler`

- answers from a **byte-bounded** LRU cache of finished results (JSON bytes, so the bound is
  exact and a cached answer needs no re-encoding);
- **coalesces** identical requests: a job already queued or running gets another waiter
  instead of a second computation;
- runs the **cheapest job first** on ``workers`` threads, plus one thread reserved for cheap
  jobs (cost at most ``light_cost``), so a small request is answered promptly while expensive
  ones run;
- **bounds the queue** (``max_queued`` cheap and ``max_queued_heavy`` expensive jobs waiting);
  beyond that :meth:`Scheduler.acquire` raises :class:`OverloadedError` with a retry delay (HTTP 503);
- **caps memory**: a job starts only while the estimated working sets of the running jobs stay
  within ``memory_budget`` bytes (a job alone over the budget is refused at once);
- **cancels** a job when its last waiter leaves: a queued job is dropped, a running one stops
  at its next checkpoint (between two layers of a probe, two steps of a phase diagram:
  :mod:`kaiming._interrupt`; :class:`Cancelled` is raised there and caught here), and its
  memory is handed back to the operating system. An exception injected into the worker thread at
  an arbitrary bytecode could land inside a thread pool's or a lock's own code and leave it
  held, hanging every later computation of the process.

Cost and memory estimates come from the caller (:mod:`kaiming.explorer._params`).
"""

from __future__ import annotations

import contextvars
import ctypes
import ctypes.util
import math
import threading
import time
from bisect import insort
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from .._interrupt import interruptible

__all__ = ["Cancelled", "Job", "OverloadedError", "Scheduler", "keep_freed_memory", "release_memory"]


class Cancelled(BaseException):
    """Raised at a checkpoint of a running job that nobody waits for any more."""


class OverloadedError(RuntimeError):
    """The queue is full (HTTP 503); ``retry_after`` is a suggested delay in whole seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(eq=False)
class Job:
    """One computation: its key, arguments, estimated cost and memory, and its waiters."""

    key: Hashable
    kwargs: dict[str, Any]
    cost: float
    memory: int
    seq: int
    waiters: int = 1
    state: str = "queued"  # queued -> running -> done | cancelled
    stop: threading.Event = field(default_factory=threading.Event)  # set: stop at the next checkpoint
    future: Future[bytes] = field(default_factory=Future)

    def __lt__(self, other: Job) -> bool:
        return (self.cost, self.seq) < (other.cost, other.seq)


def _libc() -> Any:
    name = ctypes.util.find_library("c")
    try:
        lib = ctypes.CDLL(name) if name else None
    except OSError:  # pragma: no cover - no C library to load
        return None
    return lib if lib is not None and hasattr(lib, "malloc_trim") else None


_LIBC = _libc()


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc mallopt parameters
KEEP_FREED_BYTES = 32 * 2**20
"""Allocations below this come from the heap and freed memory up to twice this stays there for
reuse (see :func:`keep_freed_memory`); 32 MiB is glibc's largest mmap threshold on 64 bits."""


def keep_freed_memory(limit: int = KEEP_FREED_BYTES) -> bool:
    """Let glibc serve allocations below ``limit`` bytes from the heap and keep up to ``2 * limit``
    freed bytes there for the next job (``mallopt``); return whether it applied (glibc only).

    By default glibc gives arrays above its mmap threshold (128 KiB to start with) their own
    mapping and hands the freed top of the heap back at once, so every probe touches its memory
    afresh: 1382 page faults and 41.9 ms per default explorer probe on the benchmark machine,
    3 faults and 28.9 ms with this setting (``benchmarks/bench_probe_faults.py``). Jobs above
    ``Scheduler``'s trim size still hand their memory back afterwards (:func:`release_memory`).
    Process-wide: the server calls it, the library does not.
    """
    if _LIBC is None or not hasattr(_LIBC, "mallopt"):
        return False
    return bool(_LIBC.mallopt(_M_MMAP_THRESHOLD, limit)) and bool(_LIBC.mallopt(_M_TRIM_THRESHOLD, 2 * limit))


def release_memory() -> None:
    """Hand freed heap memory back to the operating system (glibc ``malloc_trim``; else no-op)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


class Scheduler:
    """Runs ``compute(kwargs) -> bytes`` jobs; see the module docstring for the policy.

    Example:
        >>> s = Scheduler(lambda kw: str(kw["n"] ** 2).encode(), workers=1, memory_budget=10**6)
        >>> job, hit = s.acquire(("n", 12), {"n": 12}, cost=1.0, memory=100)
        >>> job.future.result(timeout=10), hit
        (b'144', None)
        >>> s.release(job)
        >>> s.acquire(("n", 12), {"n": 12}, cost=1.0, memory=100)[1]  # now from the cache
        b'144'
        >>> s.close()
    """

    def __init__(
        self,
        compute: Callable[[dict[str, Any]], bytes],
        *,
        workers: int,
        memory_budget: int,
        cache_bytes: int = 64 * 2**20,
        light_cost: float = 2.0**29,
        max_queued: int = 256,
        max_queued_heavy: int | None = None,
        trim_above: int = 32 * 2**20,
    ) -> None:
        self._compute = compute
        self.workers = workers
        self.memory_budget = memory_budget
        self.cache_bytes = cache_bytes
        self.light_cost = light_cost
        self.max_queued = max_queued
        self.max_queued_heavy = 2 * workers if max_queued_heavy is None else max_queued_heavy
        self._trim_above = trim_above
        self._cond = threading.Condition()
        self._queue: list[Job] = []
        self._inflight: dict[Hashable, Job] = {}
        self._cache: OrderedDict[Hashable, bytes] = OrderedDict()
        self._cached_bytes = 0
        self._memory_in_use = 0
        self._running_heavy = 0
        self._seq = 0
        self._closed = False
        self._seconds_per_cost = 1e-9  # learned from finished expensive jobs; only for Retry-After
        self.counts = {"computed": 0, "coalesced": 0, "cache_hits": 0, "cancelled": 0, "refused": 0}
        self.peak_memory_in_use = 0
        self._threads = [
            threading.Thread(target=self._work, args=(i == workers,), daemon=True, name=f"explorer-{i}")
            for i in range(workers + 1)
        ]
        for thread in self._threads:
            thread.start()

    # ---------- the request side ----------
    def acquire(
        self, key: Hashable, kwargs: dict[str, Any], cost: float, memory: int, *, admitted: bool = False
    ) -> tuple[Job, None] | tuple[None, bytes]:
        """The cached result ``(None, bytes)``, or a job to wait on ``(job, None)``.

        Every job returned must be given back with :meth:`release` once its waiter is done.
        Raises :class:`OverloadedError` when the queue is full (unless ``admitted``: a further job
        of a request whose first job was accepted), ``ValueError`` when ``memory`` alone exceeds
        the budget.
        """
        if memory > self.memory_budget:
            raise ValueError(
                f"Request too large: it needs about {memory / 2**30:.2f} GiB, over this server's memory "
                f"budget of {self.memory_budget / 2**30:.2f} GiB; lower depth, width or batch"
            )
        with self._cond:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                self.counts["cache_hits"] += 1
                return None, hit
            job = self._inflight.get(key)
            if job is not None:
                job.waiters += 1
                self.counts["coalesced"] += 1
                return job, None
            heavy = cost > self.light_cost
            queued = sum(1 for j in self._queue if (j.cost > self.light_cost) == heavy)
            if not admitted and queued >= (self.max_queued_heavy if heavy else self.max_queued):
                self.counts["refused"] += 1
                raise OverloadedError(
                    "the explorer is busy: too many requests are waiting", self._retry_after()
                )
            self._seq += 1
            job = Job(key, kwargs, cost, memory, self._seq)
            self._inflight[key] = job
            insort(self._queue, job)
            self._cond.notify_all()
            return job, None

    def release(self, job: Job) -> None:
        """One waiter of ``job`` is done (answered or gone); the last one cancels unfinished work."""
        with self._cond:
            job.waiters -= 1
            if job.waiters > 0 or job.state not in ("queued", "running"):
                return
            self.counts["cancelled"] += 1
            if self._inflight.get(job.key) is job:
                del self._inflight[job.key]
            if job.state == "queued":
                self._queue.remove(job)
                job.state = "cancelled"
                job.future.cancel()
            else:
                job.stop.set()

    def _retry_after(self) -> int:
        queued = sum(j.cost for j in self._queue)
        return max(1, min(600, math.ceil(queued * self._seconds_per_cost / max(self.workers, 1))))

    def stats(self) -> dict[str, Any]:
        """Counters and current levels: queue, running memory estimate, cache bytes."""
        with self._cond:
            return {
                **self.counts,
                "queued": len(self._queue),
                "memory_in_use": self._memory_in_use,
                "peak_memory_in_use": self.peak_memory_in_use,
                "memory_budget": self.memory_budget,
                "cache_entries": len(self._cache),
                "cache_bytes": self._cached_bytes,
                "cache_budget": self.cache_bytes,
            }

    def close(self) -> None:
        """Stop the workers after their current job (queued jobs are cancelled)."""
        with self._cond:
            self._closed = True
            for job in self._queue:
                job.state = "cancelled"
                job.future.cancel()
            self._queue.clear()
            self._cond.notify_all()

    # ---------- the worker side ----------
    def _pick(self, light_only: bool) -> Job | None:
        for job in self._queue:  # cheapest first
            heavy = job.cost > self.light_cost
            if heavy and (light_only or self._running_heavy >= self.workers):
                if light_only:
                    return None
                continue
            if self._memory_in_use and self._memory_in_use + job.memory > self.memory_budget:
                continue
            return job
        return None

    def _work(self, light_only: bool) -> None:
        while True:
            with self._cond:
                job = self._pick(light_only)
                while job is None and not self._closed:
                    self._cond.wait()
                    job = self._pick(light_only)
                if job is None:
                    return
                self._queue.remove(job)
                job.state = "running"
                self._memory_in_use += job.memory
                self.peak_memory_in_use = max(self.peak_memory_in_use, self._memory_in_use)
                heavy = job.cost > self.light_cost
                self._running_heavy += heavy
            self._run(job, heavy)

    def _interruptible(self, check: Callable[[], None], kwargs: dict[str, Any]) -> bytes:
        with interruptible(check):
            return self._compute(kwargs)

    def _run(self, job: Job, heavy: bool) -> None:
        data: bytes | None = None
        error: BaseException | None = None
        start = time.perf_counter()

        def check() -> None:
            if job.stop.is_set():
                raise Cancelled

        try:
            with self._cond:
                if job.waiters <= 0:  # everyone left before it started
                    raise Cancelled
            data = contextvars.Context().run(self._interruptible, check, job.kwargs)
        except Cancelled:
            data, error = None, None
        except Exception as exc:  # handed to the waiters
            error = exc
        elapsed = time.perf_counter() - start
        with self._cond:
            self._memory_in_use -= job.memory
            self._running_heavy -= heavy
            cancelled = job.waiters <= 0
            job.state = "cancelled" if cancelled else "done"
            if self._inflight.get(job.key) is job:
                del self._inflight[job.key]
            if data is not None:
                self.counts["computed"] += 1
                if heavy and not cancelled:  # cheap jobs' fixed overheads would inflate the rate
                    rate = elapsed / job.cost
                    self._seconds_per_cost = 0.8 * self._seconds_per_cost + 0.2 * rate
                self._remember(job.key, data)
            self._cond.notify_all()
        if job.memory > self._trim_above:
            release_memory()
        if cancelled:
            job.future.cancel()
        elif error is not None:
            job.future.set_exception(error)
        elif data is not None:
            job.future.set_result(data)
        else:  # interrupted, yet a waiter arrived after the interruption was sent
            job.future.set_exception(OverloadedError("the computation was interrupted; retry", 1))

    def _remember(self, key: Hashable, data: bytes) -> None:
        if len(data) > self.cache_bytes:
            return
        old = self._cache.pop(key, None)
        if old is not None:
            self._cached_bytes -= len(old)
        self._cache[key] = data
        self._cached_bytes += len(data)
        while self._cached_bytes > self.cache_bytes:
            _, dropped = self._cache.popitem(last=False)
            self._cached_bytes -= len(dropped)
