"""The signal-propagation probe: what an initialization does to a deep network, layer by layer.

``probe`` simulates a fully-connected network in NumPy on a batch of unit-variance inputs,
forward and backward, and reports per-layer statistics next to the mean-field predictions of
``kaiming.theory``. (The module is ``kaiming.probing``; the function is re-exported as
``kaiming.probe``.)

Network: inputs ``x`` of shape ``(batch, widths[0])``, i.i.d. ``N(0, 1)`` (or uniform with unit
variance); for ``l = 1..depth``: ``z_l = h_{l-1} @ W_l + b_l`` with ``W_l`` of shape
``(fan_in, fan_out)`` drawn by the init, ``b_l ~ N(0, bias_std**2)`` per unit, optionally
batch norm (per unit over the batch, no affine, eps 1e-5), then ``h_l = phi(z_l)``. Backward
from a unit-Gaussian output gradient ``dL/dh_depth``: ``grad_std`` is the std of ``dL/dz_l``
(the gradient reaching the pre-activation) and ``weight_grad_std`` the std of the batch-mean
weight gradient ``h_{l-1}.T @ dL/dz_l / batch`` (with batch norm, ``dL/dz`` before the
normalization).

Randomness: one ``numpy.random.Generator`` from ``seed`` draws, in order, the input, then
per layer ``W_l`` (via the registry initializer, number for number) and ``b_l``, then the
output gradient.

Health verdict per layer (forward), first match wins:

- ``"exploding"``: pre- or post-activation std above ``EXPLODING_STD = 1e3`` (or overflowed),
- ``"vanishing"``: post-activation std below ``VANISHING_STD = 1e-3``,
- ``"dying"``: at least ``DYING_UNITS = 0.6`` of the units are exactly 0 for the whole batch
  (deep ReLU networks approach 50% by the collapse of the batch alone, see ``DYING_UNITS``),
- ``"healthy"`` otherwise.

The input has std 1, so the thresholds are "a thousand times smaller/larger than the input".
The gradient at layer 1 is judged the same way against the unit output gradient in
``summary()``.

Memory: the forward pass keeps a few ``batch x width`` buffers. The backward pass needs, for
every layer, the weights and the pre-activations, as reverse-mode differentiation does in any
framework: ``depth x width**2 + depth x batch x width`` floats. ``backward=False`` keeps only
the current layer (``width**2 + batch x width``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._checks import check_choice, check_positive_int
from .._json import jsonable
from .._random import resolve_rng
from . import _stats as st
from ._inits import PROBE_ACTIVATIONS, PROBE_INITS, InitSpec
from ._limits import check_network_size, check_sizes, check_widths
from ._records import LayerStats
from ._table import DYING_UNITS, EXPLODING_STD, VANISHING_STD, format_table, health_of, summarize
from .theory import BN_EPS, _propagate, layer_fans, resolve_network

__all__ = [
    "DYING_UNITS",
    "EXPLODING_STD",
    "PROBE_ACTIVATIONS",
    "PROBE_INITS",
    "VANISHING_STD",
    "LayerStats",
    "ProbeResult",
    "probe",
]

INPUT_DISTS = ("normal", "uniform")
Array = NDArray[np.floating]


@dataclass(frozen=True)
class ProbeResult:
    """What ``probe`` returns: the resolved ``config``, one ``LayerStats`` per layer, and the
    optional post-activation ``histogram`` of one layer."""

    config: dict[str, Any]
    layers: list[LayerStats]
    histogram: dict[str, Any] | None = None
    _summary: str = field(default="", repr=False)

    def summary(self) -> str:
        """One sentence in words, e.g. ``"signal vanishes by layer 7: post-activation std < 1e-3 ..."``."""
        return self._summary

    def table(self) -> str:
        """The per-layer table as aligned text (what ``kaiming probe`` prints)."""
        return format_table(self.layers)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable dict ``{"config", "layers", "histogram", "summary"}``.

        Non-finite numbers (overflow) become ``None``, so ``json.dumps`` gives strict JSON.
        """
        layers = [jsonable(asdict(layer)) for layer in self.layers]
        return {
            "config": dict(self.config),
            "layers": layers,
            "histogram": self.histogram,
            "summary": self._summary,
        }


