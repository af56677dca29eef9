"""Input-output Jacobian spectra: dynamical isometry for orthogonal tanh at criticality, never for ReLU.

Exact SVD at width 128. Spreads quoted in the comments were measured over seeds 0..5 at depth 16:
He/ReLU relative variance 22..43 (theory 32), orthogonal ReLU 13..19 (theory 16), orthogonal
tanh on the critical line 0.0007 (theory 0.0007).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from kaiming import depth_scales
from kaiming.propagation.jacobian import jacobian_spectrum

CRITICAL_GAIN = math.sqrt(1.0 + 1e-4)  # tanh, sigma_b2 = 0: chi_1 = 1 at sigma_w2 = 1 (q* -> 0)


def test_orthogonal_tanh_at_criticality_is_isometric() -> None:
    s = jacobian_spectrum("orthogonal", "tanh", depth=16, width=128, gain=CRITICAL_GAIN, input_std=0.05)
    assert s.method == "exact" and s.squared_singular_values is not None
    assert s.relative_variance < 0.005
    assert s.relative_variance == pytest.approx(s.theory_relative_variance, rel=0.5)
    assert s.mean == pytest.approx(s.theory_mean, rel=0.03)
    assert s.max is not None and s.min is not None and s.max / s.min < 1.3  # every singular value near 1


def test_relu_spectra_spread_with_depth_even_with_orthogonal_weights() -> None:
    gaussian = jacobian_spectrum("he_normal", "relu", depth=16, width=128)
    orth = jacobian_spectrum("orthogonal", "relu", depth=16, width=128, gain=math.sqrt(2.0))
    assert gaussian.theory_mean == pytest.approx(1.0) and orth.theory_mean == pytest.approx(1.0)
    assert gaussian.theory_relative_variance == pytest.approx(32.0)  # 2 per layer
    assert orth.theory_relative_variance == pytest.approx(16.0)  # 1 per layer (the ReLU mask)
    assert gaussian.relative_variance > 10.0 and orth.relative_variance > 5.0
    assert gaussian.min == pytest.approx(0.0, abs=1e-6)  # the masks leave J rank-deficient


def test_relative_variance_matches_free_probability() -> None:
    """Mean over 6 seeds (single-seed std about 22% of the value) within 40%: over 4 sigma."""
    runs = [jacobian_spectrum("he_normal", "relu", depth=8, width=128, seed=s) for s in range(6)]
    values = [r.relative_variance for r in runs]
    assert float(np.mean(values)) == pytest.approx(16.0, rel=0.4)


def test_hutchinson_estimate_matches_exact_on_the_same_network() -> None:
    for kwargs in (
        {"init": "he_normal", "activation": "relu"},
        {"init": "orthogonal", "activation": "tanh", "gain": CRITICAL_GAIN, "input_std": 0.05},
    ):
        exact = jacobian_spectrum(**kwargs, depth=8, width=128, method="exact")  # type: ignore[arg-type]
        est = jacobian_spectrum(**kwargs, depth=8, width=128, method="hutchinson", probes=128)  # type: ignore[arg-type]
        assert est.squared_singular_values is None and est.max is None
        assert est.mean == pytest.approx(exact.mean, rel=0.1)
        assert est.relative_variance == pytest.approx(exact.relative_variance, rel=0.3)


def test_theory_mean_is_chi1_to_the_depth_at_the_fixed_point() -> None:
    s = jacobian_spectrum("xavier_normal", "tanh", depth=6, width=64, bias_std=0.3, input_std=None)
    assert s.theory_mean == pytest.approx(depth_scales("tanh", 1.0, 0.09).chi_1 ** 6, rel=1e-9)
    assert s.to_dict()["squared_singular_values"] is not None


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="method"):
        jacobian_spectrum(method="svd")
    with pytest.raises(ValueError, match="input_std=None needs a finite positive fixed point"):
        jacobian_spectrum("xavier_normal", "tanh", gain=0.8, input_std=None)  # q* = 0
