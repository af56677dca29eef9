"""The order-to-chaos phase diagram: ``chi_1`` over a ``(sigma_w2, sigma_b2)`` grid.

``chi_1 = sigma_w2 * E[phi'(sqrt(q*) z)**2]`` (``kaiming.propagation.correlation``) is below 1
in the ordered phase (nearby inputs converge, gradients vanish), above 1 in the chaotic phase
(nearby inputs decorrelate, gradients explode) and 1 on the critical line, where both depth
scales diverge. ``phase_diagram`` evaluates it on a grid, finds the critical ``sigma_w2`` for
each ``sigma_b2`` (bisection on ``chi_1(sigma_w2) = 1`` in ``log sigma_w2`` over
``[1e-2, 1e2]``; ``None`` where there is no crossing) and places the named inits (He, Xavier,
LeCun: ``sigma_w2 = gain**2`` of a square layer, no bias) on it. ``phase_point`` turns a probe's
``(init, activation, width, bias_std)`` into its ``(sigma_w2, sigma_b2)`` point.

Caveat: ``q*`` is the fixed point reached from ``q_1 = sigma_w2 + sigma_b2``. For activations
that are linear near 0 with ``phi'(0) < 1`` and ReLU-like for large inputs (GELU, SiLU) the
variance map can have two attracting ends, ``q* = 0`` and ``q* = inf``, separated by an unstable
fixed point. Where ``q_1`` crosses it, ``chi_1`` jumps over 1 (GELU at ``sigma_b2 = 0``: 0.54 to
1.08 at ``sigma_w2 = 2.155``) instead of passing through it, and the reported line marks that
jump. tanh and ReLU-like activations have one fixed point and a true crossing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._checks import check_nonnegative, check_positive_int
from .._interrupt import checkpoint
from .._json import jsonable
from ._inits import resolve_activation, resolve_init
from ._kernels import Kernels
from .correlation import _chi1, _fixed_points

__all__ = ["NAMED_INITS", "PhaseDiagram", "critical_sigma_w2", "phase_diagram", "phase_point"]

Array = NDArray[np.float64]
NAMED_INITS = ("he_normal", "xavier_normal", "lecun_normal")
"""The inits ``phase_diagram`` marks (square layers, no bias)."""
_SEARCH = (1e-2, 1e2)
_BISECT = 42


@dataclass(frozen=True)
class PhaseDiagram:
    """``chi_1[i][j]`` and ``q_star[i][j]`` at ``sigma_b2[i]``, ``sigma_w2[j]``.

    ``critical_sigma_w2[i]``: where ``chi_1 = 1`` at ``sigma_b2[i]`` (``None`` if nowhere in
    ``[1e-2, 1e2]``). ``inits``: one dict per named init with ``name``, ``sigma_w2``,
    ``sigma_b2`` and ``chi_1``. ``q_star`` is ``inf`` where the variance diverges.
    """

    activation: str
    activation_param: float
    sigma_w2: tuple[float, ...]
    sigma_b2: tuple[float, ...]
    chi_1: tuple[tuple[float, ...], ...]
    q_star: tuple[tuple[float, ...], ...]
    critical_sigma_w2: tuple[float | None, ...]
    inits: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of every field (non-finite numbers become ``None``)."""
        result = jsonable(
            {
                "activation": self.activation,
                "activation_param": self.activation_param,
                "sigma_w2": self.sigma_w2,
                "sigma_b2": self.sigma_b2,
                "chi_1": self.chi_1,
                "q_star": self.q_star,
                "critical_sigma_w2": self.critical_sigma_w2,
                "inits": self.inits,
            }
        )
        assert isinstance(result, dict)
        return result


def _grid(name: str, values: Sequence[float] | NDArray[np.floating] | None, default: Array) -> Array:
    if values is None:
        return default
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if array.size == 0:
        raise ValueError(f"{name} must hold at least one value, got an empty sequence")
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ValueError(f"{name} must hold finite values >= 0, got {values!r}")
    return array


def _critical(k: Kernels, sigma_b2: Array) -> list[float | None]:
    if k.homogeneous:  # chi_1 = sigma_w2 * E[phi'**2], whatever q and the bias
        return [1.0 / k.factor] * len(sigma_b2)
    lo = np.full(sigma_b2.shape, np.log(_SEARCH[0]))
    hi = np.full(sigma_b2.shape, np.log(_SEARCH[1]))

    def above(log_w: Array) -> NDArray[np.bool_]:
        w = np.exp(log_w)
        return np.asarray(_chi1(k, w, _fixed_points(k, w, sigma_b2)) > 1.0)

    valid = ~above(lo) & above(hi)
    for _ in range(_BISECT):
        checkpoint()  # a caller may stop the diagram here (kaiming._interrupt)
        mid = 0.5 * (lo + hi)
        up = above(mid)
        lo, hi = np.where(up, lo, mid), np.where(up, mid, hi)
    return [float(np.exp(0.5 * (a + b))) if ok else None for a, b, ok in zip(lo, hi, valid, strict=True)]


