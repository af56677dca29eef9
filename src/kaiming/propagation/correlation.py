"""Beyond variance: the correlation map, its fixed point and the depth scales.

Mean-field theory of a deep fully-connected network (Poole et al. 2016, "Exponential
expressivity in deep neural networks through transient chaos"; Schoenholz et al. 2017, "Deep
Information Propagation"). Layers ``z_{l+1} = phi(z_l) @ W + b`` with ``Var[W] = sigma_w2 / fan_in``
and ``Var[b] = sigma_b2``. In the wide limit the pre-activations of one input are ``N(0, q_l)`` and
those of two inputs are jointly Gaussian with correlation ``c_l``::

    q_{l+1} = sigma_w2 * E[phi(u)**2] + sigma_b2,                      u ~ N(0, q_l)
    c_{l+1} = (sigma_w2 * E[phi(u1) phi(u2)] + sigma_b2) / q_{l+1}       (u1, u2) ~ N(0, q_l), corr c_l

At the variance fixed point ``q*`` the denominator is ``q*`` (the papers' form). The map's stable
fixed point is ``c*``; ``c = 1`` is always fixed, and it is stable exactly when

    chi_1 = sigma_w2 * E[phi'(sqrt(q*) z)**2] <= 1          (ordered phase, c* = 1)

otherwise (chaotic phase) a ``c* < 1`` attracts. The slope of the map at ``c*`` is
``chi_c = sigma_w2 * E[phi'(u1) phi'(u2)]`` (``= chi_1`` when ``c* = 1``), and the depth scales are
``xi_c = -1 / ln(chi_c)`` (correlations approach ``c*`` as ``exp(-l / xi_c)``) and
``xi_q = -1 / ln(dq_{l+1}/dq_l at q*)``, ``dq_{l+1}/dq = chi_1 + sigma_w2 * E[phi phi'']``. Both diverge
on the critical line ``chi_1 = 1``, where signals travel arbitrarily deep. ``chi_1`` is also the
per-layer factor of the mean squared singular value of the input-output Jacobian, and of the
gradient variance in backpropagation.

Conventions: ``q*`` is the limit of the variance recursion started from ``q_1 = sigma_w2 +
sigma_b2`` (unit-variance inputs, as in ``kaiming.probe``). It is ``inf`` where the variance grows
without bound (e.g. ReLU with ``sigma_w2 > 2``); there the positively homogeneous activations
(linear, ReLU, leaky ReLU/PReLU) use their exact ``q``-independent maps, and the others are
evaluated at ``q = 1e12`` (the ``q -> inf`` limit to many digits). It is ``0`` where the signal
vanishes (``sigma_b2 = 0`` in the ordered phase); then ``chi_1 = sigma_w2 * phi'(0)**2`` and
``xi_c`` is the paper's ``-1/ln chi_1``. Batch norm is not covered here: with it ``q = 1`` at every
layer and the mean pairwise correlation of a batch of ``B`` inputs is pinned near
``-1/(B - 1)`` (the batch mean is subtracted per unit); ``kaiming.probe`` reports that value as
its theory.

Closed forms: linear and the arc-cosine kernel of ReLU / leaky ReLU; every other activation by
quadrature (``kaiming.propagation._kernels``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._checks import check_nonnegative, check_real
from .._json import jsonable
from ._inits import resolve_activation
from ._kernels import Kernels
from .theory import Network, layer_fans

__all__ = ["DepthScales", "correlation_map", "correlation_profile", "depth_scales", "fixed_point_q"]

Array = NDArray[np.float64]
Q_INFINITE = 1e12
"""Where ``q -> inf`` is evaluated for activations that are not positively homogeneous."""
_Q_DIVERGED = 1e10
_Q_TINY = 1e-12
_BISECT = 42


def _check_c(name: str, c: object) -> float:
    value = check_real(name, c)
    if not -1.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a correlation in [-1, 1], got {value}")
    return value


def check_input_corr(value: object) -> float:
    """Validate a probe's ``input_corr``: a real number in [0, 1]."""
    corr = check_real("input_corr", value)
    if not 0.0 <= corr <= 1.0:
        raise ValueError(f"input_corr must be in [0, 1] (the inputs' pairwise correlation), got {corr}")
    return corr


def _check_sigmas(sigma_w2: object, sigma_b2: object) -> tuple[float, float]:
    return check_nonnegative("sigma_w2", sigma_w2), check_nonnegative("sigma_b2", sigma_b2)


