"""The ``kaiming experiment`` command (a plugin of ``kaiming.cli``).

``kaiming experiment convergence [--quick] [--depth 8] [--seeds 5] [--out DIR] ...`` trains the
MLPs and writes ``convergence_d{depth}.json``, ``.md`` and ``.png`` to ``DIR``;
``kaiming experiment depth [--quick] [--depth 100] [--out DIR] ...`` runs the depth-stability
study and writes ``depth_L{depth}.json``, ``.md``, ``_heatmap.png`` and ``_profile.png``.
Both print their table. This module imports only ``argparse`` and the standard library at import
time; torch, scikit-learn and matplotlib are imported when a study runs.

Example:
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="kaiming experiment")
    >>> add_arguments(parser)
    >>> args = parser.parse_args(["convergence", "--quick", "--seeds", "3"])
    >>> args.study, args.quick, args.seeds, args.depth
    ('convergence', True, 3, 8)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from ._cli_trainability import add_trainability, run_trainability_cli

SUMMARY = "run the experiments on real data: convergence, depth stability, trainability"
"""One line for ``kaiming --help``."""

EXAMPLES = """examples:
  kaiming experiment convergence --quick --out results
  kaiming experiment convergence --depth 30 --seeds 5 --inits he_normal,xavier_normal
  kaiming experiment depth --quick --no-plot
  kaiming experiment depth --depth 100 --activations relu,tanh --methods probe,theory

needs the experiments extra (torch, scikit-learn, matplotlib): pip install 'kaiming[experiments]'
"""
"""The examples ``kaiming experiment --help`` prints."""

_EXTRA_MODULES = ("torch", "sklearn", "matplotlib")

__all__ = ["add_arguments", "main", "run"]

DEFAULT_OUT = "experiment-results"


def _names(text: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    if not names:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of names, got {text!r}")
    return names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``convergence`` and ``depth`` subcommands to ``parser``."""
    studies = parser.add_subparsers(dest="study", metavar="{convergence,depth,trainability}", required=True)

    conv = studies.add_parser(
        "convergence",
        help="train plain ReLU MLPs on the digits from each init; epochs to 90%% and learning curves",
        description="Train the same plain ReLU MLP on scikit-learn's digits from each init, "
        "several seeds, one optimizer and schedule for all.",
    )
    conv.add_argument("--quick", action="store_true", help="CI-sized run: 2 seeds, width 64, 6 epochs")
    conv.add_argument("--depth", type=int, default=8, help="hidden layers (default 8; deep: 30)")
    conv.add_argument("--width", type=int, default=None, help="hidden units per layer (default 128)")
    conv.add_argument("--seeds", type=int, default=None, help="seeds 0..N-1 per init (default 5)")
    conv.add_argument("--epochs", type=int, default=None, help="epochs per run (default 40)")
    conv.add_argument("--lr", type=float, default=None, help="SGD learning rate (default 0.003)")
    conv.add_argument("--momentum", type=float, default=None, help="SGD momentum (default 0.9)")
    conv.add_argument("--batch-size", type=int, default=None, help="minibatch size (default 64)")
    conv.add_argument("--target", type=float, default=0.9, help="test accuracy to reach (default 0.9)")
    conv.add_argument("--inits", type=_names, default=None, help="comma-separated subset of the inits")
    _common(conv)

    depth = studies.add_parser(
        "depth",
        help="first layer where signal/gradient std leaves [1e-3, 1e3] per init and activation",
        description="Measure with the probe, with analyze on torch models and by mean-field theory "
        "how many layers the forward signal and backward gradient survive.",
    )
    depth.add_argument("--quick", action="store_true", help="CI-sized run: depth 20, width 64, batch 64")
    depth.add_argument("--depth", type=int, default=None, help="layers (default 100)")
    depth.add_argument("--width", type=int, default=None, help="units per layer (default 256)")
    depth.add_argument("--batch", type=int, default=None, help="inputs per measurement (default 256)")
    depth.add_argument("--seed", type=int, default=0, help="seed of weights and inputs (default 0)")
    depth.add_argument("--factor", type=float, default=1e3, help="band [1/factor, factor] (default 1e3)")
    depth.add_argument("--inits", type=_names, default=None, help="comma-separated subset of the inits")
    depth.add_argument("--activations", type=_names, default=None, help="comma-separated activations")
    depth.add_argument("--methods", type=_names, default=None, help="subset of probe,torch,theory")
    _common(depth)
    add_trainability(studies, _common)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default ./{DEFAULT_OUT})")
    parser.add_argument("--no-plot", action="store_true", help="write no PNG")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")


