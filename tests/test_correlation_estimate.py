"""chi_1 and xi_c measured on the probe's simulation against the theory."""

from __future__ import annotations

import math

import pytest

from kaiming import probe
from kaiming.propagation.estimate import measure_depth_scales


def test_measured_scales_match_theory_at_width_1024() -> None:
    """tanh, sigma_w2 = 1.3, sigma_b2 = 0.05 (theory chi_1 0.880, xi_c 7.83), depth 40, batch 32.

    benchmarks/depth_scales_width.py measured a mean |error| per seed of 0.33% (chi_1) and 4.3%
    (xi_c) at width 1024 over 8 seeds; 3% and 20% are several of those spreads.
    """
    std = math.sqrt(1.3 / 1024)
    run = probe(
        "random", "tanh", depth=40, width=1024, batch=32, std=std, bias_std=math.sqrt(0.05), input_corr=0.9
    )
    m = measure_depth_scales(run, first=8)
    assert m.theory_chi_1 == pytest.approx(0.8802, abs=1e-4) and m.theory_xi_c == pytest.approx(
        7.834, abs=1e-3
    )
    assert m.chi_1_error < 0.03
    assert m.xi_c_error < 0.2
    assert m.theory_fit_xi_c == pytest.approx(m.theory_xi_c, rel=0.05)  # the fit itself is unbiased here
    assert m.to_dict()["corr_layers"][0] == 8


def test_measure_rejects_what_it_cannot_fit() -> None:
    with pytest.raises(ValueError, match="square layers without batch norm"):
        measure_depth_scales(probe("he", depth=10, width=32, batch=8, batch_norm=True))
    with pytest.raises(ValueError, match="backward pass"):
        measure_depth_scales(probe("he", depth=10, width=32, batch=8, backward=False))
    with pytest.raises(ValueError, match="fewer than 3 layers"):
        measure_depth_scales(probe("he", depth=6, width=32, batch=8))