def critical_sigma_w2(
    activation: str = "tanh", sigma_b2: float = 0.0, *, activation_param: float | None = None
) -> float | None:
    """The ``sigma_w2`` where ``chi_1 = 1`` at this ``sigma_b2`` (``None`` if none in [1e-2, 1e2]).

    Example:
        >>> critical_sigma_w2("relu")                          # He: sigma_w2 = 2
        2.0
        >>> round(critical_sigma_w2("tanh", 0.0), 3), round(critical_sigma_w2("tanh", 0.05), 3)
        (1.0, 1.76)
    """
    name, param = resolve_activation(activation, activation_param)
    sb = check_nonnegative("sigma_b2", sigma_b2)
    return _critical(Kernels(name, param), np.array([sb]))[0]


def phase_point(
    init: str = "he_normal",
    activation: str = "relu",
    *,
    width: int = 512,
    bias_std: float = 0.0,
    activation_param: float | None = None,
    mode: str | None = None,
    std: float | None = None,
    gain: float | None = None,
) -> tuple[float, float]:
    """``(sigma_w2, sigma_b2)`` of a probe network with square ``width x width`` layers.

    ``sigma_w2 = Var[W] * fan_in`` (``init``, ``mode``, ``std``, ``gain`` as in ``kaiming.probe``),
    ``sigma_b2 = bias_std**2``.

    Example:
        >>> phase_point("he", "relu"), phase_point("xavier", "relu")
        ((2.0000000000000004, 0.0), (1.0, 0.0))
        >>> phase_point("random", "tanh", width=100, std=0.1, bias_std=0.2)
        (1.0000000000000002, 0.04000000000000001)
    """
    name, param = resolve_activation(activation, activation_param)
    spec = resolve_init(init, activation=name, activation_param=param, mode=mode, std=std, gain=gain)
    n = check_positive_int("width", width)
    sb = check_nonnegative("bias_std", bias_std)
    return spec.variance(n, n) * n, sb * sb


def phase_diagram(
    activation: str = "tanh",
    sigma_w2: Sequence[float] | NDArray[np.floating] | None = None,
    sigma_b2: Sequence[float] | NDArray[np.floating] | None = None,
    *,
    activation_param: float | None = None,
) -> PhaseDiagram:
    """``chi_1`` on a ``(sigma_b2, sigma_w2)`` grid, the critical line and the named inits.

    ``chi_1 = sigma_w2 * E[phi'(sqrt(q*) z)**2]`` with ``q*`` the variance fixed point. Defaults:
    ``sigma_w2`` 0.25..4 (40 values), ``sigma_b2`` 0..0.5 (21 values). Rows are ``sigma_b2``.

    Example:
        >>> d = phase_diagram("relu", [1.0, 2.0, 3.0], [0.0, 0.1])
        >>> d.chi_1[0], d.critical_sigma_w2                # ReLU: chi_1 = sigma_w2 / 2
        ((0.5, 1.0, 1.5), (2.0, 2.0))
        >>> [(i["name"], round(i["chi_1"], 3)) for i in d.inits]
        [('he_normal', 1.0), ('xavier_normal', 0.5), ('lecun_normal', 0.5)]
        >>> import json; len(json.dumps(d.to_dict())) > 0
        True
    """
    name, param = resolve_activation(activation, activation_param)
    sw = _grid("sigma_w2", sigma_w2, np.linspace(0.25, 4.0, 40))
    sb = _grid("sigma_b2", sigma_b2, np.linspace(0.0, 0.5, 21))
    k = Kernels(name, param)
    grid_w, grid_b = np.meshgrid(sw, sb)
    q = _fixed_points(k, grid_w.ravel(), grid_b.ravel())
    chi = _chi1(k, grid_w.ravel(), q).reshape(grid_w.shape)
    q = q.reshape(grid_w.shape)
    inits = []
    for init in NAMED_INITS:
        checkpoint()
        w2, b2 = phase_point(init, name, activation_param=activation_param)
        chi_init = float(_chi1(k, np.array([w2]), _fixed_points(k, np.array([w2]), np.array([b2])))[0])
        inits.append({"name": init, "sigma_w2": w2, "sigma_b2": b2, "chi_1": chi_init})
    return PhaseDiagram(
        name,
        param,
        tuple(float(v) for v in sw),
        tuple(float(v) for v in sb),
        tuple(tuple(float(v) for v in row) for row in chi),
        tuple(tuple(float(v) for v in row) for row in q),
        tuple(_critical(k, sb)),
        tuple(inits),
    )
