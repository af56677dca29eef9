"""Query-string parameters of the explorer API: one table drives validation, OpenAPI and docs.

Every parameter is parsed from its string form, checked against its bounds, and turned into the
keyword arguments of :func:`kaiming.probe`. Anything wrong raises :class:`BadRequestError`, whose
message names the parameter, the value received and what is allowed; the server answers it with
HTTP 400. The work a request may ask for is bounded twice: ``depth * width**2 * batch`` (the
multiply-adds of one forward pass, summed over the initializers compared) and
``depth * width * batch`` (the activations kept for the backward pass).

This module needs no web framework (only the probe's lists of accepted names), so it is cheap
to import and to test.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from kaiming._activations import ACTIVATIONS
from kaiming.propagation import PROBE_ACTIVATIONS, PROBE_INITS, STREAMS

__all__ = [
    "COMPARE_PARAMS",
    "MAX_CELLS",
    "MAX_COMPARE",
    "MAX_WORK",
    "PHASE_PARAMS",
    "PROBE_PARAMS",
    "BadRequestError",
    "Param",
    "init_menu",
    "parse_compare",
    "parse_phase",
    "parse_probe",
    "probe_cost",
    "probe_kwargs",
    "probe_memory",
]

Kind = Literal["int", "float", "bool", "choice", "list"]

MAX_WORK = 2**34
"""Most multiply-adds one request may ask for: ``sum over inits of depth * width**2 * batch``."""
MAX_CELLS = 2**24
"""Most activations one run may keep for its backward pass: ``depth * width * batch``."""
MAX_COMPARE = 6
"""Most initializers one ``/api/compare`` request may overlay."""

_TRUE = ("1", "true", "on", "yes")
_FALSE = ("0", "false", "off", "no")


class BadRequestError(ValueError):
    """A request parameter is missing, malformed or out of bounds (HTTP 400)."""


@dataclass(frozen=True)
class Param:
    """One query parameter: its name, type, bounds, default and meaning."""

    name: str
    kind: Kind
    default: object
    description: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    exclusive_minimum: bool = False

    def parse(self, raw: str) -> object:
        """Return ``raw`` converted and checked, or raise :class:`BadRequestError`."""
        text = raw.strip()
        if self.kind == "int":
            return self._bounded(_to_int(self.name, text))
        if self.kind == "float":
            return self._bounded(_to_float(self.name, text))
        if self.kind == "bool":
            return _to_bool(self.name, text)
        if self.kind == "choice":
            return self._choice(text)
        items = [item.strip() for item in text.split(",") if item.strip()]
        if not items:
            raise BadRequestError(
                f"{self.name} must be a comma-separated list of {_allowed(self.choices)}; got {raw!r}"
            )
        return [self._choice(item) for item in items]

    def _choice(self, text: str) -> str:
        if text not in self.choices:
            raise BadRequestError(f"Invalid {self.name} {text!r}; allowed: {_allowed(self.choices)}")
        return text

    def _bounded(self, value: float) -> Any:
        low, high = self.minimum, self.maximum
        too_low = low is not None and (value <= low if self.exclusive_minimum else value < low)
        if too_low or (high is not None and value > high):
            raise BadRequestError(f"{self.name} must be {self.bounds_text()}, got {_fmt(value)}")
        return value

    def bounds_text(self) -> str:
        """The allowed range in words, e.g. ``an integer in [1, 100]``."""
        noun = "an integer" if self.kind == "int" else "a number"
        left = "(" if self.exclusive_minimum else "["
        return f"{noun} in {left}{_fmt(self.minimum)}, {_fmt(self.maximum)}]"


def _fmt(value: float | None) -> str:
    if value is None:
        return "inf"
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _allowed(choices: Sequence[str]) -> str:
    return ", ".join(choices)


def _to_int(name: str, text: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        raise BadRequestError(f"{name} must be an integer, got {text!r}") from None


def _to_float(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise BadRequestError(f"{name} must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise BadRequestError(f"{name} must be a finite number, got {text!r}")
    return value


def _to_bool(name: str, text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise BadRequestError(f"{name} must be a boolean ({'/'.join(_TRUE)} or {'/'.join(_FALSE)}), got {text!r}")


def _shared_params(activations: tuple[str, ...]) -> tuple[Param, ...]:
    return (
        Param("act", "choice", "relu", "Activation after every hidden layer.", choices=activations),
        Param("depth", "int", 20, "Number of hidden layers.", 1, 100),
        Param("width", "int", 256, "Units per hidden layer (the input has the same width).", 1, 2048),
        Param("batch", "int", 256, "Number of input examples pushed through the network.", 1, 4096),
        Param("seed", "int", 0, "Seed of the weights and of the inputs.", 0, 2**32 - 1),
        Param(
            "stream",
            "choice",
            "counter",
            "Random numbers: 'counter' draws every tensor from kaiming.stream keyed by (seed, tensor "
            "name), faster; 'generator' is NumPy's Generator from the seed, the numbers of "
            "kaiming.probe's default. Both give the same distributions.",
            choices=STREAMS,
        ),
        Param(
            "mode",
            "choice",
            "auto",
            "Fan of the variance-scaling inits; 'auto' keeps the init's own. "
            "Ignored by orthogonal and random.",
            choices=("auto", "fan_in", "fan_out", "fan_avg"),
        ),
        Param(
            "std",
            "float",
            0.01,
            "Standard deviation of the 'random' init N(0, std^2); ignored by the other inits.",
            0.0,
            10.0,
            exclusive_minimum=True,
        ),
        Param(
            "slope",
            "float",
            None,
            "Activation parameter: leaky/prelu negative slope, elu alpha, softplus beta. "
            "Absent: the activation's default. Ignored by activations without a parameter.",
            0.0,
            10.0,
        ),
        Param(
            "gain",
            "float",
            None,
            "Weight gain sigma_w: Var[W] = gain^2 / fan, replacing the init's own gain (He sqrt(2), "
            "others 1). Absent: the init's own. Ignored by 'random'.",
            0.0,
            10.0,
            exclusive_minimum=True,
        ),
        Param("bn", "bool", False, "Batch-normalize every pre-activation (no learned scale)."),
        Param(
            "weight_grad",
            "bool",
            True,
            "Also compute each layer's weight-gradient std (weight_grad_std; null when off). The page "
            "does not show it and turns it off: a third of the multiply-adds.",
        ),
        Param("bias", "float", 0.0, "Standard deviation of the biases (0: no bias).", 0.0, 10.0),
        Param(
            "input",
            "choice",
            "normal",
            "Distribution of the inputs, both with unit variance.",
            choices=("normal", "uniform"),
        ),
        Param(
            "dtype",
            "choice",
            "float32",
            "Floating-point type of the simulation.",
            choices=("float32", "float64"),
        ),
        Param(
            "layer",
            "int",
            None,
            "1-based layer whose activation histogram is returned (default: the last).",
            1,
            100,
        ),
        Param("bins", "int", 40, "Number of histogram bins.", 5, 200),
    )


PROBE_PARAMS: tuple[Param, ...] = (
    Param("init", "choice", "he_normal", "Weight initializer.", choices=tuple(PROBE_INITS)),
    *_shared_params(tuple(PROBE_ACTIVATIONS)),
)
"""Parameters of ``GET /api/probe``."""

COMPARE_PARAMS: tuple[Param, ...] = (
    Param(
        "inits",
        "list",
        ["he_normal", "xavier_normal", "random"],
        f"Comma-separated initializers to overlay (at most {MAX_COMPARE}; repeats are dropped).",
        choices=tuple(PROBE_INITS),
    ),
    *_shared_params(tuple(PROBE_ACTIVATIONS)),
)
"""Parameters of ``GET /api/compare``."""

PHASE_PARAMS: tuple[Param, ...] = tuple(
    p for p in PROBE_PARAMS if p.name in ("init", "act", "slope", "std", "gain", "mode", "width", "bias")
)
"""Parameters of ``GET /api/phase`` (those of ``/api/probe`` that set the point on the diagram)."""

_INIT_LABELS = {
    "he_normal": "He normal",
    "he_uniform": "He uniform",
    "he_truncated_normal": "He truncated normal",
    "xavier_normal": "Xavier normal",
    "xavier_uniform": "Xavier uniform",
    "xavier_truncated_normal": "Xavier truncated normal",
    "lecun_normal": "LeCun normal",
    "lecun_uniform": "LeCun uniform",
    "lecun_truncated_normal": "LeCun truncated normal",
    "orthogonal": "Orthogonal",
    "random": "Random N(0, std\u00b2)",
}
_NO_MODE = ("random", "orthogonal")  # inits that are not variance scaling: no fan mode
_INIT_ALIASES = frozenset({"he", "xavier", "lecun"})


def init_menu() -> list[dict[str, str]]:
    """The initializers the page offers, ``[{"name", "label"}]``; aliases of another are left out."""
    return [
        {"name": name, "label": _INIT_LABELS.get(name, name)}
        for name in PROBE_INITS
        if name not in _INIT_ALIASES and not name.startswith(("kaiming_", "glorot_"))
    ]


def _values(table: Sequence[Param], items: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Each parameter of ``table`` parsed from ``items`` (its default when absent); an unknown or
    repeated parameter is a ``BadRequestError``."""
    by_name = {p.name: p for p in table}
    values: dict[str, Any] = {p.name: p.default for p in table}
    seen: set[str] = set()
    for key, raw in items:
        param = by_name.get(key)
        if param is None:
            raise BadRequestError(f"Unknown parameter {key!r}; allowed: {_allowed(list(by_name))}")
        if key in seen:
            raise BadRequestError(f"Parameter {key!r} is given more than once")
        seen.add(key)
        values[key] = param.parse(raw)
    return values


