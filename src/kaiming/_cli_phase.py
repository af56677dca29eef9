"""The ``kaiming phase`` command (a plugin of ``kaiming.cli``): the order-to-chaos phase diagram.

``kaiming phase --act tanh [--sigma-w2 0.25,4,40] [--sigma-b2 0,0.5,21] [--plot phase.png] [--json]``
prints the critical line (``sigma_w2`` where ``chi_1 = 1`` for each ``sigma_b2``) and where the
named inits sit, and draws ``chi_1`` as a heat map with the critical line and the inits marked.

Example:
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="kaiming phase")
    >>> add_arguments(parser)
    >>> args = parser.parse_args(["--act", "relu", "--sigma-b2", "0,0.2,3"])
    >>> args.activation, args.sigma_b2
    ('relu', (0.0, 0.2, 3))
"""

from __future__ import annotations

import argparse
import json
import math
from typing import TYPE_CHECKING

from ._table import render_table
from .propagation.correlation import depth_scales
from .propagation.phase import PhaseDiagram, phase_diagram

if TYPE_CHECKING:
    from matplotlib.axes import Axes

SUMMARY = "order-to-chaos phase diagram: chi_1 over (sigma_w^2, sigma_b^2), critical line, named inits"
"""One line for ``kaiming --help``."""

__all__ = ["SUMMARY", "add_arguments", "plot_phase", "run"]

_EXAMPLES = """examples:
  kaiming phase --act tanh --plot phase.png
  kaiming phase --act relu --sigma-b2 0,0.5,6
  kaiming phase --act tanh --sigma-w2 0.5,3,26 --json
"""


