"""chi_1 and xi_c measured on simulated tanh networks against the mean-field theory, by width.

For each width, ``--seeds`` probe runs of a tanh network in the ordered phase near the critical
line (``sigma_w2 = 1.3``, ``sigma_b2 = 0.05``: theory chi_1 = 0.880, xi_c = 7.83), depth 40,
batch 32, inputs with pairwise correlation 0.9. ``kaiming.propagation.estimate`` measures chi_1
from the backpropagated gradient's per-layer variance ratio (layers 8..39) and xi_c from the
slope of ``log(1 - pre_corr_l)`` (layers >= 8). Prints the mean measured value, its relative
error against the theory, the error of each seed's value (mean |error|), and the load average.

Usage: PYTHONPATH=src python benchmarks/depth_scales_width.py [--widths 128,256,512,1024,2048] [--seeds 6]
"""

from __future__ import annotations

import argparse
import math
import os

import numpy as np

from kaiming import probe
from kaiming.propagation.estimate import measure_depth_scales

SIGMA_W2, SIGMA_B2, DEPTH, BATCH, INPUT_CORR, FIRST = 1.3, 0.05, 40, 32, 0.9, 8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", default="128,256,512,1024,2048")
    parser.add_argument("--seeds", type=int, default=6)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    print(
        "width | chi_1 mean (theory) | rel. err of mean | mean |err| per seed | "
        "xi_c mean (fit on theory c_l; asymptotic) | rel. err of mean (vs asymptotic) | mean |err| per seed"
    )
    for width in (int(w) for w in args.widths.split(",")):
        runs = [
            measure_depth_scales(
                probe(
                    "random",
                    "tanh",
                    depth=DEPTH,
                    width=width,
                    batch=BATCH,
                    std=math.sqrt(SIGMA_W2 / width),
                    bias_std=math.sqrt(SIGMA_B2),
                    input_corr=INPUT_CORR,
                    seed=seed,
                ),
                first=FIRST,
            )
            for seed in range(args.seeds)
        ]
        chi = np.array([r.chi_1 for r in runs])
        xi = np.array([r.xi_c for r in runs])
        t = runs[0]
        theory_chi, theory_xi = t.theory_chi_1, t.theory_xi_c
        cells = [
            str(width),
            f"{chi.mean():.4f} ({theory_chi:.4f})",
            f"{abs(chi.mean() / theory_chi - 1):.2%}",
            f"{np.mean(np.abs(chi / theory_chi - 1)):.2%}",
            f"{xi.mean():.3f} ({t.theory_fit_xi_c:.3f}; {theory_xi:.3f})",
            f"{abs(xi.mean() / theory_xi - 1):.2%}",
            f"{np.mean(np.abs(xi / theory_xi - 1)):.2%}",
        ]
        print(" | ".join(cells), flush=True)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
