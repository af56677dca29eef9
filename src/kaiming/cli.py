"""The ``kaiming`` command: ``probe``, ``compare`` and ``sample``, plus plugged-in subcommands.

``kaiming probe`` prints one network's layer table, ``kaiming compare`` compares inits (summary
table and a variance-evolution plot), ``kaiming sample`` writes an initialized array to .npy.
``explore`` and ``experiment`` come from other packages (``_PLUGINS``), imported only when the
parser is built; a missing one is not listed.

Errors are one line on stderr: exit code 2 for bad input and for files that cannot be written
(output paths are checked before any computation), 130 for Ctrl-C. Files are written
atomically (a temporary file in the same folder, then ``os.replace``), so an interrupted or
failed run leaves no half-written file behind.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from importlib import import_module
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from ._checks import check_choice, did_you_mean
from ._table import render_table
from .fans import LAYOUTS
from .propagation import ProbeResult, probe
from .propagation._draws import STREAMS
from .propagation._inits import ALIASES, PROBE_ACTIVATIONS, PROBE_INITS
from .propagation._table import format_number
from .registry import INITIALIZER_NAMES, get_initializer

__all__ = ["build_parser", "main"]

_PLUGINS = {"explore": "kaiming.explorer.cli", "experiment": "kaiming.experiments.cli"}
_PLUGINS["phase"] = "kaiming._cli_phase"

_PROBE_EXAMPLES = """examples:
  kaiming probe --init he --act relu --depth 50 --width 512
  kaiming probe --init random --std 0.05 --act tanh --depth 30 --json
  kaiming probe --init he --act relu --depth 20 --width 64 --json run.json
  kaiming probe --init xavier --act relu --depth 50 --plot xavier.png
  kaiming probe --init he --act leaky_relu --act-param 0.2 --width 512,256,128 --depth 3
"""
_COMPARE_EXAMPLES = """examples:
  kaiming compare --inits he,xavier,random --act relu --depth 50 --plot compare.png
  kaiming compare --inits he,lecun --act selu --depth 100 --json
  kaiming compare --inits he,orthogonal --act relu --depth 30 --batch-norm --plot bn.svg
"""
_SAMPLE_EXAMPLES = """examples:
  kaiming sample he_normal 512 256 --seed 0 --out w.npy
  kaiming sample xavier_uniform 64 3 3 3 --layout torch --dtype float32 --out conv.npy
