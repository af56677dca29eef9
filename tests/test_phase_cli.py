"""``kaiming phase``: the critical line, the named inits, JSON and the heat map."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kaiming.cli import main


def test_phase_relu_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["phase", "--act", "relu", "--sigma-w2", "1,3,3", "--sigma-b2", "0,0.2,2"]) == 0
    out = capsys.readouterr().out
    assert "critical sigma_w^2" in out and "2.0000" in out
    he = next(line for line in out.splitlines() if line.strip().startswith("he_normal"))
    xavier = next(line for line in out.splitlines() if line.strip().startswith("xavier_normal"))
    assert "1.0000" in he and "critical" in he
    assert "0.5000" in xavier and "ordered" in xavier


def test_phase_json_and_plot(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    plot = tmp_path / "phase.png"
    args = ["phase", "--act", "tanh", "--sigma-w2", "0.5,3,6", "--sigma-b2", "0,0.3,3"]
    assert main([*args, "--json", "--plot", str(plot)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["activation"] == "tanh" and len(data["chi_1"]) == 3 and len(data["chi_1"][0]) == 6
    line = data["critical_sigma_w2"]
    assert line[0] == pytest.approx(1.0, abs=1e-4) and line[0] < line[1] < line[2]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and plot.stat().st_size > 10_000


def test_phase_bad_arguments(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["phase", "--act", "nope"]) == 2
    assert "activation" in capsys.readouterr().err
    assert main(["phase", "--plot", str(tmp_path / "x.bmp")]) == 2
    assert ".png, .svg or .pdf" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["phase", "--sigma-w2", "3,1,4"])
