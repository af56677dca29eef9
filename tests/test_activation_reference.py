"""The activations and their derivatives, which the probe, the theory and the gains all share,
checked against an independent reference: torch's functional activations and torch autograd,
computed live in float64 (so a wrong derivative cannot hide behind a shared helper)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from kaiming._activations import ACTIVATIONS

TorchFn = Callable[[torch.Tensor, float], torch.Tensor]

REFERENCE: dict[str, TorchFn] = {
    "linear": lambda x, p: x,
    "relu": lambda x, p: F.relu(x),
    "leaky_relu": lambda x, p: F.leaky_relu(x, p),
    "prelu": lambda x, p: F.leaky_relu(x, p),
    "elu": lambda x, p: F.elu(x, p),
    "selu": lambda x, p: F.selu(x),
    "gelu": lambda x, p: F.gelu(x),  # the exact (erf) GELU
    "silu": lambda x, p: F.silu(x),
    "swish": lambda x, p: F.silu(x),
    "tanh": lambda x, p: torch.tanh(x),
    "sigmoid": lambda x, p: torch.sigmoid(x),
    "softplus": lambda x, p: F.softplus(x, beta=p),
}

# 0 is included: at the kink of the ReLU family the derivative is a convention, and the probe's
# backward pass must use torch's (ReLU' = 0, leaky ReLU' = slope, ELU' = alpha at 0).
POINTS = np.concatenate([np.linspace(-8.0, -1e-3, 400), [0.0], np.linspace(1e-3, 8.0, 400)])


def test_every_activation_has_a_reference() -> None:
    assert set(REFERENCE) == set(ACTIVATIONS)


CASES = [
    (name, param)
    for name, act in sorted(ACTIVATIONS.items())
    for param in ([None, 0.3, 2.0] if act.param_name is not None else [None])
]


@pytest.mark.parametrize(("name", "param"), CASES, ids=[f"{n}-{p}" for n, p in CASES])
def test_activation_and_derivative_match_torch_autograd(name: str, param: float | None) -> None:
    act = ACTIVATIONS[name]
    p = act.default_param if param is None else param
    x = torch.tensor(POINTS, dtype=torch.float64, requires_grad=True)
    y = REFERENCE[name](x, p)
    (grad,) = torch.autograd.grad(y.sum(), x)
    # kaiming's erf is a rational approximation with relative error < 1.2e-7 (used by gelu)
    tol = 2e-7 if name == "gelu" else 1e-12
    np.testing.assert_allclose(act(POINTS, param), y.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(act.grad(POINTS, param), grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_float32_inputs_stay_float32_and_agree_with_float64(name: str) -> None:
    act = ACTIVATIONS[name]
    x32 = POINTS.astype(np.float32)
    assert act(x32).dtype == np.float32
    assert act.grad(x32).dtype == np.float32
    np.testing.assert_allclose(act(x32), act(x32.astype(np.float64)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(act.grad(x32), act.grad(x32.astype(np.float64)), rtol=1e-5, atol=1e-6)
