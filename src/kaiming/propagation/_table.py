"""Words and tables for probe results (internal)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .._health import DYING_UNITS, EXPLODING_STD, VANISHING_STD, gradient_health_of, health_of, worst_health
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


def _health_text(stats: LayerStats) -> str:
    """The overall verdict, marked ``(gradient)`` when only the backward pass is unhealthy."""
    if stats.backward_health not in (None, "healthy") and stats.forward_health == "healthy":
        return f"{stats.health} (gradient)"
    return stats.health


_COLUMNS: tuple[tuple[str, Callable[[Any], str], str | None], ...] = (
    ("Layer", lambda s: str(s.layer), None),
    ("Pre-Act Mean", lambda s: format_number(s.pre_mean), None),
    ("Pre-Act Std", lambda s: format_number(s.pre_std), None),
    ("Post-Act Mean", lambda s: format_number(s.post_mean), None),
    ("Post-Act Std", lambda s: format_number(s.post_std), None),
    ("Theory Std", lambda s: format_number(s.theory_post_std), "theory_post_std"),
    ("Dead Units %", lambda s: f"{100 * s.dead_units_fraction:.1f}", None),
    ("Zero Values %", lambda s: f"{100 * s.dead_fraction:.1f}", None),
    ("Grad Std", lambda s: format_number(s.grad_std), "grad_std"),
    ("Theory Grad", lambda s: format_number(s.theory_grad_std), "theory_grad_std"),
    ("Health", _health_text, None),
)


def format_table(layers: Sequence[LayerStats]) -> str:
    """The probe's per-layer table; theory and gradient columns only when they were computed.

    ``Dead Units %``: units that are 0 for every example of the batch; ``Zero Values %``: all
    post-activation values that are exactly 0 (about 50% for any healthy ReLU layer). ``Health``
    judges the forward and the backward pass (``(gradient)``: only the backward pass is unhealthy).
    """
    columns = [c for c in _COLUMNS if c[2] is None or any(getattr(s, c[2]) is not None for s in layers)]
    return render_table([c[0] for c in columns], [[c[1](s) for c in columns] for s in layers], align="right")


def gradient_verdict(grad_std: float) -> str:
    """``"vanishing"``/``"exploding"``/``"healthy"`` for a gradient std (output gradient std 1)."""
    return gradient_health_of(grad_std)


def _forward_text(layers: Sequence[LayerStats]) -> str:
    last = layers[-1]
    bad = next((s for s in layers if (s.forward_health or s.health) != "healthy"), None)
    if bad is None:
        theory = "" if last.theory_post_std is None else f" (theory {format_number(last.theory_post_std)})"
        return (
            f"healthy through {len(layers)} layers: post-activation std "
            f"{format_number(last.post_std)} at layer {last.layer}{theory}"
        )
    verdict = bad.forward_health or bad.health
    if verdict == "vanishing":
        return (
            f"signal vanishes by layer {bad.layer}: post-activation std < {VANISHING_STD:g} "
            f"({format_number(last.post_std)} at layer {last.layer})"
        )
    if verdict == "exploding":
        return (
            f"signal explodes by layer {bad.layer}: std > {EXPLODING_STD:g} "
            f"({format_number(max(last.pre_std, last.post_std))} at layer {last.layer})"
        )
    return (
        f"units die by layer {bad.layer}: {100 * bad.dead_units_fraction:.0f}% of units "
        f"(>= {100 * DYING_UNITS:.0f}%) are zero for the whole batch"
    )


def _backward_text(layers: Sequence[LayerStats]) -> str | None:
    """The gradient clause: where the backward pass (from the last layer down) first goes bad."""
    first = layers[0]
    if first.grad_std is None:
        return None
    worst = worst_health(*(s.backward_health for s in layers))
    if worst == "healthy":
        return f"gradient std at layer 1: {format_number(first.grad_std)} (healthy)"
    bad = max(s.layer for s in layers if s.backward_health == worst)
    exploding = worst == "exploding"
    verb, rule = ("explodes", f"> {EXPLODING_STD:g}") if exploding else ("vanishes", f"< {VANISHING_STD:g}")
    return (
        f"gradient {verb} by layer {bad} (backward): std {rule} times the output "
        f"gradient's ({format_number(first.grad_std)} at layer 1)"
    )


def summarize(layers: Sequence[LayerStats]) -> str:
    """One sentence: the verdict of the forward pass and of the backward pass, the unhealthy one first.

    The forward clause names the first unhealthy layer; the gradient clause the first layer, going
    back from the output, whose gradient std is beyond the thresholds (else the std at layer 1).
    """
    forward = _forward_text(layers)
    backward = _backward_text(layers)
    if backward is None:
        return forward
    if forward.startswith("healthy") and not backward.startswith("gradient std"):
        return f"{backward}; forward signal {forward}"
    return f"{forward}; {backward}"
