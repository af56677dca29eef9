"""Experiment plots are written atomically: a failure (an error or Ctrl-C) while the PNG is being
written leaves neither the target nor a temporary file; an existing target stays as it was."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("matplotlib")
from matplotlib.figure import Figure

from kaiming.experiments import _atomic, plots
from kaiming.experiments.trainability import (
    TrainabilityConfig,
    TrainabilityResult,
    plot_trainability,
)


def _failing_savefig(error: BaseException) -> Any:
    def savefig(self: Figure, fname: Any, **kwargs: Any) -> None:
        Path(fname).write_bytes(b"\x89PNG half")  # a partial image, then the failure
        raise error

    return savefig


def _tiny_trainability() -> TrainabilityResult:
    config = TrainabilityConfig(sigma_w2=(1.0, 2.0), depths=(2, 4))
    return TrainabilityResult(config, ((0.9, 0.8), (0.5, 0.1)), (5.0, 3.0), 1.76, 0.0, {})


WRITERS = {
    "plots": lambda path: plots._save(Figure(), path, 40),
    "trainability": lambda path: plot_trainability(_tiny_trainability(), path, dpi=40),
}


@pytest.mark.parametrize("writer", sorted(WRITERS))
@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
@pytest.mark.parametrize("existing", [False, True])
def test_a_failed_write_leaves_no_file_and_no_partial_file(
    writer: str, error: BaseException, existing: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "figure.png"
    if existing:
        target.write_bytes(b"the previous image")
    monkeypatch.setattr(Figure, "savefig", _failing_savefig(error))
    with pytest.raises(type(error)):
        WRITERS[writer](target)
    assert sorted(p.name for p in tmp_path.iterdir()) == (["figure.png"] if existing else [])
    if existing:
        assert target.read_bytes() == b"the previous image"


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_successful_write_leaves_only_the_png(writer: str, tmp_path: Path) -> None:
    target = tmp_path / "sub" / "figure.png"
    assert WRITERS[writer](target) == target
    assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert [p.name for p in target.parent.iterdir()] == ["figure.png"]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # a normal file's mode, not mkstemp's 0o600


def test_the_format_follows_the_target_suffix(tmp_path: Path) -> None:
    target = _atomic.save_figure(Figure(), tmp_path / "figure.svg", 40)
    assert b"<svg" in target.read_bytes()[:500]
