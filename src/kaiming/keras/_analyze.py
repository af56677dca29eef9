"""Look inside a Keras model on a real batch: per-layer signal statistics and a health verdict.

``analyze(model, x)`` runs one forward pass (inference mode: dropout off, batch norm on its
moving statistics) and reports, for every Dense/Conv layer of the model's own graph:

- *pre-activation*: the layer's output before its own activation — mean, std;
- *post-activation*: the output of the activation after the layer (its own ``activation``, or
  the activation layer found as for ``init_model``: through dropout, reshaping, pooling,
  normalization and residual sums); with no activation (an output layer) post = pre;
- ``dead_fraction``: share of post-activation values exactly 0; ``dead_units_fraction``: share
  of units (the channel axis: last, or 1 for ``channels_first`` convolutions) that are 0 for
  the whole batch;
- ``health``: ``kaiming._health.health_of`` on the stds divided by the input's std — the
  verdicts ``kaiming.torch.analyze`` and the probe give (``VANISHING_STD = 1e-3``,
  ``EXPLODING_STD = 1e3``, ``DYING_UNITS = 0.6``).

Layers inside a nested model, and layers called more than once, are not reported (their
tensors are not outputs of the model's own graph). No gradients are taken.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import keras
import numpy as np

from .._health import health_of, summarize_health
from .._rows import NamedRows, format_table, json_number
from ._graph import DENSE_LAYERS, find_activations

__all__ = ["Analysis", "LayerReport", "analyze"]


@dataclass(frozen=True)
class LayerReport:
    """Statistics of one Dense/Conv layer (see the module docstring for each field)."""

    name: str
    module: str
    activation: str | None
    pre_mean: float
    pre_std: float
    post_mean: float
    post_std: float
    dead_fraction: float
    dead_units_fraction: float
    health: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (non-finite numbers as strings)."""
        return {k: json_number(v) if isinstance(v, float) else v for k, v in asdict(self).items()}


_COLUMNS = (
    "layer", "layer type", "activation", "pre mean", "pre std", "post mean", "post std", "dead %",
    "dead units %", "health",
)  # fmt: skip


@dataclass(frozen=True)
class Analysis(NamedRows):
    """What ``analyze`` found: ``layers`` in graph order and the input's std.

    ``str(analysis)`` / ``analysis.table()`` print the table, ``analysis["fc1"]`` looks a layer
    up by name, ``analysis.to_dict()`` is JSON-safe.
    """

    layers: tuple[LayerReport, ...]
    input_std: float

    def _rows(self) -> tuple[LayerReport, ...]:
        return self.layers

    def __getitem__(self, name: str) -> LayerReport:
        row: LayerReport = super().__getitem__(name)
        return row

    def __iter__(self) -> Iterator[LayerReport]:
        return iter(self.layers)

    def summary(self) -> str:
        """One sentence: all healthy, or the first layer of each problem."""
        return summarize_health([(r.name, r.health) for r in self.layers])

    def table(self) -> str:
        """The per-layer statistics as a plain-text table, under a one-line summary."""
        rows = [
            (
                r.name, r.module, r.activation, r.pre_mean, r.pre_std, r.post_mean, r.post_std,
                f"{100 * r.dead_fraction:.1f}", f"{100 * r.dead_units_fraction:.1f}", r.health,
            )
            for r in self.layers
        ]  # fmt: skip
        head = f"Analysis: input std {self.input_std:.4g}: {self.summary()}"
        return head + "\n" + format_table(_COLUMNS, rows)

    def __str__(self) -> str:
        return self.table()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: ``input_std``, ``summary`` and ``layers`` (a list of row dicts)."""
        return {
            "input_std": json_number(self.input_std),
            "summary": self.summary(),
            "layers": [r.to_dict() for r in self.layers],
        }


def _numpy(value: Any) -> np.ndarray[Any, np.dtype[np.float64]]:
    return np.asarray(keras.ops.convert_to_numpy(value), dtype=np.float64)


def _pre_activation(layer: Any, inputs: Any) -> Any:
    """The layer's output on ``inputs`` with its own activation switched off for the call."""
    saved = layer.activation
    layer.activation = keras.activations.linear
    try:
        return layer(inputs)
    finally:
        layer.activation = saved


def _report(layer: Any, activation: Any, pre: Any, post: Any, input_std: float) -> LayerReport:
    channel = 1 if getattr(layer, "data_format", "channels_last") == "channels_first" else -1
    units = np.moveaxis(post == 0.0, channel, -1).reshape(-1, post.shape[channel])
    pre_std, post_std = float(pre.std()), float(post.std())
    dead_units = float(units.all(axis=0).mean())
    return LayerReport(
        name=layer.name,
        module=type(layer).__name__,
        activation=None if activation is None else str(activation),
        pre_mean=float(pre.mean()),
        pre_std=pre_std,
        post_mean=float(post.mean()),
        post_std=post_std,
        dead_fraction=float((post == 0.0).mean()),
        dead_units_fraction=dead_units,
        health=health_of(pre_std / input_std, post_std / input_std, dead_units),
    )


def analyze(model: Any, x: Any) -> Analysis:
    """Per-layer pre/post-activation statistics of ``model`` on the batch ``x``, with verdicts.

    ``model`` is a built functional or Sequential Keras model with one input; ``x`` a batch it
    accepts (a NumPy array or a backend tensor). See the module docstring for each statistic.

    Example:
        >>> import kaiming.keras
        >>> relu = keras.layers.Dense(256, activation="relu", name="fc1")
        >>> model = keras.Sequential([keras.Input((256,)), relu, keras.layers.Dense(10, name="out")])
        >>> _ = kaiming.keras.init_model(model, seed=0)
        >>> report = analyze(model, np.random.default_rng(0).standard_normal((512, 256)).astype("float32"))
        >>> report["fc1"].health, round(report["fc1"].pre_std, 1), round(report["fc1"].dead_fraction, 1)
        ('healthy', 1.4, 0.5)
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    if not model.built or not getattr(model, "inputs", None) or len(model.inputs) != 1:
        raise ValueError(
            f"model {model.name!r} must be a built functional or Sequential model with one input "
            "(e.g. keras.Sequential([keras.Input(shape), ...]))"
        )
    layers = [layer for layer in model.layers if isinstance(layer, DENSE_LAYERS)]
    found = find_activations(model, layers)
    probes: list[Any] = []
    for layer in layers:
        try:
            probes.extend([layer.input, found[id(layer)].post_layer.output])
        except (AttributeError, ValueError) as exc:
            raise ValueError(
                f"layer {layer.name!r} is called more than once; analyze needs one call"
            ) from exc
    values = keras.Model(model.inputs[0], probes)(x, training=False) if probes else []
    input_std = float(_numpy(x).std()) or 1.0
    rows = []
    for i, layer in enumerate(layers):
        inputs, post = values[2 * i], _numpy(values[2 * i + 1])
        act = found[id(layer)].activation
        pre = _numpy(_pre_activation(layer, inputs))
        rows.append(_report(layer, act, pre, post if act is not None else pre, input_std))
    return Analysis(tuple(rows), input_std)