def _fixed_points(k: Kernels, sw: Array, sb: Array) -> Array:
    """``q*`` for arrays of ``sigma_w2`` and ``sigma_b2`` (same shape), vectorized."""
    sw, sb = np.broadcast_arrays(np.asarray(sw, float), np.asarray(sb, float))
    q1 = sw + sb
    if k.homogeneous:
        chi = sw * k.factor
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.where(chi < 1.0, sb / np.where(chi < 1.0, 1.0 - chi, 1.0), np.inf)
        q = np.where((chi == 1.0) & (sb == 0.0), q1, q)
        return np.asarray(q, dtype=np.float64)

    def step(q: Array) -> Array:
        return np.asarray(sw * k.second(q) + sb)

    q = q1.copy()
    for _ in range(12):  # into the basin of the stable fixed point reached from q_1
        q = np.minimum(step(q), _Q_DIVERGED)
    gap = step(q) - q
    lo, hi = q.copy(), q.copy()
    for _ in range(80):  # bracket: below where the map falls, above where it rises
        down = (gap < 0) & (step(lo) < lo) & (lo > 1e-300)
        lo = np.where(down, lo / 4.0, lo)
        up = (gap > 0) & (step(hi) > hi) & (hi < _Q_DIVERGED)
        hi = np.where(up, hi * 4.0, hi)
        if not (down.any() or up.any()):
            break
    vanished = (gap < 0) & (step(lo) < lo)
    diverged = (gap > 0) & (step(hi) > hi)
    lo_log, hi_log = np.log(np.maximum(lo, 1e-300)), np.log(np.maximum(hi, 1e-300))
    for _ in range(_BISECT):
        mid = 0.5 * (lo_log + hi_log)
        rising = step(np.exp(mid)) > np.exp(mid)
        lo_log, hi_log = np.where(rising, mid, lo_log), np.where(rising, hi_log, mid)
    q_star = np.exp(0.5 * (lo_log + hi_log))
    q_star = np.where(gap == 0, q, q_star)
    q_star = np.where(vanished | (q_star < _Q_TINY), 0.0, q_star)
    return np.asarray(np.where(diverged, np.inf, q_star), dtype=np.float64)


def fixed_point_q(
    activation: str = "tanh",
    sigma_w2: float = 1.0,
    sigma_b2: float = 0.0,
    *,
    activation_param: float | None = None,
) -> float:
    """The variance fixed point ``q* = sigma_w2 * E[phi(sqrt(q*) z)**2] + sigma_b2``.

    The stable fixed point reached from ``q_1 = sigma_w2 + sigma_b2``; ``inf`` if the variance
    grows without bound, ``0`` if it vanishes.

    Example:
        >>> fixed_point_q("relu", 1.0, 0.5)          # sigma_b2 / (1 - sigma_w2 / 2)
        1.0
        >>> round(fixed_point_q("tanh", 1.5, 0.1), 4)
        0.5202
        >>> fixed_point_q("relu", 2.5, 0.0)
        inf
    """
    name, param = resolve_activation(activation, activation_param)
    sw, sb = _check_sigmas(sigma_w2, sigma_b2)
    return float(_fixed_points(Kernels(name, param), np.array([sw]), np.array([sb]))[0])


def _eval_q(k: Kernels, q: float) -> float:
    """Where to evaluate ``q``-dependent kernels: ``q -> inf`` at ``Q_INFINITE``, ``q = 0`` at 1e-12."""
    if math.isinf(q):
        return Q_INFINITE
    return max(q, _Q_TINY)


def _map_at(k: Kernels, c: float, q: float, sw: float, sb: float) -> float:
    """``c_{l+1}`` from ``(q_l, c_l)``, normalized by ``q_{l+1}`` (``= q*`` at the fixed point)."""
    if q >= Q_INFINITE:
        q, sb = math.inf, 0.0  # the bias is negligible against an unbounded signal
    q = 1.0 if k.homogeneous and (math.isinf(q) or q == 0.0) and sb == 0.0 else _eval_q(k, q)
    cov = sw * k.pair(q, c) + sb
    var = sw * float(k.second(np.array(q))) + sb
    return max(-1.0, min(1.0, cov / var)) if var > 0 else 1.0


