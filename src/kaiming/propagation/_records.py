"""The per-layer record that the probe fills and the tables, plots and JSON read."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LayerStats"]


@dataclass(frozen=True)
class LayerStats:
    """Statistics of one layer (``layer`` is 1-based); stds are over batch and units together.

    ``grad_std``/``weight_grad_std`` are ``None`` without the backward pass, ``theory_*`` are
    ``None`` without the theory. ``inf`` means the values overflowed the float range.

    ``health`` is the worse of ``forward_health`` (the signal: ``kaiming._health.health_of``) and
    ``backward_health`` (the gradient ``grad_std`` against the unit output gradient:
    ``kaiming._health.gradient_health_of``; ``None`` without the backward pass).
    ``pre_corr`` is the mean pairwise correlation (cosine over units) between the batch's inputs'
    pre-activations, ``theory_pre_corr`` the mean-field ``c_l``
    (``kaiming.propagation.correlation``).
    """

    layer: int
    fan_in: int
    fan_out: int
    pre_mean: float
    pre_std: float
    post_mean: float
    post_std: float
    dead_fraction: float
    dead_units_fraction: float
    health: str
    grad_std: float | None = None
    weight_grad_std: float | None = None
    theory_pre_std: float | None = None
    theory_post_std: float | None = None
    theory_grad_std: float | None = None
    theory_post_mean: float | None = None
    theory_weight_grad_std: float | None = None
    # The two halves of ``health`` (added after the fields above, which stay as they were).
    forward_health: str | None = None
    backward_health: str | None = None
    pre_corr: float | None = None
    theory_pre_corr: float | None = None
