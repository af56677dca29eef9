"""Benchmark: ``kaiming.probe`` against the bare forward + backward matmul loop, side by side.

Usage::

    PYTHONPATH=src python benchmarks/bench_probe.py [--repeat 7] [--quick] [--dtype float32] [--threads N]
    PYTHONPATH=src python benchmarks/bench_probe.py --precision

``--precision`` measures instead how far the float32 probe's statistics are (a) from the same
float32-drawn network computed in float64 (the cost of float32 arithmetic), (b) from the
float64 probe (other draws: sampling) and (c) from the mean-field theory.

The target (issue: live speed): ``probe("he_normal", "relu", depth=50, width=512, batch=256)``
at most 1.5x the bare loop over the same network in the same dtype. Both draw their weights
inside the timed region. Two streams, each against the bare loop drawing the same way:
``stream="generator"`` (the default; NumPy's ``Generator.standard_normal``, the registry's
numbers) and ``stream="counter"`` (``kaiming.stream`` keyed by (seed, tensor name), numba's
path). The bare loop per layer: draw ``W``, ``z = h @ W``, ``h = relu(z)``; then backward
``g = (g * (z > 0)) @ W.T``: no statistics, no weight gradient. Also timed: the counter-stream
probe with ``weight_grad=False`` (what the explorer asks for: the weight-gradient product is a
third of the multiply-adds). The runs alternate (probe, loop, probe, loop, ...) so load on a
shared machine hits all alike; each figure is the median of the per-round ratios. ``--threads``
sets the BLAS and numba threads (default: their own defaults). The load average is printed
beside the figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import numpy as np

from kaiming import get_initializer, probe
from kaiming import stream as cs
from kaiming._activations import get_activation


def bare_loop(
    depth: int, width: int, batch: int, dtype: str, seed: int = 0, stream: str = "generator"
) -> float:
    """He-normal ReLU network, forward then backward, weights drawn here from ``stream``; returns
    a checksum."""
    rng = np.random.default_rng(seed)
    kind = np.dtype(dtype)
    backend = "numba" if cs.fast_path_available() else "numpy"

    def gauss(shape: tuple[int, int], name: str) -> np.ndarray:
        if stream == "generator":
            return rng.standard_normal(shape, dtype=kind)
        return cs.sample("normal", shape, cs.key(seed, name), dtype=kind, backend=backend)

    h = gauss((batch, width), "input")
    scale = kind.type(np.sqrt(2.0 / width))
    weights, pre = [], []
    for layer in range(depth):
        w = gauss((width, width), f"layer{layer + 1}.weight")
        w *= scale
        z = h @ w
        weights.append(w)
        pre.append(z)
        h = np.maximum(z, 0)
    grad = gauss((batch, width), "output.grad")
    for w, z in zip(reversed(weights), reversed(pre), strict=True):
        grad *= z > 0
        grad = grad @ w.T
    return float(grad[0, 0])


def draw_only(depth: int, width: int, dtype: str, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    return float(sum(rng.standard_normal((width, width), dtype=np.dtype(dtype))[0, 0] for _ in range(depth)))


def float64_replay(
    init: str, act: str, depth: int, width: int, batch: int, bn: bool
) -> list[dict[str, float]]:
    """The float32 probe's network (same seed-0 draws, same order) computed in float64."""
    rng = np.random.default_rng(0)
    fn = get_activation(act)
    draw = get_initializer(init)
    h = rng.standard_normal((batch, width), dtype=np.float32).astype(np.float64)
    layers, saved = [], []
    for _ in range(depth):
        z = h @ draw((width, width), rng=rng, dtype=np.float32).astype(np.float64)
        inv = None
        if bn:
            z -= z.mean(0)
            inv = 1 / np.sqrt((z**2).mean(0) + 1e-5)
            z *= inv
        saved.append((z, inv))
        h = fn(z)
        layers.append({"pre_std": z.std(), "post_std": h.std()})
    grad = rng.standard_normal((batch, width), dtype=np.float32).astype(np.float64)
    rng = np.random.default_rng(0)  # replay the weights for the backward pass
    rng.standard_normal((batch, width), dtype=np.float32)
    weights = [draw((width, width), rng=rng, dtype=np.float32).astype(np.float64) for _ in range(depth)]
    for (z, inv), w, row in zip(saved[::-1], weights[::-1], layers[::-1], strict=True):
        d = grad * fn.grad(z)
        row["grad_std"] = d.std()
        if inv is not None:
            d = inv * (d - d.mean(0) - z * (d * z).mean(0))
        grad = d @ w.T
    return layers


