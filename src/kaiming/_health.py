"""Health verdicts shared by the probe and ``kaiming.torch.analyze`` (internal).

A layer is, first match wins:

- ``"exploding"``: pre- or post-activation std above ``EXPLODING_STD = 1e3`` times the input's
  std (or not finite);
- ``"vanishing"``: post-activation std below ``VANISHING_STD = 1e-3`` times the input's std;
- ``"dying"``: at least ``DYING_UNITS = 0.6`` of its units are exactly 0 for the whole batch;
- ``"healthy"`` otherwise.

The probe feeds unit-std inputs, so there the thresholds are absolute stds.
"""

from __future__ import annotations

__all__ = ["DYING_UNITS", "EXPLODING_STD", "HEALTH_VERDICTS", "VANISHING_STD", "health_of"]

VANISHING_STD = 1e-3
"""Post-activation std below this (relative to the input's std): the signal has vanished."""
EXPLODING_STD = 1e3
"""Pre- or post-activation std above this (relative to the input's std): the signal has exploded."""
DYING_UNITS = 0.6
"""Share of units that are exactly 0 for the whole batch at or above which a layer is dying.

Deep ReLU networks at the edge of chaos make the inputs of a batch ever more alike, so a unit
tends to be on or off for the whole batch; by symmetry that alone approaches 50% (He/ReLU, width
512: about 40% of units at layer 50). Above 60% units are dying beyond that collapse."""
HEALTH_VERDICTS = ("healthy", "vanishing", "exploding", "dying")


def health_of(pre_std: float, post_std: float, dead_units: float) -> str:
    """The verdict for stds already divided by the input's std (see the module docstring).

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
