"""Input-output Jacobian spectra of four depth-16, width-128 networks: measured (exact SVD) vs theory.

Seeds 0..5 per network; prints the mean over seeds (and the range) of the mean squared singular
value and of the relative variance Var/mean^2 of the squared singular values, beside the
free-probability predictions of ``kaiming.propagation.jacobian``, and the load average.

Usage: PYTHONPATH=src python benchmarks/jacobian_spectra.py [--seeds 6] [--depth 16] [--width 128]
"""

from __future__ import annotations

import argparse
import math
import os

import numpy as np

from kaiming.propagation.jacobian import jacobian_spectrum

CRITICAL_GAIN = math.sqrt(1.0 + 1e-4)
NETWORKS = {
    "He normal + ReLU": {"init": "he_normal", "activation": "relu"},
    "orthogonal (gain sqrt 2) + ReLU": {"init": "orthogonal", "activation": "relu", "gain": math.sqrt(2.0)},
    "Gaussian + tanh, critical": {
        "init": "he_normal",
        "activation": "tanh",
        "gain": CRITICAL_GAIN,
        "input_std": 0.05,
    },
    "orthogonal + tanh, critical": {
        "init": "orthogonal",
        "activation": "tanh",
        "gain": CRITICAL_GAIN,
        "input_std": 0.05,
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--depth", type=int, default=16)
    parser.add_argument("--width", type=int, default=128)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    print(
        "network | mean (theory) | Var/mean^2 mean [min, max] (theory) | "
        "max/min squared singular value (seed 0)"
    )
    for name, kwargs in NETWORKS.items():
        runs = [
            jacobian_spectrum(**kwargs, depth=args.depth, width=args.width, seed=s) for s in range(args.seeds)
        ]  # type: ignore[arg-type]
        mean = np.array([r.mean for r in runs])
        rel = np.array([r.relative_variance for r in runs])
        first = runs[0]
        ratio = first.max / first.min if first.min else math.inf  # type: ignore[operator]
        cells = [
            name,
            f"{mean.mean():.3g} ({first.theory_mean:.3g})",
            f"{rel.mean():.3g} [{rel.min():.3g}, {rel.max():.3g}] ({first.theory_relative_variance:.3g})",
            f"{ratio:.3g}",
        ]
        print(" | ".join(cells), flush=True)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
