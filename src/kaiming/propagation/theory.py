"""Mean-field predictions of signal propagation through a deep fully-connected network.

The network is the one ``kaiming.probe`` simulates: inputs ``x`` with ``E[x**2] = 1``, then for
each layer ``l = 1..L`` a dense layer ``z_l = h_{l-1} @ W_l + b_l`` (optionally batch-normalized),
``h_l = phi(z_l)``. With per-element weight variance ``v_l``, write ``sigma_w**2 = v_l * fan_in``
and ``sigma_b**2 = bias_std**2``. In the wide limit the pre-activations of a layer are Gaussian
``N(0, q_l)`` with (Poole et al. 2016; Schoenholz et al. 2017)::

    q_1     = sigma_w**2 * E[x**2] + sigma_b**2
    q_{l+1} = sigma_w**2 * E[phi(z)**2] + sigma_b**2,     z ~ N(0, q_l)

so the pre-activation std is ``sqrt(q_l)``, the post-activation mean ``E[phi(z)]`` and its std
``sqrt(E[phi(z)**2] - E[phi(z)]**2)``. Backwards, from an output gradient of unit variance,
each layer multiplies the gradient variance by ``chi_l = v_l * fan_out * E[phi'(z)**2]``
(``fan_out`` because ``dL/dh_{l-1} = dL/dz_l @ W_l.T`` sums over the layer's outputs)::

    Var[dL/dz_l]     = Var[dL/dh_l] * E[phi'(z_l)**2]
    Var[dL/dh_{l-1}] = v_l * fan_out_l * Var[dL/dz_l]

and the batch-mean weight gradient ``h_{l-1}.T @ dL/dz_l / batch`` has variance
``E[h_{l-1}**2] * Var[dL/dz_l] / batch``.

With batch norm (per unit over the batch, no affine, ``eps = 1e-5``) every pre-activation is
``N(0, 1)`` (``q = s2 / (s2 + eps)``), and the backward pass grows: the gradient through the
normalization is divided by the raw per-unit batch variance ``s2 = sigma_w**2 * S`` (``S`` the
batch variance of ``h``) and loses the two directions the normalization projects out. At a finite
batch ``B`` the theory follows the permutation-symmetric fixed point of Yang et al., "A Mean
Field Theory of Batch Normalization" (ICLR 2019): ``E[1 / s2] = (B - 1) / (B - 3) / E[s2]`` and
the projections are taken with the batch's correlation ``-1 / (B - 1)``; the formulas are in
``kaiming.propagation._batchnorm``. For a linear network this gives a gradient variance growth
of ``(B - 2) / (B - 3)`` per layer, for ReLU ``pi / (pi - 1) = 1.467`` as ``B -> oo`` (Yang et
al.'s rate) and more at small batches (1.585 at ``B = 16``).

Gaussian expectations have closed forms for linear, ReLU and leaky ReLU (``E[relu(z)**2] = q/2``)
and are otherwise computed by Gauss-Legendre quadrature on each side of 0 (where ELU/SELU are
kinked), which converges fast for every activation here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .._activations import get_activation
from .._checks import check_nonnegative, check_positive_int
from . import _batchnorm as bn_theory
from ._inits import InitSpec, resolve_activation, resolve_init
from ._limits import check_sizes, check_widths
from ._quadrature import gaussian_nodes

__all__ = [
    "BN_EPS",
    "GaussianMoments",
    "MeanFieldLayer",
    "Network",
    "gaussian_moments",
    "mean_field",
    "resolve_network",
    "resolve_widths",
]

BN_EPS = 1e-5
"""The batch-norm epsilon of the probe and the theory (PyTorch's default)."""


@dataclass(frozen=True)
class GaussianMoments:
    """Moments of ``phi(z)`` for ``z ~ N(0, q)``.

    ``mean = E[phi]``, ``second = E[phi**2]``, ``deriv_second = E[phi'**2]`` and
    ``z2_deriv_second = E[z**2 phi'**2]`` (the last one for the batch-norm backward pass).
    """

    mean: float
    second: float
    deriv_second: float
    z2_deriv_second: float

    @property
    def variance(self) -> float:
        """``Var[phi(z)] = E[phi**2] - E[phi]**2`` (never negative)."""
        return max(self.second - self.mean**2, 0.0)


def _numeric_moments(activation: str, q: float, param: float) -> GaussianMoments:
    """The four moments by Gauss-Legendre on each half-line (exact split at the kink at 0)."""
    act = get_activation(activation)
    z, weights = gaussian_nodes(q)
    with np.errstate(over="ignore", invalid="ignore"):
        phi = act(z, param)
        dphi2 = act.grad(z, param) ** 2
        return GaussianMoments(
            float(weights @ phi),
            float(weights @ phi**2),
            float(weights @ dphi2),
            float(weights @ (z * z * dphi2)) if q > 0 else 0.0,
        )


def _closed_form(activation: str, q: float, param: float) -> GaussianMoments | None:
    if activation == "linear":
        return GaussianMoments(0.0, q, 1.0, q)
    if activation == "relu":
        slope = 0.0
    elif activation in ("leaky_relu", "prelu"):
        slope = param
    else:
        return None
    # E[phi] = (1 - a) sqrt(q / 2 pi); E[phi**2] = (1 + a**2) q / 2; E[phi'**2] = (1 + a**2) / 2.
    half = (1.0 + slope * slope) / 2.0
    return GaussianMoments((1.0 - slope) * math.sqrt(q / (2.0 * math.pi)), half * q, half, half * q)


def gaussian_moments(
    activation: str, variance: float, activation_param: float | None = None
) -> GaussianMoments:
    """``E[phi(z)]``, ``E[phi(z)**2]``, ``E[phi'(z)**2]`` and ``E[z**2 phi'(z)**2]``, ``z ~ N(0, variance)``.

    Closed forms for ``linear``, ``relu``, ``leaky_relu`` and ``prelu``; Gauss-Legendre
    quadrature split at 0 for the other activations.

    Example:
        >>> m = gaussian_moments("relu", 2.0)
        >>> m.second, m.deriv_second        # E[relu(z)^2] = q/2, E[relu'(z)^2] = 1/2
        (1.0, 0.5)
        >>> round(gaussian_moments("tanh", 1.0).second, 4)
        0.3943
    """
    name, param = resolve_activation(activation, activation_param)
    q = check_nonnegative("variance", variance)
    moments = _closed_form(name, q, param) or _numeric_moments(name, q, param)
    if not all(math.isfinite(value) for value in vars(moments).values()):
        raise ValueError(
            f"variance={q:g} with activation_param={param:g} makes the moments of {name!r} overflow "
            "float64; use a smaller variance or activation_param"
        )
    return moments


@dataclass(frozen=True)
class MeanFieldLayer:
    """Mean-field prediction for one layer (1-based ``layer``); stds are over units and batch."""

    layer: int
    fan_in: int
    fan_out: int
    weight_variance: float
    pre_std: float
    post_mean: float
    post_std: float
    grad_std: float
    weight_grad_std: float


def resolve_widths(depth: object, width: object) -> tuple[int, list[int]]:
    """Validate ``depth`` and ``width`` (an int, or one int per layer); return ``(depth, widths)``."""
    depth = check_positive_int("depth", depth)
    if isinstance(width, Sequence) and not isinstance(width, str):
        widths = [check_positive_int(f"width[{i}]", w) for i, w in enumerate(width)]
        if len(widths) != depth:
            raise ValueError(f"width must be an int or a list of depth={depth} ints, got {len(widths)} ints")
    else:
        widths = [check_positive_int("width", width)] * depth
    return depth, widths


def layer_fans(widths: Sequence[int]) -> list[tuple[int, int]]:
    """``(fan_in, fan_out)`` per layer: the input has ``widths[0]`` features."""
    return [(widths[max(i - 1, 0)], w) for i, w in enumerate(widths)]


def mean_field(
    init: str = "he_normal",
    activation: str = "relu",
    depth: int = 50,
    width: int | Sequence[int] = 512,
    *,
    batch: int = 256,
    mode: str | None = None,
    std: float | None = None,
    gain: float | None = None,
    activation_param: float | None = None,
    bias_std: float = 0.0,
    batch_norm: bool = False,
) -> tuple[MeanFieldLayer, ...]:
    """Predict per-layer statistics of the network ``kaiming.probe`` simulates (same arguments).

    See the module docstring for the recursion. ``batch`` only matters for the weight gradient
    (a batch mean) and for batch norm.

    Example:
        >>> layers = mean_field("he", "relu", depth=3, width=100)
        >>> [round(layer.pre_std, 3) for layer in layers]    # He: q_{l+1} = 2 * E[relu(z)^2] = q_l
        [1.414, 1.414, 1.414]
        >>> f'{mean_field("random", "relu", depth=10, width=512)[-1].post_std:.3g}'  # x 0.16 per layer
        '9.08e-09'
    """
    check_sizes(depth, batch, gain=gain, std=std, bias_std=bias_std)
    net = resolve_network(
        init, activation, depth, width, batch, mode, std, gain, activation_param, bias_std, batch_norm
    )
    check_widths(net.widths)
    return _propagate(net)


@dataclass(frozen=True)
class Network:
    """A validated network description, shared by ``mean_field`` and ``kaiming.probe``."""

    spec: InitSpec
    activation: str
    param: float
    widths: list[int]
    batch: int
    bias_std: float
    batch_norm: bool


def resolve_network(
    init: object,
    activation: object,
    depth: object,
    width: object,
    batch: object,
    mode: object,
    std: object,
    gain: object,
    activation_param: object,
    bias_std: object,
    batch_norm: object,
) -> Network:
    """Validate the arguments ``mean_field`` and ``probe`` share, once, at the boundary."""
    name, param = resolve_activation(activation, activation_param)
    spec = resolve_init(init, activation=name, activation_param=param, mode=mode, std=std, gain=gain)
    _, widths = resolve_widths(depth, width)
    if not isinstance(batch_norm, bool):
        raise TypeError(f"batch_norm must be a bool, got {batch_norm!r}")
    return Network(
        spec,
        name,
        param,
        widths,
        check_positive_int("batch", batch),
        check_nonnegative("bias_std", bias_std),
        batch_norm,
    )


def _propagate(net: Network) -> tuple[MeanFieldLayer, ...]:
    spec, activation, param, widths, batch = net.spec, net.activation, net.param, net.widths, net.batch
    bias2, bn = net.bias_std**2, net.batch_norm
    fans = layer_fans(widths)
    variances = [spec.variance(fi, fo) for fi, fo in fans]
    prev_second, prev_var = 1.0, 1.0  # E[x**2] and Var[x] of the unit-variance input
    prev_batch_var = (batch - 1) / batch  # its expected (biased) batch variance: i.i.d. rows
    forward: list[tuple[float, GaussianMoments, float, float, float, bn_theory.BatchMoments | None]] = []
    for (fan_in, _), v in zip(fans, variances, strict=True):
        extra = None
        if bn:  # finite-batch effects: see kaiming.propagation._batchnorm
            raw = v * fan_in * prev_batch_var
            q = raw / (raw + BN_EPS)
            extra = bn_theory.batch_moments(activation, q, param)
        else:
            raw, q = 0.0, v * fan_in * prev_second + bias2
        moments = _moments(activation, q, param)
        forward.append((q, moments, raw, prev_second, prev_var, extra))
        prev_second, prev_var = moments.second, moments.variance
        if extra is not None:
            prev_batch_var = bn_theory.batch_variance(moments.variance, extra, batch)
    out: list[MeanFieldLayer] = []
    grad_h = 1.0  # Var[dL/dh_L]: a unit-Gaussian output gradient
    for index in range(len(widths) - 1, -1, -1):
        q, moments, raw, in_second, in_var, extra = forward[index]
        grad = grad_h * moments.deriv_second
        if extra is not None:
            top = index == len(widths) - 1
            kept = bn_theory.kept_share(moments.deriv_second, moments.z2_deriv_second, extra, batch, top=top)
            grad_raw = grad * kept * bn_theory.inverse_variance(raw, batch, BN_EPS)
            weight_grad = in_var * grad_raw / batch
        else:
            grad_raw = grad
            weight_grad = in_second * grad_raw / batch
        fan_in, fan_out = fans[index]
        out.append(
            MeanFieldLayer(
                index + 1,
                fan_in,
                fan_out,
                variances[index],
                math.sqrt(q),
                moments.mean,
                math.sqrt(moments.variance),
                math.sqrt(grad),
                math.sqrt(weight_grad),
            )
        )
        grad_h = variances[index] * fan_out * grad_raw
    return tuple(reversed(out))


def _moments(activation: str, q: float, param: float) -> GaussianMoments:
    return _closed_form(activation, q, param) or _numeric_moments(activation, q, param)
