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


@pytest.mark.parametrize("slope", [1e151, 1e200, 1e300, -1e250])
def test_leaky_gain_for_slopes_whose_square_overflows(slope: float) -> None:
    """sqrt(2 / (1 + a**2)) in exact decimal arithmetic (a**2 overflows float64 here)."""
    from decimal import Decimal, getcontext

    getcontext().prec = 50
    want = float((Decimal(2) / (1 + Decimal(slope) ** 2)).sqrt())
    assert kaiming.calculate_gain("leaky_relu", slope) == pytest.approx(want, rel=1e-15, abs=0)


def test_elu_gain_below_one_from_its_second_moment() -> None:
    """ELU with alpha 5: E[phi(z)**2] > 1, so the gain is below 1 and must still be returned."""
    alpha = 5.0

    def second_moment_density(z: float) -> float:
        phi = z if z > 0 else alpha * math.expm1(z)
        return phi * phi * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)

    moment = (
        integrate.quad(second_moment_density, -math.inf, 0)[0]
        + integrate.quad(second_moment_density, 0, math.inf)[0]
    )
    gain = kaiming.calculate_gain("elu", alpha)
    assert gain < 1 and gain == pytest.approx(1 / math.sqrt(moment), rel=1e-9)


def test_a_param_whose_second_moment_overflows_is_refused_in_one_line() -> None:
    with pytest.raises(ValueError) as info:
        kaiming.calculate_gain("elu", 1e300)
    assert str(info.value) == (
        "param=1e+300 is out of range for 'elu': E[phi(z)**2] is not a finite positive float64, "
        "so no gain can be computed"
    )
