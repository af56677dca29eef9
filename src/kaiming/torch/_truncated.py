"""A truncated normal by the inverse CDF that stays exact in the tails (internal).

``truncated_normal(shape, mean, std, low, high, gen, dtype, device)`` draws ``N(mean, std**2)``
restricted to the open interval ``(low, high)``. With ``alpha = (low - mean) / std`` and
``beta = (high - mean) / std`` and ``u ~ U(0, 1)`` in float64 (0 itself
replaced by ``2**-54``):

- the interval holds at least half of the mass (``Phi(beta) - Phi(alpha) >= 1/2``, e.g. the
  usual ``±2`` std): float64 normal draws, those outside redrawn until none is (exact, and
  fast: each round redraws at most half of the rest);
- otherwise, the interval holds the mean (``alpha < 0 < beta``): ``x = ndtri(Phi(alpha) + u (Phi(beta) -
  Phi(alpha)))`` — ``ndtri``, the inverse of the standard normal CDF ``Phi``, is accurate to
  float64 precision over its whole range, far past the ±5.6 sigma a float32 inverse reaches;
- the interval lies on one side (``alpha >= 0``; ``beta <= 0`` is mirrored onto it): the
  complementary CDF ``Q(x) = Phi(-x)`` of the nearer bound is used, in logarithms:
  ``log q = log Q(alpha) + log(u + (1 - u) Q(beta) / Q(alpha))`` and ``x`` solves
  ``log Q(x) = log q`` — started from the exponential tail ``alpha - log(1 - (1 - u) (1 -
  exp(-alpha (beta - alpha)))) / alpha`` (or ``-ndtri(q)`` where ``q`` is a normal float64)
  and refined by Newton steps on ``log Q`` (``d log Q / dx = -phi(x) / Q(x)``), so intervals
  such as ``[6, 7]`` or ``[40, 41]`` sigma get their exact conditional distribution. From
  ``alpha >= EXPONENTIAL_FROM`` (``1e4``) on, ``Q(alpha + t) / Q(alpha) = exp(-alpha t)`` to a
  relative ``t**2 / 2 <= 1e-8``, so the offset ``t`` is drawn from that exponential directly
  (Newton steps on ``x = alpha + t`` could no longer resolve ``t ~ 1 / alpha``). Tail values are
  formed from the nearer bound, ``low + std t`` (``high - std t`` mirrored), not from the mean:
  with a mean far outside the interval (``mean = 1e20``, ``std = 1``, ``(0, 1)``), ``mean + std x``
  would cancel to nothing, while the true values lie within ``std / alpha`` of the bound.

The values are then rounded to ``dtype`` (float16/bfloat16 through float32, like every
initializer here) and clamped to the representable values strictly inside ``(low, high)``, so
no value is ever on or outside a bound. The work is done in chunks of ``2**22`` elements: the
float64 temporaries stay near 100 MB whatever the tensor's size.

``truncated_normal_from`` takes its uniforms from a function instead of a generator (the
counter stream of ``key=``): it always uses the inverse CDF (central or tail, as above), so
value ``i`` is a function of uniform ``i`` alone, whatever the chunking or sharding.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch

__all__ = ["Uniforms", "inner_bounds", "truncated_normal", "truncated_normal_from"]

_CHUNK = 1 << 22
EXPONENTIAL_FROM = 1e4
"""From this ``alpha`` on, a one-sided tail's offset from its bound is drawn as an exponential."""
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_NEWTON_STEPS = 6


def _standard_central(u: torch.Tensor, alpha: float, beta: float) -> torch.Tensor:
    lo = torch.special.ndtr(torch.tensor(alpha, dtype=torch.float64))
    hi = torch.special.ndtr(torch.tensor(beta, dtype=torch.float64))
    z: torch.Tensor = torch.special.ndtri(lo + u * (hi - lo))
    return z


