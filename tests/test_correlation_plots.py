"""The probe figure's second row: correlation per layer and the Jacobian spectrum."""

from __future__ import annotations

from pathlib import Path

import pytest

from kaiming import probe
from kaiming.propagation._plots_beyond import draw_beyond, has_correlation
from kaiming.propagation.plots import plot_results

pytest.importorskip("matplotlib")


def test_probe_figure_has_correlation_and_spectrum_panels(tmp_path: Path) -> None:
    from matplotlib.figure import Figure

    runs = [
        probe("he", "relu", depth=6, width=64, batch=16),
        probe("orthogonal", "tanh", depth=6, width=64, batch=16),
    ]
    assert has_correlation(runs)
    figure = Figure()
    axes = figure.subplots(1, 2)
    draw_beyond(axes, runs, ["he", "orth"])
    assert len(axes[0].lines) == 4  # measured + theory per run
    assert len(axes[1].patches) > 0 and "Var/mean^2" in axes[1].get_legend().get_texts()[0].get_text()
    path = tmp_path / "probe.png"
    plot_results(runs[:1], ["he"], str(path))  # one run: two rows of two panels
    from matplotlib.image import imread

    height, width = imread(str(path)).shape[:2]
    assert height > 0.7 * width


def test_spectrum_panel_says_why_it_is_empty_with_batch_norm() -> None:
    from matplotlib.figure import Figure

    run = probe("he", "relu", depth=3, width=32, batch=16, batch_norm=True)
    axes = Figure().subplots(1, 2)
    draw_beyond(axes, [run], ["bn"])
    assert "batch norm" in axes[1].texts[0].get_text()
    assert not has_correlation([probe("he", "relu", depth=2, width=8, batch=1)])
