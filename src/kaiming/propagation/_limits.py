"""Bounds on the networks ``probe`` and ``mean_field`` accept, checked before any work (internal).

- ``depth <= MAX_DEPTH`` and ``batch <= MAX_BATCH``, checked before the per-layer list of widths
  is even built, and every width ``<= MAX_WIDTH``;
- the probe's peak working set, estimated from the layer sizes, must fit in the memory available
  now (``kaiming._checks.available_memory_bytes``, overridable with ``KAIMING_MEMORY_BYTES``):

  - kept for the backward pass, every layer's weights and pre-activations:
    ``sum_l (fan_in_l * fan_out_l + batch * fan_out_l)`` values;
  - drawing one weight matrix: up to ``WEIGHT_DRAW_BYTES`` bytes per weight (orthogonal's QR;
    the variance-scaling draws need less);
  - a few ``batch x width`` buffers: ``ACTIVATION_BUFFERS * batch * max(width)`` values.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._checks import check_at_most, check_memory, check_positive_int, check_real, check_squarable

__all__ = [
    "ACTIVATION_BUFFERS",
    "MAX_BATCH",
    "MAX_DEPTH",
    "MAX_WIDTH",
    "WEIGHT_DRAW_BYTES",
    "check_network_size",
    "check_sizes",
    "check_widths",
]

MAX_DEPTH = 10_000
"""The deepest network simulated or predicted (the figures of interest appear far earlier)."""

MAX_WIDTH = 1 << 31
"""The widest layer (the theory turns widths into floats; no layer is wider in practice)."""

MAX_BATCH = 1 << 20
"""The largest batch simulated (statistics over more inputs do not change)."""

WEIGHT_DRAW_BYTES = 42
"""Peak bytes per weight while one matrix is drawn (float64 QR of ``orthogonal``, measured)."""

ACTIVATION_BUFFERS = 8
"""``batch x width`` buffers alive at once in the forward or backward pass (input, z, h, scratch,
the derivative, the gradients and a matmul result), rounded up."""


def check_sizes(depth: object, batch: object, **squared: object) -> None:
    """Refuse a non-positive or too large ``depth``/``batch``, before anything is built, and a
    number in ``squared`` (e.g. ``gain``, ``std``: the theory uses their squares) whose square
    is not a finite float64."""
    check_at_most("depth", check_positive_int("depth", depth), MAX_DEPTH, "the deepest network simulated")
    check_at_most("batch", check_positive_int("batch", batch), MAX_BATCH, "the largest batch simulated")
    for name, value in squared.items():
        if value is not None:
            check_squarable(name, check_real(name, value))


def check_widths(widths: Sequence[int]) -> None:
    """Refuse a layer wider than ``MAX_WIDTH``."""
    for i, width in enumerate(widths):
        check_at_most(
            f"width[{i}]" if len(set(widths)) > 1 else "width", width, MAX_WIDTH, "the widest layer"
        )


def check_network_size(widths: Sequence[int], batch: int, itemsize: int, backward: bool) -> None:
    """Refuse a probe whose peak working set (module docstring) exceeds the available memory."""
    fans = [(widths[max(i - 1, 0)], w) for i, w in enumerate(widths)]
    widest = max(widths)
    kept = sum(fi * fo + batch * fo for fi, fo in fans) * itemsize if backward else 0
    draw = max(fi * fo for fi, fo in fans) * WEIGHT_DRAW_BYTES
    buffers = ACTIVATION_BUFFERS * batch * widest * itemsize
    what = f"the probe (depth={len(widths)}, width up to {widest}, batch={batch}, backward={backward})"
    check_memory(kept + draw + buffers, what)
