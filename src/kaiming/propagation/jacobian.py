"""The input-output Jacobian's singular values: dynamical isometry at initialization.

For the probe's network (``z_l = h_{l-1} @ W_l + b_l``, ``h_l = phi(z_l)``, square ``width x width``
layers) and one input ``x``, the Jacobian ``J = dh_L/dx = D_L W_L^T ... D_1 W_1^T`` with
``D_l = diag(phi'(z_l))``. Pennington, Schoenholz & Ganguli (2017, "Resurrecting the sigmoid in
deep learning through dynamical isometry") predict the spectrum of ``J J^T`` (the squared
singular values ``lambda``) in the wide limit with free probability: the S-transform of a product
of free factors is the product of their S-transforms, and to first order
``S(z) = (1 - r z) / m`` for a factor with mean ``m`` and relative variance ``r = Var/m**2``. So
the mean and the relative variance of the whole spectrum are::

    mean[lambda]             = prod_l sigma_w2 * mu_1(q_l)              (= chi_1**L at q_l = q*)
    Var[lambda] / mean**2    = sum_l (r_W + mu_2(q_l) / mu_1(q_l)**2 - 1)

with ``mu_k(q) = E[phi'(sqrt(q) z)**(2k)]`` and ``r_W`` the relative variance of ``W W^T``'s
spectrum: 1 for i.i.d. entries (Marchenko-Pastur at aspect ratio 1: normal, uniform, truncated
normal) and 0 for orthogonal weights. For ReLU ``mu_2 / mu_1**2 = 2`` whatever ``q``, so the
spread grows like ``L`` even with orthogonal weights (``2 L`` with Gaussian ones): no ReLU network
is dynamically isometric. For tanh, ``mu_2 / mu_1**2 -> 1`` as ``q* -> 0``: orthogonal weights on
the critical line with a small ``q*`` keep every singular value near 1.

Measurement. ``method="exact"`` multiplies out ``J`` (``depth x width**3`` flops) and takes all
its singular values (``numpy.linalg.svd``). ``method="hutchinson"`` never forms ``J``:
with ``probes`` Rademacher (+-1) vectors ``v`` (Hutchinson's trace estimator, unbiased, with
variance from the off-diagonal entries only, so it is sharpest near isometry),
``mean = E|J^T v|**2 / n`` and ``Var[lambda] = E|(J J^T - mean I) v|**2 / n`` (biased up by the
square of the mean's own error), at ``4 x depth x width**2 x probes`` flops; it gives the two
moments but not the individual singular values. ``"auto"`` is exact up to
``width = 256``. Both keep the ``depth`` weight matrices (``depth x width**2`` float64).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._checks import check_choice, check_nonnegative, check_positive_int
from .._json import jsonable
from .._random import resolve_rng
from ._kernels import Kernels
from .correlation import _fixed_points
from .theory import resolve_network

__all__ = ["JACOBIAN_METHODS", "JacobianSpectrum", "jacobian_spectrum"]

JACOBIAN_METHODS = ("auto", "exact", "hutchinson")
EXACT_MAX_WIDTH = 256
"""``method="auto"`` is exact up to this width, Hutchinson's estimate above."""

Array = NDArray[np.float64]