def probe(
    init: str = "he_normal",
    activation: str = "relu",
    depth: int = 50,
    width: int | Sequence[int] = 512,
    *,
    batch: int = 256,
    seed: int | None = 0,
    mode: str | None = None,
    std: float | None = None,
    gain: float | None = None,
    activation_param: float | None = None,
    bias_std: float = 0.0,
    batch_norm: bool = False,
    input_dist: str = "normal",
    dtype: str = "float32",
    backward: bool = True,
    theory: bool = True,
    histogram_layer: int | None = None,
    bins: int = 40,
) -> ProbeResult:
    """Simulate a deep fully-connected network and report per-layer signal statistics.

    ``init`` is any name in ``PROBE_INITS``: every registry initializer (``he_normal``,
    ``xavier_uniform``, ``orthogonal``, ...), the aliases ``he``/``xavier``/``lecun`` (the normal
    variants) and ``random``: ``N(0, std**2)`` with ``std`` default 0.01. ``mode`` overrides the
    fan of a variance-scaling init; ``gain`` overrides its gain (He: ``sqrt(2)``, or
    ``sqrt(2 / (1 + a**2))`` with the slope ``a`` of ``leaky_relu``/``prelu``; others 1).
    ``activation`` is one of ``PROBE_ACTIVATIONS``, with ``activation_param`` the leaky slope,
    ELU alpha or softplus beta. ``width`` is an int or one int per layer (the input has
    ``width[0]`` features). See the module docstring for the network, the randomness, the
    health thresholds and the memory used.

    Example:
        >>> res = probe("he", "relu", depth=20, width=256, batch=64)
        >>> res.layers[-1].health, round(res.layers[-1].theory_pre_std, 3)    # sqrt(2)
        ('healthy', 1.414)
        >>> probe("random", "tanh", depth=10, width=256, batch=64).summary()[:40]
        'signal vanishes by layer 4: post-activat'

    Raises:
        ValueError / TypeError: an unknown name, a non-positive size, a ``histogram_layer`` outside
            ``1..depth``, an option the init does not use (``std`` without ``random``), ...
    """
    check_sizes(depth, batch, gain=gain, std=std, bias_std=bias_std)
    net = resolve_network(
        init, activation, depth, width, batch, mode, std, gain, activation_param, bias_std, batch_norm
    )
    spec, act, param, widths, batch, bias_std = (
        net.spec,
        net.activation,
        net.param,
        net.widths,
        net.batch,
        net.bias_std,
    )
    depth = len(widths)
    check_widths(widths)
    input_dist = check_choice("input_dist", input_dist, INPUT_DISTS)
    dtype_name = check_choice(
        "dtype", np.dtype(dtype).name if _is_dtype(dtype) else dtype, ("float32", "float64")
    )
    for name, flag in (("backward", backward), ("theory", theory)):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be a bool, got {flag!r}")
    bins = check_positive_int("bins", bins)
    if histogram_layer is not None:
        histogram_layer = check_positive_int("histogram_layer", histogram_layer)
        if histogram_layer > depth:
            raise ValueError(f"histogram_layer must be in 1..depth={depth}, got {histogram_layer}")
    rng = resolve_rng(seed)
    check_network_size(widths, batch, np.dtype(dtype_name).itemsize, backward)
    config: dict[str, Any] = {
        "init": spec.name,
        "activation": act,
        "activation_param": param,
        "depth": depth,
        "widths": widths,
        "batch": batch,
        "seed": seed if seed is None else int(seed),
        "mode": spec.mode,
        "std": spec.std,
        "gain": spec.gain,
        "bias_std": bias_std,
        "batch_norm": batch_norm,
        "input_dist": input_dist,
        "dtype": dtype_name,
        "backward": backward,
        "theory": theory,
        "histogram_layer": histogram_layer,
        "bins": bins,
    }
    run = _Run(spec, act, param, widths, batch, bias_std, batch_norm, np.dtype(dtype_name), rng, backward)
    rows = run.forward(input_dist, histogram_layer, bins)
    grads = run.backward() if backward else None
    predicted = _propagate(net) if theory else None
    layers = [_layer_stats(i, row, grads, predicted) for i, row in enumerate(rows)]
    return ProbeResult(config, layers, run.histogram, summarize(layers))


def _is_dtype(value: object) -> bool:
    try:
        np.dtype(value)  # type: ignore[call-overload]
    except TypeError:
        return False
    return True


def _layer_stats(
    index: int, row: dict[str, Any], grads: list[tuple[float, float]] | None, predicted: Sequence[Any] | None
) -> LayerStats:
    extra: dict[str, Any] = {}
    if grads is not None:
        extra["grad_std"], extra["weight_grad_std"] = grads[index]
    if predicted is not None:
        p = predicted[index]
        extra.update(
            theory_pre_std=p.pre_std,
            theory_post_std=p.post_std,
            theory_grad_std=p.grad_std,
            theory_post_mean=p.post_mean,
            theory_weight_grad_std=p.weight_grad_std,
        )
    health = health_of(row["pre_std"], row["post_std"], row["dead_units_fraction"])
    return LayerStats(layer=index + 1, health=health, **row, **extra)


