"""The signal-propagation probe: what an initialization does to a deep network, layer by layer.

``probe`` simulates a fully-connected network in NumPy on a batch of unit-variance inputs,
forward and backward, and reports per-layer statistics next to the mean-field predictions of
``kaiming.propagation.theory``. (The function is re-exported as ``kaiming.probe``.)

Network: inputs ``x`` of shape ``(batch, widths[0])``, i.i.d. ``N(0, 1)`` (or uniform with unit
variance); for ``l = 1..depth``: ``z_l = h_{l-1} @ W_l + b_l`` with ``W_l`` of shape
``(fan_in, fan_out)`` drawn by the init, ``b_l ~ N(0, bias_std**2)`` per unit, optionally
batch norm (per unit over the batch, no affine, eps 1e-5), then ``h_l = phi(z_l)``. Backward
from a unit-Gaussian output gradient ``dL/dh_depth``: ``grad_std`` is the std of ``dL/dz_l``
(the gradient reaching the pre-activation) and ``weight_grad_std`` the std of the batch-mean
weight gradient ``h_{l-1}.T @ dL/dz_l / batch`` (with batch norm, ``dL/dz`` before the
normalization).

With ``input_corr = rho > 0`` every input is ``sqrt(1 - rho) * x_a + sqrt(rho) * g`` with one
shared row ``g`` drawn like ``x`` (just after it): unit variance per feature, pairwise
correlation ``rho`` in expectation (with ``input_dist="uniform"`` the mixture is no longer
uniform). Each layer also reports ``pre_corr``, the mean pairwise correlation (cosine over units)
between the examples' pre-activations, beside the theory's ``c_l``.

Randomness (``stream``, see ``_draws``): by default one ``numpy.random.Generator`` from
``seed`` draws, in order, the input, then per layer ``W_l`` (via the registry initializer,
number for number) and ``b_l``, then the output gradient. ``stream="counter"`` draws every
tensor from the counter stream ``kaiming.stream.key(seed, name)`` instead (names ``"input"``,
``"input.shared"``, ``"layer{l}.weight"``, ``"layer{l}.bias"``, ``"output.grad"``): other
numbers with the same distributions, drawn faster (about 4x for the weights with numba).

Health verdict per layer (``kaiming._health``): ``forward_health``, first match wins,

- ``"exploding"``: pre- or post-activation std above ``EXPLODING_STD = 1e3`` (or overflowed),
- ``"vanishing"``: post-activation std below ``VANISHING_STD = 1e-3``,
- ``"dying"``: at least ``DYING_UNITS = 0.6`` of the units are exactly 0 for the whole batch
  (deep ReLU networks approach 50% by the collapse of the batch alone, see ``DYING_UNITS``),
- ``"healthy"`` otherwise;

``backward_health``: ``grad_std`` above ``EXPLODING_STD`` is ``"exploding"``, below
``VANISHING_STD`` ``"vanishing"``. The input and the output gradient have std 1, so the
thresholds are "a thousand times smaller/larger than where the pass started". ``health`` is the
worse of the two (exploding > vanishing > dying > healthy).

Memory: the forward pass keeps a few ``batch x width`` buffers. The backward pass needs, for
every layer, the weights and the pre-activations, as reverse-mode differentiation does in any
framework: ``depth x width**2 + depth x batch x width`` floats. ``backward=False`` keeps only
the current layer (``width**2 + batch x width``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._checks import check_choice, check_positive_int
from .._health import DYING_UNITS, EXPLODING_STD, VANISHING_STD, gradient_health_of, health_of, worst_health
from .._interrupt import checkpoint
from .._json import jsonable
from . import _range as fr
from . import _stats as st
from ._blocks import LayerBlocks
from ._draws import STREAMS, Draws, layer_weights, make_draws
from ._inits import PROBE_ACTIVATIONS, PROBE_INITS, InitSpec
from ._limits import check_network_size, check_sizes, check_widths
from ._pairs import correlate_inputs, mean_pairwise_correlation
from ._records import LayerStats
from ._table import format_table, summarize
from .correlation import check_input_corr, correlation_profile
from .theory import BN_EPS, _propagate, layer_fans, resolve_network

__all__ = [
    "DYING_UNITS",
    "EXPLODING_STD",
    "PROBE_ACTIVATIONS",
    "PROBE_INITS",
    "STREAMS",
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
        layers = [jsonable(vars(layer)) for layer in self.layers]  # flat records: no deep copy needed
        return {
            "config": jsonable(self.config),
            "layers": layers,
            "histogram": jsonable(self.histogram),
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
    input_corr: float = 0.0,
    dtype: str = "float32",
    backward: bool = True,
    weight_grad: bool = True,
    theory: bool = True,
    histogram_layer: int | None = None,
    bins: int = 40,
    stream: str = "generator",
) -> ProbeResult:
    """Simulate a deep fully-connected network and report per-layer signal statistics.

    ``init`` is any name in ``PROBE_INITS``: every registry initializer (``he_normal``,
    ``xavier_uniform``, ``orthogonal``, ...), the aliases ``he``/``xavier``/``lecun`` (the normal
    variants) and ``random``: ``N(0, std**2)`` with ``std`` default 0.01. ``mode`` overrides the
    fan of a variance-scaling init; ``gain`` overrides its gain (He: ``sqrt(2)``, or
    ``sqrt(2 / (1 + a**2))`` with the slope ``a`` of ``leaky_relu``/``prelu``; others 1).
    ``activation`` is one of ``PROBE_ACTIVATIONS``, with ``activation_param`` the leaky slope,
    ELU alpha or softplus beta. ``width`` is an int or one int per layer (the input has
    ``width[0]`` features). ``input_corr`` in [0, 1] is the inputs' pairwise correlation (each
    layer's ``pre_corr`` follows it, beside the theory's ``c_l``). ``stream`` is ``"generator"``
    (NumPy's ``Generator`` from ``seed``: the same numbers as before the option existed) or
    ``"counter"`` (every tensor from ``kaiming.stream.key(seed, name)``: cheaper draws, other
    numbers of the same distributions; needs an int ``seed``). See the module docstring for the
    network, the randomness, the health thresholds and the memory used. ``weight_grad=False``
    leaves out ``weight_grad_std`` (``None``): a third of the multiply-adds.

    Example:
        >>> res = probe("he", "relu", depth=20, width=256, batch=64)
        >>> res.layers[-1].health, round(res.layers[-1].theory_pre_std, 3)    # sqrt(2)
        ('healthy', 1.414)
        >>> probe("random", "tanh", depth=10, width=256, batch=64).summary()[:40]
        'signal vanishes by layer 4: post-activat'

    Raises:
        ValueError / TypeError: an unknown name, a non-positive size, a ``histogram_layer`` outside
            ``1..depth``, an option the init does not use (``std`` without ``random``), an unknown
            ``stream``, ``stream="counter"`` without an int ``seed``, ...
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
    input_corr = check_input_corr(input_corr)
    dtype_name = check_choice(
        "dtype", np.dtype(dtype).name if _is_dtype(dtype) else dtype, ("float32", "float64")
    )
    for name, flag in (("backward", backward), ("weight_grad", weight_grad), ("theory", theory)):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be a bool, got {flag!r}")
    bins = check_positive_int("bins", bins)
    if histogram_layer is not None:
        histogram_layer = check_positive_int("histogram_layer", histogram_layer)
        if histogram_layer > depth:
            raise ValueError(f"histogram_layer must be in 1..depth={depth}, got {histogram_layer}")
    draws = make_draws(stream, seed)
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
        "input_corr": input_corr,
        "dtype": dtype_name,
        "backward": backward,
        "weight_grad": weight_grad and backward,
        "theory": theory,
        "histogram_layer": histogram_layer,
        "bins": bins,
        "stream": stream,
    }
    run = _Run(spec, act, param, widths, batch, bias_std, batch_norm, np.dtype(dtype_name), draws, backward)
    run.input_corr = input_corr
    rows = run.forward(input_dist, histogram_layer, bins)
    grads = run.backward(weight_grad) if backward else None
    predicted = _propagate(net) if theory else None
    layers = [_layer_stats(i, row, grads, predicted) for i, row in enumerate(rows)]
    if theory:
        corr = correlation_profile(net, input_corr)
        layers = [replace(s, theory_pre_corr=c) for s, c in zip(layers, corr, strict=True)]
    return ProbeResult(config, layers, run.histogram, summarize(layers))


