"""Depth-stability study: how many layers the signal and the gradient survive, per init and
activation.

For every init in ``config.inits`` and activation in ``config.activations`` one network of
``depth`` fully-connected layers of ``width`` units is measured three ways:

- ``probe``: ``kaiming.probe`` simulates it in NumPy (unit-Gaussian inputs, a unit-Gaussian
  output gradient ``dL/dh_depth``);
- ``torch``: the same architecture built as a real ``torch.nn.Sequential``
  (``Linear -> [BatchNorm1d] -> activation`` per layer), initialized through
  ``kaiming.torch`` and measured with ``kaiming.torch.analyze`` on a unit-Gaussian batch;
- ``theory``: the mean-field prediction that ``kaiming.probe`` reports beside its measurement
  (``kaiming.theory``).

From each, two per-layer ratios: forward, the pre-activation std of layer ``l`` over the input
std; backward, the std of ``dL/dz_l`` over the std of the output gradient. The study reports
the first layer at which a ratio leaves ``[1/factor, factor]`` (``factor = 1e3`` by default),
counted in layers travelled: forward, layer ``l`` is ``l`` layers from the input; backward,
layer ``l`` is ``depth + 1 - l`` layers from the output. ``None`` means the ratio stayed
inside the band for the whole depth. Because the count is from where the signal enters, one
measurement at ``depth = 100`` answers the question for every depth up to 100.

It also reports the forward variance ratio per layer, ``(std_11 / std_1) ** (2 / 10)`` (the
geometric mean over layers 1 to 11, before any float underflow), which is the number behind
the claim "Xavier + ReLU halves the variance per layer".
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .._checks import check_choice, check_positive_int, check_real
from ._inits import DEPTH_INITS, INIT_SPECS
from ._progress import Progress
from ._report import machine_info, markdown_table, text_table

__all__ = [
    "ALLOWED_ACTIVATIONS",
    "DEPTH_ACTIVATIONS",
    "METHODS",
    "DepthCell",
    "DepthConfig",
    "DepthResult",
    "Profile",
    "first_crossing",
    "run_depth_study",
]

DEPTH_ACTIVATIONS: tuple[str, ...] = ("relu", "tanh", "linear", "selu", "gelu")
# activations both the probe and make_mlp know with the same definition (leaky_relu is left out:
# its default slope is a convention that would have to be kept equal on both sides)
ALLOWED_ACTIVATIONS: tuple[str, ...] = ("relu", "tanh", "linear", "selu", "gelu", "silu", "elu")
METHODS: tuple[str, ...] = ("probe", "torch", "theory")
_VARIANCE_SPAN = 10  # layers over which the per-layer variance ratio is averaged


def first_crossing(ratios: Sequence[float], factor: float) -> tuple[int, str] | None:
    """Return ``(k, "vanishes"|"explodes")`` for the first (1-based) ratio outside
    ``[1/factor, factor]``, or ``None`` if all stay inside. A NaN counts as "explodes" (it
    comes from an overflow), a 0 as "vanishes".

    Example:
        >>> first_crossing([0.5, 0.25, 1e-4, 1e-6], factor=1e3)
        (3, 'vanishes')
        >>> first_crossing([1.0, 2.0, 3.0], factor=1e3) is None
        True
    """
    for k, ratio in enumerate(ratios, start=1):
        if math.isnan(ratio) or ratio > factor:
            return k, "explodes"
        if ratio < 1.0 / factor:
            return k, "vanishes"
    return None


def crossing_cell(crossing: tuple[int, str] | None) -> str:
    """``"↓k"`` (vanishes at k), ``"↑k"`` (explodes at k) or ``"-"`` (stable).

    Example:
        >>> crossing_cell((4, "vanishes")), crossing_cell(None)
        ('↓4', '-')
    """
    if crossing is None:
        return "-"
    return ("↓" if crossing[1] == "vanishes" else "↑") + str(crossing[0])


@dataclass(frozen=True)
class Profile:
    """Per-layer ratios of one network by one method; index ``l - 1`` is layer ``l``.

    ``forward[l-1]``: pre-activation std of layer ``l`` / input std. ``backward[l-1]``: std of
    ``dL/dz_l`` / std of the output gradient.
    """

    method: str
    forward: tuple[float, ...]
    backward: tuple[float, ...]

    def forward_crossing(self, factor: float) -> tuple[int, str] | None:
        """First layer (from the input) whose forward ratio leaves the band."""
        return first_crossing(self.forward, factor)

    def backward_crossing(self, factor: float) -> tuple[int, str] | None:
        """First layer counted from the output whose backward ratio leaves the band."""
        return first_crossing(self.backward[::-1], factor)

    def variance_ratio_per_layer(self) -> float:
        """Geometric-mean forward variance ratio per layer over layers 1 to 11 (fewer if shallower)."""
        span = min(_VARIANCE_SPAN, len(self.forward) - 1)
        first, last = self.forward[0], self.forward[span]
        if span < 1 or not (first > 0 and math.isfinite(first) and math.isfinite(last)):
            return math.nan
        return float((last / first) ** (2.0 / span))


@dataclass(frozen=True)
class DepthCell:
    """The profiles of one (init, activation) pair, by method."""

    init: str
    activation: str
    profiles: dict[str, Profile]

    def to_dict(self, factor: float) -> dict[str, Any]:
        """JSON-ready crossings and per-layer ratios."""
        return {
            "init": self.init,
            "activation": self.activation,
            "variance_ratio_per_layer": {m: p.variance_ratio_per_layer() for m, p in self.profiles.items()},
            "forward_crossing": {m: p.forward_crossing(factor) for m, p in self.profiles.items()},
            "backward_crossing": {m: p.backward_crossing(factor) for m, p in self.profiles.items()},
            "profiles": {m: asdict(p) for m, p in self.profiles.items()},
        }


@dataclass(frozen=True)
class DepthConfig:
    """Network size, inits, activations, band factor, seed and which methods to run."""

    depth: int = 100
    width: int = 256
    batch: int = 256
    inits: tuple[str, ...] = DEPTH_INITS
    activations: tuple[str, ...] = DEPTH_ACTIVATIONS
    factor: float = 1e3
    seed: int = 0
    methods: tuple[str, ...] = METHODS
    threads: int = 1

    def __post_init__(self) -> None:
        check_positive_int("depth", self.depth)
        check_positive_int("width", self.width)
        check_positive_int("batch", self.batch)
        check_positive_int("threads", self.threads)
        if check_real("factor", self.factor) <= 1.0:
            raise ValueError(f"factor must be > 1, got {self.factor}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be an int >= 0, got {self.seed!r}")
        for name, values, allowed in (
            ("init", self.inits, DEPTH_INITS),
            ("activation", self.activations, ALLOWED_ACTIVATIONS),
            ("method", self.methods, METHODS),
        ):
            if not values:
                raise ValueError(f"{name}s must name at least one {name}")
            for value in values:
                check_choice(name, value, allowed)

    @classmethod
    def quick(cls, **overrides: Any) -> DepthConfig:
        """A CI-sized setting (depth 20, width 64, batch 64), overridable field by field."""
        settings: dict[str, Any] = {"depth": 20, "width": 64, "batch": 64}
        settings.update(overrides)
        return cls(**settings)


@dataclass(frozen=True)
class DepthResult:
    """The cells of a depth study, with the machine it ran on."""

    config: DepthConfig
    cells: tuple[DepthCell, ...]
    seconds: float
    machine: dict[str, Any] = field(default_factory=dict)

    def cell(self, init: str, activation: str) -> DepthCell:
        """The cell of ``(init, activation)``."""
        for cell in self.cells:
            if (cell.init, cell.activation) == (init, activation):
                return cell
        raise KeyError((init, activation))

    def rows(self) -> tuple[list[str], list[list[str]]]:
        """Header and rows of the summary table."""
        methods = self.config.methods
        joined = " / ".join(methods)
        header = ["init", "activation", "var ratio/layer (" + joined + ")"]
        header += [f"forward ({joined})", f"backward ({joined})"]
        rows = []
        for cell in self.cells:
            profiles = [cell.profiles[m] for m in methods]
            rows.append(
                [
                    INIT_SPECS[cell.init].label,
                    cell.activation,
                    " / ".join(f"{p.variance_ratio_per_layer():.3g}" for p in profiles),
                    " / ".join(crossing_cell(p.forward_crossing(self.config.factor)) for p in profiles),
                    " / ".join(crossing_cell(p.backward_crossing(self.config.factor)) for p in profiles),
                ]
            )
        return header, rows

    def table(self) -> str:
        """The summary as an aligned terminal table."""
        return text_table(*self.rows())

    def describe(self) -> str:
        """One paragraph on the setting."""
        c = self.config
        return (
            f"{c.depth} fully-connected layers of width {c.width}, batch {c.batch}, seed {c.seed}; "
            f"first layer where the ratio leaves [1/{c.factor:g}, {c.factor:g}] "
            f"(↓k vanishes, ↑k explodes, - stable over all {c.depth} layers); {self.seconds:.0f} s."
        )

    def to_markdown(self, plots: Sequence[str] = ()) -> str:
        """A Markdown report: setting, table, plots."""
        parts = [f"# Depth-stability study: depth {self.config.depth}", "", self.describe(), ""]
        parts.append(markdown_table(*self.rows()))
        for plot in plots:
            parts += ["", f"![{plot}]({plot})"]
        return "\n".join(parts) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record."""
        return {
            "study": "depth",
            "config": asdict(self.config),
            "machine": self.machine,
            "seconds": self.seconds,
            "cells": [c.to_dict(self.config.factor) for c in self.cells],
        }