"""


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line on stderr, exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _positive_width(text: str) -> int | list[int]:
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"width must be an int or comma-separated ints, got {text!r}"
        ) from None
    return values[0] if len(values) == 1 else values


def _add_network_args(parser: argparse.ArgumentParser) -> None:
    net = parser.add_argument_group("network")
    net.add_argument("--act", "--activation", dest="activation", default="relu", metavar="NAME",
                     help=f"activation: {', '.join(PROBE_ACTIVATIONS)} (default relu)")  # fmt: skip
    net.add_argument("--act-param", type=float, default=None, metavar="X",
                     help="leaky_relu/prelu slope or elu alpha (>= 0), softplus beta (> 0)")  # fmt: skip
    net.add_argument("--depth", type=int, default=50, help="number of layers (default 50)")
    net.add_argument("--width", type=_positive_width, default=512, metavar="N[,N...]",
                     help="hidden width, or one width per layer (default 512)")  # fmt: skip
    net.add_argument("--batch", type=int, default=256, help="batch size (default 256)")
    net.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    net.add_argument("--mode", default=None, choices=("fan_in", "fan_out", "fan_avg"),
                     help="override the fan of a variance-scaling init")  # fmt: skip
    net.add_argument("--gain", type=float, default=None, help="override the init's gain")
    net.add_argument("--std", type=float, default=None, help="weight std of init 'random' (default 0.01)")
    net.add_argument("--bias-std", type=float, default=0.0, help="std of the N(0, s^2) biases (default 0)")
    net.add_argument("--batch-norm", action="store_true", help="batch-normalize every pre-activation")
    net.add_argument(
        "--input-dist", default="normal", choices=("normal", "uniform"), help="unit-variance inputs"
    )
    net.add_argument("--input-corr", type=float, default=0.0, help="inputs' pairwise correlation (default 0)")
    net.add_argument("--dtype", default="float32", choices=("float32", "float64"), help="default float32")
    net.add_argument("--stream", default="generator", choices=STREAMS,
                     help="random numbers: NumPy's Generator from --seed (default) or the counter stream "
                          "keyed by (seed, tensor name), drawn faster")  # fmt: skip
    net.add_argument("--no-backward", dest="backward", action="store_false", help="skip the backward pass")
    net.add_argument("--no-theory", dest="theory", action="store_false", help="skip the mean-field theory")
    out = parser.add_argument_group("output")
    out.add_argument("--json", nargs="?", const="-", default=None, metavar="FILE",
                     help="print JSON instead of a table, or with FILE write it there too")  # fmt: skip
    out.add_argument("--plot", metavar="FILE", default=None, help="also write a plot (.png, .svg or .pdf)")


def _probe_kwargs(args: argparse.Namespace, init: str, *, share: bool = False) -> dict[str, Any]:
    """Keyword arguments of ``probe`` from the parsed options. With ``share`` (compare), options an
    init does not use (``--std`` for non-random, ``--mode``/``--gain`` for random) are dropped."""
    kwargs: dict[str, Any] = {
        "activation": args.activation,
        "activation_param": args.act_param,
        "depth": args.depth,
        "width": args.width,
        "batch": args.batch,
        "seed": args.seed,
        "bias_std": args.bias_std,
        "batch_norm": args.batch_norm,
        "input_dist": args.input_dist,
        "input_corr": args.input_corr,
        "dtype": args.dtype,
        "stream": args.stream,
        "backward": args.backward,
        "theory": args.theory,
    }
    for name in ("mode", "gain", "std"):
        value = getattr(args, name)
        if value is not None and (not share or _uses(init, name)):
            kwargs[name] = value
    return kwargs


def _uses(init: str, option: str) -> bool:
    """Whether ``init`` takes ``option`` (``std``: only random; ``mode``: variance scaling only)."""
    canonical = ALIASES.get(init, init)
    if option == "std":
        return canonical == "random"
    return canonical not in (("random",) if option == "gain" else ("random", "orthogonal"))


_PLOT_SUFFIXES = (".png", ".svg", ".pdf")


def _write_plot(results: Sequence[ProbeResult], labels: Sequence[str], path: str, title: str) -> str:
    from .propagation.plots import plot_results

    _atomic_write(path, lambda tmp: plot_results(results, labels, tmp, title))
    return path


class _UsageError(Exception):
    """A bad command line found after parsing; reported in one line, exit code 2."""


def check_output_path(path: str, option: str, suffixes: Sequence[str] = ()) -> None:
    """Refuse, before any computation, an output file that cannot be written.

    ``path`` must name a file (not a folder) in an existing, writable folder, end in one of
    ``suffixes`` when given, and not be an existing read-only file.

    Example:
        >>> check_output_path("/", "--out")
        Traceback (most recent call last):
        ...
        kaiming.cli._UsageError: --out '/' is a folder, not a file name
    """
    target = Path(path)
    if not path or path.endswith(("/", os.sep)) or target.is_dir():
        raise _UsageError(f"{option} {path!r} is a folder, not a file name")
    if suffixes and target.suffix.lower() not in suffixes:
        raise _UsageError(f"{option} file must end in {', '.join(suffixes)}, got {path!r}")
    folder = target.parent
    if not folder.is_dir():
        raise _UsageError(f"{option} {path!r}: the folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise _UsageError(f"{option} {path!r}: permission denied")


def _atomic_write(path: str, write: Callable[[str], object]) -> None:
    """``write(tmp)`` to a temporary file beside ``path``, then rename it to ``path`` (atomic):
    on any error or Ctrl-C the temporary file is removed and ``path`` is untouched."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=target.suffix, dir=target.parent)
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _check_outputs(args: argparse.Namespace) -> None:
    if args.plot:
        check_output_path(args.plot, "--plot", _PLOT_SUFFIXES)
    if args.json not in (None, "-"):
        check_output_path(args.json, "--json")