def _parse(table: Sequence[Param], items: Sequence[tuple[str, str]]) -> dict[str, Any]:
    values = _values(table, items)
    depth = values["depth"]
    if values["layer"] is None:
        values["layer"] = depth
    elif values["layer"] > depth:
        raise BadRequestError(f"layer must be an integer in [1, depth={depth}], got {values['layer']}")
    return values


def _check_work(values: Mapping[str, Any], runs: int) -> None:
    depth, width, batch = values["depth"], values["width"], values["batch"]
    cells = depth * width * batch
    if cells > MAX_CELLS:
        raise BadRequestError(
            f"Request too large: depth*width*batch = {cells} activations exceeds the cap {MAX_CELLS}; "
            "lower depth, width or batch"
        )
    work = runs * depth * width * width * batch
    if work > MAX_WORK:
        per = "" if runs == 1 else f" x {runs} inits"
        raise BadRequestError(
            f"Request too large: depth*width^2*batch{per} = {work} multiply-adds exceeds the cap "
            f"{MAX_WORK}; lower depth, width or batch"
        )


def probe_kwargs(init: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments of ``kaiming.probe`` for ``init`` and the parsed ``values``."""
    act = values["act"]
    kwargs: dict[str, Any] = {
        "init": init,
        "activation": act,
        "depth": values["depth"],
        "width": values["width"],
        "batch": values["batch"],
        "seed": values["seed"],
        "stream": values["stream"],
        "bias_std": values["bias"],
        "batch_norm": values["bn"],
        "weight_grad": values["weight_grad"],
        "input_dist": values["input"],
        "dtype": values["dtype"],
        "histogram_layer": values["layer"],
        "bins": values["bins"],
    }
    if values["mode"] != "auto" and init not in _NO_MODE:
        kwargs["mode"] = values["mode"]
    if init == "random":
        kwargs["std"] = values["std"]
    elif values["gain"] is not None:
        kwargs["gain"] = values["gain"]
    activation = ACTIVATIONS.get(act)
    if values["slope"] is not None and activation is not None and activation.param_name is not None:
        kwargs["activation_param"] = values["slope"]
    return kwargs


def parse_probe(items: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Validate the query ``items`` of ``/api/probe``; return the probe's keyword arguments.

    Example:
        >>> kw = parse_probe([("init", "xavier_normal"), ("depth", "30")])
        >>> kw["init"], kw["depth"], kw["activation"], kw["histogram_layer"]
        ('xavier_normal', 30, 'relu', 30)
        >>> parse_probe([("depth", "0")])
        Traceback (most recent call last):
        ...
        kaiming.explorer._params.BadRequestError: depth must be an integer in [1, 100], got 0
    """
    values = _parse(PROBE_PARAMS, items)
    _check_work(values, 1)
    return probe_kwargs(values["init"], values)


def parse_compare(items: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """Validate the query ``items`` of ``/api/compare``; return one kwargs dict per initializer.

    Example:
        >>> [kw["init"] for kw in parse_compare([("inits", "he_normal,random,he_normal")])]
        ['he_normal', 'random']
    """
    values = _parse(COMPARE_PARAMS, items)
    inits = list(dict.fromkeys(values["inits"]))
    if len(inits) > MAX_COMPARE:
        raise BadRequestError(f"inits lists {len(inits)} initializers; at most {MAX_COMPARE} can be compared")
    _check_work(values, len(inits))
    return [probe_kwargs(init, values) for init in inits]


def probe_cost(kwargs: Mapping[str, Any]) -> float:
    """The relative cost of one probe: ``depth * width**2 * (batch + 8)``.

    The multiply-adds of the forward and backward passes scale with ``depth * width**2 * batch``;
    drawing the weights costs about as much as 8 more examples. Used to run cheap requests first.

    Example:
        >>> probe_cost({"depth": 2, "width": 4, "batch": 8})
        512.0
    """
    depth, width, batch = kwargs["depth"], kwargs["width"], kwargs["batch"]
    return float(depth * width * width * (batch + 8))


def probe_memory(kwargs: Mapping[str, Any]) -> int:
    """Bytes one probe may hold at its peak (an upper estimate, checked by tracemalloc).

    ``itemsize * depth * (width**2 + width * batch)`` kept for the backward pass (every layer's
    weights and pre-activations), plus ``8 * (6 * batch * width + 4 * width**2)`` of temporaries
    (float64 draws, an orthogonal init's QR, the weight-gradient statistic) and 1 MiB.

    Example:
        >>> probe_memory({"depth": 10, "width": 1024, "batch": 16, "dtype": "float32"}) // 2**20
        74
    """
    depth, width, batch = int(kwargs["depth"]), int(kwargs["width"]), int(kwargs["batch"])
    itemsize = 8 if kwargs.get("dtype") == "float64" else 4
    kept = itemsize * depth * (width * width + width * batch)
    return kept + 8 * (6 * batch * width + 4 * width * width) + 2**20


def parse_phase(items: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Validate the query ``items`` of ``/api/phase``; return ``kaiming.propagation.phase_point``'s
    keyword arguments (``init``, ``activation``, ``width``, ``bias_std`` and the optional ones).

    Example:
        >>> kw = parse_phase([("init", "xavier_normal"), ("act", "tanh"), ("bias", "0.1")])
        >>> kw["init"], kw["activation"], kw["bias_std"], kw["width"]
        ('xavier_normal', 'tanh', 0.1, 256)
    """
    values = _values(PHASE_PARAMS, items)
    kwargs = probe_kwargs(
        values["init"],
        {
            **values,
            "depth": 1,
            "batch": 1,
            "seed": 0,
            "stream": "counter",
            "bn": False,
            "weight_grad": True,
            "input": "normal",
            "dtype": "float32",
            "layer": 1,
            "bins": 5,
        },
    )
    keep = ("init", "activation", "width", "bias_std", "mode", "std", "gain", "activation_param")
    return {k: v for k, v in kwargs.items() if k in keep}
