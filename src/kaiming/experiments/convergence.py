"""Convergence study: train the same plain ReLU MLP from each initialization, several seeds.

For every init in ``config.inits`` and every seed ``0 .. seeds-1`` a fresh MLP of ``depth``
hidden ReLU layers of ``width`` units is initialized (``apply_init``) and trained on the digits
(``load_digits_split``) with one optimizer and schedule for all (``TrainConfig``: SGD with
momentum, fixed learning rate, seeded minibatches). The summary per init is

- epochs to reach ``target`` test accuracy, mean ± std over the seeds that reach it, and how
  many did ("never" if none within ``epochs``);
- final test accuracy, mean ± std over seeds;
- train-loss and test-accuracy curves, mean ± std per epoch (the plot).

Everything runs on the CPU with ``threads`` torch threads (1 by default: these small matrices
gain nothing from more and the machine is shared).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .._checks import check_choice, check_fraction, check_positive_int, check_real
from ._data import Dataset, load_digits_split
from ._inits import CONVERGENCE_INITS, INIT_SPECS
from ._progress import Progress
from ._report import fmt_mean_std, machine_info, markdown_table, text_table
from ._seeds import WEIGHTS, derive_seed
from ._train import Curves, TrainConfig

__all__ = ["ConvergenceConfig", "ConvergenceResult", "InitRuns", "run_convergence"]


@dataclass(frozen=True)
class ConvergenceConfig:
    """What to train: model size, inits, seeds, target accuracy and the shared schedule."""

    depth: int = 8
    width: int = 128
    seeds: int = 5
    inits: tuple[str, ...] = CONVERGENCE_INITS
    target: float = 0.9
    train: TrainConfig = field(default_factory=TrainConfig)
    threads: int = 1

    def __post_init__(self) -> None:
        check_positive_int("depth", self.depth)
        check_positive_int("width", self.width)
        check_positive_int("seeds", self.seeds)
        check_positive_int("threads", self.threads)
        check_positive_int("epochs", self.train.epochs)
        check_positive_int("batch_size", self.train.batch_size)
        if check_real("lr", self.train.lr) <= 0:
            raise ValueError(f"lr must be > 0, got {self.train.lr}")
        check_fraction("momentum", self.train.momentum)
        if not 0.0 < check_real("target", self.target) <= 1.0:
            raise ValueError(f"target must be an accuracy in (0, 1], got {self.target}")
        if not self.inits:
            raise ValueError("inits must name at least one init")
        for name in self.inits:
            check_choice("init", name, CONVERGENCE_INITS)

    @classmethod
    def quick(cls, **overrides: Any) -> ConvergenceConfig:
        """A CI-sized setting (2 seeds, width 64, 6 epochs), overridable field by field."""
        settings: dict[str, Any] = {"seeds": 2, "width": 64, "train": TrainConfig(epochs=6)}
        settings.update(overrides)
        return cls(**settings)


@dataclass(frozen=True)
class InitRuns:
    """The runs of one init, one ``Curves`` per seed."""

    init: str
    curves: tuple[Curves, ...]
    target: float

    @property
    def label(self) -> str:
        """Human-readable name of the init."""
        return INIT_SPECS[self.init].label

    @property
    def epochs_to_target(self) -> list[int | None]:
        """Per seed: first epoch with test accuracy >= target, or None."""
        return [c.epochs_to(self.target) for c in self.curves]

    @property
    def final_accuracy(self) -> list[float]:
        """Per seed: test accuracy after the last epoch."""
        return [c.test_accuracy[-1] for c in self.curves]

    def curve_stats(self, metric: str) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """Mean and std over seeds, per epoch, of ``"train_loss"``, ``"test_loss"`` or
        ``"test_accuracy"`` (NaN epochs of diverged runs are left out)."""
        values = np.array([getattr(c, metric) for c in self.curves], dtype=np.float64)
        with warnings.catch_warnings():  # an all-NaN epoch column (every seed diverged) is NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(values, axis=0), np.nanstd(values, axis=0)

    def epochs_cell(self) -> str:
        """``mean ± std (k/n)`` epochs to target over the seeds that reach it, or ``never (0/n)``."""
        reached = [e for e in self.epochs_to_target if e is not None]
        count = f"({len(reached)}/{len(self.curves)})"
        if not reached:
            return f"never {count}"
        return f"{fmt_mean_std([float(e) for e in reached], digits=1)} {count}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary and per-seed curves."""
        return {
            "init": self.init,
            "label": self.label,
            "formula": INIT_SPECS[self.init].formula,
            "epochs_to_target": self.epochs_to_target,
            "final_accuracy": self.final_accuracy,
            "diverged": [c.diverged for c in self.curves],
            "curves": [asdict(c) for c in self.curves],
        }


