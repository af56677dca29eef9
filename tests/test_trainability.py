"""``kaiming experiment trainability`` on the CI grid (never on the numbers the study reports)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from kaiming import depth_scales
from kaiming.experiments.cli import main
from kaiming.experiments.trainability import (
    TrainabilityConfig,
    TrainabilityResult,
    _model,
)


def test_init_has_the_grid_variances() -> None:
    """Weights N(0, sigma_w2 / fan_in), biases N(0, sigma_b2): checked on a wide first layer.

    std of a sample variance over 48 * 64 = 3072 weights is sqrt(2 / 3072) = 2.6%; 12% is 4.7 sigma.
    """
    config = replace(TrainabilityConfig.quick(), width=48)
    model = _model(config, 2.5, 3, seed=0)
    linear = [m for m in model if isinstance(m, torch.nn.Linear)]
    assert len(linear) == 4
    w = linear[1].weight.detach().numpy()  # 48 x 48
    assert float(w.var() * 48) == pytest.approx(2.5, rel=0.12)
    same = _model(config, 2.5, 3, seed=0)
    assert torch.equal(same[0].weight, model[0].weight)  # seeded


def test_quick_cli_writes_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["trainability", "--quick", "--out", str(tmp_path), "--no-progress", "--threads", "1"])
    assert code == 0
    out = capsys.readouterr().out
    assert "6 xi_c" in out and "agrees with depth < 6 xi_c" in out
    data = json.loads((tmp_path / "trainability.json").read_text())
    assert np.array(data["accuracy"]).shape == (2, 3)
    quick = TrainabilityConfig.quick()
    for xi, w2 in zip(data["six_xi_c"], quick.sigma_w2, strict=True):
        assert xi == pytest.approx(6 * depth_scales("tanh", w2, quick.sigma_b2).xi_c)
    assert data["accuracy"][0][1] > 0.5  # 4 layers at criticality train in 2 epochs
    assert (tmp_path / "trainability.png").stat().st_size > 10_000
    assert "![test accuracy with 6 xi_c](trainability.png)" in (tmp_path / "trainability.md").read_text()


def test_agreement_counts_cells() -> None:
    config = TrainabilityConfig(sigma_w2=(1.0, 2.0), depths=(5, 50))
    result = TrainabilityResult(config, ((0.9, 0.9), (0.9, 0.1)), (2.0, 10.0), 1.76, 0.0, {})
    # 6 xi_c = 12 and 60: depth 5 < both (trained: agree, agree); depth 50: >12 (0.9 trained: disagree),
    # < 60 (0.1 not trained: disagree).
    assert result.agreement() == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"sigma_w2": (0.0,)}, "sigma_w2"), ({"depths": (0,)}, "depths"), ({"threshold": 1.0}, "threshold")],
)
def test_bad_config(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainabilityConfig(**kwargs)  # type: ignore[arg-type]
