# ruff: noqa: E501  (long report lines)
"""Load on the explorer server: cross-site requests, duplicates, head-of-line blocking, memory.

Starts ``kaiming explore`` on 127.0.0.1 (a free port; nothing else is contacted) in a child
process, then, with a bounded number of requests:

1. **cross-site**: the largest allowed probe sent with ``Sec-Fetch-Site: cross-site`` and with a
   foreign ``Origin``, as a page of another site would make a visitor's browser send it: status
   codes, and whether any simulation ran (``/api/stats``);
2. **duplicates**: ``--dup`` identical expensive requests at once: how many simulations ran, and
   the wall time against one request alone;
3. **head-of-line**: ``--heavy`` of the largest allowed requests (100 x 2048 x 41, the work cap)
   and ``--tiny`` tiny ones (1-3 layers x 16 x 16, distinct seeds) at once: the tiny ones'
   latency, the heavy ones' status codes (200, or 503 with Retry-After from the bounded queue);
   heavy clients give up after ``--heavy-timeout`` s and the server stops their work;
4. **memory**: the server's RSS (``/proc/PID/status``) sampled every 50 ms throughout: before,
   peak, and after ``--idle`` s of idleness, against the memory budget (``--memory-gb``) plus the
   cache's 64 MiB.

Usage: ``PYTHONPATH=src python benchmarks/bench_explorer_load.py [--heavy 15] [--tiny 185]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

import httpx

LARGEST = {"depth": 100, "width": 2048, "batch": 40}  # depth*width^2*batch = 1.68e10 <= 2**34
DUP = {"depth": 50, "width": 512, "batch": 256}


def rss(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


class Sampler:
    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self.stop = pid, 0, threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, rss(self.pid))
            time.sleep(0.05)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main(args: argparse.Namespace) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            p for p in [os.path.abspath("src"), os.environ.get("PYTHONPATH", "")] if p
        ),
    }
    command = [sys.executable, "-m", "kaiming", "explore", "--port", "0", "--memory-gb", str(args.memory_gb)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        assert proc.stdout is not None
        match = re.search(r"http://127\.0\.0\.1:\d+/", proc.stdout.readline())
        assert match, "the server did not start"
        url = match.group(0)
        await run(url, proc.pid, args)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


async def run(url: str, pid: int, args: argparse.Namespace) -> None:
    limits = httpx.Limits(max_connections=args.heavy + args.tiny + 10, max_keepalive_connections=20)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=600) as client:
        stats = (await client.get("api/stats")).json()
        base = rss(pid)
        print(
            f"load average {os.getloadavg()[0]:.2f}  cpus {os.cpu_count()}  memory budget {args.memory_gb} GiB"
        )
        print(f"server RSS at start: {base / 2**30:.2f} GiB")
        sampler = Sampler(pid)
        sampler.thread.start()

        # 1. cross-site
        hostile = [{"sec-fetch-site": "cross-site"}, {"origin": "https://evil.example"}]
        t0 = time.perf_counter()
        codes = [(await client.get("api/probe", params=LARGEST, headers=h)).status_code for h in hostile]
        cross_ms = (time.perf_counter() - t0) * 1000 / len(hostile)
        after = (await client.get("api/stats")).json()
        print(
            f"\n[cross-site] status {codes}, {cross_ms:.1f} ms each, simulations run: {after['computed'] - stats['computed']}"
        )

        # 2. duplicates
        t0 = time.perf_counter()
        await client.get("api/probe", params={**DUP, "seed": 1})
        alone = time.perf_counter() - t0
        before = (await client.get("api/stats")).json()
        t0 = time.perf_counter()
        replies = await asyncio.gather(
            *[client.get("api/probe", params={**DUP, "seed": 2}) for _ in range(args.dup)]
        )
        together = time.perf_counter() - t0
        after = (await client.get("api/stats")).json()
        print(
            f"[duplicates] {args.dup} identical 50x512x256 requests: status {sorted({r.status_code for r in replies})}, "
            f"simulations run {after['computed'] - before['computed']}, wall {together:.2f} s (one alone: {alone:.2f} s)"
        )

        # 3. head-of-line
        async def heavy(seed: int) -> tuple[Any, float, str]:
            t = time.perf_counter()
            try:
                r = await client.get(
                    "api/probe", params={**LARGEST, "seed": seed}, timeout=args.heavy_timeout
                )
                return r.status_code, time.perf_counter() - t, r.headers.get("retry-after", "")
            except httpx.TimeoutException:
                return "gave up", time.perf_counter() - t, ""

        async def tiny(seed: int) -> tuple[int, float]:
            t = time.perf_counter()
            r = await client.get(
                "api/probe", params={"depth": 1 + seed % 3, "width": 16, "batch": 16, "seed": 1000 + seed}
            )
            return r.status_code, time.perf_counter() - t

        alone_lat = [t * 1000 for _, t in await asyncio.gather(*[tiny(s + 10**5) for s in range(args.tiny)])]
        print(
            f"[tiny alone] {args.tiny} tiny at once, nothing else: latency p50 {pct(alone_lat, 0.5):.0f} ms, "
            f"p95 {pct(alone_lat, 0.95):.0f} ms"
        )
        before = (await client.get("api/stats")).json()
        t0 = time.perf_counter()
        heavy_tasks = [asyncio.ensure_future(heavy(s)) for s in range(args.heavy)]
        await asyncio.sleep(0.2)  # the expensive ones first: the worst case for the cheap ones
        tiny_results = await asyncio.gather(*[tiny(s) for s in range(args.tiny)])
        tiny_done = time.perf_counter() - t0
        heavy_results = await asyncio.gather(*heavy_tasks)
        wall = time.perf_counter() - t0
        await asyncio.sleep(1.0)
        after = (await client.get("api/stats")).json()
        lat = [t * 1000 for _, t in tiny_results]
        print(
            f"[head-of-line] {args.heavy} x {LARGEST['depth']}x{LARGEST['width']}x{LARGEST['batch']} + {args.tiny} tiny at once\n"
            f"  tiny: status {sorted({c for c, _ in tiny_results})}, latency p50 {pct(lat, 0.5):.0f} ms, "
            f"p95 {pct(lat, 0.95):.0f} ms, max {max(lat):.0f} ms; all answered {tiny_done:.2f} s after the start"
        )
        heavy_codes: dict[str, int] = {}
        for code, _, _ in heavy_results:
            heavy_codes[str(code)] = heavy_codes.get(str(code), 0) + 1
        retry = sorted({h for c, _, h in heavy_results if c == 503})
        done = [t for c, t, _ in heavy_results if c == 200]
        print(
            f"  heavy: {heavy_codes} (Retry-After {retry}); "
            f"answered ones took {statistics.median(done) if done else float('nan'):.1f} s (median); wall {wall:.1f} s"
        )
        print(
            f"  server: computed {after['computed'] - before['computed']}, cancelled {after['cancelled'] - before['cancelled']}, "
            f"refused {after['refused'] - before['refused']}, peak estimated working set "
            f"{after['peak_memory_in_use'] / 2**30:.2f} GiB of the {after['memory_budget'] / 2**30:.2f} GiB budget"
        )

        # 4. memory
        await asyncio.sleep(args.idle)
        sampler.stop.set()
        sampler.thread.join()
        idle = rss(pid)
        limit = base + args.memory_gb * 2**30 + 64 * 2**20
        print(
            f"[memory] RSS start {base / 2**30:.2f} GiB, peak {sampler.peak / 2**30:.2f} GiB "
            f"(bound: start + budget + cache = {limit / 2**30:.2f} GiB: {'holds' if sampler.peak <= limit else 'EXCEEDED'}), "
            f"after {args.idle:.0f} s idle {idle / 2**30:.2f} GiB; cache {after['cache_bytes'] / 2**20:.1f} MiB"
        )
        print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--heavy", type=int, default=15)
    parser.add_argument("--tiny", type=int, default=185)
    parser.add_argument("--dup", type=int, default=4)
    parser.add_argument("--heavy-timeout", type=float, default=60.0)
    parser.add_argument("--memory-gb", type=float, default=4.0)
    parser.add_argument("--idle", type=float, default=3.0)
    asyncio.run(main(parser.parse_args()))
