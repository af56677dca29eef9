"""Page faults and time of the explorer's default probe, with and without the server's heap reuse.

Runs the probe the explorer page asks for by default (``he_normal``, ReLU, 20 x 256 x 256,
float32, counter stream, no weight gradient, one BLAS and one numba thread) in a worker thread,
as the server does, in two fresh child processes:

- ``glibc default``: the library as imported (glibc maps large arrays afresh and returns freed
  memory at once, so every probe faults its pages in again);
- ``keep_freed_memory``: after ``kaiming.explorer._jobs.keep_freed_memory()``, which
  ``create_app`` calls.

Prints, per configuration, the minor page faults per probe (``getrusage``) and the median time
per probe, and the ratio of the medians.

Usage: ``PYTHONPATH=src python benchmarks/bench_probe_faults.py [--probes 40]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = """
import json, resource, statistics, sys, time
from concurrent.futures import ThreadPoolExecutor
from kaiming.explorer._jobs import keep_freed_memory
from kaiming.explorer._params import parse_probe
from kaiming.explorer.server import _compute, _warm_draws, limit_blas_threads

limit_blas_threads(1)
_warm_draws()
if sys.argv[1] == "keep":
    assert keep_freed_memory()
kwargs = parse_probe([("stream", "counter"), ("weight_grad", "false")])
pool = ThreadPoolExecutor(1)
for seed in range(5):
    pool.submit(_compute, {**kwargs, "seed": seed}, 1).result()
n = int(sys.argv[2])
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
times = []
for seed in range(100, 100 + n):
    start = time.perf_counter()
    pool.submit(_compute, {**kwargs, "seed": seed}, 1).result()
    times.append(time.perf_counter() - start)
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
print(json.dumps({"faults": faults / n, "median_ms": 1e3 * statistics.median(times)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--probes", type=int, default=40)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cpus")
    results = {}
    for mode, label in (("default", "glibc default"), ("keep", "keep_freed_memory")):
        out = subprocess.run(
            [sys.executable, "-c", CHILD, mode, str(args.probes)], capture_output=True, text=True, check=True
        ).stdout
        results[mode] = json.loads(out)
        print(
            f"{label:18s} {results[mode]['faults']:8.1f} page faults per probe"
            f"   median {results[mode]['median_ms']:6.1f} ms"
        )
    ratio = results["default"]["median_ms"] / results["keep"]["median_ms"]
    print(f"time with the glibc default / with keep_freed_memory: {ratio:.2f}x")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
