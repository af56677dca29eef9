"""The phase diagram and its critical line against a live SciPy computation.

The reference uses ``math.tanh`` and a central finite-difference derivative (not
``kaiming._activations``), ``scipy.integrate.quad`` for the Gaussian expectations and
``scipy.optimize.brentq`` for the fixed point ``q*`` and for ``chi_1(sigma_w2) = 1``.
"""

from __future__ import annotations

import itertools
import json
import math

import pytest
from scipy import integrate, optimize

from kaiming import critical_sigma_w2, phase_diagram, phase_point

PDF = 1.0 / math.sqrt(2.0 * math.pi)


def expect(f: object, q: float) -> float:
    s = math.sqrt(q)
    return float(
        integrate.quad(lambda t: f(s * t) * PDF * math.exp(-t * t / 2), -12, 12, limit=200)[0]  # type: ignore[operator]
    )


def tanh_prime(x: float) -> float:
    h = 1e-6
    return (math.tanh(x + h) - math.tanh(x - h)) / (2 * h)


def ref_chi1(sw: float, sb: float) -> float:
    q = optimize.brentq(lambda q: sw * expect(lambda u: math.tanh(u) ** 2, q) + sb - q, 1e-9, 50.0)
    return sw * expect(lambda u: tanh_prime(u) ** 2, q)


@pytest.mark.parametrize("sb", [0.02, 0.1, 0.3])
def test_tanh_critical_line_matches_scipy(sb: float) -> None:
    expected = optimize.brentq(lambda sw: ref_chi1(sw, sb) - 1.0, 1.0001, 5.0, xtol=1e-9)
    assert critical_sigma_w2("tanh", sb) == pytest.approx(expected, rel=1e-6)


def test_tanh_critical_line_starts_at_one_and_rises() -> None:
    # At sigma_b2 = 0 the fixed point is q* = 0 for sigma_w2 <= 1, where chi_1 = sigma_w2 * tanh'(0)**2.
    assert critical_sigma_w2("tanh", 0.0) == pytest.approx(1.0, abs=1e-5)
    diagram = phase_diagram("tanh", [0.5, 1.0, 2.0], [0.0, 0.05, 0.1, 0.2, 0.4])
    line = diagram.critical_sigma_w2
    assert all(v is not None for v in line)
    assert all(b > a for a, b in itertools.pairwise(line))  # type: ignore[operator]


def test_grid_values_match_scipy() -> None:
    diagram = phase_diagram("tanh", [0.8, 1.5, 3.0], [0.05, 0.25])
    for i, sb in enumerate(diagram.sigma_b2):
        for j, sw in enumerate(diagram.sigma_w2):
            assert diagram.chi_1[i][j] == pytest.approx(ref_chi1(sw, sb), rel=1e-6)


def test_relu_diagram_and_named_inits() -> None:
    diagram = phase_diagram("relu", [1.0, 2.0, 4.0], [0.0, 0.3])
    assert diagram.critical_sigma_w2 == (2.0, 2.0)  # chi_1 = sigma_w2 / 2 whatever the bias
    named = {i["name"]: i["chi_1"] for i in diagram.inits}
    assert named["he_normal"] == pytest.approx(1.0)  # He sits on the critical line
    assert named["xavier_normal"] == pytest.approx(0.5)
    data = json.loads(json.dumps(diagram.to_dict()))
    assert data["q_star"][0][2] is None  # sigma_w2 = 4: the variance diverges (inf -> null)
    assert data["chi_1"][1] == [0.5, 1.0, 2.0]


def test_phase_point_and_bad_input() -> None:
    assert phase_point("he", "leaky_relu", activation_param=0.2) == pytest.approx((2 / 1.04, 0.0))
    assert phase_point("orthogonal", "tanh", bias_std=0.1) == pytest.approx((1.0, 0.01))
    with pytest.raises(ValueError, match="sigma_w2 must hold finite values >= 0"):
        phase_diagram("tanh", [-1.0])
    with pytest.raises(ValueError, match="sigma_b2 must hold at least one value"):
        phase_diagram("tanh", [1.0], [])
    with pytest.raises(ValueError, match="activation"):
        phase_diagram("nope")
