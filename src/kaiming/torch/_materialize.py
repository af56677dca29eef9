"""Meta -> device materialization that keeps every tie and leaves no tensor unwritten.

``materialize_(model, device)`` gives every meta tensor real (uninitialized) memory with
``model.to_empty`` (DTensor/FSDP2 parameters get their local shard only; large CPU tensors are
advised to use huge pages), after reading the tie map of the meta model: ``to_empty`` makes a
new tensor per module attribute, so a parameter shared by two modules (tied embeddings) would
come out as two tensors, one never written. Every group of attributes that held one meta tensor
is re-tied to one real tensor. Norm layers' running statistics are reset.

``initialize_(model, rows, ...)`` is what ``init_model`` runs after making its plan: materialize
(if needed), apply the plan's rules, replay the model's own recorded initialization for every
other tensor that got fresh memory (and for every ``"own"`` row), then audit.
"""

from __future__ import annotations

import contextlib
import ctypes
import sys
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from ._audit import InitializationError, audit, names_text
from ._dtensor import local_part
from ._plan import ParamRule
from ._record import record_of
from ._replay import replay_

__all__ = ["distinct_tensors", "initialize_", "materialize_", "own_rule"]

Apply = Callable[..., None]


@dataclass
class _Fresh:
    """What a materialization left to be written: distinct tensor names (first name of each)."""

    names: list[str]
    restored: set[str] = field(default_factory=set)


_PENDING: weakref.WeakKeyDictionary[nn.Module, _Fresh] = weakref.WeakKeyDictionary()


def distinct_tensors(model: nn.Module) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(parameters, buffers) by the first name of each distinct tensor, in the model's order."""
    params: dict[str, torch.Tensor] = dict(model.named_parameters())
    seen = {id(t) for t in params.values()}
    buffers = {}
    for name, buffer in model.named_buffers():
        if id(buffer) not in seen:
            seen.add(id(buffer))
            buffers[name] = buffer
    return params, buffers


def _tie_groups(model: nn.Module) -> list[list[tuple[nn.Module, str, bool]]]:
    """Groups of (module, attribute, is_parameter) that hold the same tensor object."""
    groups: dict[int, list[tuple[nn.Module, str, bool]]] = {}
    for module in model.modules():
        for attr, p in module._parameters.items():
            if p is not None:
                groups.setdefault(id(p), []).append((module, attr, True))
        for attr, b in module._buffers.items():
            if b is not None:
                groups.setdefault(id(b), []).append((module, attr, False))
    return [g for g in groups.values() if len(g) > 1]


def _retie(groups: list[list[tuple[nn.Module, str, bool]]]) -> None:
    for (first, first_attr, first_param), *rest in groups:
        tensor = (first._parameters if first_param else first._buffers)[first_attr]
        for module, attr, is_param in rest:
            if is_param:
                module._parameters[attr] = tensor  # type: ignore[assignment]
            else:
                module._buffers[attr] = tensor


_HUGE_PAGE = 1 << 21
_MADV_HUGEPAGE = 14


def _advise_huge_pages(tensor: torch.Tensor) -> None:
    """Ask Linux to back a fresh, untouched CPU tensor of >= 4 MiB with transparent huge pages
    (what NumPy does for its own large arrays): the first writes then fault in 2 MiB pages,
    not 4 KiB ones, about 4x faster on the benchmark machine. A no-op elsewhere."""
    nbytes = tensor.untyped_storage().nbytes()
    if sys.platform != "linux" or tensor.device.type != "cpu" or nbytes < 2 * _HUGE_PAGE:
        return
    start = -(-tensor.data_ptr() // _HUGE_PAGE) * _HUGE_PAGE
    end = (tensor.data_ptr() + nbytes) // _HUGE_PAGE * _HUGE_PAGE
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.madvise(ctypes.c_void_p(start), ctypes.c_size_t(end - start), _MADV_HUGEPAGE)


def _local(tensor: torch.Tensor) -> torch.Tensor:
    return local_part(tensor)[0]


def materialize_(model: nn.Module, device: torch.device | str = "cpu") -> bool:
    """Give every meta parameter/buffer of ``model`` real, uninitialized memory on ``device``,
    keeping ties; returns whether anything was on the meta device. What was materialized is
    remembered for the next ``initialize_`` (which must write all of it, or raise)."""
    params, buffers = distinct_tensors(model)
    fresh = [n for n, t in (*params.items(), *buffers.items()) if t.is_meta]
    if not fresh:
        return False
    groups = _tie_groups(model)
    model.to_empty(device=device)
    _retie(groups)
    for param in model.parameters():
        _advise_huge_pages(_local(param))
    state = _Fresh(fresh)
    for module_name, module in model.named_modules():
        reset = getattr(module, "reset_running_stats", None)
        if callable(reset):
            reset()
            prefix = f"{module_name}." if module_name else ""
            state.restored.update(prefix + n for n, _ in module.named_buffers(recurse=False))
    _PENDING[model] = state
    return True


def own_rule(name: str, module: nn.Module | str, shape: tuple[int, ...]) -> ParamRule:
    """The plan row of a parameter under ``scheme="own"``: the model's recorded init, replayed
    (``module``: the owning module, or its class name)."""
    kind = module if isinstance(module, str) else type(module).__name__
    return ParamRule(name, shape, kind, "own", "replay", note="the model's own init, replayed")


def initialize_(
    model: nn.Module,
    rows: list[ParamRule],
    *,
    seed: int,
    stream: str,
    apply: Apply,
    caller: str = "init_model",
) -> None:
    """Materialize ``model`` if it is on ``meta``, write every row of the plan (``apply`` for the
    rules, the recorded init for ``"own"`` rows and for every materialized tensor no rule wrote),
    then audit: every materialized tensor written, parameters finite, buffers free of NaN.
    Rows of replayed parameters are replaced (in ``rows``) by ``"own"`` rows."""
    state = _PENDING.pop(model, None)
    if state is None and any(t.is_meta for t in (*model.parameters(), *model.buffers())):
        if stream != "counter":
            meta = [n for n, t in (*model.named_parameters(), *model.named_buffers()) if t.is_meta]
            raise ValueError(
                f"{caller}: tensors {names_text(meta)} are on the meta device; pass stream='counter' "
                "(materializes and initializes them) or materialize the model first"
            )
        materialize_(model)
        state = _PENDING.pop(model)
    params, buffers = distinct_tensors(model)
    written: set[str] = set()
    own: list[str] = []
    for rule in rows:
        if rule.distribution == "replay":
            own.append(rule.name)
        elif rule.distribution != "none":
            apply(params[rule.name], rule, seed=seed, stream=stream)
            written.add(rule.name)
    if own and stream != "counter":
        raise ValueError(f"{caller}: scheme 'own' replays the recorded init from the counter stream; "
                         f"pass stream='counter', got stream={stream!r}")  # fmt: skip
    fresh = [] if state is None else [n for n in state.names if n not in written and n not in state.restored]
    if state is not None:
        written |= state.restored
    todo = own + [n for n in fresh if n not in own]
    record = record_of(model)
    if todo and record is not None:
        replayed = replay_(record, {**params, **buffers}, todo, seed)
        written |= replayed
        for i, row in enumerate(rows):
            if row.name in replayed and row.distribution != "replay":
                rows[i] = own_rule(row.name, row.module, row.shape)
    elif own:
        raise InitializationError(
            f"{caller}: scheme 'own' needs the model's recorded initialization, and this "
            f"{type(model).__name__} has none; build it with kaiming.torch.deferred_init(...)",
            own,
        )
    audit(params, buffers, [n for n in fresh if n not in written], caller=caller)
