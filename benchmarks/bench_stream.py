"""Throughput of the counter-based He-normal stream against torch, NumPy and memory fill.

Run:  PYTHONPATH=src python benchmarks/bench_stream.py [--log2n 27] [--repeat 3]

For 2**log2n float32 He-normal values (a (2**(log2n-13), 8192) weight in the torch layout,
fan_in = 8192) it times, best of ``repeat``:

- stream, in place:  ``kaiming.stream.normal(..., out=buf)`` into touched memory (all cores);
- stream, fresh:     ``kaiming.he_normal(shape, layout="torch", key=..., dtype=float32)``
  (the two stream draws alternate, at least 5 pairs; the fresh / in-place ratio is printed
  from the best times and as the median of the pairs' ratios, the figure the 0.8x bar uses);
- torch in place:    ``torch.nn.init.kaiming_normal_(t)`` with 1 and with 2 threads;
- NumPy:             ``default_rng().standard_normal(n, dtype=float32)`` then ``*= std``;
- fill, like for like: a float32 fill of touched memory (``buf.fill(1.0)``: the store bound)
  and of fresh memory (``np.empty(n, float32).fill(1.0)``: page faults + stores);
- the compute bound: Philox words/s and Box-Muller values/s on one core (numba, no memory
  traffic beyond L2), combined into the rate one core can make values at, times the cores,

and prints values/s and the ratios. Only ratios measured in the same run mean anything.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
from collections.abc import Callable

import numpy as np

import kaiming
from kaiming import stream

IN_PLACE = "stream in place (all cores)"
FRESH = "stream fresh he_normal"
TORCH = "torch kaiming_normal_ {} thread(s)"
NUMPY = "numpy standard_normal * std"
FILL_TOUCHED = "float32 fill, touched memory"
FILL_FRESH = "float32 fill, fresh memory"
BOUND = "compute bound (cores x per-core rate)"


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log2n", type=int, default=27)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import torch

    n = 1 << args.log2n
    shape = (n // 8192, 8192)
    std = math.sqrt(2.0 / shape[1])
    key = stream.key(0, "bench.weight")
    buf = np.zeros(n, dtype=np.float32)
    tensor = torch.zeros(shape)
    threads = torch.get_num_threads()
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs"
    versions = f"numpy {np.__version__}, torch {torch.__version__}"
    print(f"machine: {machine}; {versions}; numba fast path: {stream.fast_path_available()}")
    print(f"n = 2**{args.log2n} = {n:,} float32 He-normal values, best of {args.repeat}\n")

    stream.normal(1 << 20, key, std=std, dtype=np.float32)  # load/compile the kernel first
    rates: dict[str, float] = {}

    def record(name: str, seconds: float) -> None:
        rates[name] = n / seconds
        print(f"{name:<34} {n / seconds / 1e6:9.1f} M values/s  ({seconds * 1e3:8.1f} ms)")

    def in_place() -> None:
        stream.normal(n, key, std=std, dtype=np.float32, out=buf)

    def fresh() -> None:
        kaiming.he_normal(shape, layout="torch", key=key, dtype=np.float32)

    # side by side: the two draws alternate, so a busy neighbour slows both alike
    side: dict[str, list[float]] = {IN_PLACE: [], FRESH: []}
    for _ in range(max(args.repeat, 5)):
        for name, fn in ((IN_PLACE, in_place), (FRESH, fresh)):
            start = time.perf_counter()
            fn()
            side[name].append(time.perf_counter() - start)
    record(IN_PLACE, min(side[IN_PLACE]))
    record(FRESH, min(side[FRESH]))
    pair_ratios = sorted(t_in / t_fresh for t_in, t_fresh in zip(side[IN_PLACE], side[FRESH], strict=True))
    pair_median = pair_ratios[len(pair_ratios) // 2]
    for t in (1, 2):
        torch.set_num_threads(t)
        record(TORCH.format(t), best_of(args.repeat, lambda: torch.nn.init.kaiming_normal_(tensor)))
    torch.set_num_threads(threads)

    def numpy_normal() -> None:
        values = np.random.default_rng().standard_normal(n, dtype=np.float32)
        values *= np.float32(std)

    record(NUMPY, best_of(args.repeat, numpy_normal))
    record(FILL_TOUCHED, best_of(args.repeat, lambda: buf.fill(1.0)))
    record(FILL_FRESH, best_of(args.repeat, lambda: np.empty(n, dtype=np.float32).fill(1.0)))
    if stream.fast_path_available():
        words_per_s, values_per_s = per_core_rates(args.repeat)
        per_core = 1.0 / (1.0 / words_per_s + 1.0 / values_per_s)  # one word per float32 normal
        cores = len(os.sched_getaffinity(0))
        print(
            f"\none core: Philox {words_per_s / 1e6:.0f} M words/s, "
            f"Box-Muller {values_per_s / 1e6:.0f} M values/s"
        )
        print(f"-> {per_core / 1e6:.0f} M values/s per core x {cores} cores")
        rates[BOUND] = per_core * cores

    print()
    print(
        f"fresh / in place: {rates[FRESH] / rates[IN_PLACE]:.2f}x (best times), "
        f"{pair_median:.2f}x (median of {len(pair_ratios)} interleaved pairs)"
    )
    for ours in (IN_PLACE, FRESH):
        for ref in (TORCH.format(1), TORCH.format(2), NUMPY, FILL_TOUCHED, FILL_FRESH, BOUND):
            if ref in rates:
                print(f"{ours} / {ref}: {rates[ours] / rates[ref]:.2f}x")
    best_torch = max(rates[TORCH.format(1)], rates[TORCH.format(2)])
    print(f"\nbar: in place >= 2x best torch CPU: {rates[IN_PLACE] / best_torch:.2f}x")
    print(f"bar: fresh >= 5x NumPy: {rates[FRESH] / rates[NUMPY]:.2f}x")
    print(f"bar: fresh >= 0.8x in place (median of pairs): {pair_median:.2f}x")


def per_core_rates(repeat: int) -> tuple[float, float]:
    """Philox words/s and float32 Box-Muller values/s of one core, on L2-sized buffers."""
    import numba

    from kaiming.stream import _numba_path, _transforms

    m = 1 << 16  # 256 KiB of words: stays in L2
    words = np.empty(m, dtype=np.uint32)
    values = np.empty(m, dtype=np.float32)
    k0, k1 = stream.key(0, "bench").words
    apply = numba.njit(error_model="numpy")(
        _numba_path._apply_2_2(_transforms.GROUP_FUNCTIONS["normal", "float32"][0])
    )
    _numba_path._words_jit(k0, k1, 0, words)
    apply(words, values)
    rounds = 64

    def philox() -> None:
        for r in range(rounds):
            _numba_path._words_jit(k0, k1, r * m, words)

    def transform() -> None:
        for _ in range(rounds):
            apply(words, values)

    return rounds * m / best_of(repeat, philox), rounds * m / best_of(repeat, transform)


if __name__ == "__main__":
    main()
