"""Fixtures shared by several test modules."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

# The helper modules beside the tests (``_sigint``, ``_zoo``, ...) import by their bare names.
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def torch_ops_calls(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Route ``kaiming.torch._device_stream``'s torch-ops draws through a spy; the list gets the
    ``out=`` tensor of every call (``None`` for a draw into new memory)."""
    from kaiming.stream import _torch_path

    calls: list[Any] = []
    real = _torch_path.sample_torch

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("out"))
        return real(*args, **kwargs)

    monkeypatch.setattr("kaiming.torch._device_stream.sample_torch", spy)
    return calls
