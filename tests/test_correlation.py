"""Correlation map, fixed points and depth scales against an independent SciPy computation.

The reference defines the activations here (NumPy / scipy.special, not ``kaiming._activations``),
takes derivatives by central finite differences, and integrates with ``scipy.integrate.quad``
(nested for the two-input kernel), so a shared mistake cannot cancel.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from scipy import integrate, optimize, special

from kaiming import correlation_map, depth_scales, fixed_point_q, probe
from kaiming.propagation.correlation import correlation_profile
from kaiming.propagation.theory import resolve_network

SELU_A, SELU_L = 1.6732632423543772, 1.0507009873554805
REFERENCE: dict[str, Callable[[float], float]] = {
    "tanh": math.tanh,
    "relu": lambda x: max(x, 0.0),
    "leaky_relu": lambda x: x if x > 0 else 0.01 * x,
    "elu": lambda x: x if x > 0 else math.expm1(x),
    "selu": lambda x: SELU_L * (x if x > 0 else SELU_A * math.expm1(x)),
    "gelu": lambda x: 0.5 * x * (1.0 + special.erf(x / math.sqrt(2.0))),
    "silu": lambda x: x * special.expit(x),
    "sigmoid": lambda x: float(special.expit(x)),
    "softplus": lambda x: float(np.logaddexp(0.0, x)),
    "linear": lambda x: x,
}
PDF = 1.0 / math.sqrt(2.0 * math.pi)


def d(phi: Callable[[float], float]) -> Callable[[float], float]:
    """Central finite difference (kinks: the one-sided value average, measure zero anyway)."""
    h = 1e-6
    return lambda x: (phi(x + h) - phi(x - h)) / (2 * h)


def expect1(f: Callable[[float], float], q: float) -> float:
    s = math.sqrt(q)
    return sum(
        integrate.quad(lambda t: f(s * t) * PDF * math.exp(-t * t / 2), a, b, limit=200)[0]
        for a, b in ((-12, 0), (0, 12))
    )


def expect2(f: Callable[[float], float], q: float, c: float) -> float:
    """``E[f(u1) f(u2)]``: outer quad over x, inner over y split at the kink of ``u2``."""
    s, root = math.sqrt(1 - c * c), math.sqrt(q)

    def inner(x: float) -> float:
        fx = f(root * x)
        kink = min(max(-c * x / s, -12.0), 12.0)
        return fx * sum(
            integrate.quad(lambda y: f(root * (c * x + s * y)) * PDF * math.exp(-y * y / 2), a, b)[0]
            for a, b in ((-12.0, kink), (kink, 12.0))
        )

    return sum(
        integrate.quad(lambda x: inner(x) * PDF * math.exp(-x * x / 2), a, b, limit=100)[0]
        for a, b in ((-12, 0), (0, 12))
    )


def ref_q_star(phi: Callable[[float], float], sw: float, sb: float) -> float:
    return float(optimize.brentq(lambda q: sw * expect1(lambda u: phi(u) ** 2, q) + sb - q, 1e-6, 50.0))


@pytest.mark.parametrize(
    ("name", "q", "c"),
    [
        ("tanh", 1.0, 0.5),
        ("tanh", 0.3, -0.4),
        ("relu", 2.0, 0.2),
        ("leaky_relu", 1.5, 0.7),
        ("elu", 1.2, 0.3),
        ("selu", 0.8, 0.9),
        ("gelu", 2.0, 0.6),
        ("sigmoid", 1.0, 0.1),
        ("silu", 1.3, -0.3),
        ("softplus", 0.7, 0.8),
        ("linear", 0.9, 0.4),
    ],
)
def test_correlation_map_matches_scipy(name: str, q: float, c: float) -> None:
    sw, sb = 1.7, 0.2
    phi = REFERENCE[name]
    expected = (sw * expect2(phi, q, c) + sb) / (sw * expect1(lambda u: phi(u) ** 2, q) + sb)
    assert correlation_map(c, name, sw, sb, q=q) == pytest.approx(expected, abs=2e-7)


def test_relu_arc_cosine_and_linear_closed_forms() -> None:
    for c in (-0.9, 0.0, 0.3, 0.99):
        arc = (math.sqrt(1 - c * c) + (math.pi - math.acos(c)) * c) / math.pi
        assert correlation_map(c, "relu", 2.0) == pytest.approx(arc, abs=1e-12)
        assert correlation_map(c, "linear", 0.5, 0.0, q=3.0) == pytest.approx(c, abs=1e-12)
    # A bias pulls correlations up: (sigma_w2 * q c + sigma_b2) / (sigma_w2 q + sigma_b2).
    assert correlation_map(0.2, "linear", 0.5, 0.1, q=1.0) == pytest.approx((0.1 + 0.1) / 0.6)


@pytest.mark.parametrize(("name", "sw", "sb"), [("tanh", 1.5, 0.1), ("tanh", 3.0, 0.3), ("gelu", 1.5, 0.2)])
def test_fixed_point_and_chi1_match_scipy(name: str, sw: float, sb: float) -> None:
    phi = REFERENCE[name]
    q = ref_q_star(phi, sw, sb)
    assert fixed_point_q(name, sw, sb) == pytest.approx(q, rel=1e-7)
    chi1 = sw * expect1(lambda u: d(phi)(u) ** 2, q)
    scales = depth_scales(name, sw, sb)
    assert scales.chi_1 == pytest.approx(chi1, rel=1e-6)
    # xi_q from the finite-difference slope of the variance map at q*.
    h = 1e-4 * q
    slope = sw * (expect1(lambda u: phi(u) ** 2, q + h) - expect1(lambda u: phi(u) ** 2, q - h)) / (2 * h)
    assert scales.xi_q == pytest.approx(-1 / math.log(slope), rel=1e-5)


def test_chaotic_fixed_point_and_chi_c_match_scipy() -> None:
    """tanh, sigma_w2 = 2.5, sigma_b2 = 0.05: c* < 1, chi_c = slope of the map there."""
    sw, sb = 2.5, 0.05
    phi = math.tanh
    q = ref_q_star(phi, sw, sb)

    def cmap(c: float) -> float:
        return (sw * expect2(phi, q, c) + sb) / q

    c_star = float(optimize.brentq(lambda c: cmap(c) - c, 0.0, 0.99, xtol=1e-10))
    scales = depth_scales("tanh", sw, sb)
    assert scales.phase == "chaotic"
    assert scales.c_star == pytest.approx(c_star, abs=1e-6)
    slope = (cmap(c_star + 1e-3) - cmap(c_star - 1e-3)) / 2e-3
    assert scales.chi_c == pytest.approx(slope, rel=1e-4)
    assert scales.xi_c == pytest.approx(-1 / math.log(slope), rel=1e-3)


def test_named_points() -> None:
    he, xavier = depth_scales("relu", 2.0), depth_scales("relu", 1.0)
    assert (he.chi_1, he.phase, he.xi_c) == (1.0, "critical", math.inf)
    assert (xavier.chi_1, xavier.phase) == (0.5, "ordered")
    assert xavier.xi_c == pytest.approx(1 / math.log(2))
    tanh_small = depth_scales("tanh", 0.5)  # q* = 0: chi_1 = sigma_w2 * tanh'(0)**2
    assert tanh_small.q_star == 0.0 and tanh_small.chi_1 == pytest.approx(0.5)
    assert depth_scales("relu", 2.5, 0.1).q_star == math.inf
    assert depth_scales("tanh", 2.5, 0.05).to_dict()["xi_c"] > 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"c": 1.5}, "c must be a correlation in"),
        ({"c": 0.1, "sigma_w2": -1.0}, "sigma_w2"),
        ({"c": 0.1, "activation": "nope"}, "activation"),
        ({"c": 0.1, "q": -1.0}, "q must be"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        correlation_map(**kwargs)  # type: ignore[arg-type]


def test_probe_input_corr_and_measured_correlation() -> None:
    """The measured per-layer correlation follows the theory's c_l.

    Width 1024, batch 64: the gap is mostly one shift shared by all pairs (the same weights), std
    0.012 at layer 1 and at most 0.024 at any layer over 8 seeds; 0.1 is over 4 of those
    standard deviations (false failure below 1e-4 over the 12 layers).
    """
    std = math.sqrt(2.0 / 1024)
    result = probe("random", "tanh", depth=12, width=1024, batch=64, std=std, input_corr=0.5)
    assert result.config["input_corr"] == 0.5
    assert result.layers[0].pre_corr == pytest.approx(0.5, abs=0.06)
    for layer in result.layers:
        assert layer.pre_corr is not None and layer.theory_pre_corr is not None
        assert layer.pre_corr == pytest.approx(layer.theory_pre_corr, abs=0.1)
    assert result.to_dict()["layers"][3]["theory_pre_corr"] == result.layers[3].theory_pre_corr
    # He/ReLU drives independent inputs together (1/pi after one layer, towards 1).
    relu = probe("he", "relu", depth=20, width=512, batch=64)
    assert relu.layers[0].pre_corr == pytest.approx(0.0, abs=0.02)
    assert relu.layers[1].theory_pre_corr == pytest.approx(1 / math.pi)
    assert relu.layers[-1].pre_corr > 0.9 and relu.layers[-1].theory_pre_corr > 0.9  # type: ignore[operator]
    with pytest.raises(ValueError, match="input_corr must be in"):
        probe("he", depth=2, width=8, input_corr=1.5)


def test_batch_norm_pins_the_batch_correlation() -> None:
    result = probe("he", "relu", depth=4, width=256, batch=33, batch_norm=True)
    for layer in result.layers:
        assert layer.theory_pre_corr == pytest.approx(-1 / 32)
        assert layer.pre_corr == pytest.approx(-1 / 32, abs=2e-3)


def test_profile_starts_from_the_input_correlation() -> None:
    net = resolve_network("he", "relu", 2, 64, 32, None, None, None, None, 0.5, False)
    first = correlation_profile(net, 0.3)[0]
    assert first == pytest.approx((2 * 0.3 + 0.25) / (2 + 0.25))


def test_cli_input_corr(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from kaiming.cli import main

    args = ["probe", "--init", "he", "--act", "relu", "--depth", "3", "--width", "256", "--batch", "32"]
    assert main([*args, "--input-corr", "0.5", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["config"]["input_corr"] == 0.5
    first = data["layers"][0]
    assert first["theory_pre_corr"] == pytest.approx(0.5) and first["pre_corr"] == pytest.approx(0.5, abs=0.1)


def test_odd_activation_without_bias_decorrelates_to_zero() -> None:
    """tanh, sigma_b2 = 0, chaotic: the map is odd, so c* = 0 and chi_c = sigma_w2 E[phi'(u)]**2."""
    sw = 2.5
    s = depth_scales("tanh", sw, 0.0)
    assert s.c_star == pytest.approx(0.0, abs=1e-9)
    q = ref_q_star(math.tanh, sw, 0.0)
    assert s.q_star == pytest.approx(q, rel=1e-7)
    mean_deriv = expect1(d(math.tanh), q)
    assert s.chi_c == pytest.approx(sw * mean_deriv**2, rel=1e-6)
