"""A ~1B-parameter Llama: normal construction vs meta + the model's own init replayed.

Run:  PYTHONPATH=src python benchmarks/bench_llama_init.py [--layers 22] [--hidden 2048] [--threads N]

Two variants, each in its own subprocess (so each one's peak RSS is its own), side by side:

- normal:  ``LlamaForCausalLM(config)`` on the CPU: allocation, every ``nn.Linear``'s
           ``reset_parameters`` (kaiming_uniform_), then Hugging Face's ``_init_weights``
           (normal(0, 0.02) weights, unit norms, rotary ``inv_freq``), torch's generator;
- own:     ``deferred_init(LlamaForCausalLM, config)`` (built on meta, its init recorded) then
           ``init_model(model, "own", stream="counter")``: the same distributions, each tensor
           drawn once from the counter stream (the dead ``reset_parameters`` draws are skipped),
           followed by the audit (every tensor written and finite).

Prints each variant's wall and CPU time (construction + init, imports and the counter stream's
compiled kernels loaded beforehand; CPU time, all threads, is the figure that survives a shared
machine), its peak RSS above the RSS before construction, the parameter and
buffer bytes, the ratios and the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _config(args: argparse.Namespace) -> object:
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=args.vocab,
        hidden_size=args.hidden,
        intermediate_size=args.intermediate,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        num_key_value_heads=args.kv_heads,
        max_position_embeddings=2048,
        tie_word_embeddings=False,
    )


def child(args: argparse.Namespace) -> None:
    """One variant, measured in this process; prints a JSON line."""
    import warnings

    import numpy as np
    from transformers import LlamaForCausalLM

    from kaiming import stream
    from kaiming.torch import deferred_init, init_model

    config = _config(args)
    stream.normal(1 << 19, stream.key(0, "warm-up"), dtype=np.float32)  # load the compiled kernels
    before = _status_kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak-RSS mark to the current RSS
    start, cpu_start = time.perf_counter(), time.process_time()
    recorded = start
    if args.variant == "normal":
        model = LlamaForCausalLM(config)
    else:
        model = deferred_init(LlamaForCausalLM, config)
        recorded = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.fx cannot trace the model: fallback warning
            init_model(model, "own", stream="counter", seed=0)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    peak = _status_kib("VmHWM") - before
    tensors = {id(t): t for t in [*model.parameters(), *model.buffers()]}
    nbytes = sum(t.numel() * t.element_size() for t in tensors.values())
    weight = model.model.layers[0].mlp.up_proj.weight.detach()
    print(
        json.dumps(
            {
                "variant": args.variant,
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "record_seconds": recorded - start,
                "peak_kib": peak,
                "bytes": nbytes,
                "parameters": sum(t.numel() for t in model.parameters()),
                "up_proj_std": float(weight.std()),
                "norm_weight": float(model.model.norm.weight.detach().mean()),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=22)
    parser.add_argument("--hidden", type=int, default=2048)
    parser.add_argument("--intermediate", type=int, default=5632)
    parser.add_argument("--heads", type=int, default=32)
    parser.add_argument("--kv-heads", type=int, default=4)
    parser.add_argument("--vocab", type=int, default=32000)
    parser.add_argument("--threads", type=int, default=0, help="torch and numba threads (0: their defaults)")
    parser.add_argument("--variant", choices=("normal", "own"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        os.environ["NUMBA_NUM_THREADS"] = str(args.threads)  # read by the child at numba's import
    if args.variant:
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        child(args)
        return
    load_before = os.getloadavg()
    results = {}
    for variant in ("normal", "own"):
        command = [sys.executable, __file__, *sys.argv[1:], "--variant", variant]
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        results[variant] = json.loads(out.strip().splitlines()[-1])
    load_after = os.getloadavg()
    gib = 1 << 30
    n = results["normal"]["parameters"]
    threads = args.threads or "default"
    print(f"Llama: {args.layers} layers, hidden {args.hidden}, {n / 1e9:.3f} B parameters (float32)")
    print(f"threads: {threads}")
    print(f"load average before: {load_before[0]:.2f}, after: {load_after[0]:.2f}")
    head = ("variant", "wall s", "CPU s", "peak RSS GiB", "tensors GiB", "peak/bytes", "up_proj std")
    print(f"{head[0]:8} {head[1]:>8} {head[2]:>8} {head[3]:>13} {head[4]:>12} {head[5]:>11} {head[6]:>12}")
    for variant, r in results.items():
        print(
            f"{variant:8} {r['seconds']:8.2f} {r['cpu_seconds']:8.2f} {r['peak_kib'] * 1024 / gib:13.3f} "
            f"{r['bytes'] / gib:12.3f} {r['peak_kib'] * 1024 / r['bytes']:11.3f} {r['up_proj_std']:12.5f}"
        )
    own = results["own"]
    print(f"own: recording (deferred_init) {own['record_seconds']:.2f} s of {own['seconds']:.2f} s")
    print(
        f"speed-up normal / own: {results['normal']['seconds'] / own['seconds']:.2f}x wall, "
        f"{results['normal']['cpu_seconds'] / own['cpu_seconds']:.2f}x CPU time"
    )


if __name__ == "__main__":
    main()