class _Run:
    """One simulation: the forward pass records what the backward pass needs."""

    def __init__(
        self,
        spec: InitSpec,
        act: str,
        param: float,
        widths: list[int],
        batch: int,
        bias_std: float,
        bn: bool,
        dtype: np.dtype[np.floating],
        rng: np.random.Generator,
        keep: bool,
    ) -> None:
        self.spec, self.act, self.param, self.widths = spec, act, param, widths
        self.batch, self.bias_std, self.bn, self.dtype, self.rng, self.keep = (
            batch,
            bias_std,
            bn,
            dtype,
            rng,
            keep,
        )
        self.x: Array | None = None
        self.saved: list[tuple[Array, Array, Array | None]] = []  # (W, z, 1/sigma) per layer
        self.histogram: dict[str, Any] | None = None

    def _input(self, dist: str) -> Array:
        shape = (self.batch, self.widths[0])
        if dist == "normal":
            normal: Array = self.rng.standard_normal(shape, dtype=self.dtype)
            return normal
        limit = math.sqrt(3.0)
        x: Array = self.rng.random(shape, dtype=self.dtype)
        x *= 2.0 * limit
        x -= limit
        return x

    def _bias(self, fan_out: int) -> Array:
        bias: Array = self.rng.standard_normal(fan_out, dtype=self.dtype)
        bias *= self.dtype.type(self.bias_std)
        return bias

    def forward(self, dist: str, histogram_layer: int | None, bins: int) -> list[dict[str, Any]]:
        h = self.x = self._input(dist)
        biggest = self.batch * max(self.widths)
        scratch = np.empty(biggest, dtype=self.dtype)
        post = np.empty(biggest, dtype=self.dtype)  # h_{l-1} is dead once z_l = h_{l-1} @ W_l exists
        rows = []
        for index, (fan_in, fan_out) in enumerate(layer_fans(self.widths)):
            w = self.spec.draw(fan_in, fan_out, self.rng, self.dtype)
            with np.errstate(over="ignore", invalid="ignore"):
                z = h @ w
                if self.bias_std > 0:
                    z += self._bias(fan_out)
                inv_sigma = _batch_norm_(z) if self.bn else None
            pre_mean, pre_std = st.mean_std(z, scratch)
            h = st.activate(self.act, z, self.param, post[: z.size].reshape(z.shape))
            post_mean, post_std = st.mean_std(h, scratch)
            dead, dead_units = st.zero_fractions(h)
            if histogram_layer == index + 1:
                self.histogram = {"layer": index + 1, **st.histogram(h, bins)}
            if self.keep:
                self.saved.append((w, z, inv_sigma))
            rows.append(
                {
                    "fan_in": fan_in,
                    "fan_out": fan_out,
                    "pre_mean": pre_mean,
                    "pre_std": pre_std,
                    "post_mean": post_mean,
                    "post_std": post_std,
                    "dead_fraction": dead,
                    "dead_units_fraction": dead_units,
                }
            )
        return rows

    def backward(self) -> list[tuple[float, float]]:
        grad_h: Array = self.rng.standard_normal((self.batch, self.widths[-1]), dtype=self.dtype)
        out: list[tuple[float, float]] = []
        scratch = np.empty(self.batch * max(self.widths), dtype=self.dtype)
        for index in range(len(self.saved) - 1, -1, -1):
            w, z, inv_sigma = self.saved[index]
            with np.errstate(over="ignore", invalid="ignore"):
                d = st.derivative(self.act, z, self.param)
                grad = grad_h if d is None else np.multiply(grad_h, d, out=d)
                grad_std = _nan_to_inf(st.mean_std(grad, scratch)[1])
                if inv_sigma is not None:
                    grad = _batch_norm_backward(grad, z, inv_sigma)
                h_in = self.x if index == 0 else self._post(index - 1, scratch)
                weight_std = _nan_to_inf(st.product_std(h_in, grad) / self.batch)  # type: ignore[arg-type]
                if index > 0:
                    grad_h = grad @ w.T
            out.append((grad_std, weight_std))
            self.saved[index] = (w[:0], z[:0], None)  # free as we go
        return out[::-1]

    def _post(self, index: int, scratch: Array) -> Array:
        z = self.saved[index][1]
        return st.activate(self.act, z, self.param, scratch[: z.size].reshape(z.shape))


def _nan_to_inf(value: float) -> float:
    return math.inf if math.isnan(value) else value


def _batch_norm_(z: Array) -> Array:
    """Normalize each column of ``z`` in place over the batch; return ``1 / sigma`` per column."""
    z -= z.mean(axis=0, dtype=np.float64).astype(z.dtype)
    var = np.einsum("ij,ij->j", z, z, dtype=np.float64) / z.shape[0]
    inv_sigma: Array = (1.0 / np.sqrt(var + BN_EPS)).astype(z.dtype)
    z *= inv_sigma
    return inv_sigma


def _batch_norm_backward(grad: Array, xhat: Array, inv_sigma: Array) -> Array:
    """``dL/dz_raw = (g - mean(g) - xhat * mean(g * xhat)) / sigma`` per column, in place in ``grad``."""
    n = grad.shape[0]
    mean_g = grad.mean(axis=0)
    mean_gx = np.einsum("ij,ij->j", grad, xhat) / grad.dtype.type(n)
    grad -= mean_g
    grad -= xhat * mean_gx
    grad *= inv_sigma
    return grad
