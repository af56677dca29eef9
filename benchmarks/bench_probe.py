"""Benchmark: ``kaiming.probe`` against a plain-NumPy loop over the same network, same run.

Usage::

    PYTHONPATH=src python benchmarks/bench_probe.py [--repeat 5] [--quick]

Cases (He normal, ReLU, float32, forward + backward + theory): depth 50 x width 512 x batch 256
(target < 100 ms median) and depth 100 x width 1024 x batch 512 (target < 2 s). The reference
draws the same number of Gaussian weights with NumPy, runs the forward pass keeping what the
backward pass needs, and the backward pass with the weight gradient, with no statistics: the
floor any NumPy probe sits on. Also printed: the probe without the backward pass and the cost of
drawing the weights alone (NumPy's Gaussian generator). Timings on a shared machine are noisy;
the ratios, measured in the same run, are the figures to compare.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from kaiming import probe


def reference(depth: int, width: int, batch: int, seed: int = 0) -> float:
    """Plain NumPy: He-normal ReLU network, forward and backward, float32; returns a checksum."""
    rng = np.random.default_rng(seed)
    h = rng.standard_normal((batch, width), dtype=np.float32)
    inputs, weights, pre = [], [], []
    scale = np.float32(np.sqrt(2.0 / width))
    for _ in range(depth):
        w = rng.standard_normal((width, width), dtype=np.float32)
        w *= scale
        z = h @ w
        inputs.append(h)
        weights.append(w)
        pre.append(z)
        h = np.maximum(z, 0)
    grad = rng.standard_normal((batch, width), dtype=np.float32)
    total = 0.0
    for h_in, w, z in zip(reversed(inputs), reversed(weights), reversed(pre), strict=True):
        grad *= z > 0
        total += float((h_in.T @ grad).std())
        grad = grad @ w.T
    return total


def draw_only(depth: int, width: int, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    return float(sum(rng.standard_normal((width, width), dtype=np.float32)[0, 0] for _ in range(depth)))


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up (imports, BLAS threads, page faults)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="only the small case")
    args = parser.parse_args()
    cases = [(50, 512, 256, 0.1)] + ([] if args.quick else [(100, 1024, 512, 2.0)])
    for depth, width, batch, target in cases:
        repeat = args.repeat if width <= 512 else max(2, args.repeat // 2)
        full = median_seconds(lambda d=depth, w=width, b=batch: probe("he", "relu", d, w, batch=b), repeat)
        forward = median_seconds(
            lambda d=depth, w=width, b=batch: probe("he", "relu", d, w, batch=b, backward=False), repeat
        )
        ref = median_seconds(lambda d=depth, w=width, b=batch: reference(d, w, b), repeat)
        draws = median_seconds(lambda d=depth, w=width: draw_only(d, w), repeat)
        verdict = f"{'meets' if full < target else 'MISSES'} target {target * 1e3:.0f} ms"
        print(f"depth {depth} x width {width} x batch {batch}, float32, median of {repeat}:")
        print(f"  probe (forward + backward + theory) {full * 1e3:8.1f} ms  ({verdict})")
        print(
            f"  plain-NumPy reference loop          {ref * 1e3:8.1f} ms  probe / reference = {full / ref:.2f}"
        )
        print(f"  probe, forward only (+ theory)      {forward * 1e3:8.1f} ms")
        print(
            f"  drawing the weights alone           {draws * 1e3:8.1f} ms  ({draws / full:.0%} of the probe)"
        )


if __name__ == "__main__":
    main()