def _given(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def run(args: argparse.Namespace) -> int:
    """Run the study named by ``args.study``; return the exit code (2 on bad input)."""
    start = time.perf_counter()
    try:
        _check_out(Path(args.out))
        if args.study == "convergence":
            return _run_convergence(args, start)
        if args.study == "trainability":
            return run_trainability_cli(args)
        return _run_depth(args, start)
    except (ValueError, TypeError) as exc:
        print(f"kaiming experiment {args.study}: error: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in _EXTRA_MODULES:
            raise
        print(
            f"kaiming experiment: needs torch, scikit-learn and matplotlib ({exc.name} is missing); "
            "install them with: pip install 'kaiming[experiments]'",
            file=sys.stderr,
        )
        return 2


def _check_out(out: Path) -> None:
    """Refuse, before the run, an ``--out`` folder that cannot be created or written."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {str(out)!r} is a file, not a folder")
    existing = out
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"--out {str(out)!r}: permission denied")


def _run_convergence(args: argparse.Namespace, start: float) -> int:
    from .convergence import ConvergenceConfig, run_convergence

    base = ConvergenceConfig.quick() if args.quick else ConvergenceConfig()
    train = replace(base.train, **_given(args, "epochs", "lr", "momentum", "batch_size"))
    config = replace(
        base,
        train=train,
        depth=args.depth,
        target=args.target,
        threads=args.threads,
        **_given(args, "width", "seeds", "inits"),
    )
    out = Path(args.out)
    result = run_convergence(config, progress=not args.no_progress)
    stem = f"convergence_d{config.depth}"
    plot = None
    if not args.no_plot:
        from .plots import plot_convergence

        plot = plot_convergence(result, out / f"{stem}.png").name
    wall = _write(out, stem, result.to_dict(), result.to_markdown(plot), start)
    print(result.describe())
    print(result.table())
    print(f"wrote {out / stem}.json, .md" + (", .png" if plot else ""))
    print(_waited(wall, result.seconds))
    return 0


def _run_depth(args: argparse.Namespace, start: float) -> int:
    from .depth import DepthConfig, run_depth_study

    fields = _given(args, "depth", "width", "batch", "inits", "activations", "methods")
    fields.update(seed=args.seed, factor=args.factor, threads=args.threads)
    config = DepthConfig.quick(**fields) if args.quick else DepthConfig(**fields)
    out = Path(args.out)
    result = run_depth_study(config, progress=not args.no_progress)
    stem = f"depth_L{config.depth}"
    plots: list[str] = []
    if not args.no_plot:
        from .plots import plot_depth_heatmap, plot_depth_profiles

        plots.append(plot_depth_heatmap(result, out / f"{stem}_heatmap.png").name)
        if "relu" in config.activations:
            plots.append(plot_depth_profiles(result, out / f"{stem}_profile.png").name)
    wall = _write(out, stem, result.to_dict(), result.to_markdown(plots), start)
    print(result.describe())
    print(result.table())
    print(f"wrote {out / stem}.json, .md" + "".join(f", {p}" for p in plots))
    print(_waited(wall, result.seconds))
    return 0


def _write(out: Path, stem: str, payload: dict[str, Any], markdown: str, start: float) -> float:
    """Write the JSON (with ``wall_seconds``, the time since the process started) and the report,
    each atomically: to a temporary name, then renamed (``os.replace``), so an interrupted run
    leaves no half-written report. Returns the wall time."""
    from ._report import process_seconds, write_json, write_text

    wall = process_seconds(start)
    contents: tuple[tuple[Path, str | dict[str, Any]], ...] = (
        (out / f"{stem}.json", {**payload, "wall_seconds": wall}),
        (out / f"{stem}.md", markdown),
    )
    for target, content in contents:
        partial = target.with_name(f".{target.name}.partial")
        try:
            if isinstance(content, str):
                write_text(partial, content)
            else:
                write_json(partial, content)
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return wall


def _waited(wall: float, study: float) -> str:
    return f"wall time {wall:.1f} s since the command started (the study itself: {study:.1f} s)"


def main(argv: list[str] | None = None) -> int:
    """Run ``kaiming experiment`` standalone: ``python -m kaiming.experiments.cli convergence``."""
    parser = argparse.ArgumentParser(
        prog="kaiming experiment",
        description=__doc__.split("\n\n")[0],
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
