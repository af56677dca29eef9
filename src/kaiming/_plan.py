"""The report ``init_model`` returns: one row per parameter (internal module; the classes are
re-exported from ``kaiming.torch`` and ``kaiming.keras``, and need neither framework)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ._rows import NamedRows, format_table

__all__ = ["InitPlan", "ParamRule"]


@dataclass(frozen=True)
class ParamRule:
    """How one parameter is (or would be) initialized.

    ``rule`` names the scheme (``he_normal``, ``xavier_uniform``, ``lecun_normal``,
    ``orthogonal``, ``torch_default``, ``embedding_normal``, ``ones``, ``zeros`` or
    ``untouched``); ``distribution`` is what is drawn (``normal``, ``uniform``,
    ``truncated_normal``, ``orthogonal``, ``constant``, ``none``); ``fan``/``fan_mode``/``gain``
    give ``std = gain / sqrt(fan)``; ``bound`` is the half-width of a uniform; ``value`` the
    constant; ``activation`` the activation found after the layer; ``zero_index`` a row set to
    zero after drawing (an Embedding's ``padding_idx``); ``tied`` the other names of a shared
    (tied) parameter, which gets the rule of its first use (``name``).
    """

    name: str
    shape: tuple[int, ...]
    module: str
    rule: str
    distribution: str
    fan_mode: str | None = None
    fan: float | None = None
    gain: float | None = None
    std: float | None = None
    bound: float | None = None
    value: float | None = None
    activation: str | None = None
    note: str = ""
    zero_index: int | None = None
    tied: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The row as a JSON-safe dict (the shape as a list)."""
        data = dataclasses.asdict(self)
        data["shape"] = list(self.shape)
        data["tied"] = list(self.tied)
        return data


def _fan(row: ParamRule) -> str | None:
    return None if row.fan is None else f"{row.fan:g} ({row.fan_mode})"


_COLUMNS = ("parameter", "shape", "rule", "fan", "gain", "std", "bound/value", "activation", "note")


@dataclass(frozen=True)
class InitPlan(NamedRows):
    """What ``init_model`` did (or, with ``dry_run=True``, would do): one ``ParamRule`` per
    parameter, in ``model.named_parameters()`` order.

    ``seed`` is the base seed (each parameter's generator is derived from it and the
    parameter's name); ``traced`` says whether the data flow was followed (``method``: the real
    forward on meta tensors or ``torch.fx`` for ``kaiming.torch``, the layer graph for
    ``kaiming.keras``), else activations were guessed from module order (see ``reason``).
    ``str(plan)`` / ``plan.table()`` print the table; ``plan.to_dict()`` is JSON-safe;
    ``plan["fc1.weight"]`` looks a row up by name.
    """

    rows: tuple[ParamRule, ...]
    seed: int
    scheme: str
    stream: str
    traced: bool
    reason: str | None
    dry_run: bool
    method: str = "torch.fx"
    """How the activations were found: ``"forward"`` (one run of the real forward on meta
    tensors), ``"torch.fx"``, ``"keras layers"`` or ``"module order"`` (the fallback; see ``reason``)."""

    def _rows(self) -> tuple[ParamRule, ...]:
        return self.rows

    def __getitem__(self, name: str) -> ParamRule:
        """The row of parameter ``name``, or of the tied parameter that has ``name`` among its names."""
        for row in self.rows:
            if row.name == name or name in row.tied:
                return row
        found: ParamRule = super().__getitem__(name)  # raises KeyError listing the names
        return found

    def __iter__(self) -> Iterator[ParamRule]:
        return iter(self.rows)

    def table(self) -> str:
        """The plan as a plain-text table, one line per parameter, under a one-line header."""
        head = (
            f"InitPlan: scheme={self.scheme} seed={self.seed} stream={self.stream} "
            f"graph={self.method if self.traced else 'module order (' + str(self.reason) + ')'}"
            f"{' DRY RUN (nothing changed)' if self.dry_run else ''}"
        )
        body = [
            (
                r.name,
                r.shape,
                r.rule,
                _fan(r),
                r.gain,
                r.std,
                r.bound if r.value is None else r.value,
                r.activation,
                r.note,
            )
            for r in self.rows
        ]
        return head + "\n" + format_table(_COLUMNS, body)

    def __str__(self) -> str:
        return self.table()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: the settings and ``"rows"``, a list of row dicts."""
        return {
            "seed": self.seed,
            "scheme": self.scheme,
            "stream": self.stream,
            "traced": self.traced,
            "reason": self.reason,
            "dry_run": self.dry_run,
            "method": self.method,
            "rows": [r.to_dict() for r in self.rows],
        }