def probe_profiles(init: str, activation: str, config: DepthConfig) -> dict[str, Profile]:
    """The ``probe`` and ``theory`` profiles of one (init, activation) network."""
    from .. import probe

    spec = INIT_SPECS[init]
    assert spec.probe_init is not None  # every DEPTH_INITS entry has one
    result = probe(
        init=spec.probe_init,
        activation=activation,
        depth=config.depth,
        width=config.width,
        batch=config.batch,
        seed=config.seed,
        mode=spec.probe_mode,
        std=spec.probe_std,
        batch_norm=spec.batch_norm,
    )
    layers = result.layers
    return {
        "probe": Profile(
            "probe",
            tuple(_num(layer.pre_std) for layer in layers),
            tuple(_num(layer.grad_std) for layer in layers),
        ),
        "theory": Profile(
            "theory",
            tuple(_num(layer.theory_pre_std) for layer in layers),
            tuple(_num(layer.theory_grad_std) for layer in layers),
        ),
    }


def _num(value: float | None) -> float:
    return math.nan if value is None else float(value)


def run_depth_study(config: DepthConfig | None = None, *, progress: bool = True) -> DepthResult:
    """Measure every (init, activation) pair of ``config`` by every method in ``config.methods``."""
    config = DepthConfig() if config is None else config
    pairs = [(i, a) for i in config.inits for a in config.activations]
    bar = Progress(len(pairs), f"depth study L={config.depth}", enabled=progress)
    start = time.perf_counter()
    cells = []
    for init, activation in pairs:
        profiles: dict[str, Profile] = {}
        if "probe" in config.methods or "theory" in config.methods:
            profiles.update(probe_profiles(init, activation, config))
        if "torch" in config.methods:
            from ._torch_depth import torch_profile

            profiles["torch"] = torch_profile(init, activation, config)
        cells.append(DepthCell(init, activation, {m: profiles[m] for m in config.methods}))
        bar.update(f"{init} {activation}")
    bar.close()
    return DepthResult(config, tuple(cells), time.perf_counter() - start, machine_info())
