# ruff: noqa: E501  (inline JavaScript)
"""Redraw time of the two chart libraries considered for the explorer: uPlot and Observable Plot.

Draws what the page draws after each change: three per-layer line charts (6 inits x measured +
theory = 12 series of ``--depth`` points, log y axis) and one 40-bin histogram, ``--repeat``
times in Debian's Chromium (headless, Playwright), and reports the median and p95 time per
redraw (drawing, its microtasks, and a forced layout) and each library's bytes.

The libraries are not all shipped with kaiming (only uPlot is vendored); install both with npm in
a temporary folder and pass it: ``npm install uplot@1.6.32 @observablehq/plot@0.6.17 d3@7.9.2``,
then ``python benchmarks/bench_explorer_charts.py --node-modules /tmp/x/node_modules``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

FILES = {
    "uplot": ["uplot/dist/uPlot.iife.min.js", "uplot/dist/uPlot.min.css"],
    "plot": ["d3/dist/d3.min.js", "@observablehq/plot/dist/plot.umd.min.js"],
}

SCRIPT = """
async (cfg) => {
  const depth = cfg.depth, S = 12, W = 560, H = 260;
  const xs = Array.from({length: depth}, (_, i) => i + 1);
  const series = (k) => Array.from({length: S}, (_, s) => xs.map((x) => Math.pow(2, -(s % 6) * x / 10) * (1 + 0.1 * Math.sin(x + k))));
  const hist = Array.from({length: 40}, (_, i) => Math.exp(-((i - 20) ** 2) / 50));
  const root = document.getElementById("root");
  const times = [];
  let charts = null;
  for (let k = 0; k < cfg.repeat; k++) {
    const t0 = performance.now();
    const ys = series(k);
    if (cfg.lib === "uplot") {
      const opts = (log) => ({ width: W, height: H, scales: { x: { time: false }, y: log ? { distr: 3 } : {} },
        series: [{}, ...ys.map((_, s) => ({ stroke: "#0072B2", width: 2, dash: s >= 6 ? [6, 4] : undefined }))] });
      if (!charts) {
        charts = [0, 1, 2].map((i) => new uPlot(opts(i < 2), [xs, ...ys], root));
        charts.push(new uPlot({ width: W, height: H, scales: { x: { time: false } }, series: [{}, { paths: uPlot.paths.bars(), fill: "#0072B2" }] },
          [hist.map((_, i) => i), hist], root));
      } else {
        for (const c of charts.slice(0, 3)) c.setData([xs, ...ys]);
        charts[3].setData([hist.map((_, i) => i), hist.map((v) => v * (1 + 0.01 * k))]);
      }
    } else {
      root.replaceChildren();
      for (let i = 0; i < 3; i++) {
        const data = ys.flatMap((y, s) => y.map((v, j) => ({ x: xs[j], y: v, s })));
        root.append(Plot.plot({ width: W, height: H, y: { type: i < 2 ? "log" : "linear" },
          marks: [Plot.line(data, { x: "x", y: "y", z: "s", stroke: "s" })] }));
      }
      root.append(Plot.plot({ width: W, height: H, marks: [Plot.rectY(hist.map((v, i) => ({ i, v })), { x1: "i", x2: (d) => d.i + 1, y: "v" })] }));
    }
    await null;  // uPlot draws in a microtask after setData
    await null;
    void root.offsetHeight;
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], p95: times[Math.floor(0.95 * (times.length - 1))] };
}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--node-modules", type=Path, required=True)
    parser.add_argument("--depth", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=60)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}; depth {args.depth}, 12 series x 3 charts + histogram")
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        for lib, files in FILES.items():
            tags = []
            size = 0
            for rel in files:
                src = args.node_modules / rel
                shutil.copy(src, Path(tmp) / src.name)
                size += src.stat().st_size
                tag = (
                    f'<link rel="stylesheet" href="{src.name}">'
                    if src.suffix == ".css"
                    else f'<script src="{src.name}"></script>'
                )
                tags.append(tag)
            page_file = Path(tmp) / f"{lib}.html"
            page_file.write_text(
                f"<!doctype html><html><head>{''.join(tags)}</head><body><div id=root></div></body></html>"
            )
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(page_file.as_uri())
            result = page.evaluate(SCRIPT, {"lib": lib, "depth": args.depth, "repeat": args.repeat})
            print(
                f"{lib:6s} {size / 1024:6.1f} KiB  redraw median {result['median']:.1f} ms  p95 {result['p95']:.1f} ms"
            )
            page.close()
        browser.close()


if __name__ == "__main__":
    main()
