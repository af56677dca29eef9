"""The forward call on a user's batch: a batch that does not fit the model becomes a ValueError.

A tensor of the wrong shape, dtype or device makes torch raise a ``RuntimeError`` (or an
``IndexError`` for an embedding index out of range) deep inside the model. :func:`batch_fits`
turns that error into a one-line ``ValueError`` that names the argument, the shape, dtype and
device received, the model's parameter dtypes/devices and torch's own first line (a ``TypeError``, such as
a wrong number of positional inputs, stays a ``TypeError``), chained with
``from`` so the original traceback stays visible.

An error the model raises itself (a ``raise`` statement in code outside the ``torch`` package)
is the model's own and passes through unchanged.
"""

from __future__ import annotations

import linecache
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import torch
from torch import nn

_TORCH_DIR = os.path.dirname(os.path.abspath(torch.__file__)) + os.sep


def _describe(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"shape {tuple(value.shape)} {str(value.dtype).removeprefix('torch.')} on {value.device}"
    return type(value).__name__


def describe_inputs(args: tuple[Any, ...], kwargs: Mapping[str, Any] | None = None) -> str:
    """``shape (16, 5) float32 on cpu``; several inputs are listed, keyword ones by name."""
    parts = [_describe(a) for a in args] + [f"{k}: {_describe(v)}" for k, v in (kwargs or {}).items()]
    return parts[0] if len(parts) == 1 and not kwargs else "(" + ", ".join(parts) + ")"


def _model_side(model: nn.Module) -> str:
    kinds = sorted({f"{str(p.dtype).removeprefix('torch.')} on {p.device}" for p in model.parameters()})
    return "parameters " + (", ".join(kinds[:3]) + (", ..." if len(kinds) > 3 else "") if kinds else "none")


def _innermost(tb: TracebackType | None) -> tuple[str, int] | None:
    if tb is None:
        return None
    while tb.tb_next is not None:
        tb = tb.tb_next
    return os.path.abspath(tb.tb_frame.f_code.co_filename), tb.tb_lineno


def _raised_by_model(exc: BaseException) -> bool:
    """Whether the error is the model's own: a ``TypeError`` raised outside the torch package (a
    wrong number of inputs fails inside ``Module.__call__``), or any error raised by a ``raise``
    statement outside it."""
    where = _innermost(exc.__traceback__)
    if where is None:
        return True
    filename, line = where
    if filename.startswith(_TORCH_DIR):
        return False
    return isinstance(exc, TypeError) or linecache.getline(filename, line).lstrip().startswith("raise")


@contextmanager
def batch_fits(
    name: str, model: nn.Module, args: tuple[Any, ...], kwargs: Mapping[str, Any] | None = None
) -> Iterator[None]:
    """Run the block (a forward pass of ``model`` on the user's ``name``); a torch error that says
    the batch does not fit the model is re-raised as a one-line ``ValueError`` (``TypeError``)."""
    try:
        yield
    except (RuntimeError, IndexError, TypeError) as exc:
        if _raised_by_model(exc):
            raise
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        kind = TypeError if isinstance(exc, TypeError) else ValueError
        raise kind(
            f"{name} does not fit the model: its forward pass on {name} of {describe_inputs(args, kwargs)} "
            f"(model {_model_side(model)}) failed with {type(exc).__name__}: {first}"
        ) from exc


def check_materialized(model: nn.Module, what: str) -> None:
    """Refuse a model with parameters on the meta device: ``what`` needs their values."""
    meta = next((name for name, p in model.named_parameters() if p.is_meta), None)
    if meta is not None:
        raise ValueError(
            f"model has parameters on the meta device (no values, e.g. {meta!r}); {what} runs the "
            "model on real data: initialize it first, e.g. "
            'kaiming.torch.init_model(model, scheme, stream="counter")'
        )
