"""The probe figure's second row: correlation per layer and the Jacobian spectrum (internal).

Left: the mean pairwise correlation of the inputs' pre-activations per layer (solid, measured)
with the mean-field ``c_l`` (dashed). Right: the histogram of ``log10`` of the squared singular
values of the input-output Jacobian of the same network (same init, activation, depth, bias and
seed), by exact SVD at width ``min(width, 256)`` (``kaiming.propagation.jacobian``; a ``random``
init keeps its ``sigma_w2 = std**2 * width``), with the predicted mean as a dashed line. Values below
``1e-14`` times the largest are counted as ``~0`` (float64 rounding of the product, e.g. the
directions ReLU masks remove) and left out of the histogram. The spectrum needs square layers
without batch norm; otherwise the panel says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .jacobian import EXACT_MAX_WIDTH, jacobian_spectrum

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from .simulate import ProbeResult

__all__ = ["draw_beyond", "has_correlation"]


def has_correlation(results: Sequence[ProbeResult]) -> bool:
    """Whether the runs carry per-layer correlations (runs with a batch of at least 2 do)."""
    return any(s.pre_corr is not None for r in results for s in r.layers)


def _correlation(axes: Axes, results: Sequence[ProbeResult], labels: Sequence[str]) -> None:
    for index, (result, label) in enumerate(zip(results, labels, strict=True)):
        colour = f"C{index % 10}"
        layers = [s.layer for s in result.layers]
        measured = [math.nan if s.pre_corr is None else s.pre_corr for s in result.layers]
        axes.plot(layers, measured, color=colour, label=label, alpha=0.7)
        theory = [math.nan if s.theory_pre_corr is None else s.theory_pre_corr for s in result.layers]
        if any(math.isfinite(t) for t in theory):
            axes.plot(layers, theory, color=colour, linestyle="--", linewidth=1.5, zorder=3)
    axes.set_ylim(min(-0.05, axes.get_ylim()[0]), 1.02)
    axes.set_xlabel("layer")
    axes.set_ylabel("mean pairwise correlation")
    axes.set_title("inputs' correlation (pre-activations)")
    axes.grid(True, alpha=0.3)


def _spectrum(axes: Axes, results: Sequence[ProbeResult], labels: Sequence[str]) -> None:
    import numpy as np

    drawn = False
    for index, (result, label) in enumerate(zip(results, labels, strict=True)):
        config = result.config
        widths = config["widths"]
        if config["batch_norm"] or len(set(widths)) != 1:
            continue
        width = min(widths[0], EXACT_MAX_WIDTH)
        std = config["std"]
        if std is not None:
            std = std * math.sqrt(widths[0] / width)  # same sigma_w2 at the smaller width
        options = {"mode": config["mode"], "std": std, "gain": config["gain"]}
        if config["init"] == "random":
            options.pop("mode"), options.pop("gain")
        elif config["init"] == "orthogonal":
            options.pop("mode"), options.pop("std")
        else:
            options.pop("std")
        spectrum = jacobian_spectrum(
            config["init"],
            config["activation"],
            config["depth"],
            width,
            seed=config["seed"],
            activation_param=config["activation_param"] if config["activation"] in _PARAM else None,
            bias_std=config["bias_std"],
            method="exact",
            **options,
        )
        values = np.array(spectrum.squared_singular_values or (), dtype=float)
        # Below max * 1e-14 a float64 product of depth matrices is rounding noise, not signal.
        positive = values[values > values.max(initial=0.0) * 1e-14]
        zeros = values.size - positive.size
        if positive.size == 0:
            continue
        colour = f"C{index % 10}"
        measured, predicted = spectrum.relative_variance, spectrum.theory_relative_variance
        text = f"{label}: Var/mean^2 {measured:.3g} (theory {predicted:.3g})"
        if zeros:
            text += f", {zeros} ~0"
        axes.hist(np.log10(positive), bins=40, color=colour, alpha=0.45, label=text)
        if spectrum.theory_mean > 0:
            axes.axvline(math.log10(spectrum.theory_mean), color=colour, linestyle="--", linewidth=1.5)
        drawn = True
    axes.set_xlabel("log10 squared singular value of dh_L/dx")
    axes.set_ylabel("count")
    axes.set_title(f"Jacobian spectrum (exact SVD, width <= {EXACT_MAX_WIDTH})")
    if drawn:
        axes.legend(fontsize="x-small", title="dashed: predicted mean", title_fontsize="x-small")
    else:
        axes.text(0.5, 0.5, "needs square layers without batch norm", ha="center", transform=axes.transAxes)


_PARAM = ("leaky_relu", "prelu", "elu", "softplus")


def draw_beyond(axes: Sequence[Axes], results: Sequence[ProbeResult], labels: Sequence[str]) -> None:
    """Draw the correlation panel on ``axes[0]`` and, if there is a second axes, the spectrum."""
    _correlation(axes[0], results, labels)
    if len(axes) > 1:
        _spectrum(axes[1], results, labels)
