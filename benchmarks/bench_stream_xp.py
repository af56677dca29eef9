"""CPU throughput of the jax.numpy and torch-ops counter streams against the libraries' own RNGs.

Run:  PYTHONPATH=src python benchmarks/bench_stream_xp.py [--log2n 22] [--repeat 3]

For 2**log2n float32 standard normals it times, best of ``repeat``:

- ``sample_jax("normal", ...)`` (jitted, x64 off) against ``jax.random.normal`` (threefry);
- ``sample_torch("normal", ...)`` (eager torch ops, chunked) against ``torch.randn``;
- the numba path (``kaiming.stream.normal``) for reference,

and prints values/s and the ratios. These executors exist for other devices and for jit; the
CPU is served by the numba path, so no speed bar applies to them here.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

import numpy as np
from bench_stream import best_of  # the script's own folder is on sys.path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log2n", type=int, default=22)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--torch-threads", type=int, default=1, help="torch intra-op threads (both torch rows)"
    )
    args = parser.parse_args()

    import jax
    import torch

    from kaiming import stream
    from kaiming.stream._jax_path import sample_jax
    from kaiming.stream._torch_path import sample_torch

    torch.set_num_threads(args.torch_threads)
    n = 1 << args.log2n
    shape = (n // 1024, 1024)
    key = stream.key(0, "bench")
    cpus = len(os.sched_getaffinity(0))
    print(f"{cpus} CPUs; jax {jax.__version__}, torch {torch.__version__} ({args.torch_threads} thread(s))")
    print(f"n = 2**{args.log2n} = {n:,} float32 normals, best of {args.repeat}\n")
    jkey = jax.random.key(0)
    jax_normal = jax.jit(lambda k: jax.random.normal(k, shape))
    cases: dict[str, Callable[[], object]] = {
        "jnp stream (jit)": lambda: sample_jax("normal", shape, key).block_until_ready(),
        "jax.random.normal (jit)": lambda: jax_normal(jkey).block_until_ready(),
        "torch-ops stream": lambda: sample_torch("normal", shape, key),
        "torch.randn": lambda: torch.randn(shape),
        "numba stream": lambda: stream.normal(shape, key, dtype=np.float32),
    }
    rates = {}
    for name, fn in cases.items():
        fn()  # compile / warm up
        seconds = best_of(args.repeat, fn)
        rates[name] = n / seconds
        print(f"{name:<26} {n / seconds / 1e6:8.1f} M values/s  ({seconds * 1e3:7.1f} ms)")
    print()
    print(
        f"jnp stream / jax.random.normal: {rates['jnp stream (jit)'] / rates['jax.random.normal (jit)']:.2f}x"
    )
    print(f"torch-ops stream / torch.randn: {rates['torch-ops stream'] / rates['torch.randn']:.2f}x")


if __name__ == "__main__":
    main()