def _standard_rejection(
    n: int, alpha: float, beta: float, gen: torch.Generator, device: torch.device
) -> torch.Tensor:
    """Standard normal restricted to ``(alpha, beta)`` by redrawing the values outside (exact;
    used when the interval holds at least half of the mass, so few redraws are needed)."""
    z = torch.randn(n, dtype=torch.float64, generator=gen, device=device)
    outside = ((z <= alpha) | (z >= beta)).nonzero().squeeze(1)
    while outside.numel():
        fresh = torch.randn(outside.numel(), dtype=torch.float64, generator=gen, device=device)
        z[outside] = fresh
        outside = outside[(fresh <= alpha) | (fresh >= beta)]
    return z


def _exponential_offsets(u: torch.Tensor, alpha: float, width: float) -> torch.Tensor:
    """Offsets ``t`` in ``[0, width]`` with density proportional to ``exp(-alpha t)`` (``alpha > 0``):
    far out, ``Q(alpha + t) / Q(alpha) = exp(-alpha t)`` to a relative ``t**2 / 2``."""
    return -torch.log1p((1.0 - u) * math.expm1(-alpha * width)) / alpha


def _standard_tail(u: torch.Tensor, alpha: float, width: float) -> torch.Tensor:
    """Offsets ``t = x - alpha >= 0`` of standard normal values ``x`` restricted to
    ``[alpha, alpha + width]`` with ``alpha >= 0`` (``width`` may be inf)."""
    if alpha >= EXPONENTIAL_FROM:
        return _exponential_offsets(u, alpha, width)
    f64 = torch.float64
    beta = alpha + width
    log_qa = float(torch.special.log_ndtr(torch.tensor(-alpha, dtype=f64)))
    log_qb = (
        float(torch.special.log_ndtr(torch.tensor(-beta, dtype=f64))) if math.isfinite(beta) else -math.inf
    )
    ratio = math.exp(log_qb - log_qa)  # Q(beta) / Q(alpha) in [0, 1)
    log_q = log_qa + torch.log(u + (1.0 - u) * ratio)
    # starting point: -ndtri(q) where q is a normal float64, else the exponential tail
    q = torch.exp(log_q)
    x = torch.where(q > 1e-300, -torch.special.ndtri(q.clamp(min=1e-300)), torch.zeros_like(q))
    if alpha > 0:
        x = torch.where(q > 1e-300, x, alpha + _exponential_offsets(u, alpha, width))
    for _ in range(_NEWTON_STEPS):
        log_qx = torch.special.log_ndtr(-x)
        slope = -torch.exp(-0.5 * x * x - _LOG_SQRT_2PI - log_qx)  # d log Q / dx
        x = x - (log_qx - log_q) / slope
    return x - alpha


def inner_bounds(low: float, high: float, dtype: torch.dtype) -> tuple[float, float]:
    """The closest values of ``dtype`` strictly inside ``(low, high)``; ValueError if there is none."""
    lo_t = torch.tensor(low, dtype=dtype)
    hi_t = torch.tensor(high, dtype=dtype)
    lo_in = torch.nextafter(lo_t, torch.tensor(math.inf, dtype=dtype)) if float(lo_t) <= low else lo_t
    hi_in = torch.nextafter(hi_t, torch.tensor(-math.inf, dtype=dtype)) if float(hi_t) >= high else hi_t
    if not float(lo_in) <= float(hi_in):
        raise ValueError(
            f"no {dtype} value lies strictly inside (a, b) = ({low}, {high}); widen the interval"
        )
    return float(lo_in), float(hi_in)


class _Interval(NamedTuple):
    """A truncation ``(low, high)`` of ``N(mean, std**2)`` in standard units, mirrored so that
    ``beta > 0``, with its width ``(high - low) / std`` (not ``beta - alpha``, which loses it when
    the mean is far away), the bound nearer the mean, the ``dtype`` values just inside the bounds
    and the mass it holds."""

    mean: float
    std: float
    alpha: float
    beta: float
    width: float
    near: float
    mirrored: bool
    inner: tuple[float, float]
    mass: float


