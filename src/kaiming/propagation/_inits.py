"""How the probe and the mean-field theory turn an init name into weights (internal).

One ``InitSpec`` per probe call says, for a dense layer ``(fan_in, fan_out)`` in the jax layout
(``y = x @ W``), which per-element variance the weights have (the theory needs it) and how to
draw them (the probe needs them). Variance-scaling inits are drawn by ``variance_scaling``
itself with the registry initializer's ``(scale, mode, distribution)``, so a probe's weights
are, number for number, what ``get_initializer(name)((fan_in, fan_out), rng=...)`` draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .._activations import ACTIVATIONS
from .._checks import check_choice, check_nonnegative, check_real, check_squarable
from .._sampling import fan_for_mode, sampler_scale, variance_std
from ..gains import calculate_gain
from ..initializers import DISTRIBUTIONS, MODES, Distribution, Mode, variance_scaling
from ..registry import INITIALIZER_NAMES
from ..stream import StreamKey
from ..structured import orthogonal

__all__ = ["ALIASES", "PROBE_ACTIVATIONS", "PROBE_INITS", "InitSpec", "resolve_activation", "resolve_init"]

ALIASES: dict[str, str] = {"he": "he_normal", "xavier": "xavier_normal", "lecun": "lecun_normal"}
PROBE_INITS: tuple[str, ...] = (*INITIALIZER_NAMES, *ALIASES, "random")
PROBE_ACTIVATIONS: tuple[str, ...] = tuple(ACTIVATIONS)

DEFAULT_RANDOM_STD = 0.01

# name -> (family, default mode, distribution); family decides the default scale (gain**2).
_FAMILY_MODES: dict[str, Mode] = {"he": "fan_in", "xavier": "fan_avg", "lecun": "fan_in"}
_VARIANCE_SCALING: dict[str, tuple[str, Mode, Distribution]] = {
    f"{family}_{dist}": (family, mode, dist)
    for family, mode in _FAMILY_MODES.items()
    for dist in DISTRIBUTIONS
}
for _alias, _name in (("kaiming", "he"), ("glorot", "xavier")):
    for _dist in ("normal", "uniform"):
        _VARIANCE_SCALING[f"{_alias}_{_dist}"] = _VARIANCE_SCALING[f"{_name}_{_dist}"]


@dataclass(frozen=True)
class InitSpec:
    """A resolved init: ``kind`` is ``"variance_scaling"``, ``"orthogonal"`` or ``"random"``."""

    name: str
    kind: str
    gain: float | None
    mode: Mode | None
    distribution: Distribution
    std: float | None

    def variance(self, fan_in: int, fan_out: int) -> float:
        """Per-element weight variance of a ``(fan_in, fan_out)`` layer."""
        if self.kind == "random":
            return float(self.std) ** 2  # type: ignore[arg-type]
        gain2 = float(self.gain) ** 2  # type: ignore[arg-type]
        if self.kind == "orthogonal":
            # Orthonormal columns (fan_in >= fan_out) have unit norm over fan_in entries, and
            # orthonormal rows over fan_out entries: variance 1 / max(fan_in, fan_out).
            return gain2 / max(fan_in, fan_out)
        return gain2 / fan_for_mode(str(self.mode), fan_in, fan_out)

    def sampler_scale(self, fan_in: int, fan_out: int) -> float:
        """The scale of the zero-mean sampler (std, or the uniform's half-width) that a keyed
        variance-scaling init of a ``(fan_in, fan_out)`` layer hands to ``kaiming.stream.sample``:
        the same ``variance_std`` and ``sampler_scale`` as ``variance_scaling(..., key=...)``."""
        if self.kind == "orthogonal":
            raise ValueError("orthogonal weights are a QR factor, not one sampler's values")
        if self.kind == "random":
            return sampler_scale("normal", variance_std(float(self.std) ** 2, 1))  # type: ignore[arg-type]
        fan = fan_for_mode(str(self.mode), fan_in, fan_out)
        return sampler_scale(self.distribution, variance_std(float(self.gain) ** 2, fan))  # type: ignore[arg-type]

    def draw(
        self,
        fan_in: int,
        fan_out: int,
        dtype: np.dtype[np.floating],
        *,
        rng: np.random.Generator | None = None,
        key: StreamKey | None = None,
    ) -> NDArray[np.floating]:
        """Draw the ``(fan_in, fan_out)`` weight matrix from ``rng`` or the counter stream ``key``
        (the keyed initializer: every init the probe knows has one)."""
        shape = (fan_in, fan_out)
        if self.kind == "orthogonal":
            return orthogonal(shape, float(self.gain), rng=rng, key=key, dtype=dtype)  # type: ignore[arg-type]
        if self.kind == "random":
            scale = float(self.std) ** 2  # type: ignore[arg-type]
            return variance_scaling(
                shape, scale, "fan_in", "normal", fans=(1, 1), rng=rng, key=key, dtype=dtype
            )
        scale = float(self.gain) ** 2  # type: ignore[arg-type]
        return variance_scaling(shape, scale, self.mode, self.distribution, rng=rng, key=key, dtype=dtype)  # type: ignore[arg-type]


def resolve_activation(activation: object, activation_param: object) -> tuple[str, float]:
    """Validate an activation name and its parameter; return ``(name, param)`` with the default
    parameter filled in (leaky slope, ELU alpha, softplus beta; 0 for the others)."""
    name = check_choice("activation", activation, PROBE_ACTIVATIONS)
    spec = ACTIVATIONS[name]
    if spec.param_name is None:
        if activation_param is not None:
            raise ValueError(f"activation {name!r} takes no activation_param, got {activation_param!r}")
        return name, spec.default_param
    if activation_param is None:
        return name, spec.default_param
    value = check_squarable("activation_param", check_real("activation_param", activation_param))
    if name == "softplus" and value <= 0:
        raise ValueError(f"activation_param (softplus beta) must be > 0, got {value}")
    if name == "elu" and value < 0:
        raise ValueError(f"activation_param (elu alpha) must be >= 0, got {value}")
    return name, value


def _he_gain(activation: str, activation_param: float) -> float:
    """He et al.'s gain: sqrt(2), or sqrt(2 / (1 + a**2)) for a leaky slope ``a``."""
    if activation in ("leaky_relu", "prelu"):
        return calculate_gain("leaky_relu", activation_param)
    return math.sqrt(2.0)


def resolve_init(
    init: object,
    *,
    activation: str,
    activation_param: float,
    mode: object = None,
    std: object = None,
    gain: object = None,
) -> InitSpec:
    """Validate ``init``/``mode``/``std``/``gain`` together and resolve defaults.

    ``activation`` and ``activation_param`` must already be validated (He's gain uses the leaky
    slope of ``leaky_relu``/``prelu``).
    """
    name = check_choice("init", init, PROBE_INITS)
    canonical = ALIASES.get(name, name)
    if std is not None and canonical != "random":
        raise ValueError(f"std is only used with init 'random', got std={std!r} with init {name!r}")
    if canonical == "random":
        for arg, value in (("mode", mode), ("gain", gain)):
            if value is not None:
                raise ValueError(f"{arg} is not used by init 'random' (use std), got {arg}={value!r}")
        value = DEFAULT_RANDOM_STD if std is None else check_nonnegative("std", std)
        return InitSpec(canonical, "random", None, None, "normal", value)
    gain_value = None if gain is None else check_nonnegative("gain", gain)
    if canonical == "orthogonal":
        if mode is not None:
            raise ValueError(f"mode is not used by init 'orthogonal', got mode={mode!r}")
        return InitSpec(
            canonical, "orthogonal", 1.0 if gain_value is None else gain_value, None, "normal", None
        )
    family, default_mode, distribution = _VARIANCE_SCALING[canonical]
    mode_value = default_mode if mode is None else check_choice("mode", mode, MODES)
    if gain_value is None:
        gain_value = _he_gain(activation, activation_param) if family == "he" else 1.0
    return InitSpec(canonical, "variance_scaling", gain_value, mode_value, distribution, None)
