"""JSON-safe values (internal): one conversion for every report that is written as JSON."""

from __future__ import annotations

import math
from collections.abc import Mapping

__all__ = ["jsonable"]


def jsonable(value: object) -> object:
    """``value`` with NumPy scalars made Python, tuples made lists and non-finite floats ``None``.

    Applied recursively through mappings, lists and tuples, so ``json.dumps`` gives strict JSON.

    Example:
        >>> jsonable({"std": float("inf"), "layers": (1, float("nan"))})
        {'std': None, 'layers': [1, None]}
    """
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if hasattr(value, "item") and callable(value.item):  # NumPy scalar
        return jsonable(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return value
