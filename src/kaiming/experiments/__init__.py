"""Reproducible studies of initialization on real data and deep simulated networks.

- ``kaiming.experiments.convergence``: train plain ReLU MLPs on scikit-learn's digits from each
  initialization, several seeds; epochs to 90% test accuracy, final accuracy, learning curves.
- ``kaiming.experiments.depth``: how many layers the forward signal and the backward gradient
  survive per init and activation, measured with ``kaiming.probe`` (NumPy simulation),
  ``kaiming.torch.analyze`` (real torch models) and the mean-field prediction.
- ``kaiming.experiments.cli``: the ``kaiming experiment`` command.

Needs the ``[experiments]`` extra (torch, scikit-learn, matplotlib). Importing this package
imports none of them; the submodules import them when they run.
"""

from __future__ import annotations

__all__: list[str] = []
