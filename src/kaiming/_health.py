"""Health verdicts shared by the probe and ``kaiming.torch.analyze`` (internal).

Forward, a layer is, first match wins (``health_of``):

- ``"exploding"``: pre- or post-activation std above ``EXPLODING_STD = 1e3`` times the input's
  std (or not finite);
- ``"vanishing"``: post-activation std below ``VANISHING_STD = 1e-3`` times the input's std;
- ``"dying"``: at least ``DYING_UNITS = 0.6`` of its units are exactly 0 for the whole batch;
- ``"healthy"`` otherwise.

Backward (``gradient_health_of``), the same thresholds judge the std of the gradient reaching the
layer's output, ``dL/dz``, divided by the std of the gradient the backward pass starts from
(the probe: the unit output gradient; ``analyze``: the gradient reaching the last layer):
``"exploding"`` above ``EXPLODING_STD`` (or not finite), ``"vanishing"`` below
``VANISHING_STD``, ``"healthy"`` otherwise.

A layer's overall ``health`` is the worse of the two (``worst_health``), in the order
``exploding`` > ``vanishing`` > ``dying`` > ``healthy``: batch norm + ReLU at depth 60 keeps every
forward std near 1 while the gradient at layer 1 is ~4e4 times the output's, and that layer is
``"exploding"``.

The probe feeds unit-std inputs, so there the forward thresholds are absolute stds.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "DYING_UNITS",
    "EXPLODING_STD",
    "HEALTH_VERDICTS",
    "SEVERITY",
    "VANISHING_STD",
    "gradient_health_of",
    "health_of",
    "summarize_health",
    "worst_health",
]

VANISHING_STD = 1e-3
"""Post-activation std below this (relative to the input's std): the signal has vanished.
Also the gradient's threshold, relative to the output gradient's std."""
EXPLODING_STD = 1e3
"""Pre- or post-activation std above this (relative to the input's std): the signal has exploded.
Also the gradient's threshold, relative to the output gradient's std."""
DYING_UNITS = 0.6
"""Share of units that are exactly 0 for the whole batch at or above which a layer is dying.

Deep ReLU networks at the edge of chaos make the inputs of a batch ever more alike, so a unit
tends to be on or off for the whole batch; by symmetry that alone approaches 50% (He/ReLU, width
512: about 40% of units at layer 50). Above 60% units are dying beyond that collapse."""
HEALTH_VERDICTS = ("healthy", "vanishing", "exploding", "dying")
SEVERITY = ("exploding", "vanishing", "dying", "healthy")
"""The verdicts from worst to best: the order ``worst_health`` uses."""


def health_of(pre_std: float, post_std: float, dead_units: float) -> str:
    """The forward verdict for stds already divided by the input's std (see the module docstring).

    Example:
        >>> health_of(1.4, 0.8, 0.0), health_of(1e-5, 1e-5, 0.0), health_of(1.0, 0.5, 0.7)
        ('healthy', 'vanishing', 'dying')
    """
    if not pre_std <= EXPLODING_STD or not post_std <= EXPLODING_STD:
        return "exploding"
    if post_std < VANISHING_STD:
        return "vanishing"
    if dead_units >= DYING_UNITS:
        return "dying"
    return "healthy"


def gradient_health_of(grad_ratio: float) -> str:
    """The backward verdict for a gradient std divided by the starting gradient's std.

    ``"exploding"`` if ``grad_ratio > EXPLODING_STD`` or not finite, ``"vanishing"`` if
    ``grad_ratio < VANISHING_STD``, else ``"healthy"``.

    Example:
        >>> gradient_health_of(0.7), gradient_health_of(3.6e4), gradient_health_of(2e-5)
        ('healthy', 'exploding', 'vanishing')
    """
    if not grad_ratio <= EXPLODING_STD:
        return "exploding"
    return "vanishing" if grad_ratio < VANISHING_STD else "healthy"


def worst_health(*verdicts: str | None) -> str:
    """The most severe of ``verdicts`` (``None`` ignored), by ``SEVERITY``; ``"healthy"`` if none.

    Example:
        >>> worst_health("healthy", "exploding"), worst_health("dying", None), worst_health()
        ('exploding', 'dying', 'healthy')
    """
    given = {v for v in verdicts if v is not None}
    return next((v for v in SEVERITY if v in given), "healthy")


def summarize_health(layers: Sequence[tuple[str, str]]) -> str:
    """One sentence over ``(name, health)`` rows: all healthy, or how many layers have each
    problem and the first of them.

    Example:
        >>> summarize_health([("fc1", "healthy"), ("fc2", "vanishing"), ("fc3", "vanishing")])
        '3 layers: 2 vanishing (first: fc2)'
        >>> summarize_health([("fc1", "healthy")])
        'all 1 layers healthy'
    """
    problems = []
    for verdict in ("exploding", "vanishing", "dying"):
        bad = [name for name, health in layers if health == verdict]
        if bad:
            problems.append(f"{len(bad)} {verdict} (first: {bad[0]})")
    if not problems:
        return f"all {len(layers)} layers healthy"
    return f"{len(layers)} layers: " + ", ".join(problems)
