"""Test-suite settings that must exist before any test module or doctest imports a framework."""

from __future__ import annotations

import os

# Keras 3 reads its backend once, at first import (TensorFlow is not a dependency).
os.environ.setdefault("KERAS_BACKEND", "jax")


def pytest_configure(config: object) -> None:
    """Markers of the framework-adapter tests."""
    config.addinivalue_line(  # type: ignore[attr-defined]
        "markers", "core_backend: Keras tests rerun under the other Keras backend in a subprocess"
    )