def _check_act_param(args: argparse.Namespace) -> None:
    """``--act-param`` is a slope/alpha (>= 0) or a softplus beta (> 0); the probe checks the rest."""
    value = args.act_param
    if value is None or not isinstance(args.activation, str):
        return
    if args.activation == "softplus" and not value > 0:
        raise _UsageError(f"--act-param (softplus beta) must be > 0, got {value}")
    if args.activation in ("leaky_relu", "prelu", "elu") and not value >= 0:
        what = "alpha" if args.activation == "elu" else "negative slope"
        raise _UsageError(f"--act-param ({args.activation} {what}) must be >= 0, got {value}")


def _emit_json(args: argparse.Namespace, payload: dict[str, Any]) -> bool:
    """Print ``payload`` (``--json``) or write it to ``--json FILE``; return whether it was printed."""
    text = json.dumps(payload, indent=2)
    if args.json == "-":
        print(text)
        return True
    _atomic_write(args.json, lambda tmp: Path(tmp).write_text(text + "\n", encoding="utf-8"))
    return False


def _run_probe(args: argparse.Namespace) -> int:
    _check_outputs(args)
    _check_act_param(args)
    result = probe(args.init, histogram_layer=args.histogram_layer, **_probe_kwargs(args, args.init))
    if args.plot:
        title = f"{result.config['init']} + {result.config['activation']}, depth {args.depth}"
        _write_plot([result], [result.config["init"]], args.plot, title)
    if args.json is not None and _emit_json(args, result.to_dict()):
        return 0
    print(result.table())
    print(result.summary())
    if args.plot:
        print(f"plot written to {args.plot}")
    if args.json is not None:
        print(f"JSON written to {args.json}")
    return 0


def _compare_row(init: str, result: ProbeResult) -> dict[str, Any]:
    last, first = result.layers[-1], result.layers[0]
    vanishing = next((s.layer for s in result.layers if s.forward_health == "vanishing"), None)
    return {
        "init": init,
        "last_post_std": last.post_std,
        "theory_last_post_std": last.theory_post_std,
        "first_vanishing_layer": vanishing,
        "last_dead_percent": 100 * last.dead_fraction,
        "last_dead_units_percent": 100 * last.dead_units_fraction,
        "first_grad_std": first.grad_std,
        "theory_first_grad_std": first.theory_grad_std,
        "summary": result.summary(),
    }


def _run_compare(args: argparse.Namespace) -> int:
    inits = [name.strip() for name in args.inits.split(",") if name.strip()]
    if not inits:
        raise _UsageError(f"--inits needs at least one init name, got {args.inits!r}")
    _check_outputs(args)
    _check_act_param(args)
    for init in inits:  # fail fast, before the first (possibly long) probe
        check_choice("init", init, PROBE_INITS)
    results = [probe(init, **_probe_kwargs(args, init, share=True)) for init in inits]
    rows = [_compare_row(init, result) for init, result in zip(inits, results, strict=True)]
    if args.plot:
        title = f"{args.activation}, depth {args.depth}: std per layer"
        _write_plot(results, inits, args.plot, title)
    if args.json is not None and _emit_json(args, {"rows": rows, "runs": [r.to_dict() for r in results]}):
        return 0
    headers = [
        "Init",
        "Last Std",
        "Theory",
        "First Vanishing",
        "Dead Units %",
        "Zero Values %",
        "Grad Std L1",
        "Theory Grad",
        "Verdict",
    ]
    table = [
        [
            row["init"],
            format_number(row["last_post_std"]),
            format_number(row["theory_last_post_std"]),
            "-" if row["first_vanishing_layer"] is None else str(row["first_vanishing_layer"]),
            f"{row['last_dead_units_percent']:.1f}",
            f"{row['last_dead_percent']:.1f}",
            format_number(row["first_grad_std"]),
            format_number(row["theory_first_grad_std"]),
            row["summary"].split(":")[0],
        ]
        for row in rows
    ]
    print(render_table(headers, table, align="right"))
    if args.plot:
        print(f"plot written to {args.plot}")
    if args.json is not None:
        print(f"JSON written to {args.json}")
    return 0