def precision() -> None:
    """Print the float32-vs-float64 and float32-vs-theory distances for three networks."""
    keys = ("pre_std", "post_std", "grad_std")
    print("max |relative difference| over layers and the stds (pre, post, gradient); seed 0:")
    print(
        "network (depth x width x batch)           f32 vs f64 replay  f32 vs f64 probe  f32 vs theory (RMS)"
    )
    for init, act, bn in (
        ("he_normal", "relu", False),
        ("xavier_normal", "tanh", False),
        ("he_normal", "relu", True),
    ):
        depth, width, batch = 50, 512, 256
        f32 = probe(init, act, depth, width, batch=batch, batch_norm=bn).layers
        f64 = probe(init, act, depth, width, batch=batch, batch_norm=bn, dtype="float64").layers
        replay = float64_replay(init, act, depth, width, batch, bn)
        arith = max(abs(getattr(s, k) / r[k] - 1) for s, r in zip(f32, replay, strict=True) for k in keys)
        draws = max(
            abs(getattr(a, k) / getattr(b, k) - 1) for a, b in zip(f32, f64, strict=True) for k in keys
        )
        theory = [getattr(s, k) / getattr(s, f"theory_{k}") - 1 for s in f32 for k in keys]
        rms = float(np.sqrt(np.mean(np.square(theory))))
        name = f"{init} + {act}{' + BN' if bn else ''} ({depth} x {width} x {batch})"
        print(f"{name:42s} {arith:17.2e} {draws:17.3f} {rms:20.3f}")


def seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_case(depth: int, width: int, batch: int, repeat: int, dtype: str) -> None:
    """Time the probes and the bare loops of one network in alternating rounds; print the ratios."""
    net = (depth, width)
    runs: dict[str, Callable[[], object]] = {
        "probe, generator": lambda: probe("he_normal", "relu", *net, batch=batch, dtype=dtype),
        "probe, counter": lambda: probe(
            "he_normal", "relu", *net, batch=batch, dtype=dtype, stream="counter"
        ),
        "probe, counter, weight_grad=False": lambda: probe(
            "he_normal", "relu", *net, batch=batch, dtype=dtype, stream="counter", weight_grad=False
        ),
        "bare loop, generator": lambda: bare_loop(*net, batch, dtype),
        "bare loop, counter": lambda: bare_loop(*net, batch, dtype, stream="counter"),
    }
    for fn in runs.values():
        fn()  # warm-up: imports, compiled kernels, BLAS threads, page faults
    rounds = [{name: seconds(fn) for name, fn in runs.items()} for _ in range(repeat)]

    def median(name: str, over: str | None = None) -> float:
        return statistics.median(r[name] / (r[over] if over else 1.0) for r in rounds)

    print(f"depth {depth} x width {width} x batch {batch}, {dtype}, {repeat} alternating rounds:")
    for name in runs:
        print(f"  {name:36s} {median(name) * 1e3:8.1f} ms (median)")
    for top, bottom in (
        ("probe, generator", "bare loop, generator"),
        ("probe, counter", "bare loop, counter"),
        ("probe, counter", "bare loop, generator"),
        ("probe, counter, weight_grad=False", "bare loop, counter"),
    ):
        ratio = median(top, bottom)
        verdict = "meets" if ratio <= 1.5 else "MISSES"
        print(f"  {top} / {bottom}: {ratio:5.2f}  ({verdict} the 1.5x target)")
    draws = statistics.median(seconds(lambda: draw_only(depth, width, dtype)) for _ in range(3))
    print(f"  drawing the weights alone, generator   {draws * 1e3:8.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=7, help="alternating pairs per case (default 7)")
    parser.add_argument("--quick", action="store_true", help="only the 50 x 512 x 256 case")
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    parser.add_argument("--precision", action="store_true", help="float32 vs float64 vs theory instead")
    parser.add_argument("--threads", type=int, default=None, help="BLAS and numba threads (default: theirs)")
    parser.add_argument("--width", type=int, default=None, help="only depth 50 x this width x batch 256")
    args = parser.parse_args()
    if args.precision:
        precision()
        return
    if args.threads is not None:
        import numba
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=args.threads, user_api="blas")
        numba.set_num_threads(args.threads)
    cases = [(50, 512, 256)] + ([] if args.quick else [(100, 1024, 512)])
    if args.width is not None:
        cases = [(50 if args.width >= 512 else 20, args.width, 256)]
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; threads {args.threads}")
    for depth, width, batch in cases:
        bench_case(depth, width, batch, args.repeat if width <= 512 else max(3, args.repeat // 2), args.dtype)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