@dataclass(frozen=True)
class ConvergenceResult:
    """Everything one convergence study produced, with the machine it ran on."""

    config: ConvergenceConfig
    runs: tuple[InitRuns, ...]
    seconds: float
    machine: dict[str, Any]
    dataset: dict[str, Any]

    def rows(self) -> tuple[list[str], list[list[str]]]:
        """Header and rows of the summary table."""
        header = ["init", f"epochs to {self.config.target:.0%} test acc", "final test acc", "diverged"]
        rows = [
            [r.label, r.epochs_cell(), fmt_mean_std(r.final_accuracy), str(sum(c.diverged for c in r.curves))]
            for r in self.runs
        ]
        return header, rows

    def table(self) -> str:
        """The summary as an aligned terminal table."""
        return text_table(*self.rows())

    def describe(self) -> str:
        """One paragraph on the setting: model, data, schedule, seeds, time."""
        c, t = self.config, self.config.train
        return (
            f"{c.depth} hidden ReLU layers of width {c.width} on {self.dataset['name']} "
            f"({self.dataset['n_train']} train / {self.dataset['n_test']} test, standardized); "
            f"SGD lr={t.lr} momentum={t.momentum}, batch {t.batch_size}, {t.epochs} epochs, "
            f"{c.seeds} seeds (0..{c.seeds - 1}); {self.seconds:.0f} s on {c.threads} torch thread(s)."
        )

    def to_markdown(self, plot: str | None = None) -> str:
        """A Markdown report: setting, summary table, and the plot if one was written."""
        parts = [
            f"# Convergence study: depth {self.config.depth}",
            "",
            self.describe(),
            "",
            markdown_table(*self.rows()),
            "",
            "Epochs to target: mean ± std over the seeds that reach it, (seeds reaching it / seeds).",
        ]
        if plot is not None:
            parts += ["", f"![learning curves]({plot})"]
        return "\n".join(parts) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record of config, machine, summary and curves."""
        return {
            "study": "convergence",
            "config": asdict(self.config),
            "dataset": self.dataset,
            "machine": self.machine,
            "seconds": self.seconds,
            "runs": [r.to_dict() for r in self.runs],
        }


def run_convergence(
    config: ConvergenceConfig | None = None,
    *,
    data: Dataset | None = None,
    progress: bool = True,
) -> ConvergenceResult:
    """Train every (init, seed) pair of ``config`` and return the curves and summary.

    ``data`` defaults to ``load_digits_split()``; ``progress`` draws a bar on stderr.
    """
    import torch

    from ._inits import apply_init
    from ._models import make_mlp
    from ._train import torch_threads, train

    config = ConvergenceConfig() if config is None else config
    data = load_digits_split() if data is None else data
    epochs = config.train.epochs
    total = len(config.inits) * config.seeds * epochs
    bar = Progress(total, f"convergence d={config.depth}", enabled=progress)
    start = time.perf_counter()
    lsuv_batch = torch.from_numpy(data.x_train[:256])
    all_runs = []
    with torch_threads(config.threads):
        for name in config.inits:
            curves = []
            for seed in range(config.seeds):
                model = make_mlp(
                    data.n_features,
                    data.n_classes,
                    config.depth,
                    config.width,
                    batch_norm=INIT_SPECS[name].batch_norm,
                )
                apply_init(model, name, seed=derive_seed(seed, WEIGHTS), data=lsuv_batch)
                note = f"{name} seed {seed}"

                def tick(_epoch: int, curves_so_far: Curves, note: str = note) -> None:
                    bar.update(f"{note} acc {curves_so_far.test_accuracy[-1]:.2f}")

                curves.append(train(model, data, config.train, seed=seed, on_epoch=tick))
            all_runs.append(InitRuns(name, tuple(curves), config.target))
    bar.close()
    return ConvergenceResult(
        config=config,
        runs=tuple(all_runs),
        seconds=time.perf_counter() - start,
        machine=machine_info(),
        dataset={"name": data.name, "n_train": len(data.x_train), "n_test": len(data.x_test)},
    )
