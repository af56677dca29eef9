"""Plots of the studies (matplotlib, imported when a plot is drawn, with the Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .convergence import ConvergenceResult
    from .depth import DepthResult

__all__ = ["plot_convergence", "plot_depth_heatmap", "plot_depth_profiles"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_convergence(result: ConvergenceResult, path: str | Path, *, dpi: int = 80) -> Path:
    """Draw train loss (log scale) and test accuracy per epoch, mean ± std over seeds, per init.

    Returns the path of the PNG written.
    """
    plt = _pyplot()
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4.2))
    colors = plt.get_cmap("tab10")
    for i, runs in enumerate(result.runs):
        color = colors(i % 10)
        for ax, metric in ((ax_loss, "train_loss"), (ax_acc, "test_accuracy")):
            mean, std = runs.curve_stats(metric)
            epochs = np.arange(len(mean))
            ax.plot(epochs, mean, color=color, label=runs.label, lw=1.6)
            low = np.maximum(mean - std, 1e-4) if metric == "train_loss" else mean - std
            ax.fill_between(epochs, low, mean + std, color=color, alpha=0.15, lw=0)
    ax_loss.set_yscale("log")
    ax_loss.set_ylabel("train loss (cross-entropy)")
    ax_acc.set_ylabel("test accuracy")
    ax_acc.axhline(result.config.target, color="grey", ls=":", lw=1)
    ax_acc.set_ylim(0.0, 1.0)
    for ax in (ax_loss, ax_acc):
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    ax_acc.legend(fontsize=8, loc="lower right")
    c = result.config
    fig.suptitle(
        f"digits, {c.depth} hidden ReLU layers x {c.width}, SGD lr={c.train.lr} m={c.train.momentum}, "
        f"mean ± std over {c.seeds} seeds",
        fontsize=10,
    )
    fig.tight_layout()
    saved = _save(fig, path, dpi)
    plt.close(fig)
    return saved


def _save(fig: Any, path: str | Path, dpi: int) -> Path:
    from ._atomic import save_figure

    return save_figure(fig, path, dpi)


def plot_depth_heatmap(result: DepthResult, path: str | Path, *, dpi: int = 80) -> Path:
    """Heat maps (init x activation) of the first layer where the forward signal and the
    backward gradient leave the band; each cell is annotated with every method's crossing
    (``↓k`` vanishes, ``↑k`` explodes, ``-`` stable) in the order of ``config.methods``.
    The colour is the first method's crossing layer (log scale; stable = depth).
    """
    from matplotlib.colors import LogNorm

    from ._inits import INIT_SPECS
    from ._profiles import crossing_cell

    plt = _pyplot()
    c = result.config
    inits, acts = list(c.inits), list(c.activations)
    fig, axes = plt.subplots(1, 2, figsize=(4.0 + 2.2 * len(acts), 1.2 + 0.55 * len(inits)))
    for ax, direction in zip(axes, ("forward", "backward"), strict=True):
        grid = np.full((len(inits), len(acts)), float(c.depth))
        labels: dict[tuple[int, int], str] = {}
        for cell in result.cells:
            i, j = inits.index(cell.init), acts.index(cell.activation)
            crossings = [getattr(cell.profiles[m], f"{direction}_crossing")(c.factor) for m in c.methods]
            if crossings[0] is not None:
                grid[i, j] = crossings[0][0]
            labels[i, j] = " ".join(crossing_cell(x) for x in crossings)
        for (i, j), text in labels.items():
            # dark text on the bright (late or stable) end of viridis, light text elsewhere
            color = "black" if grid[i, j] > c.depth**0.5 else "white"
            ax.text(j, i, text, ha="center", va="center", fontsize=7, color=color)
        image = ax.imshow(grid, cmap="viridis", norm=LogNorm(vmin=1, vmax=c.depth), aspect="auto")
        ax.set_xticks(range(len(acts)), acts)
        ax.set_yticks(range(len(inits)), [INIT_SPECS[name].label for name in inits])
        where = "layers from the input" if direction == "forward" else "layers from the output"
        ax.set_title(f"{direction}: first layer outside [1/{c.factor:g}, {c.factor:g}] ({where})", fontsize=8)
        fig.colorbar(image, ax=ax, shrink=0.8, label=f"crossing layer ({c.depth} = stable)")
    fig.suptitle(f"depth {c.depth}, width {c.width}; cells: {' '.join(c.methods)} (- = stable)", fontsize=9)
    fig.tight_layout()
    saved = _save(fig, path, dpi)
    plt.close(fig)
    return saved


def plot_depth_profiles(
    result: DepthResult, path: str | Path, *, activation: str = "relu", dpi: int = 80
) -> Path:
    """log10 of the forward std ratio per layer and of the backward gradient ratio per layer
    from the output, for every init with ``activation``; probe solid, torch dotted, theory
    dashed; grey lines mark the band."""
    from ._inits import INIT_SPECS

    plt = _pyplot()
    c = result.config
    styles = {"probe": "-", "torch": ":", "theory": "--"}
    colors = plt.get_cmap("tab10")
    fig, (ax_f, ax_b) = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    layers = np.arange(1, c.depth + 1)
    for i, name in enumerate(c.inits):
        cell = result.cell(name, activation)
        for method in c.methods:
            profile = cell.profiles[method]
            label = INIT_SPECS[name].label if method == c.methods[0] else None
            for ax, ratios in ((ax_f, profile.forward), (ax_b, profile.backward[::-1])):
                with np.errstate(divide="ignore", invalid="ignore"):
                    values = np.log10(np.asarray(ratios, dtype=np.float64))
                ax.plot(
                    layers,
                    np.clip(values, -15, 15),
                    styles[method],
                    color=colors(i % 10),
                    lw=1.3,
                    label=label,
                )
    for ax, title in (
        (ax_f, "forward: pre-activation std / input std"),
        (ax_b, "backward: std of dL/dz / output-gradient std"),
    ):
        for level in (-np.log10(c.factor), np.log10(c.factor)):
            ax.axhline(level, color="grey", lw=0.8, ls="-.")
        ax.set_title(title, fontsize=9)
        ax.set_ylim(-15, 15)
        ax.grid(alpha=0.3)
    ax_f.set_xlabel("layer (from the input)")
    ax_b.set_xlabel("layer counted from the output")
    ax_f.set_ylabel("log10 ratio (clipped to ±15)")
    ax_f.legend(fontsize=8, loc="upper right")
    fig.suptitle(
        f"{activation}, depth {c.depth}, width {c.width}: "
        + ", ".join(f"{m} {styles[m]}" for m in c.methods),
        fontsize=9,
    )
    fig.tight_layout()
    saved = _save(fig, path, dpi)
    plt.close(fig)
    return saved
