# ruff: noqa: E501  (inline JavaScript)
"""Live speed of the explorer page in Chromium: from a control change to the redrawn charts.

Starts the server on 127.0.0.1 (a free port) in this process, opens the page in Debian's
Chromium (headless, Playwright) at 1280x900, and times, inside the page, from dispatching a
control's ``change`` event to the first animation frame after the charts were redrawn
(``performance.now()`` in the page; the page signals each redraw with an ``explorer:rendered``
event, so nothing polls; the drawing is synchronous, so the frame after it is painted):

- ``default``: the page's default settings; each change is a new seed (a new simulation);
- ``revisit``: switching back to views already seen (the page's own cache, no request);
- ``large``: depth 50 x width 512 x batch 256 with the overlay (He, Xavier, random); new seeds;
- ``drag``: the depth slider dragged for ~2 s at the default settings: redraws during the drag
  and the longest gap between two of them.

It prints p50/p95 per scenario, with the server's share (``elapsed_ms`` of the API) and the
drawing's share (``render()``), and the load average. For ``large`` it also times, in the same
run, the floor of any server: the forward and backward matrix products of the same network
(float32, weights drawn beforehand, BLAS on every core), three times, one per overlaid init.

The server runs as ``ServerThread`` builds it (``create_app()`` defaults: one numba thread per
simulation, freed memory kept for the next one), with one BLAS thread per simulation as
``kaiming explore`` sets it (``--blas-threads 0``: BLAS's default).

Usage: ``PYTHONPATH=src python benchmarks/bench_explorer_live.py [--runs 30] [--large-runs 8] [--blas-threads 1]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import numpy as np
from playwright.sync_api import Page, sync_playwright
from threadpoolctl import threadpool_limits

from kaiming.explorer.server import ServerThread, limit_blas_threads

CHANGE = """
async ([id, value]) => {
  const node = document.getElementById(id);
  const rendered = new Promise((r) => document.addEventListener("explorer:rendered", r, { once: true }));
  const t0 = performance.now();
  node.value = value;
  node.dispatchEvent(new Event("change", { bubbles: true }));
  await rendered;
  await new Promise((r) => requestAnimationFrame(() => r()));
  return [performance.now() - t0, window.__explorer.serverMs || 0, window.__explorer.renderMs || 0];
}
"""


def products_only(depth: int, width: int, batch: int) -> Callable[[], float]:
    """The forward and backward matrix products of a ReLU network, weights drawn beforehand:
    the work no probe of that network can skip. Returns the timed function."""
    rng = np.random.default_rng(0)
    scale = np.float32(np.sqrt(2.0 / width))  # He: the signal keeps its scale (no overflow)
    weights = [rng.standard_normal((width, width), dtype=np.float32) * scale for _ in range(depth)]
    x = rng.standard_normal((batch, width), dtype=np.float32)

    def run() -> float:
        h, pre = x, []
        for w in weights:
            z = h @ w
            pre.append(z)
            h = np.maximum(z, 0)
        grad = x
        for w, z in zip(reversed(weights), reversed(pre), strict=True):
            grad = (grad * (z > 0)) @ w.T
        return float(grad[0, 0])

    return run


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(name: str, rows: list[list[float]], server_side: bool = True) -> None:
    total = [r[0] for r in rows]
    server = f"{statistics.median([r[1] for r in rows]):7.1f} ms" if server_side else "  (none)  "
    draw = [r[2] for r in rows]
    print(
        f"{name:8s} n={len(rows):3d}  change->redrawn p50 {pct(total, 0.5):7.1f} ms  p95 {pct(total, 0.95):7.1f} ms"
        f"   server p50 {server}   render() p50 {statistics.median(draw):5.1f} ms"
    )


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def settle(page: Page) -> None:
    page.wait_for_function("() => window.__explorer && window.__explorer.renders > 0", timeout=600_000)
    page.wait_for_function(
        "() => document.getElementById('status').textContent.indexOf('computing') < 0", timeout=600_000
    )
    page.wait_for_timeout(300)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--large-runs", type=int, default=8)
    parser.add_argument("--blas-threads", type=int, default=1, help="BLAS threads (0: BLAS's default)")
    args = parser.parse_args()
    limit_blas_threads(args.blas_threads or None)
    print(
        f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cpus, BLAS threads {args.blas_threads or 'default'}"
    )
    with ServerThread() as server, sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(server.url)
        settle(page)
        page.evaluate(CHANGE, ["seed", "100000"])  # warm up
        report("default", [page.evaluate(CHANGE, ["seed", str(1000 + i)]) for i in range(args.runs)])
        names = [name for _ in range(args.runs // 2) for name in ("xavier_normal", "he_normal")]
        report("revisit", [page.evaluate(CHANGE, ["init", name]) for name in names][1:], server_side=False)

        page.goto(server.url + "?depth=50&width=512&batch=256&overlay=1")
        settle(page)
        page.wait_for_function(
            "() => document.getElementById('status').textContent.indexOf('computing') < 0", timeout=120_000
        )
        report("large", [page.evaluate(CHANGE, ["seed", str(2000 + i)]) for i in range(args.large_runs)])
        run = products_only(50, 512, 256)
        with threadpool_limits(limits=os.cpu_count(), user_api="blas"):  # the floor: every core on it
            products = statistics.median(timed(run) for _ in range(5))
        print(
            f"         floor: the matrix products alone (weights drawn beforehand), 3 x {products * 1e3:.1f} ms"
            f" = {3 * products * 1e3:.1f} ms"
        )

        page.goto(server.url)
        settle(page)
        box = page.locator("#depth").bounding_box()
        assert box is not None
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + box["width"] * 0.2, y)
        page.mouse.down()
        times = page.evaluate(
            "() => { window.__drag = []; const r = window.__explorer.renders; const tick = () => { if (window.__explorer.renders !== r + window.__drag.length) window.__drag.push(performance.now()); if (window.__drag !== null) requestAnimationFrame(tick); }; requestAnimationFrame(tick); return performance.now(); }"
        )
        for step in range(40):
            page.mouse.move(box["x"] + box["width"] * (0.2 + 0.015 * step), y)
            page.wait_for_timeout(50)
        stamps = page.evaluate("() => { const d = window.__drag; window.__drag = null; return d; }")
        page.mouse.up()
        gaps = [b - a for a, b in zip([times, *stamps], stamps, strict=False)]
        print(
            f"drag     {len(stamps)} redraws during a {40 * 50 / 1000:.1f} s drag (depth 20 -> ~50); "
            f"longest gap {max(gaps) if gaps else float('nan'):.0f} ms, median gap {statistics.median(gaps) if gaps else float('nan'):.0f} ms"
        )
        browser.close()
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
