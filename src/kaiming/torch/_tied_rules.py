"""Tied (shared) parameters in an ``InitPlan``: every name, and a warning when the uses disagree
(internal)."""

from __future__ import annotations

import math
import warnings
from dataclasses import replace

from torch import nn

from ._plan import ParamRule, TiedParameterWarning

__all__ = ["aliases_of", "tied_rule"]


def aliases_of(model: nn.Module) -> dict[str, list[str]]:
    """First name of each tied (shared) parameter -> its other names, in registration order."""
    first: dict[int, str] = {}
    aliases: dict[str, list[str]] = {}
    for name, param in model.named_parameters(remove_duplicate=False):
        if id(param) in first:
            aliases.setdefault(first[id(param)], []).append(name)
        else:
            first[id(param)] = name
    return aliases


def _same(a: ParamRule, b: ParamRule) -> bool:
    def close(x: float | None, y: float | None) -> bool:
        return x == y or (x is not None and y is not None and math.isclose(x, y, rel_tol=1e-9))

    return (a.rule, a.distribution) == (b.rule, b.distribution) and all(
        close(x, y) for x, y in ((a.std, b.std), (a.bound, b.bound), (a.value, b.value))
    )


def _describe(rule: ParamRule) -> str:
    if rule.std is not None:
        size = f", std {rule.std:.4g}"
    elif rule.value is not None:
        size = f", value {rule.value:g}"
    else:
        size = ""
    return f"{rule.rule} ({rule.module}{size})"


def tied_rule(rule: ParamRule, others: list[ParamRule]) -> ParamRule:
    """The rule of a tied parameter: its first use's (``rule``), with the other names in
    ``tied`` and the note; a ``TiedParameterWarning`` when another use implies a different rule."""
    names = tuple(o.name for o in others)
    conflicts = [o for o in others if not _same(rule, o)]
    note = f"tied: {', '.join(names)}"
    if conflicts:
        note += "; other uses imply " + ", ".join(f"{o.name}: {_describe(o)}" for o in conflicts)
        warnings.warn(
            f"init_model: parameter {rule.name} is tied with {', '.join(names)} and its uses imply "
            f"different rules: {rule.name}: {_describe(rule)}; "
            + "; ".join(f"{o.name}: {_describe(o)}" for o in conflicts)
            + f". The first use's rule ({rule.rule}) is applied",
            TiedParameterWarning,
            stacklevel=3,
        )
    return replace(rule, tied=names, note=f"{rule.note}; {note}" if rule.note else note)
