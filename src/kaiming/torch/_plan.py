"""The report ``init_model`` returns (``InitPlan``, ``ParamRule``: framework-neutral, in
``kaiming._plan``) and the warning for tied parameters whose uses disagree."""

from __future__ import annotations

from .._plan import InitPlan, ParamRule

__all__ = ["InitPlan", "ParamRule", "TiedParameterWarning"]


class TiedParameterWarning(UserWarning):
    """A parameter shared by several modules (tied weights) whose uses imply different rules."""
