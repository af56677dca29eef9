"""Fixtures shared by several test modules."""

from __future__ import annotations

from typing import Any

import pytest


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
