"""Words and tables for probe results (internal)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .._health import DYING_UNITS, EXPLODING_STD, VANISHING_STD, health_of
from .._table import render_table

if TYPE_CHECKING:
    from ._records import LayerStats

__all__ = [
    "DYING_UNITS",
    "EXPLODING_STD",
    "VANISHING_STD",
    "format_number",
    "format_table",
    "gradient_verdict",
    "health_of",
    "summarize",
]


def format_number(value: float | None) -> str:
    """Four significant digits, scientific notation outside [1e-3, 1e4); ``-`` for ``None``."""
    if value is None:
        return "-"
    if not math.isfinite(value):
        return "inf" if value > 0 else ("-inf" if value < 0 else "nan")
    if value != 0 and not 1e-3 <= abs(value) < 1e4:
        return f"{value:.3e}"
    return f"{value:.4f}"


_COLUMNS: tuple[tuple[str, Callable[[Any], str], str | None], ...] = (
    ("Layer", lambda s: str(s.layer), None),
    ("Pre-Act Mean", lambda s: format_number(s.pre_mean), None),
    ("Pre-Act Std", lambda s: format_number(s.pre_std), None),
    ("Post-Act Mean", lambda s: format_number(s.post_mean), None),
    ("Post-Act Std", lambda s: format_number(s.post_std), None),
    ("Theory Std", lambda s: format_number(s.theory_post_std), "theory_post_std"),
    ("Dead %", lambda s: f"{100 * s.dead_fraction:.1f}", None),
    ("Health", lambda s: s.health, None),
    ("Grad Std", lambda s: format_number(s.grad_std), "grad_std"),
    ("Theory Grad", lambda s: format_number(s.theory_grad_std), "theory_grad_std"),
)


def format_table(layers: Sequence[LayerStats]) -> str:
    """The probe's per-layer table; theory and gradient columns only when they were computed."""
    columns = [c for c in _COLUMNS if c[2] is None or any(getattr(s, c[2]) is not None for s in layers)]
    return render_table([c[0] for c in columns], [[c[1](s) for c in columns] for s in layers], align="right")


def gradient_verdict(grad_std: float) -> str:
    """``"vanishing"``/``"exploding"``/``"healthy"`` for a gradient std (output gradient std 1)."""
    if not grad_std <= EXPLODING_STD:
        return "exploding"
    return "vanishing" if grad_std < VANISHING_STD else "healthy"


def summarize(layers: Sequence[LayerStats]) -> str:
    """One sentence: the first unhealthy layer (forward), and the gradient reaching layer 1."""
    last = layers[-1]
    bad = next((s for s in layers if s.health != "healthy"), None)
    if bad is None:
        theory = "" if last.theory_post_std is None else f" (theory {format_number(last.theory_post_std)})"
        text = (
            f"healthy through {len(layers)} layers: post-activation std "
            f"{format_number(last.post_std)} at layer {last.layer}{theory}"
        )
    elif bad.health == "vanishing":
        text = (
            f"signal vanishes by layer {bad.layer}: post-activation std < {VANISHING_STD:g} "
            f"({format_number(last.post_std)} at layer {last.layer})"
        )
    elif bad.health == "exploding":
        text = (
            f"signal explodes by layer {bad.layer}: std > {EXPLODING_STD:g} "
            f"({format_number(max(last.pre_std, last.post_std))} at layer {last.layer})"
        )
    else:
        text = (
            f"units die by layer {bad.layer}: {100 * bad.dead_units_fraction:.0f}% of units "
            f"(>= {100 * DYING_UNITS:.0f}%) are zero for the whole batch"
        )
    first = layers[0]
    if first.grad_std is not None:
        verdict = gradient_verdict(first.grad_std)
        text += f"; gradient std at layer 1: {format_number(first.grad_std)} ({verdict})"
    return text