@dataclass(frozen=True)
class JacobianSpectrum:
    """Measured and predicted moments of the squared singular values ``lambda`` of ``J``.

    ``mean``/``variance``/``relative_variance`` (``variance / mean**2``) are measured;
    ``squared_singular_values`` (descending) only with ``method="exact"``. ``theory_mean`` and
    ``theory_relative_variance`` are the free-probability predictions (module docstring).
    ``max``/``min`` (the extreme squared singular values) only with ``method="exact"``.
    """

    method: str
    init: str
    activation: str
    depth: int
    width: int
    sigma_w2: float
    sigma_b2: float
    input_std: float
    mean: float
    variance: float
    relative_variance: float
    max: float | None
    min: float | None
    theory_mean: float
    theory_relative_variance: float
    squared_singular_values: tuple[float, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (non-finite numbers become ``None``)."""
        result = jsonable(asdict(self))
        assert isinstance(result, dict)
        return result


def _theory(k: Kernels, sw: float, sb: float, depth: int, q1: float, r_w: float) -> tuple[float, float]:
    log_mean, spread, q = 0.0, 0.0, q1
    for _ in range(depth):
        q_eval = np.array(min(q, 1e12))
        mu1 = float(k.deriv_second(q_eval))
        mu2 = float(k.deriv_fourth(q_eval))
        log_mean += math.log(sw * mu1) if sw * mu1 > 0 else -math.inf
        spread += r_w + (mu2 / mu1**2 - 1.0 if mu1 > 0 else 0.0)
        q = sw * float(k.second(q_eval)) + sb
    return math.exp(log_mean), spread


def jacobian_spectrum(
    init: str = "orthogonal",
    activation: str = "tanh",
    depth: int = 32,
    width: int = 128,
    *,
    seed: int | None = 0,
    mode: str | None = None,
    std: float | None = None,
    gain: float | None = None,
    activation_param: float | None = None,
    bias_std: float = 0.0,
    input_std: float | None = 1.0,
    method: str = "auto",
    probes: int = 32,
) -> JacobianSpectrum:
    """Singular-value statistics of the input-output Jacobian ``J = dh_L/dx``, measured and predicted.

    Arguments as ``kaiming.probe`` (square layers of ``width``). The input ``x`` has i.i.d.
    ``N(0, input_std**2)`` entries; ``input_std=None`` starts the network at the variance fixed
    point ``q*`` (``input_std = sqrt((q* - sigma_b2) / sigma_w2)``, as Pennington et al. do).
    Randomness: one generator from ``seed`` draws ``x``, then per layer ``W_l`` and ``b_l``, then
    the Hutchinson probes. Prediction: ``mean = prod_l sigma_w2 mu_1(q_l)``,
    ``Var/mean**2 = sum_l (r_W + mu_2/mu_1**2 - 1)`` (module docstring).

    Example:
        >>> s = jacobian_spectrum("he_normal", "relu", depth=8, width=128)
        >>> round(s.theory_mean, 3), s.theory_relative_variance       # chi_1 = 1; 2 per layer
        (1.0, 16.0)
        >>> crit = 1.0 + 1e-4                                           # sigma_b2 = 0: near q* = 0
        >>> t = jacobian_spectrum("orthogonal", "tanh", depth=8, width=128, gain=crit ** 0.5,
        ...                       input_std=0.05)
        >>> t.relative_variance < 0.05 < s.relative_variance
        True

    Raises:
        ValueError / TypeError: as ``kaiming.probe``; an unknown ``method``; ``input_std=None``
            where ``q*`` is 0 or infinite.
    """
    net = resolve_network(
        init, activation, depth, width, 1, mode, std, gain, activation_param, bias_std, False
    )
    depth_value = len(net.widths)
    n = check_positive_int("width", width)
    method = check_choice("method", method, JACOBIAN_METHODS)
    probes = check_positive_int("probes", probes)
    if method == "auto":
        method = "exact" if n <= EXACT_MAX_WIDTH else "hutchinson"
    k = Kernels(net.activation, net.param)
    sw, sb = net.spec.variance(n, n) * n, net.bias_std**2
    if input_std is None:
        q_star = float(_fixed_points(k, np.array([sw]), np.array([sb]))[0])
        if not 0 < q_star < math.inf or sw == 0 or q_star < sb:
            raise ValueError(
                f"input_std=None needs a finite positive fixed point q*, got q*={q_star} for "
                f"sigma_w2={sw}, sigma_b2={sb}; pass input_std"
            )
        x_std = math.sqrt((q_star - sb) / sw)
    else:
        x_std = check_nonnegative("input_std", input_std)
    rng = resolve_rng(seed)
    h = rng.standard_normal(n) * x_std
    weights: list[Array] = []
    derivs: list[Array] = []
    act = k.act
    for _ in range(depth_value):
        w = net.spec.draw(n, n, np.dtype(np.float64), rng=rng)
        z = h @ w
        if sb > 0:
            z += rng.standard_normal(n) * net.bias_std
        derivs.append(np.asarray(act.grad(z, net.param), dtype=np.float64))
        h = np.asarray(act(z, net.param), dtype=np.float64)
        weights.append(np.asarray(w, dtype=np.float64))
    r_w = 0.0 if net.spec.kind == "orthogonal" else 1.0
    theory_mean, theory_spread = _theory(k, sw, sb, depth_value, sw * x_std**2 + sb, r_w)
    values: Array | None = None
    if method == "exact":
        jac = np.eye(n)
        for w, dphi in zip(weights, derivs, strict=True):
            jac = dphi[:, None] * (w.T @ jac)
        squares: Array = np.asarray(np.linalg.svd(jac, compute_uv=False), dtype=np.float64) ** 2
        mean, second = float(squares.mean()), float(np.mean(squares**2))
        values = squares
    else:
        v = rng.choice(np.array([-1.0, 1.0]), size=(n, probes))
        jt_v = v
        for w, dphi in zip(reversed(weights), reversed(derivs), strict=True):
            jt_v = w @ (dphi[:, None] * jt_v)  # J^T v
        a_v = jt_v
        for w, dphi in zip(weights, derivs, strict=True):
            a_v = dphi[:, None] * (w.T @ a_v)  # (J J^T) v
        mean = float(np.mean(np.sum(jt_v**2, axis=0))) / n
        spread = float(np.mean(np.sum((a_v - mean * v) ** 2, axis=0))) / n  # tr((A - m I)**2) / n
        second = spread + mean * mean
    variance = max(second - mean * mean, 0.0)
    return JacobianSpectrum(
        method,
        net.spec.name,
        net.activation,
        depth_value,
        n,
        sw,
        sb,
        x_std,
        mean,
        variance,
        variance / mean**2 if mean > 0 else math.nan,
        None if values is None else float(values.max()),
        None if values is None else float(values.min()),
        theory_mean,
        theory_spread,
        None if values is None else tuple(float(v) for v in values),
    )
