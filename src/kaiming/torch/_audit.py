"""The audit at the end of ``init_model`` / ``init_sharded``: every tensor written and finite.

Rules (one place): a tensor that was given fresh (uninitialized) memory by the meta-device
materialization must have been written since, by the scheme, by the model's own initialization
replayed, or by a norm layer's ``reset_running_stats``; every floating-point parameter must be
finite; every floating-point buffer must be free of NaN (``±inf`` is allowed in buffers because
attention masks hold it on purpose). Anything else raises :class:`InitializationError` naming
every offending tensor — never a warning.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import torch

__all__ = ["InitializationError", "audit"]

_SHOWN = 12


class InitializationError(ValueError):
    """A parameter or buffer was left unwritten, is not finite, or could not be initialized.

    ``tensors`` lists the fully-qualified names involved.
    """

    def __init__(self, message: str, tensors: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.tensors: tuple[str, ...] = tuple(tensors)


def names_text(names: list[str]) -> str:
    """``a, b, c`` — at most a dozen names, then how many more."""
    shown = ", ".join(names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def _local(tensor: torch.Tensor) -> torch.Tensor:
    to_local = getattr(tensor, "to_local", None)
    return to_local() if callable(to_local) else tensor


def _bad_values(tensor: torch.Tensor, *, allow_inf: bool) -> bool:
    local = _local(tensor).detach()
    if not local.is_floating_point() or local.numel() == 0 or local.is_meta:
        return False
    # min and max propagate NaN: two scalars tell all, without a temporary the tensor's size
    low, high = (float(v) for v in torch.aminmax(local))
    if allow_inf:
        return math.isnan(low) or math.isnan(high)
    return not (math.isfinite(low) and math.isfinite(high))


def audit(
    params: Mapping[str, torch.Tensor],
    buffers: Mapping[str, torch.Tensor],
    unwritten: Iterable[str] = (),
    *,
    caller: str = "init_model",
) -> None:
    """Raise :class:`InitializationError` if a tensor in ``unwritten`` remains, a parameter is not
    finite, or a buffer holds NaN. ``params``/``buffers`` map each distinct tensor's name to it."""
    left = sorted(set(unwritten))
    if left:
        raise InitializationError(
            f"{caller}: {len(left)} tensor(s) were materialized from the meta device but never "
            f"written (their memory is uninitialized): {names_text(left)}. No rule of the scheme "
            "covers them and the model's own initialization could not be replayed; build the "
            "model with kaiming.torch.deferred_init(...) so its own init is recorded, or write "
            "them yourself before calling init_model on a materialized model",
            left,
        )
    bad = [n for n, t in params.items() if _bad_values(t, allow_inf=False)]
    bad += [n for n, t in buffers.items() if _bad_values(t, allow_inf=True)]
    if bad:
        raise InitializationError(
            f"{caller}: {len(bad)} tensor(s) hold non-finite values after initialization "
            f"(parameters must be finite, buffers free of NaN): {names_text(bad)}",
            bad,
        )
