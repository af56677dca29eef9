"""Trainability against depth scales: Schoenholz et al. (2017)'s experiment on the digits.

"Deep Information Propagation" reports that a tanh network trains only if its depth is below
about ``6 xi_c``, the correlation depth scale of ``kaiming.depth_scales``; on the critical line
``xi_c`` diverges and arbitrarily deep networks train. This study reproduces the shape of that
result on scikit-learn's digits (1,437 training and 360 test images of 64 pixels).

For every ``sigma_w2`` in the grid and every depth, a tanh MLP with ``depth`` hidden layers of
``width`` units and a linear readout is initialized with ``W ~ N(0, sigma_w2 / fan_in)`` (drawn by
``kaiming.variance_scaling`` from the run's weight seed) and ``b ~ N(0, sigma_b2)``, then trained
with the experiments' training loop (``kaiming.experiments._train``) using Adam (learning rate
1e-3, minibatches of 32 in a seeded order, cross-entropy, 6 epochs): plain SGD did not train the
critical 48-layer network at all in this budget (test accuracy 0.10 at learning rates 0.01 and
0.05), while the paper trains for far longer. The cell's value is the final test accuracy. The theory's
curve is ``6 xi_c(sigma_w2, sigma_b2)``; a cell is "trained" when its accuracy is at least
``threshold`` (default 0.5; chance is about 0.1), and the report gives the share of cells where
"trained" agrees with "depth < 6 xi_c".
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..initializers import variance_scaling
from ..propagation.correlation import depth_scales
from ..propagation.phase import critical_sigma_w2
from ._progress import Progress
from ._report import machine_info, markdown_table, text_table
from ._seeds import WEIGHTS, derive_seed
from ._train import TrainConfig, torch_threads, train

__all__ = ["TrainabilityConfig", "TrainabilityResult", "plot_trainability", "run_trainability"]

XI_MULTIPLE = 6.0
"""Schoenholz et al.'s trainability bound: depth < 6 xi_c."""


@dataclass(frozen=True)
class TrainabilityConfig:
    """The grid and the training recipe (one seed per cell, the same for every cell)."""

    sigma_w2: tuple[float, ...] = (1.0, 1.25, 1.5, 1.76, 2.0, 2.5, 3.0, 4.0)
    depths: tuple[int, ...] = (6, 12, 24, 36, 48)
    sigma_b2: float = 0.05
    width: int = 48
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(epochs=6, lr=1e-3, batch_size=32, optimizer="adam")
    )
    seed: int = 0
    threshold: float = 0.5
    threads: int = 1

    @classmethod
    def quick(cls) -> TrainabilityConfig:
        """A CI-sized grid (seconds): 3 ``sigma_w2`` x 2 depths, width 32, 2 epochs."""
        return cls(
            sigma_w2=(1.0, 1.75, 4.0),
            depths=(4, 16),
            width=32,
            train=TrainConfig(epochs=2, lr=1e-3, batch_size=32, optimizer="adam"),
        )

    def __post_init__(self) -> None:
        if not self.sigma_w2 or any(not (math.isfinite(v) and v > 0) for v in self.sigma_w2):
            raise ValueError(f"sigma_w2 must be positive finite values, got {self.sigma_w2!r}")
        if not self.depths or any(not isinstance(d, int) or d < 1 for d in self.depths):
            raise ValueError(f"depths must be positive integers, got {self.depths!r}")
        if not (math.isfinite(self.sigma_b2) and self.sigma_b2 >= 0):
            raise ValueError(f"sigma_b2 must be a finite value >= 0, got {self.sigma_b2!r}")
        if not 0 < self.threshold < 1:
            raise ValueError(f"threshold must be in (0, 1), got {self.threshold!r}")


