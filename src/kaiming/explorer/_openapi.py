"""The OpenAPI 3.1 description of the explorer's JSON API, built from the parameter tables."""

from __future__ import annotations

from typing import Any

from ._options import param_schema
from ._params import COMPARE_PARAMS, MAX_CELLS, MAX_COMPARE, MAX_WORK, PHASE_PARAMS, PROBE_PARAMS, Param

__all__ = ["openapi_spec"]

_NUM = {"type": ["number", "null"], "description": "null when not finite (overflow)"}
_OPT_NUM = {"type": ["number", "null"]}

_LAYER = {
    "type": "object",
    "description": "Statistics of one hidden layer (see kaiming.LayerStats).",
    "properties": {
        "layer": {"type": "integer", "description": "1-based layer index"},
        "fan_in": {"type": "integer"},
        "fan_out": {"type": "integer"},
        "pre_mean": _NUM,
        "pre_std": _NUM,
        "post_mean": _NUM,
        "post_std": _NUM,
        "dead_fraction": {"type": "number", "description": "share of post-activation values exactly 0"},
        "dead_units_fraction": {"type": "number", "description": "share of units 0 for the whole batch"},
        "health": {
            "type": "string",
            "enum": ["healthy", "vanishing", "exploding", "dying"],
            "description": "the worse of forward_health and backward_health",
        },
        "forward_health": {
            "type": ["string", "null"],
            "enum": ["healthy", "vanishing", "exploding", "dying", None],
            "description": "the signal's health (activation stds, dead units)",
        },
        "backward_health": {
            "type": ["string", "null"],
            "enum": ["healthy", "vanishing", "exploding", None],
            "description": "the gradient's health (grad_std against the unit output gradient)",
        },
        "grad_std": {**_OPT_NUM, "description": "std of dL/d(pre-activation)"},
        "weight_grad_std": {**_OPT_NUM, "description": "std of the batch-mean weight gradient"},
        "theory_pre_std": {**_OPT_NUM, "description": "mean-field prediction (theory_* fields)"},
        "theory_post_std": _OPT_NUM,
        "theory_grad_std": _OPT_NUM,
        "theory_post_mean": _OPT_NUM,
        "theory_weight_grad_std": _OPT_NUM,
        "pre_corr": {**_OPT_NUM, "description": "mean pairwise correlation of the inputs' pre-activations"},
        "theory_pre_corr": {**_OPT_NUM, "description": "mean-field correlation c_l"},
    },
    "required": ["layer", "pre_std", "post_std", "dead_fraction", "health"],
}

_HISTOGRAM = {
    "type": ["object", "null"],
    "properties": {
        "layer": {"type": "integer"},
        "edges": {"type": "array", "items": {"type": "number"}, "description": "bins + 1 edges"},
        "counts": {"type": "array", "items": {"type": "integer"}},
    },
}

_PROBE = {
    "type": "object",
    "properties": {
        "config": {"type": "object", "description": "the probe's resolved arguments"},
        "layers": {"type": "array", "items": {"$ref": "#/components/schemas/LayerStats"}},
        "histogram": {"$ref": "#/components/schemas/Histogram"},
        "summary": {"type": "string", "description": "health of the network in one sentence"},
        "cached": {"type": "boolean", "description": "served from the server's result cache"},
        "elapsed_ms": {"type": "number", "description": "server-side time of the request"},
    },
    "required": ["config", "layers", "histogram", "summary"],
}

_COMPARE = {
    "type": "object",
    "properties": {
        "runs": {
            "type": "array",
            "items": {
                "allOf": [
                    {"$ref": "#/components/schemas/ProbeResult"},
                    {"type": "object", "properties": {"init": {"type": "string"}}},
                ]
            },
        },
        "elapsed_ms": {"type": "number"},
    },
    "required": ["runs"],
}

_PHASE = {
    "type": "object",
    "properties": {
        "diagram": {
            "type": "object",
            "description": "kaiming.propagation.phase_diagram(...).to_dict(): chi_1[i][j] at sigma_b2[i], "
            "sigma_w2[j], the critical sigma_w2 per sigma_b2 and the named inits",
        },
        "point": {
            "type": "object",
            "description": "this network: sigma_w2, sigma_b2, chi_1, xi_c and its phase",
        },
        "cached": {"type": "boolean"},
        "elapsed_ms": {"type": "number"},
    },
    "required": ["diagram", "point"],
}

_ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string", "description": "what was wrong, naming the parameter"}},
    "required": ["error"],
}


def _query(param: Param) -> dict[str, Any]:
    return {
        "name": param.name,
        "in": "query",
        "required": False,
        "description": param.description,
        "schema": param_schema(param),
    }


def _json(ref: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ref}}}}


def _operation(summary: str, params: tuple[Param, ...], ref: str) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "parameters": [_query(p) for p in params],
            "responses": {
                "200": _json(ref, "the simulated statistics"),
                "400": _json("#/components/schemas/Error", "a parameter is malformed or out of bounds"),
                "403": _json("#/components/schemas/Error", "a request from a page of another site"),
                "503": _json("#/components/schemas/Error", "the queue is full; see Retry-After"),
            },
        }
    }


def openapi_spec() -> dict[str, Any]:
    """The OpenAPI document served at ``/api/openapi.json``.

    Example:
        >>> spec = openapi_spec()
        >>> sorted(spec["paths"])
        ['/api/compare', '/api/options', '/api/phase', '/api/probe', '/api/stats']
    """
    limits = (
        f"Work per request is capped: depth*width*batch <= {MAX_CELLS} and "
        f"(number of inits)*depth*width^2*batch <= {MAX_WORK}; "
        f"/api/compare takes at most {MAX_COMPARE} inits."
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "kaiming explorer API",
            "version": "1",
            "description": "Per-layer statistics of a simulated deep MLP under a chosen initialization. "
            + limits,
        },
        "paths": {
            "/api/probe": _operation("Probe one network", PROBE_PARAMS, "#/components/schemas/ProbeResult"),
            "/api/compare": _operation(
                "Probe the same network under several inits", COMPARE_PARAMS, "#/components/schemas/Compare"
            ),
            "/api/phase": _operation(
                "The order-to-chaos phase diagram and this network's point",
                PHASE_PARAMS,
                "#/components/schemas/Phase",
            ),
            "/api/stats": {
                "get": {
                    "summary": "The scheduler's counters: computed, coalesced, cancelled, memory, cache",
                    "responses": {"200": {"description": "counters", "content": {"application/json": {}}}},
                }
            },
            "/api/options": {
                "get": {
                    "summary": "Names, defaults and bounds of every parameter",
                    "responses": {"200": {"description": "options", "content": {"application/json": {}}}},
                }
            },
        },
        "components": {
            "schemas": {
                "LayerStats": _LAYER,
                "Histogram": _HISTOGRAM,
                "ProbeResult": _PROBE,
                "Compare": _COMPARE,
                "Phase": _PHASE,
                "Error": _ERROR,
            }
        },
    }
