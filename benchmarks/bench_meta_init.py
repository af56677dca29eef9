"""Materializing a large model: meta device + init_model(stream="counter") vs torch's default.

Run:  PYTHONPATH=src python benchmarks/bench_meta_init.py [--layers 8] [--width 8192] [--repeat 2]

Times, best of ``repeat``, building ``layers`` x ``nn.Linear(width, width)`` (8 x 8192^2 is
537 M parameters, 2 GiB in float32):

- torch default:   ``nn.Sequential(*[nn.Linear(w, w) ...])`` on the CPU (allocation, then
                   ``reset_parameters``: kaiming_uniform_ weights and uniform biases);
- counter, same distributions: the same model built under ``torch.device("meta")``, then
                   ``init_model(model, "torch_default", stream="counter")``;
- counter, auto:   the same with ``scheme="auto"`` (LeCun normal here: no activations),

and prints the ratios. Torch uses all its threads; the counter stream all cores.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable

import torch
from torch import nn

from kaiming.torch import init_model


def best_of(repeat: int, build: Callable[[], nn.Module]) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        model = build()
        times.append(time.perf_counter() - start)
        del model
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--width", type=int, default=8192)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    n, w = args.layers, args.width

    def layers() -> nn.Module:
        return nn.Sequential(*[nn.Linear(w, w) for _ in range(n)])

    def counter(scheme: str) -> Callable[[], nn.Module]:
        def build() -> nn.Module:
            with torch.device("meta"):
                model = layers()
            init_model(model, scheme, seed=0, stream="counter")
            return model

        return build

    with torch.device("meta"):  # compile/load the fast path outside the timing
        small = nn.Sequential(nn.Linear(1024, 1024))
    init_model(small, "torch_default", stream="counter")
    init_model(small, "auto", stream="counter")

    params = n * (w * w + w)
    print(f"{n} x Linear({w}, {w}): {params / 1e6:.0f} M parameters, torch threads {torch.get_num_threads()}")
    default = best_of(args.repeat, layers)
    same = best_of(args.repeat, counter("torch_default"))
    auto = best_of(args.repeat, counter("auto"))
    for name, seconds in (("torch default construction", default), ("meta + counter torch_default", same),
                          ("meta + counter auto (normal)", auto)):  # fmt: skip
        print(f"{name:<30} {seconds:7.3f} s  {params / seconds / 1e6:8.1f} M params/s")
    print(f"\nspeed-up, same distributions: {default / same:.2f}x; auto: {default / auto:.2f}x")


if __name__ == "__main__":
    main()
