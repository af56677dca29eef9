"""``kaiming experiment trainability``: options and runner (standard library only at import)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

__all__ = ["add_trainability", "run_trainability_cli"]


def _floats(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}")
    return values


def _ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    return values


def add_trainability(studies: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the ``trainability`` subcommand to the ``studies`` subparsers."""
    parser = studies.add_parser(
        "trainability",
        help="tanh MLPs over a (sigma_w^2, depth) grid: test accuracy vs 6 xi_c (Schoenholz et al.)",
        description="Train tanh MLPs on the digits over a grid of sigma_w^2 and depths and compare "
        "where they train with the correlation depth scale: depth < 6 xi_c.",
    )
    parser.add_argument("--quick", action="store_true", help="CI-sized grid: 3 sigma_w2 x 2 depths, 2 epochs")
    parser.add_argument("--sigma-w2", type=_floats, default=None, help="comma-separated sigma_w^2 values")
    parser.add_argument("--depths", type=_ints, default=None, help="comma-separated depths")
    parser.add_argument("--sigma-b2", type=float, default=None, help="bias variance (default 0.05)")
    parser.add_argument("--width", type=int, default=None, help="hidden units (default 48)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per cell (default 6)")
    parser.add_argument("--lr", type=float, default=None, help="Adam learning rate (default 0.001)")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and data order (default 0)")
    parser.add_argument("--threshold", type=float, default=None, help="'trained' accuracy (default 0.5)")
    common(parser)


def run_trainability_cli(args: argparse.Namespace) -> int:
    """Run the study, write ``trainability.json``, ``.md`` and ``.png`` to ``--out``, print the table."""
    from ._report import write_json, write_text
    from .trainability import TrainabilityConfig, plot_trainability, run_trainability

    base = TrainabilityConfig.quick() if args.quick else TrainabilityConfig()
    train = replace(
        base.train, **{k: v for k, v in (("epochs", args.epochs), ("lr", args.lr)) if v is not None}
    )
    given = {
        name: value
        for name, value in (
            ("sigma_w2", args.sigma_w2),
            ("depths", args.depths),
            ("sigma_b2", args.sigma_b2),
            ("width", args.width),
            ("threshold", args.threshold),
        )
        if value is not None
    }
    config = replace(base, train=train, seed=args.seed, threads=args.threads, **given)
    result = run_trainability(config, progress=not args.no_progress)
    out = Path(args.out)
    plot = None if args.no_plot else plot_trainability(result, out / "trainability.png").name
    write_json(out / "trainability.json", result.to_dict())
    write_text(out / "trainability.md", result.to_markdown(plot))
    print(result.describe())
    print(result.table())
    print(f"wrote {out / 'trainability'}.json, .md" + (", .png" if plot else ""))
    return 0
