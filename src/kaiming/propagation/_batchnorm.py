"""Finite-batch mean-field theory of batch normalization (internal; used by ``theory``).

Per unit, batch norm maps the ``B`` raw pre-activations ``y`` of a batch to
``x = (y - mean(y)) / sqrt(s2 + eps)`` with the biased batch variance ``s2``. In a wide network
at its permutation-symmetric fixed point (Yang et al., "A Mean Field Theory of Batch
Normalization", ICLR 2019), ``x`` is uniform on the sphere of radius ``sqrt(B)`` in the
``(B - 1)``-dimensional subspace orthogonal to ``(1, ..., 1)``: two entries of one unit have
correlation ``-1 / (B - 1)``, and ``s2`` is ``E[s2] * chi2_{B-1} / (B - 1)``. Three finite-batch
effects follow, each of order ``1 / B``:

1. The batch variance of ``h = phi(x)`` is ``S = ((B - 1) Var[phi] + E[z phi]**2) / B`` (for
   ``phi = id``: exactly 1), so ``E[s2] = sigma_w**2 S`` for the next layer. The network's input
   is i.i.d., with ``S = Var[x] (B - 1) / B``.
2. ``E[1 / s2] = (B - 1) / (B - 3) / E[s2]`` (the mean of an inverse chi-square), so the
   backward pass is amplified beyond ``1 / E[s2]``. With ``eps`` this is taken as
   ``1 / (E[s2] (B - 3) / (B - 1) + eps)``; it needs ``B > 3`` (``B <= 3``: ``1 / (E[s2] + eps)``).
3. The backward map ``dL/dy = (I - 11^T/B - x x^T/B) (phi'(x) * u) / sqrt(s2 + eps)`` projects out
   two directions. Below the top layer the incoming gradient ``u = dL/dh`` is itself centered
   (it is a sum of such projections), isotropic in the ``B - 1`` dimensions; with
   ``d = phi'(x)``, ``D = E[d**2]``, ``Q = E[z**2 d**2]`` and the pair moments
   ``E[d_1 d_2] = m**2 - a**2 / (B - 1)`` and ``E[x_1 d_1 x_2 d_2] = a**2 - c**2 / (B - 1)``
   (first Hermite order in the correlation ``-1 / (B - 1)``; ``m = E[phi']``,
   ``a = E[z phi']``, ``c = E[z**2 phi']``), the kept share of ``E|d * u|**2`` is::

       kept = (B D - 2 D + D / B - Q (B - 1) / B + (B - 1) (M2 + R2) / B) / ((B - 1) D)

   For ``phi = id`` this is ``(B - 2) / (B - 1)``. At the top layer ``u`` is the i.i.d. output
   gradient and ``kept = 1 - (1 + Q / D) / B``.

Together, with ``E[s2] = sigma_w**2 S``, each layer multiplies the gradient variance by
``(fan_out / fan_in) * D * kept * (B - 1) / ((B - 3) S)``: ``(B - 2) / (B - 3)`` for a linear
network and ``pi / (pi - 1) = 1.467`` for ReLU as ``B -> oo`` (Yang et al.'s rate), more at small
batches (ReLU, width 512, depth 30: measured 1.584 per layer at ``B = 16`` against 1.585 here).
"""

from __future__ import annotations

import math

import numpy as np

from .._activations import get_activation
from ._quadrature import gaussian_nodes

__all__ = ["BatchMoments", "batch_moments", "batch_variance", "inverse_variance", "kept_share"]


class BatchMoments:
    """``E[phi']``, ``E[z phi']``, ``E[z**2 phi']`` and ``E[z phi]`` for ``z ~ N(0, q)``."""

    __slots__ = ("a", "c", "e", "m")

    def __init__(self, m: float, a: float, c: float, e: float) -> None:
        self.m, self.a, self.c, self.e = m, a, c, e


def batch_moments(activation: str, q: float, param: float) -> BatchMoments:
    """The extra Gaussian moments batch norm needs (closed forms for the ReLU family)."""
    if activation == "linear":
        return BatchMoments(1.0, 0.0, q, q)
    if activation in ("relu", "leaky_relu", "prelu"):
        slope = 0.0 if activation == "relu" else param
        half = math.sqrt(q / (2.0 * math.pi))
        # E[phi'] = (1 + a)/2, E[z phi'] = (1 - a) sqrt(q / 2 pi), E[z^2 phi'] = (1 + a) q / 2,
        # E[z phi] = E[z^2 phi'] (Stein).
        return BatchMoments(
            (1.0 + slope) / 2.0, (1.0 - slope) * half, (1.0 + slope) * q / 2.0, (1.0 + slope) * q / 2.0
        )
    act = get_activation(activation)
    z, weights = gaussian_nodes(q)
    with np.errstate(over="ignore", invalid="ignore"):
        d = act.grad(z, param)
        phi = act(z, param)
    return BatchMoments(
        float(weights @ d), float(weights @ (z * d)), float(weights @ (z * z * d)), float(weights @ (z * phi))
    )


def batch_variance(variance: float, extra: BatchMoments, batch: int) -> float:
    """Expected biased batch variance of ``h = phi(x)`` for a batch-normalized ``x`` (effect 1)."""
    return ((batch - 1) * variance + extra.e**2) / batch


def inverse_variance(raw: float, batch: int, eps: float) -> float:
    """``E[1 / (s2 + eps)]`` for ``E[s2] = raw`` (effect 2)."""
    if batch <= 3:
        return 1.0 / (raw + eps)
    return 1.0 / (raw * (batch - 3) / (batch - 1) + eps)


def kept_share(
    deriv_second: float, z2_deriv_second: float, extra: BatchMoments, batch: int, *, top: bool
) -> float:
    """Share of ``E|phi'(x) * u|**2`` the normalization's backward projection keeps (effect 3)."""
    big_d, big_q, n = deriv_second, z2_deriv_second, float(batch)
    if big_d <= 0:
        return 0.0
    if top or batch < 2:
        return max(1.0 - (1.0 + big_q / big_d) / n, 0.0)
    rho = -1.0 / (n - 1.0)
    pairs = extra.m**2 + rho * extra.a**2 + extra.a**2 + rho * extra.c**2
    kept = (n * big_d - 2.0 * big_d + big_d / n - big_q * (n - 1.0) / n + (n - 1.0) * pairs / n) / (
        (n - 1.0) * big_d
    )
    return max(kept, 0.0)