def _run_sample(args: argparse.Namespace) -> int:
    name = ALIASES.get(args.name, args.name)
    if name not in INITIALIZER_NAMES:
        options = [*INITIALIZER_NAMES, *ALIASES]
        hint = did_you_mean(args.name, options)
        raise _UsageError(f"unknown initializer {args.name!r}; allowed: {', '.join(options)}{hint}")
    check_output_path(args.out, "--out")
    weights = get_initializer(name)(tuple(args.shape), layout=args.layout, seed=args.seed, dtype=args.dtype)

    def save(tmp: str) -> None:
        with open(tmp, "wb") as file:  # a file object: numpy.save appends no ".npy"
            np.save(file, weights)

    _atomic_write(args.out, save)
    print(
        f"wrote {args.out} (.npy format, {os.path.getsize(args.out)} bytes): {name} {weights.shape} "
        f"{weights.dtype} ({args.layout} layout), std {float(weights.std()):.4g}"
    )
    return 0


def _add_probe(sub: Any) -> None:
    parser = sub.add_parser(
        "probe",
        help="layer-by-layer signal statistics of one deep network",
        description="Simulate a deep fully-connected network (NumPy) and print per-layer forward and "
        "backward statistics with the mean-field theory.",
        epilog=_PROBE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--init", default="he", help=f"init name: {', '.join(PROBE_INITS)} (default he)")
    _add_network_args(parser)
    parser.add_argument("--histogram-layer", type=int, default=None, metavar="L",
                        help="include the post-activation histogram of layer L in --json")  # fmt: skip
    parser.set_defaults(handler=_run_probe)


def _add_compare(sub: Any) -> None:
    parser = sub.add_parser(
        "compare",
        help="compare inits: summary table and variance-evolution plot",
        description="Probe the same network with several inits; print last-layer std, first vanishing "
        "layer, dead units %, zero values %, the gradient reaching layer 1 and a verdict on the "
        "forward and backward passes; --plot draws std per layer (log scale), forward and backward, "
        "theory dashed.",
        epilog=_COMPARE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--inits", default="he,xavier,random", help="comma-separated init names")
    _add_network_args(parser)
    parser.set_defaults(handler=_run_compare)


def _add_sample(sub: Any) -> None:
    parser = sub.add_parser(
        "sample",
        help="write an initialized array to .npy",
        description="Draw an array with a registry initializer and save it in NumPy's .npy format "
        "to exactly the file --out names.",
        epilog=_SAMPLE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", help=f"initializer: {', '.join([*INITIALIZER_NAMES, *ALIASES])}")
    parser.add_argument("shape", type=int, nargs="+", help="array shape, e.g. 512 256")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: fresh entropy)")
    parser.add_argument(
        "--out", required=True, metavar="FILE", help="output file (.npy format; the name is kept as given)"
    )
    parser.add_argument(
        "--layout", default="jax", choices=LAYOUTS, help="jax (*k, in, out) or torch (out, in, *k)"
    )
    parser.add_argument("--dtype", default="float32", choices=("float16", "float32", "float64"))
    parser.set_defaults(handler=_run_sample)


def _add_plugins(sub: Any) -> None:
    for command, module_name in _PLUGINS.items():
        try:
            module = import_module(module_name)
        except ImportError:
            continue  # not installed / not written yet: not listed
        summary = getattr(module, "SUMMARY", None) or (module.__doc__ or command).strip().splitlines()[0]
        parser = sub.add_parser(
            command,
            help=summary,
            description=getattr(module, "DESCRIPTION", None) or summary,
            epilog=getattr(module, "EXAMPLES", None),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(parser)
        parser.set_defaults(handler=module.run)


def build_parser() -> argparse.ArgumentParser:
    """The ``kaiming`` argument parser with every available subcommand."""
    parser = _Parser(
        prog="kaiming",
        description=(
            "Weight initialization built around He/Kaiming init: probe, compare, sample, explore, experiment."
        ),
        epilog="run 'kaiming COMMAND --help' for a command's options and examples",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    _add_probe(sub)
    _add_compare(sub)
    _add_sample(sub)
    _add_plugins(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except (ValueError, TypeError, _UsageError) as exc:
        return _fail(args.command, str(exc))
    except KeyboardInterrupt:
        print(f"kaiming {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: not an error; silence the final flush.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(args.command, f"{where}{exc.strerror or exc}")
    except MemoryError:
        return _fail(args.command, "out of memory; try a smaller size")
    return code


def _fail(command: str, message: str) -> int:
    """Print ``message`` as one line on stderr; return exit code 2."""
    print(f"kaiming {command}: error: {' '.join(message.split())}", file=sys.stderr)
    return 2
