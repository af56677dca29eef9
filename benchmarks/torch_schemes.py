"""Reproduce the figures of docs/torch-schemes.md (LSUV, Fixup, dead-ReLU repair, sparse masks).

Run from the repository root (CPU, about 30 s on one quiet core):

    PYTHONPATH=src python benchmarks/torch_schemes.py

Every number is measured in this run; the timings are noisy on a shared machine, the losses
and variances are deterministic (fixed seeds) up to BLAS rounding.
"""

from __future__ import annotations

import time

import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.nn import functional as F  # noqa: N812

from kaiming.torch import (
    FixupResidualMLP,
    kaiming_normal_,
    lsuv_,
    repair_dead_relus_,
    sparse_init_,
    xavier_normal_,
    zeros_,
)

torch.set_num_threads(1)


def digits() -> tuple[torch.Tensor, torch.Tensor]:
    features, targets = load_digits(return_X_y=True)
    x = torch.tensor(features, dtype=torch.float32)
    return (x - x.mean(0)) / (x.std(0) + 1e-3), torch.tensor(targets)


def train(
    net: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int, lr: float, batch: int = 128
) -> list[float]:
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    gen = torch.Generator().manual_seed(1)
    losses = []
    for _ in range(steps):
        idx = torch.randint(0, len(x), (batch,), generator=gen)
        loss = F.cross_entropy(net(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


def accuracy(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float((net(x).argmax(1) == y).float().mean())


def fixup_section(x: torch.Tensor, y: torch.Tensor) -> None:
    print("== Fixup: 100-block residual MLP (width 64, no normalization), sklearn digits, SGD momentum 0.9")
    print(f"{'variant':<34}{'lr':>6}  {'loss@0':>9} {'@10':>7} {'@20':>7} {'last5':>7} {'acc':>6}")
    for variant in ("fixup", "he in every branch", "zero last layer, no L^-1/2"):
        for lr in (0.01, 0.03, 0.1):
            net = FixupResidualMLP(64, 64, num_blocks=100, out_features=10, seed=0)
            if variant != "fixup":
                gen = torch.Generator().manual_seed(0)
                for module in net.modules():
                    if isinstance(module, nn.Linear):
                        kaiming_normal_(module.weight, nonlinearity="relu", generator=gen)
                for block in net.blocks:
                    if variant.startswith("zero"):
                        zeros_(block.layer2.weight)
                xavier_normal_(net.head.weight, generator=gen)
            losses = train(net, x, y, 30, lr)
            last5 = sum(losses[-5:]) / 5
            print(
                f"{variant:<34}{lr:>6}  {losses[0]:>9.3g} {losses[10]:>7.3g} {losses[20]:>7.3g} "
                f"{last5:>7.3g} {accuracy(net, x, y):>6.3f}"
            )


def lsuv_section() -> None:
    print("\n== LSUV: 20-layer MLPs (width 256), batch 512 of N(0, 1)")
    x = torch.randn(512, 256, generator=torch.Generator().manual_seed(0))
    for act in (nn.Tanh, nn.ReLU):
        layers: list[nn.Module] = []
        for _ in range(20):
            layers += [nn.Linear(256, 256), act()]
        net = nn.Sequential(*layers)
        start = time.perf_counter()
        report = lsuv_(net, x, seed=0)
        elapsed = time.perf_counter() - start
        start = time.perf_counter()
        with torch.no_grad():
            net(x)
        forward = time.perf_counter() - start
        finals = [layer.final_var for layer in report.layers]
        iters = [layer.iterations for layer in report.layers]
        print(
            f"{act.__name__:<5} final var in [{min(finals):.4f}, {max(finals):.4f}], iterations {min(iters)}-"
            f"{max(iters)}, time {elapsed * 1e3:.0f} ms = {elapsed / forward:.0f} forward passes"
        )


def repair_section(x: torch.Tensor, y: torch.Tensor) -> None:
    print("\n== Dead-ReLU repair: MLP 64-128-128-10 (He), 3 full-batch SGD steps at lr=3 on digits")
    finals = {}
    for repair in (False, True):
        net = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10))
        gen = torch.Generator().manual_seed(0)
        for layer in net[::2]:
            kaiming_normal_(layer.weight, nonlinearity="relu", generator=gen)
            zeros_(layer.bias)
        opt = torch.optim.SGD(net.parameters(), lr=3.0)
        for _ in range(3):
            opt.zero_grad()
            F.cross_entropy(net(x), y).backward()
            opt.step()
        if repair:
            report = repair_dead_relus_(net, x, seed=0, init="match")
            print(report)
        finals[repair] = train(net, x, y, 30, 0.01)
    for repair, losses in finals.items():
        label = "with" if repair else "without"
        print(f"then 30 SGD steps at lr=0.01, {label} repair: last-5 loss {sum(losses[-5:]) / 5:.3g}")


def masks_section() -> None:
    print("\n== Sparse masks: pre-activation variance of a He Linear(1000, 1000), batch 512 of N(0, 1)")
    x = torch.randn(512, 1000, generator=torch.Generator().manual_seed(1))
    for density in (0.5, 0.25, 0.1):
        layer = nn.Linear(1000, 1000, bias=False)
        kaiming_normal_(layer.weight, nonlinearity="relu", seed=2)
        with torch.no_grad():
            dense_weight = layer.weight.detach().clone()
            dense = float(layer(x).var())
            masks = sparse_init_(layer, density, seed=3)
            ours = float(layer(x).var())
            inverse = float(F.linear(x, dense_weight * masks.masks["weight"] / density).var())
        print(
            f"density {density:<5} var/dense: 1/sqrt(density) {ours / dense:.3f}   "
            f"1/(1-sparsity) {inverse / dense:.3f}   (1/density = {1 / density:g})"
        )
    depth, width, density = 10, 400, 0.2
    print(f"10-layer ReLU MLP (width {width}, density {density}): rms of the last activation, input rms 1")
    for label in ("dense", "1/sqrt(density)", "1/(1-sparsity)"):
        h = torch.randn(256, width, generator=torch.Generator().manual_seed(0))
        for i in range(depth):
            w = torch.empty(width, width)
            kaiming_normal_(w, nonlinearity="relu", seed=10 + i)
            if label != "dense":
                layer = nn.Linear(width, width, bias=False)
                with torch.no_grad():
                    layer.weight.copy_(w)
                masks = sparse_init_(layer, density, seed=100 + i, rescale=label == "1/sqrt(density)")
                w = layer.weight.detach() / (density if label == "1/(1-sparsity)" else 1.0)
            h = F.relu(h @ w.T)
        print(f"  {label:<16} {float(h.pow(2).mean().sqrt()):.4g}")


def main() -> None:
    x, y = digits()
    start = time.perf_counter()
    fixup_section(x, y)
    lsuv_section()
    repair_section(x, y)
    masks_section()
    print(f"\ntotal {time.perf_counter() - start:.1f} s, torch {torch.__version__}, 1 thread")


if __name__ == "__main__":
    main()
