"""The report ``init_model`` returns (its home is the framework-neutral ``kaiming._plan``)."""

from __future__ import annotations

from .._plan import InitPlan, ParamRule

__all__ = ["InitPlan", "ParamRule"]