def _is_dtype(value: object) -> bool:
    try:
        np.dtype(value)  # type: ignore[call-overload]
    except TypeError:
        return False
    return True


def _layer_stats(
    index: int,
    row: dict[str, Any],
    grads: list[tuple[float, float | None]] | None,
    predicted: Sequence[Any] | None,
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
    forward = health_of(row["pre_std"], row["post_std"], row["dead_units_fraction"])
    backward = None if grads is None else gradient_health_of(extra["grad_std"])  # output gradient std 1
    return LayerStats(
        layer=index + 1,
        health=worst_health(forward, backward),
        forward_health=forward,
        backward_health=backward,
        **row,
        **extra,
    )


class _Run:
    """One simulation: the forward pass records what the backward pass needs."""

    input_corr = 0.0  # pairwise correlation of the inputs (a shared row mixed in, see _pairs)

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
        draws: Draws,
        keep: bool,
    ) -> None:
        self.spec, self.act, self.param, self.widths = spec, act, param, widths
        self.batch, self.bias_std, self.bn, self.dtype, self.draws, self.keep = (
            batch,
            bias_std,
            bn,
            dtype,
            draws,
            keep,
        )
        self.x: Array | None = None
        # (W, working z, 1/sigma, exponent k of z, linearized) per layer
        self.saved: list[tuple[Array, Array, Array | None, int, bool]] = []
        self.histogram: dict[str, Any] | None = None
        self.tracking = fr.tracking(act, bias_std, bn)
        self.slopes = fr.slopes(act, param) if self.tracking == "smooth" else (1.0, 1.0)

    def forward(self, dist: str, histogram_layer: int | None, bins: int) -> list[dict[str, Any]]:
        h = self.x = self.draws.input(dist, self.batch, self.widths[0], self.dtype, shared=False)
        if self.input_corr:
            shared = self.draws.input(dist, 1, self.widths[0], self.dtype, shared=True)
            h = self.x = correlate_inputs(h, self.input_corr, shared)
        biggest = self.batch * max(self.widths)
        scratch = np.empty(biggest, dtype=self.dtype)
        post = np.empty(biggest, dtype=self.dtype)  # h_{l-1} is dead once z_l = h_{l-1} @ W_l exists
        rows = []
        k = 0  # the true h is h * 2**k (see _range)
        fans = layer_fans(self.widths)
        blocks = LayerBlocks(fans, self.batch, self.dtype, self.keep)
        weights = layer_weights(self.draws, self.spec, fans, self.dtype, blocks.weight)
        try:  # closed on any exit: the thread drawing ahead (counter stream) stops with it
            for index, ((fan_in, fan_out), w) in enumerate(zip(fans, weights, strict=True)):
                checkpoint()  # a caller may stop the run here (kaiming._interrupt)
                with np.errstate(over="ignore", invalid="ignore"):
                    z = np.matmul(h, w, out=blocks.pre(index))
                    if self.bias_std > 0:
                        z += self.draws.bias(index + 1, fan_out, self.bias_std, self.dtype)
                    inv_sigma = _batch_norm_(z) if self.bn else None
                pre_mean, pre_std = st.mean_std(z, scratch)
                pre_mean, pre_std, k, linear = self._track(z, pre_mean, pre_std, k)
                h = self._activate(z, linear, post[: z.size].reshape(z.shape))
                post_mean, post_std = (fr.scaled(v, k) for v in st.mean_std(h, scratch))
                dead, dead_units = st.zero_fractions(h)
                if histogram_layer == index + 1:
                    self.histogram = {"layer": index + 1, **st.histogram(h, bins, k)}
                if self.keep:
                    self.saved.append((w, z, inv_sigma, k, linear))
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
                        "pre_corr": mean_pairwise_correlation(z),
                    }
                )
        finally:
            weights.close()
        return rows

    def _track(self, z: Array, mean: float, std: float, k: int) -> tuple[float, float, int, bool]:
        """Report ``z``'s stats as ``working * 2**k`` and re-center ``z`` by a power of two where
        that is exact (see ``_range``); return ``(true mean, true std, new k, linearized)``."""
        true_mean, true_std = fr.scaled(mean, k), fr.scaled(std, k)
        if self.tracking == "exact":
            return true_mean, true_std, k + fr.recenter_(z, std), False
        if self.tracking == "smooth":
            if true_std < fr.TINY and fr.scaled(float(np.abs(z).max(initial=0.0)), k) < fr.TINY:
                return true_mean, true_std, k + fr.recenter_(z, std, always=True), True
            if k != 0:  # back above TINY: the true values are representable again
                z *= z.dtype.type(math.ldexp(1.0, k))
        return true_mean, true_std, 0, False

    def _activate(self, z: Array, linear: bool, out: Array) -> Array:
        if not linear:
            return st.activate(self.act, z, self.param, out)
        pos, neg = self.slopes
        return np.multiply(z, np.where(z > 0, z.dtype.type(pos), z.dtype.type(neg)), out=out)

    def _derivative(self, z: Array, linear: bool) -> Array | None:
        if not linear:
            return st.derivative(self.act, z, self.param)
        pos, neg = self.slopes
        return np.where(z > 0, z.dtype.type(pos), z.dtype.type(neg))

    def backward(self, weight_grad: bool) -> list[tuple[float, float | None]]:
        grad_h = self.draws.output_grad(self.batch, self.widths[-1], self.dtype)
        out: list[tuple[float, float | None]] = []
        scratch = np.empty(self.batch * max(self.widths), dtype=self.dtype)
        k_grad = 0  # the true gradient is grad * 2**k_grad: the backward pass is linear in it
        for index in range(len(self.saved) - 1, -1, -1):
            checkpoint()
            w, z, inv_sigma, _, linear = self.saved[index]
            with np.errstate(over="ignore", invalid="ignore"):
                d = self._derivative(z, linear)
                grad = grad_h if d is None else np.multiply(grad_h, d, out=d)
                working = st.mean_std(grad, scratch)[1]
                grad_std = _nan_to_inf(fr.scaled(working, k_grad))
                k_grad += fr.recenter_(grad, working)
                if inv_sigma is not None:
                    grad = _batch_norm_backward(grad, z, inv_sigma)
                weight_std = self._weight_grad_std(index, grad, k_grad, scratch) if weight_grad else None
                if index > 0:
                    grad_h = grad @ w.T
            out.append((grad_std, weight_std))
        return out[::-1]

    def _weight_grad_std(self, index: int, grad: Array, k_grad: int, scratch: Array) -> float:
        """Std of the batch-mean weight gradient ``h_{l-1}.T @ dL/dz_l / batch`` (one more
        ``batch x fan_in x fan_out`` product: a third of the matmul work of a probe)."""
        h_in, k_in = (self.x, 0) if index == 0 else self._post(index - 1, scratch)
        weight = st.product_std(h_in, grad) / self.batch  # type: ignore[arg-type]
        return _nan_to_inf(fr.scaled(weight, k_in + k_grad))

    def _post(self, index: int, scratch: Array) -> tuple[Array, int]:
        _, z, _, k, linear = self.saved[index]
        return self._activate(z, linear, scratch[: z.size].reshape(z.shape)), k


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
