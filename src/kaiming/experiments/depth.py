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
  (``kaiming.propagation.theory``).

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

from ._inits import INIT_SPECS
from ._profiles import (
    ALLOWED_ACTIVATIONS,
    DEPTH_ACTIVATIONS,
    METHODS,
    DepthCell,
    DepthConfig,
    Profile,
    crossing_cell,
    first_crossing,
)
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
        gain=spec.probe_gain,
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
