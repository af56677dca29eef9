"""The depth study's configuration and per-method profiles (shared by every method's runner)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from .._checks import check_choice, check_positive_int, check_real
from ._inits import DEPTH_INITS

__all__ = [
    "ALLOWED_ACTIVATIONS",
    "DEPTH_ACTIVATIONS",
    "METHODS",
    "DepthCell",
    "DepthConfig",
    "Profile",
    "crossing_cell",
    "first_crossing",
]

DEPTH_ACTIVATIONS: tuple[str, ...] = ("relu", "tanh", "linear", "selu", "gelu")
# activations both the probe and make_mlp know with the same definition (leaky_relu is left out:
# its default slope is a convention that would have to be kept equal on both sides)
ALLOWED_ACTIVATIONS: tuple[str, ...] = ("relu", "tanh", "linear", "selu", "gelu", "silu", "elu")
METHODS: tuple[str, ...] = ("probe", "torch", "theory")
_VARIANCE_SPAN = 10  # layers over which the per-layer variance ratio is averaged


def first_crossing(ratios: Sequence[float], factor: float) -> tuple[int, str] | None:
    """Return ``(k, "vanishes"|"explodes")`` for the first (1-based) ratio outside
    ``[1/factor, factor]``, or ``None`` if all stay inside. A NaN counts as "explodes" (it
    comes from an overflow), a 0 as "vanishes".

    Example:
        >>> first_crossing([0.5, 0.25, 1e-4, 1e-6], factor=1e3)
        (3, 'vanishes')
        >>> first_crossing([1.0, 2.0, 3.0], factor=1e3) is None
        True
    """
    for k, ratio in enumerate(ratios, start=1):
        if math.isnan(ratio) or ratio > factor:
            return k, "explodes"
        if ratio < 1.0 / factor:
            return k, "vanishes"
    return None


def crossing_cell(crossing: tuple[int, str] | None) -> str:
    """``"↓k"`` (vanishes at k), ``"↑k"`` (explodes at k) or ``"-"`` (stable).

    Example:
        >>> crossing_cell((4, "vanishes")), crossing_cell(None)
        ('↓4', '-')
    """
    if crossing is None:
        return "-"
    return ("↓" if crossing[1] == "vanishes" else "↑") + str(crossing[0])


@dataclass(frozen=True)
class Profile:
    """Per-layer ratios of one network by one method; index ``l - 1`` is layer ``l``.

    ``forward[l-1]``: pre-activation std of layer ``l`` / input std. ``backward[l-1]``: std of
    ``dL/dz_l`` / std of the output gradient.
    """

    method: str
    forward: tuple[float, ...]
    backward: tuple[float, ...]

    def forward_crossing(self, factor: float) -> tuple[int, str] | None:
        """First layer (from the input) whose forward ratio leaves the band."""
        return first_crossing(self.forward, factor)

    def backward_crossing(self, factor: float) -> tuple[int, str] | None:
        """First layer counted from the output whose backward ratio leaves the band."""
        return first_crossing(self.backward[::-1], factor)

    def variance_ratio_per_layer(self) -> float:
        """Geometric-mean forward variance ratio per layer over layers 1 to 11 (fewer if shallower)."""
        span = min(_VARIANCE_SPAN, len(self.forward) - 1)
        first, last = self.forward[0], self.forward[span]
        if span < 1 or not (first > 0 and math.isfinite(first) and math.isfinite(last)):
            return math.nan
        return float((last / first) ** (2.0 / span))


@dataclass(frozen=True)
class DepthCell:
    """The profiles of one (init, activation) pair, by method."""

    init: str
    activation: str
    profiles: dict[str, Profile]

    def to_dict(self, factor: float) -> dict[str, Any]:
        """JSON-ready crossings and per-layer ratios."""
        return {
            "init": self.init,
            "activation": self.activation,
            "variance_ratio_per_layer": {m: p.variance_ratio_per_layer() for m, p in self.profiles.items()},
            "forward_crossing": {m: p.forward_crossing(factor) for m, p in self.profiles.items()},
            "backward_crossing": {m: p.backward_crossing(factor) for m, p in self.profiles.items()},
            "profiles": {m: asdict(p) for m, p in self.profiles.items()},
        }


@dataclass(frozen=True)
class DepthConfig:
    """Network size, inits, activations, band factor, seed and which methods to run."""

    depth: int = 100
    width: int = 256
    batch: int = 256
    inits: tuple[str, ...] = DEPTH_INITS
    activations: tuple[str, ...] = DEPTH_ACTIVATIONS
    factor: float = 1e3
    seed: int = 0
    methods: tuple[str, ...] = METHODS
    threads: int = 1

    def __post_init__(self) -> None:
        check_positive_int("depth", self.depth)
        check_positive_int("width", self.width)
        check_positive_int("batch", self.batch)
        check_positive_int("threads", self.threads)
        if check_real("factor", self.factor) <= 1.0:
            raise ValueError(f"factor must be > 1, got {self.factor}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be an int >= 0, got {self.seed!r}")
        for name, values, allowed in (
            ("init", self.inits, DEPTH_INITS),
            ("activation", self.activations, ALLOWED_ACTIVATIONS),
            ("method", self.methods, METHODS),
        ):
            if not values:
                raise ValueError(f"{name}s must name at least one {name}")
            for value in values:
                check_choice(name, value, allowed)

    @classmethod
    def quick(cls, **overrides: Any) -> DepthConfig:
        """A CI-sized setting (depth 20, width 64, batch 64), overridable field by field."""
        settings: dict[str, Any] = {"depth": 20, "width": 64, "batch": 64}
        settings.update(overrides)
        return cls(**settings)
