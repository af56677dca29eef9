"""Plots of probe results (matplotlib, imported only when a plot is drawn).

Two panels, log-scale std per layer: forward (post-activation std) and backward (std of the
gradient reaching each layer's pre-activation), one colour per run, the mean-field theory as
dashed lines of the same colour. Values that are exactly 0 (underflow) are left out of the log
axis.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._plots_beyond import draw_beyond, has_correlation

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from .simulate import ProbeResult

__all__ = ["PLOT_FORMATS", "plot_results"]

PLOT_FORMATS = ("png", "svg", "pdf")


def _positive(values: Sequence[float | None]) -> list[float]:
    return [v if v is not None and math.isfinite(v) and v > 0 else math.nan for v in values]


def _panel(axes: Axes, results: Sequence[ProbeResult], labels: Sequence[str], which: str) -> None:
    measured, predicted = {
        "forward": ("post_std", "theory_post_std"),
        "backward": ("grad_std", "theory_grad_std"),
    }[which]
    for index, (result, label) in enumerate(zip(results, labels, strict=True)):
        colour = f"C{index % 10}"
        layers = [s.layer for s in result.layers]
        values = _positive([getattr(s, measured) for s in result.layers])
        axes.plot(layers, values, color=colour, label=label, alpha=0.7)
        theory = [getattr(s, predicted) for s in result.layers]
        if any(t is not None for t in theory):
            axes.plot(layers, _positive(theory), color=colour, linestyle="--", linewidth=1.5, zorder=3)
    axes.set_yscale("log")
    axes.set_xlabel("layer")
    axes.grid(True, which="major", alpha=0.3)
    if which == "forward":
        axes.set_ylabel("post-activation std")
        axes.set_title("forward: signal")
    else:
        axes.set_ylabel("std of dL/d(pre-activation)")
        axes.set_title("backward: gradient")


def plot_results(results: Sequence[ProbeResult], labels: Sequence[str], path: str, title: str = "") -> None:
    """Write the forward/backward std-per-layer figure of ``results`` to ``path`` (.png/.svg/.pdf).

    Solid lines are the simulation, dashed lines the mean-field theory. The backward panel is
    drawn when the runs have gradients; for a single run (``kaiming probe --plot``) a second row
    shows the inputs' correlation per layer and the Jacobian spectrum
    (``kaiming.propagation._plots_beyond``).

    Raises:
        ValueError: an extension other than .png, .svg, .pdf.
        ModuleNotFoundError: matplotlib is not installed (``pip install kaiming[plot]``).
    """
    extension = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    if extension not in PLOT_FORMATS:
        raise ValueError(f"plot file must end in .png, .svg or .pdf, got {path!r}")
    from matplotlib.figure import Figure

    backward = any(s.grad_std is not None for r in results for s in r.layers)
    extra = len(results) == 1 and has_correlation(results)  # one run: correlation, Jacobian spectrum
    figure = Figure(figsize=(11 if backward else 6, 9 if extra else 4.5), layout="constrained")
    grid = figure.subplots(2 if extra else 1, 2 if backward else 1, squeeze=False)
    axes = grid[0]
    _panel(axes[0], results, labels, "forward")
    if backward:
        _panel(axes[1], results, labels, "backward")
    axes[0].legend(title="solid: probe, dashed: theory", fontsize="small", title_fontsize="small")
    if extra:
        draw_beyond(grid[1], results, labels)
    if title:
        figure.suptitle(title)
    figure.savefig(path)