def _interval(mean: float, std: float, low: float, high: float, dtype: torch.dtype) -> _Interval:
    alpha, beta = (low - mean) / std, (high - mean) / std
    mirrored = beta <= 0.0
    if mirrored:
        alpha, beta = -beta, -alpha
    mass = float(torch.special.ndtr(torch.tensor(beta, dtype=torch.float64)))
    mass -= float(torch.special.ndtr(torch.tensor(alpha, dtype=torch.float64)))
    width = (high - low) / std
    near = high if mirrored else low
    return _Interval(mean, std, alpha, beta, width, near, mirrored, inner_bounds(low, high, dtype), mass)


def _from_mean(z: torch.Tensor, cut: _Interval) -> torch.Tensor:
    """``mean + std z`` for standard values ``z`` of the (unmirrored) interval, in float64."""
    return (-z if cut.mirrored else z).mul_(cut.std).add_(cut.mean)


def _inverse_cdf(u: torch.Tensor, cut: _Interval) -> torch.Tensor:
    """float64 values restricted to ``(low, high)`` from float64 ``u`` in (0, 1): a one-sided
    tail as offsets from the nearer bound, otherwise ``mean + std z``."""
    u.clamp_(min=2.0**-54)  # the open interval (0, 1): never the CDF of an unbounded tail
    if cut.alpha >= 0.0:
        t = _standard_tail(u, cut.alpha, cut.width)
        return t.mul_(-cut.std if cut.mirrored else cut.std).add_(cut.near)
    return _from_mean(_standard_central(u, cut.alpha, cut.beta), cut)


def _finish(values: torch.Tensor, cut: _Interval, dtype: torch.dtype) -> torch.Tensor:
    """float64 ``values`` rounded to ``dtype`` and clamped strictly inside the bounds."""
    # half/bfloat16 through float32, so they are the float32 values rounded once more
    work = torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype
    return values.to(work).to(dtype).clamp_(*cut.inner)


def truncated_normal(
    shape: tuple[int, ...],
    mean: float,
    std: float,
    low: float,
    high: float,
    gen: torch.Generator,
    dtype: torch.dtype,
    device: torch.device,
) -> torch.Tensor:
    """``N(mean, std**2)`` restricted to ``(low, high)``, as a ``dtype`` tensor of ``shape``."""
    cut = _interval(mean, std, low, high, dtype)
    n = math.prod(shape)
    out = torch.empty(n, dtype=dtype, device=device)
    for start in range(0, n, _CHUNK):
        stop = min(n, start + _CHUNK)
        if cut.mass >= 0.5:
            values = _from_mean(_standard_rejection(stop - start, cut.alpha, cut.beta, gen, device), cut)
        else:
            u = torch.rand(stop - start, dtype=torch.float64, generator=gen, device=device)
            values = _inverse_cdf(u, cut)
        out[start:stop] = _finish(values, cut, dtype)
    return out.reshape(shape)


Uniforms = Callable[[int, int], torch.Tensor]
"""``uniforms(start, stop)``: float64 values in (0, 1) for rows ``start:stop`` (along the first
dimension; a 0-d tensor is one row) of the tensor being filled, flattened in C order."""


def truncated_normal_from(
    shape: tuple[int, ...],
    mean: float,
    std: float,
    low: float,
    high: float,
    uniforms: Uniforms,
    dtype: torch.dtype,
    device: torch.device,
) -> torch.Tensor:
    """``truncated_normal`` with the uniforms given by ``uniforms`` (e.g. a counter stream):
    always the inverse CDF (no redraws), so value ``i`` depends on uniform ``i`` only."""
    cut = _interval(mean, std, low, high, dtype)
    rows = shape[0] if shape else 1
    per_row = math.prod(shape[1:])
    step = max(1, _CHUNK // max(per_row, 1))
    out = torch.empty((rows, per_row), dtype=dtype, device=device)
    for start in range(0, rows, step):
        stop = min(rows, start + step)
        values = _inverse_cdf(uniforms(start, stop).to(device=device, dtype=torch.float64), cut)
        out[start:stop] = _finish(values, cut, dtype).reshape(stop - start, per_row)
    return out.reshape(shape)
