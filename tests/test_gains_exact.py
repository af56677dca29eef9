"""torch's gains are closed forms; kaiming returns the same float, bit for bit (computed live).

The general second-moment formula 1/sqrt(E[phi(z)^2]) gives ReLU's sqrt(2) and leaky ReLU's
sqrt(2/(1+a^2)) to within ~3e-15 by quadrature; torch's names must not go through it, so users
comparing against ``torch.nn.init.calculate_gain`` get exactly the same number.
"""

from __future__ import annotations

import pytest
import torch

import kaiming

TORCH_NAMES = [
    "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
    "conv_transpose3d", "sigmoid", "tanh", "relu", "selu",
]  # fmt: skip


@pytest.mark.parametrize("name", TORCH_NAMES)
def test_fixed_gains_equal_torch_exactly(name: str) -> None:
    assert kaiming.calculate_gain(name) == torch.nn.init.calculate_gain(name)


@pytest.mark.parametrize("slope", [0.0, 0.01, 0.2, 0.25, 1.0, 3.0])
@pytest.mark.parametrize("name", ["leaky_relu", "prelu"])
def test_leaky_gains_equal_torch_exactly(name: str, slope: float) -> None:
    assert kaiming.calculate_gain(name, slope) == torch.nn.init.calculate_gain("leaky_relu", slope)
