"""The forward tracer on the model zoo: layers found, activations found, time, and torch.fx beside it.

For each model of ``tests/_zoo.py`` (GPT-2, Llama, BERT, T5, ViT, ConvNeXt, ResNet from small
Hugging Face configs) this prints: the number of Linear/Conv (and GPT-2 ``Conv1D``) layers, how
many of them the tracer finds an activation after, the activations found, the median time of
``init_model(model, example_inputs=..., dry_run=True)`` (one meta run of the forward plus the
plan) and of ``analyze(model, inputs)`` (one real forward + backward, traced), and whether
``torch.fx.symbolic_trace`` can trace the model at all (the reference the tracer replaces).

Usage: PYTHONPATH=src python benchmarks/bench_zoo_tracing.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch
from torch import fx, nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from _zoo import build, zoo_ids
from kaiming.torch import analyze, init_model


def _median_time(fn: object, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _dense(model: nn.Module) -> list[str]:
    return [
        n
        for n, m in model.named_modules()
        if isinstance(m, (nn.Linear, nn.modules.conv._ConvNd)) or type(m).__name__ == "Conv1D"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
        f"torch {torch.__version__}"
    )
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    header = (
        "model",
        "params",
        "Linear/Conv",
        "with activation",
        "activations",
        "init_model ms",
        "analyze ms",
        "torch.fx",
    )
    print(" | ".join(header))
    for name in zoo_ids():
        model, inputs = build(name)
        params = sum(p.numel() for p in model.parameters())
        plan = init_model(model, seed=0, example_inputs=inputs, dry_run=True)
        rows = {r.name: r for r in plan}
        dense = [d for d in _dense(model) if f"{d}.weight" in rows]
        with_act = [d for d in dense if rows[f"{d}.weight"].activation is not None]
        acts = sorted({str(rows[f"{d}.weight"].activation) for d in with_act})
        t_init = _median_time(
            lambda m=model, i=inputs: init_model(m, seed=0, example_inputs=i, dry_run=True), args.repeats
        )
        t_analyze = _median_time(lambda m=model, i=inputs: analyze(m, i), args.repeats)
        try:
            fx.symbolic_trace(model)
            fx_result = "traces"
        except Exception as exc:  # fx raises many types
            fx_result = f"fails ({type(exc).__name__}: {str(exc).splitlines()[0][:40]})"
        print(
            " | ".join(
                (name, f"{params / 1e6:.2f}M", str(len(dense)), str(len(with_act)), ", ".join(acts),
                 f"{1e3 * t_init:.0f}", f"{1e3 * t_analyze:.0f}", fx_result)
            )
        )  # fmt: skip
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