def _range(text: str) -> tuple[float, float, int]:
    parts = text.split(",")
    try:
        low, high, count = float(parts[0]), float(parts[1]), int(parts[2])
    except (IndexError, ValueError):
        raise argparse.ArgumentTypeError(f"expected MIN,MAX,N (e.g. 0.25,4,40), got {text!r}") from None
    if len(parts) != 3 or not 0 <= low <= high or count < 1 or not math.isfinite(high):
        raise argparse.ArgumentTypeError(f"expected 0 <= MIN <= MAX and N >= 1, got {text!r}")
    return low, high, count


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``phase`` options to ``parser``."""
    parser.description = (
        "chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2] over a grid: < 1 ordered (gradients vanish, inputs "
        "converge), > 1 chaotic (gradients explode, inputs decorrelate); the critical line is chi_1 = 1."
    )
    parser.epilog = _EXAMPLES
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--act", "--activation", dest="activation", default="tanh", metavar="NAME",
                        help="activation (default tanh)")  # fmt: skip
    parser.add_argument("--act-param", type=float, default=None, metavar="X",
                        help="leaky_relu/prelu slope, elu alpha or softplus beta")  # fmt: skip
    parser.add_argument("--sigma-w2", type=_range, default=(0.25, 4.0, 40), metavar="MIN,MAX,N",
                        help="weight variance x fan_in grid (default 0.25,4,40)")  # fmt: skip
    parser.add_argument("--sigma-b2", type=_range, default=(0.0, 0.5, 21), metavar="MIN,MAX,N",
                        help="bias variance grid (default 0,0.5,21)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the diagram as JSON")
    parser.add_argument("--plot", metavar="FILE", default=None, help="write the heat map (.png, .svg, .pdf)")


def _grid(spec: tuple[float, float, int]) -> list[float]:
    low, high, count = spec
    return [low] if count == 1 else [low + (high - low) * i / (count - 1) for i in range(count)]


def run(args: argparse.Namespace) -> int:
    """Compute the diagram; print the critical line and the inits (or JSON); draw it with --plot."""
    if args.plot is not None:
        _check_extension(args.plot)
    diagram = phase_diagram(
        args.activation, _grid(args.sigma_w2), _grid(args.sigma_b2), activation_param=args.act_param
    )
    if args.plot is not None:
        plot_phase(diagram, args.plot)
    if args.json:
        print(json.dumps(diagram.to_dict(), indent=2))
        return 0
    rows = [
        [f"{b:.4g}", "-" if w is None else f"{w:.4f}"]
        for b, w in zip(diagram.sigma_b2, diagram.critical_sigma_w2, strict=True)
    ]
    print(f"critical line of {diagram.activation} (chi_1 = 1):")
    print(render_table(["sigma_b^2", "critical sigma_w^2"], rows, align="right"))
    init_rows = []
    for init in diagram.inits:
        scales = depth_scales(
            diagram.activation, init["sigma_w2"], init["sigma_b2"], activation_param=args.act_param
        )
        init_rows.append(
            [
                init["name"],
                f"{init['sigma_w2']:.4g}",
                f"{init['chi_1']:.4f}",
                scales.phase,
                f"{scales.xi_c:.4g}",
            ]
        )
    print(f"named inits with {diagram.activation} (square layers, no bias):")
    print(render_table(["init", "sigma_w^2", "chi_1", "phase", "xi_c"], init_rows, align="right"))
    if args.plot is not None:
        print(f"plot written to {args.plot}")
    return 0


def _check_extension(path: str) -> None:
    extension = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    if extension not in ("png", "svg", "pdf"):
        raise ValueError(f"--plot file must end in .png, .svg or .pdf, got {path!r}")


def _draw(axes: Axes, diagram: PhaseDiagram) -> object:
    import numpy as np
    from matplotlib.colors import TwoSlopeNorm

    chi = np.log2(np.maximum(np.array(diagram.chi_1, dtype=float), 1e-12))
    low, high = min(float(np.nanmin(chi)), -0.05), max(float(np.nanmax(chi)), 0.05)
    w, b = diagram.sigma_w2, diagram.sigma_b2
    dw = (w[1] - w[0]) / 2 if len(w) > 1 else 0.5
    db = (b[1] - b[0]) / 2 if len(b) > 1 else 0.05
    image = axes.imshow(
        chi,
        origin="lower",
        aspect="auto",
        extent=(w[0] - dw, w[-1] + dw, b[0] - db, b[-1] + db),
        cmap="RdBu_r",
        norm=TwoSlopeNorm(vcenter=0.0, vmin=low, vmax=high),  # each phase uses its full colour range
    )
    line = [(c, sb) for c, sb in zip(diagram.critical_sigma_w2, b, strict=True) if c is not None]
    if line:
        axes.plot(
            [p[0] for p in line],
            [p[1] for p in line],
            color="black",
            linewidth=2,
            label="critical: chi_1 = 1",
        )
    markers = {"he_normal": "o", "xavier_normal": "s", "lecun_normal": "^"}
    for index, init in enumerate(diagram.inits):
        axes.plot(
            init["sigma_w2"],
            init["sigma_b2"],
            marker=markers.get(init["name"], "D"),
            markersize=10 - 2 * index,
            color="gold" if index == 0 else "white",
            markeredgecolor="black",
            linestyle="none",
            label=f"{init['name'].split('_')[0]}: chi_1 = {init['chi_1']:.3g}",
            clip_on=False,
        )
    axes.set_xlim(w[0] - dw, w[-1] + dw)
    axes.set_xlabel("sigma_w^2  (Var[W] x fan_in)")
    axes.set_ylabel("sigma_b^2  (Var[b])")
    axes.legend(loc="upper left", fontsize="small", framealpha=0.85)
    return image


def plot_phase(diagram: PhaseDiagram, path: str) -> None:
    """Write the heat map of ``log2 chi_1`` (blue ordered, red chaotic, each side scaled to its own
    extreme), the critical line and the named inits to ``path`` (.png/.svg/.pdf; needs matplotlib)."""
    _check_extension(path)
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.5, 5), layout="constrained")
    axes = figure.subplots()
    image = _draw(axes, diagram)
    bar = figure.colorbar(image, ax=axes)  # type: ignore[arg-type]
    bar.set_label("log2 chi_1   (< 0 ordered, > 0 chaotic)")
    axes.set_title(f"{diagram.activation}: order-to-chaos phase diagram")
    figure.savefig(path)