@dataclass(frozen=True)
class TrainabilityResult:
    """``accuracy[i][j]``: test accuracy at ``depths[i]``, ``sigma_w2[j]``; ``xi_c[j]`` the theory's."""

    config: TrainabilityConfig
    accuracy: tuple[tuple[float, ...], ...]
    xi_c: tuple[float, ...]
    critical_sigma_w2: float | None
    seconds: float
    machine: dict[str, Any]

    def agreement(self) -> float:
        """Share of cells where ``accuracy >= threshold`` agrees with ``depth < 6 xi_c``."""
        hits = [
            (acc >= self.config.threshold) == (depth < XI_MULTIPLE * xi)
            for depth, row in zip(self.config.depths, self.accuracy, strict=True)
            for acc, xi in zip(row, self.xi_c, strict=True)
        ]
        return sum(hits) / len(hits)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: config, grid, theory, agreement, timing and machine."""
        return {
            "config": asdict(self.config),
            "accuracy": [list(row) for row in self.accuracy],
            "xi_c": list(self.xi_c),
            "six_xi_c": [XI_MULTIPLE * x for x in self.xi_c],
            "critical_sigma_w2": self.critical_sigma_w2,
            "agreement": self.agreement(),
            "seconds": self.seconds,
            "machine": self.machine,
        }

    def _rows(self) -> tuple[list[str], list[list[str]]]:
        header = ["depth \\ sigma_w2", *(f"{v:g}" for v in self.config.sigma_w2)]
        rows = [
            [str(depth), *(f"{a:.2f}" for a in row)]
            for depth, row in zip(self.config.depths, self.accuracy, strict=True)
        ]
        rows.append(["6 xi_c", *(_fmt(XI_MULTIPLE * x) for x in self.xi_c)])
        return header, rows

    def table(self) -> str:
        """Test accuracy per (depth, sigma_w2) and the 6 xi_c row, as terminal text."""
        return text_table(*self._rows())

    def describe(self) -> str:
        """One paragraph: the grid, the critical point and the agreement with depth < 6 xi_c."""
        c = self.config
        crit = "none" if self.critical_sigma_w2 is None else f"{self.critical_sigma_w2:.3f}"
        return (
            f"tanh MLPs on digits, sigma_b2 = {c.sigma_b2:g}, width {c.width}, {c.train.epochs} epochs: "
            f"critical sigma_w2 = {crit}; 'trained' (test accuracy >= {c.threshold:g}) agrees with "
            f"depth < 6 xi_c in {self.agreement():.0%} of {len(c.depths) * len(c.sigma_w2)} cells "
            f"({self.seconds:.0f} s)."
        )

    def to_markdown(self, plot: str | None = None) -> str:
        """A Markdown report: description, table, plot link, machine."""
        parts = ["# Trainability vs depth scale (tanh, digits)", "", self.describe(), ""]
        parts += [markdown_table(*self._rows()), ""]
        if plot:
            parts += [f"![test accuracy with 6 xi_c]({plot})", ""]
        parts += [f"Machine: {self.machine}", ""]
        return "\n".join(parts)


def _fmt(value: float) -> str:
    return "inf" if not math.isfinite(value) else f"{value:.1f}"


def _model(config: TrainabilityConfig, sigma_w2: float, depth: int, seed: int) -> Any:
    import torch

    from ._models import make_mlp

    model = make_mlp(64, 10, depth, config.width, activation="tanh")
    rng = np.random.default_rng(derive_seed(seed, WEIGHTS))
    bias_std = math.sqrt(config.sigma_b2)
    with torch.no_grad():
        for module in model:
            if isinstance(module, torch.nn.Linear):
                fan_out, fan_in = module.weight.shape
                w = variance_scaling(
                    (fan_in, fan_out), sigma_w2, "fan_in", "normal", rng=rng, dtype="float32"
                )
                module.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))
                module.bias.copy_(
                    torch.from_numpy((rng.standard_normal(fan_out) * bias_std).astype(np.float32))
                )
    return model


def run_trainability(
    config: TrainabilityConfig | None = None, *, progress: bool = True
) -> TrainabilityResult:
    """Train the grid and return the accuracies beside ``6 xi_c``.

    Example (the CI grid: ``kaiming experiment trainability --quick``):
        >>> config = TrainabilityConfig.quick()
        >>> config.sigma_w2, config.depths, config.train.optimizer
        ((1.0, 1.75, 4.0), (4, 16), 'adam')
    """
    from ._data import load_digits_split

    config = config or TrainabilityConfig()
    data = load_digits_split()
    start = time.perf_counter()
    bar = Progress(len(config.depths) * len(config.sigma_w2), "trainability", enabled=progress)
    grid: list[tuple[float, ...]] = []
    with torch_threads(config.threads):
        for depth in config.depths:
            row = []
            for sigma_w2 in config.sigma_w2:
                model = _model(config, sigma_w2, depth, config.seed)
                curves = train(model, data, config.train, seed=config.seed)
                row.append(curves.test_accuracy[-1])
                bar.update(f"depth {depth}, sigma_w2 {sigma_w2:g}")
            grid.append(tuple(row))
    bar.close()
    xi = tuple(depth_scales("tanh", w, config.sigma_b2).xi_c for w in config.sigma_w2)
    return TrainabilityResult(
        config,
        tuple(grid),
        xi,
        critical_sigma_w2("tanh", config.sigma_b2),
        time.perf_counter() - start,
        machine_info(),
    )


def plot_trainability(result: TrainabilityResult, path: str | Path, *, dpi: int = 80) -> Path:
    """Heat map of test accuracy over (sigma_w2, depth) with the ``6 xi_c`` curve and the
    critical ``sigma_w2``; returns the path written."""
    from matplotlib.figure import Figure

    c = result.config
    figure = Figure(figsize=(8, 5), layout="constrained")
    axes = figure.subplots()
    w, d = np.array(c.sigma_w2), np.array(c.depths, dtype=float)
    image = axes.pcolormesh(
        _edges(w), _edges(d), np.array(result.accuracy), cmap="viridis", vmin=0.0, vmax=1.0, shading="flat"
    )
    bar = figure.colorbar(image, ax=axes)
    bar.set_label("test accuracy")
    fine = np.linspace(w.min(), w.max(), 80)
    curve = np.array([XI_MULTIPLE * depth_scales("tanh", float(v), c.sigma_b2).xi_c for v in fine])
    axes.plot(fine, np.where(np.isfinite(curve), curve, np.nan), color="white", linewidth=2.5, label="6 xi_c")
    if result.critical_sigma_w2 is not None and w.min() <= result.critical_sigma_w2 <= w.max():
        axes.axvline(result.critical_sigma_w2, color="white", linestyle=":", label="critical (chi_1 = 1)")
    axes.set_ylim(_edges(d)[0], _edges(d)[-1])
    axes.set_xlabel("sigma_w^2")
    axes.set_ylabel("depth (hidden layers)")
    axes.set_title(f"tanh on digits, sigma_b^2 = {c.sigma_b2:g}: trainable iff depth < 6 xi_c?")
    axes.legend(loc="upper right", fontsize="small")
    from ._atomic import save_figure

    return save_figure(figure, path, dpi)


def _edges(values: Sequence[float] | np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    if v.size == 1:
        return np.array([v[0] - 0.5, v[0] + 0.5])
    mid = (v[1:] + v[:-1]) / 2
    return np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])
