"""calculate_gain: torch's values for torch's names, documented derivation for the rest."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate, special

import kaiming

TORCH_NAMES = [
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "selu",
]


@pytest.mark.parametrize("name", TORCH_NAMES)
def test_matches_torch_for_every_torch_name(name: str) -> None:
    assert kaiming.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name), rel=1e-15)


@pytest.mark.parametrize("slope", [0.0, 0.01, 0.2, 1.0, 3.0])
def test_leaky_relu_slope_matches_torch(slope: float) -> None:
    assert kaiming.calculate_gain("leaky_relu", slope) == pytest.approx(
        torch.nn.init.calculate_gain("leaky_relu", slope), rel=1e-15
    )


def _second_moment(phi: object) -> float:
    value, _ = integrate.quad(
        lambda z: phi(z) ** 2 * math.exp(-z * z / 2) / math.sqrt(2 * math.pi),
        -40,
        40,  # type: ignore[operator]
        points=[0.0],
        limit=200,
    )
    return float(value)


REFERENCE_ACTIVATIONS = {
    "gelu": (None, lambda z: z * 0.5 * (1 + special.erf(z / math.sqrt(2)))),
    "silu": (None, lambda z: z * special.expit(z)),
    "swish": (None, lambda z: z * special.expit(z)),
    "elu": (None, lambda z: z if z > 0 else math.expm1(z)),
    "softplus": (None, lambda z: np.logaddexp(0.0, z)),
}


@pytest.mark.parametrize("name", sorted(REFERENCE_ACTIVATIONS))
def test_extra_gains_are_inverse_root_second_moment(name: str) -> None:
    # Computed here independently with SciPy's adaptive quadrature and SciPy's own erf/expit.
    _, phi = REFERENCE_ACTIVATIONS[name]
    expected = 1.0 / math.sqrt(_second_moment(phi))
    assert kaiming.calculate_gain(name) == pytest.approx(expected, rel=1e-6)


def test_rule_reproduces_relu_gain() -> None:
    assert 1.0 / math.sqrt(_second_moment(lambda z: max(z, 0.0))) == pytest.approx(
        kaiming.calculate_gain("relu")
    )


@pytest.mark.parametrize(("name", "param"), [("elu", 0.5), ("softplus", 2.0)])
def test_parametrized_extras(name: str, param: float) -> None:
    phi = (
        (lambda z: z if z > 0 else param * math.expm1(z))
        if name == "elu"
        else (lambda z: np.logaddexp(0.0, param * z) / param)
    )
    assert kaiming.calculate_gain(name, param) == pytest.approx(1 / math.sqrt(_second_moment(phi)), rel=1e-6)


def test_prelu_defaults_to_torch_prelu_init_slope() -> None:
    assert kaiming.calculate_gain("prelu") == pytest.approx(torch.nn.init.calculate_gain("leaky_relu", 0.25))


@pytest.mark.parametrize(
    ("name", "param", "error", "match"),
    [
        ("relu6", None, ValueError, "Invalid nonlinearity 'relu6'; allowed: 'linear'"),
        (None, None, TypeError, "nonlinearity must be a string"),
        ("relu", 0.1, ValueError, "'relu' takes no param"),
        ("leaky_relu", float("nan"), ValueError, "param must be a finite number"),
        ("leaky_relu", "0.1", TypeError, "param must be a real number"),
        ("leaky_relu", True, TypeError, "param"),
        ("softplus", 0.0, ValueError, "beta"),
    ],
)
def test_bad_input(name: object, param: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        kaiming.calculate_gain(name, param)  # type: ignore[arg-type]


def test_every_listed_name_has_a_gain() -> None:
    for name in kaiming.NONLINEARITIES:
        assert math.isfinite(kaiming.calculate_gain(name)) and kaiming.calculate_gain(name) > 0
