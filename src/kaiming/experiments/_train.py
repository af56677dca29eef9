"""One training run: SGD with momentum, fixed learning rate, seeded minibatches (PyTorch, CPU)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ._data import Dataset
from ._seeds import SHUFFLE, derive_seed

if TYPE_CHECKING:
    import torch

__all__ = ["Curves", "TrainConfig", "torch_threads", "train"]


@dataclass(frozen=True)
class TrainConfig:
    """The optimizer and schedule, identical for every init.

    ``epochs`` passes over the training set in minibatches of ``batch_size`` (reshuffled each
    epoch by a generator seeded from the run's seed), plain SGD with ``momentum`` and a fixed
    learning rate ``lr``, cross-entropy loss, no weight decay.
    """

    epochs: int = 40
    lr: float = 0.003
    momentum: float = 0.9
    batch_size: int = 64
    optimizer: str = "sgd"  # or "adam" (torch.optim.Adam with lr; momentum unused)


@dataclass
class Curves:
    """Per-epoch metrics of one run; index 0 is before training, index ``e`` after epoch ``e``.

    A run whose loss becomes NaN or infinite is marked ``diverged`` and its remaining epochs
    are recorded as NaN loss and chance accuracy.
    """

    train_loss: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    diverged: bool = False

    def epochs_to(self, target: float) -> int | None:
        """First epoch whose test accuracy is >= ``target``, or None if it never gets there."""
        for epoch, accuracy in enumerate(self.test_accuracy):
            if accuracy >= target:
                return epoch
        return None


@contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(threads)``, then restore the old value."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def train(
    model: torch.nn.Module,
    data: Dataset,
    config: TrainConfig,
    *,
    seed: int,
    on_epoch: Callable[[int, Curves], None] | None = None,
) -> Curves:
    """Train ``model`` on ``data`` and return its curves (``on_epoch`` is called after each epoch)."""
    import torch
    from torch.nn.functional import cross_entropy

    x_train, y_train = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    x_test, y_test = torch.from_numpy(data.x_test), torch.from_numpy(data.y_test)
    generator = torch.Generator().manual_seed(derive_seed(seed, SHUFFLE))
    if config.optimizer == "adam":
        optimizer: torch.optim.Optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
    curves = Curves()
    chance = float(np.bincount(data.y_test).max() / len(data.y_test))

    def evaluate(train_loss: float) -> None:
        model.eval()
        with torch.no_grad():
            logits = model(x_test)
            test_loss = float(cross_entropy(logits, y_test))
            accuracy = float((logits.argmax(dim=1) == y_test).float().mean())
        model.train()
        if not (math.isfinite(train_loss) and math.isfinite(test_loss)):
            curves.diverged = True
            train_loss, test_loss, accuracy = math.nan, math.nan, chance
        curves.train_loss.append(train_loss)
        curves.test_loss.append(test_loss)
        curves.test_accuracy.append(accuracy)

    model.train()
    with torch.no_grad():
        evaluate(float(cross_entropy(model(x_train), y_train)))
    n = len(x_train)
    for epoch in range(1, config.epochs + 1):
        if curves.diverged:
            evaluate(math.nan)
        else:
            order = torch.randperm(n, generator=generator)
            total, seen = 0.0, 0
            for start in range(0, n, config.batch_size):
                index = order[start : start + config.batch_size]
                if len(index) < 2:  # BatchNorm cannot train on a batch of one
                    continue
                loss = cross_entropy(model(x_train[index]), y_train[index])
                optimizer.zero_grad(set_to_none=True)
                torch.autograd.backward(loss)
                optimizer.step()
                total += float(loss.detach()) * len(index)
                seen += len(index)
            evaluate(total / seen)
        if on_epoch is not None:
            on_epoch(epoch, curves)
    return curves