def correlation_map(
    c: float,
    activation: str = "tanh",
    sigma_w2: float = 1.0,
    sigma_b2: float = 0.0,
    *,
    q: float | None = None,
    activation_param: float | None = None,
) -> float:
    """One layer of the correlation map: ``c_{l+1}`` from ``c_l``.

    ``c_{l+1} = (sigma_w2 * E[phi(u1) phi(u2)] + sigma_b2) / (sigma_w2 * E[phi(u)**2] + sigma_b2)``
    with ``u1, u2 ~ N(0, q)`` of correlation ``c`` (at ``q = q*``, the default, the denominator is
    ``q*``). ReLU's map is the arc-cosine kernel ``(sqrt(1 - c**2) + (pi - arccos c) c) / pi`` when
    ``sigma_b2 = 0``.

    Example:
        >>> round(correlation_map(0.0, "relu", 2.0), 4)    # 1/pi: ReLU correlates independent inputs
        0.3183
        >>> round(correlation_map(1.0, "tanh", 1.5, 0.1), 12)   # c = 1 is always a fixed point
        1.0
        >>> round(correlation_map(0.5, "tanh", 1.0, 0.0, q=1.0), 4)
        0.4726
    """
    name, param = resolve_activation(activation, activation_param)
    cc = _check_c("c", c)
    sw, sb = _check_sigmas(sigma_w2, sigma_b2)
    k = Kernels(name, param)
    if q is None:
        q_value = float(_fixed_points(k, np.array([sw]), np.array([sb]))[0])
    else:
        q_value = check_nonnegative("q", q)
    return _map_at(k, cc, q_value, sw, sb)


