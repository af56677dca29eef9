"""Fill rate of the torch-ops counter stream on a device, against torch and the memory bandwidth.

Run (one command on a GPU machine):  PYTHONPATH=src python benchmarks/bench_stream_device.py
Options: ``--device cuda|mps|cpu`` (default: cuda when available), ``--log2n 28``, ``--repeat 5``.

For 2**log2n float32 He-normal values in a (2**(log2n-13), 8192) weight it times, best of
``repeat`` (synchronizing the device around each run):

- the stream in place: ``sample_torch("normal", ..., out=t)`` (what ``kaiming.torch`` runs for
  tensors off the CPU), processed in chunks of ``default_chunk(device)`` values;
- ``torch.nn.init.kaiming_normal_(t)`` on the same tensor (torch's own Philox + Box-Muller);
- ``t.fill_(1.0)`` and ``u.copy_(t)``: the store rate and the copy bandwidth of the device,

and prints values/s, GB/s and the ratios; it also checks that the first 2**20 values equal
the CPU (numba/NumPy) path bit for bit.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import numpy as np
import torch

from kaiming import stream
from kaiming.stream._torch_path import default_chunk, sample_torch


def best_of(repeat: int, fn: Callable[[], object], sync: Callable[[], None]) -> float:
    times = []
    for _ in range(repeat):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--log2n", type=int, default=None, help="default: 28 on a GPU, 22 on the CPU")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    device = torch.device(args.device)
    log2n = args.log2n if args.log2n is not None else (22 if device.type == "cpu" else 28)
    n = 1 << log2n
    shape = (n // 8192, 8192)
    std = math.sqrt(2.0 / shape[1])
    key = stream.key(0, "bench.weight")

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        elif device.type == "mps":
            torch.mps.synchronize()

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else device.type
    print(f"device: {name}; torch {torch.__version__}; chunk {default_chunk(device):,} values")
    print(f"n = 2**{log2n} = {n:,} float32 values, best of {args.repeat}\n")
    t = torch.empty(shape, device=device)
    u = torch.empty_like(t)

    cases: dict[str, Callable[[], object]] = {
        "stream in place (torch ops)": lambda: sample_torch("normal", shape, key, scale=std, out=t),
        "torch kaiming_normal_": lambda: torch.nn.init.kaiming_normal_(t),
        "fill_(1.0)": lambda: t.fill_(1.0),
        "copy_": lambda: u.copy_(t),
    }
    seconds = {}
    for label, fn in cases.items():
        fn()
        seconds[label] = best_of(args.repeat, fn, sync)
        moved = n * 4 * (2 if label == "copy_" else 1)
        print(
            f"{label:<30} {n / seconds[label] / 1e6:10.1f} M values/s  "
            f"{moved / seconds[label] / 1e9:7.1f} GB/s"
        )
    ours = seconds["stream in place (torch ops)"]
    print()
    print(f"stream time / kaiming_normal_ time: {ours / seconds['torch kaiming_normal_']:.2f} (goal <= 1.5)")
    print(f"stream / store rate (fill_): {seconds['fill_(1.0)'] / ours:.3f} of the memory bound")

    head = sample_torch("normal", shape, key, scale=std, index=(slice(0, 128),), device=device)
    ref = stream.normal(shape, key, std=std, dtype=np.float32, index=(slice(0, 128),))
    same = torch.equal(head.cpu().view(torch.int32), torch.from_numpy(ref).view(torch.int32))
    print(f"first 2**20 values equal the CPU path bit for bit: {same}")


if __name__ == "__main__":
    main()
