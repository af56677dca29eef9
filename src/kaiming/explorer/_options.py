"""What the page builds its controls from (``GET /api/options``): names, defaults and bounds."""

from __future__ import annotations

from typing import Any

from kaiming._activations import ACTIVATIONS
from kaiming.propagation import PROBE_ACTIVATIONS

from ._params import COMPARE_PARAMS, MAX_CELLS, MAX_COMPARE, MAX_WORK, PROBE_PARAMS, Param, init_menu

__all__ = ["options", "param_schema"]


def param_schema(param: Param) -> dict[str, Any]:
    """The JSON-schema of one query parameter (also used by the OpenAPI document)."""
    schema: dict[str, Any]
    if param.kind == "int":
        schema = {"type": "integer"}
    elif param.kind == "float":
        schema = {"type": "number"}
    elif param.kind == "bool":
        schema = {"type": "boolean"}
    elif param.kind == "choice":
        schema = {"type": "string", "enum": list(param.choices)}
    else:
        schema = {"type": "string", "description": "comma-separated: " + ", ".join(param.choices)}
    if param.minimum is not None:
        schema["exclusiveMinimum" if param.exclusive_minimum else "minimum"] = param.minimum
    if param.maximum is not None:
        schema["maximum"] = param.maximum
    if param.default is not None:
        default = param.default
        schema["default"] = ",".join(default) if isinstance(default, list) else default
    return schema


def options() -> dict[str, Any]:
    """Everything the page needs to build its controls, in one JSON-ready dict.

    Example:
        >>> opts = options()
        >>> opts["params"]["depth"]["maximum"], opts["params"]["init"]["default"]
        (100, 'he_normal')
    """
    params = {p.name: param_schema(p) for p in (*PROBE_PARAMS, *COMPARE_PARAMS)}
    activations = []
    for name in PROBE_ACTIVATIONS:
        act = ACTIVATIONS.get(name)
        param_name = act.param_name if act is not None else None
        activations.append(
            {
                "name": name,
                "param": param_name,
                "default_param": act.default_param if act is not None and param_name else None,
            }
        )
    return {
        "inits": init_menu(),
        "activations": activations,
        "params": params,
        "limits": {"max_work": MAX_WORK, "max_cells": MAX_CELLS, "max_compare": MAX_COMPARE},
    }