@dataclass(frozen=True)
class DepthScales:
    """Fixed points, slopes and depth scales of one ``(activation, sigma_w2, sigma_b2)``.

    ``phase`` is ``"ordered"`` (``chi_1 < 1``), ``"critical"`` (``|chi_1 - 1| < 1e-9``) or
    ``"chaotic"``. Infinite depth scales are ``inf`` (``None`` in ``to_dict``).
    """

    activation: str
    activation_param: float
    sigma_w2: float
    sigma_b2: float
    q_star: float
    c_star: float
    chi_1: float
    chi_c: float
    xi_q: float
    xi_c: float
    phase: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (non-finite numbers become ``None``)."""
        result = jsonable(asdict(self))
        assert isinstance(result, dict)
        return result


def _depth(slope: float) -> float:
    if not slope > 0:
        return 0.0
    if slope >= 1.0 - 1e-11:  # critical to the precision of q* and the quadrature
        return math.inf
    return -1.0 / math.log(slope)


def _chi1(k: Kernels, sw: Array, q: Array) -> Array:
    q_eval = np.where(np.isinf(q), Q_INFINITE, q)
    return np.asarray(sw * k.deriv_second(q_eval))


def _c_star(k: Kernels, q: float, sw: float, sb: float, chi1: float) -> float:
    if chi1 <= 1.0 + 1e-12:
        return 1.0
    # f(c) - c > 0 below c*, < 0 above: c = 1 is unstable here and, for an odd activation without
    # bias, so is c = -1 (the map is odd), so c* lies strictly inside.
    lo, hi = -1.0 + 1e-9, 1.0 - 1e-9
    for _ in range(_BISECT):
        mid = 0.5 * (lo + hi)
        if _map_at(k, mid, q, sw, sb) > mid:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def depth_scales(
    activation: str = "tanh",
    sigma_w2: float = 1.0,
    sigma_b2: float = 0.0,
    *,
    activation_param: float | None = None,
) -> DepthScales:
    """``q*``, ``c*``, ``chi_1``, ``chi_c`` and the depth scales ``xi_q``, ``xi_c``.

    ``chi_1 = sigma_w2 E[phi'(sqrt(q*) z)**2]``, ``chi_c = sigma_w2 E[phi'(u1) phi'(u2)]`` at
    ``(q*, c*)``, ``xi_c = -1/ln chi_c``, ``xi_q = -1/ln(chi_1 + sigma_w2 E[phi phi''])``. A depth
    scale is ``inf`` where its slope is 1 (critical) or above (``xi_q`` where the variance diverges,
    ``q* = inf``; there ``chi_c`` is the slope of the normalized map, see the module docstring).

    Example:
        >>> s = depth_scales("relu", 2.0)                   # He init: critical
        >>> s.chi_1, s.phase, s.xi_c
        (1.0, 'critical', inf)
        >>> depth_scales("relu", 1.0).chi_1                 # Xavier with ReLU: ordered
        0.5
        >>> s = depth_scales("tanh", 2.5, 0.05)
        >>> s.phase, round(s.chi_1, 3), round(s.c_star, 3), round(s.xi_c, 1)
        ('chaotic', 1.134, 0.447, 11.8)
    """
    name, param = resolve_activation(activation, activation_param)
    sw, sb = _check_sigmas(sigma_w2, sigma_b2)
    k = Kernels(name, param)
    q = float(_fixed_points(k, np.array([sw]), np.array([sb]))[0])
    chi1 = float(_chi1(k, np.array([sw]), np.array([q]))[0])
    q_eval = _eval_q(k, q)
    if math.isinf(q):
        # The variance grows without bound: the normalized map's slope at c is
        # q E[phi'(u1) phi'(u2)] / E[phi(u)**2] (sigma_w2 and the bias drop out); 1 at c = 1 for
        # the positively homogeneous activations, whose correlations then approach 1 slowly.
        q_eval = 1.0 if k.homogeneous else Q_INFINITE
        norm = q_eval / float(k.second(np.array(q_eval)))
        c_star = _c_star(k, q, sw, sb, norm * k.deriv_pair(q_eval, 1.0))
        chi_c = norm * k.deriv_pair(q_eval, c_star)
    else:
        c_star = _c_star(k, q, sw, sb, chi1)
        chi_c = chi1 if c_star == 1.0 else sw * k.deriv_pair(q_eval, c_star)
    slope_q = sw * float(k.slope_term(np.array(_eval_q(k, q))))
    phase = "critical" if abs(chi1 - 1.0) < 1e-9 else ("ordered" if chi1 < 1.0 else "chaotic")
    return DepthScales(name, param, sw, sb, q, c_star, chi1, chi_c, _depth(slope_q), _depth(chi_c), phase)


def correlation_profile(net: Network, input_corr: float = 0.0) -> list[float]:
    """The theory's ``c_l`` per layer of a ``kaiming.probe`` network (``Network`` from
    ``resolve_network``), for inputs with ``E[x**2] = 1`` and pairwise correlation ``input_corr``.

    ``c_1 = (sigma_w2 * input_corr + sigma_b2) / (sigma_w2 + sigma_b2)``, then the two-input
    recursion of the module docstring, layer by layer with that layer's ``sigma_w2 = Var[W] *
    fan_in`` (not at the fixed point: ``q_l`` follows the variance recursion from ``q_1``). With
    batch norm every layer's value is ``-1 / (batch - 1)``: per unit the batch mean is removed, so
    the rows of ``z`` sum to zero and, with equal norms, their mean pairwise cosine is exactly that.

    Example:
        >>> from kaiming.propagation.theory import resolve_network
        >>> net = resolve_network("he", "relu", 3, 64, 32, None, None, None, None, 0.0, False)
        >>> [round(c, 4) for c in correlation_profile(net, 0.0)]   # 0, then the arc-cosine map
        [0.0, 0.3183, 0.4937]
    """
    c0 = _check_c("input_corr", input_corr)
    if net.batch_norm:
        return [-1.0 / (net.batch - 1) if net.batch > 1 else 1.0] * len(net.widths)
    fans = layer_fans(net.widths)
    sigma_w2 = tuple(net.spec.variance(fan_in, fan_out) * fan_in for fan_in, fan_out in fans)
    return list(_profile(net.activation, net.param, sigma_w2, net.bias_std**2, c0))


@lru_cache(maxsize=256)
def _profile(
    activation: str, param: float, sigma_w2: tuple[float, ...], sb: float, c0: float
) -> tuple[float, ...]:
    """The recursion of ``correlation_profile`` (cached: the explorer asks for the same network often)."""
    k = Kernels(activation, param)
    out: list[float] = []
    q, c = 1.0, c0  # E[x**2] and the input correlation
    for index, sw in enumerate(sigma_w2):
        if index == 0:
            q_next = sw + sb
            c = (sw * c0 + sb) / q_next if q_next > 0 else 1.0
        else:
            c = _map_at(k, c, q, sw, sb)
            q_next = sw * float(k.second(np.array(min(q, Q_INFINITE)))) + sb
        q = q_next if math.isfinite(q_next) else math.inf
        out.append(c)
    return tuple(out)
