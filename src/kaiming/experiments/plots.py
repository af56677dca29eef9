"""Plots of the studies (matplotlib, imported when a plot is drawn, with the Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .convergence import ConvergenceResult
    from .depth import DepthResult

__all__ = ["plot_convergence", "plot_depth"]


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
    path = Path(path)
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
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
