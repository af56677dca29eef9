"""Which activation follows each layer: the tracer first, then torch.fx, then module order."""

from __future__ import annotations

from collections.abc import Iterable

from torch import nn

from ._graph import (
    Activation,
    GraphInfo,
    consumer_activation,
    module_order_activations,
    residual_norms,
    trace,
)
from ._tracer import FlowError, trace_flow

__all__ = ["analyze_graph"]


def analyze_graph(model: nn.Module, layers: Iterable[str], example_inputs: object = None) -> GraphInfo:
    """Activation after each of the named ``layers`` and the residual-branch norms of ``model``.

    With ``example_inputs`` the real forward runs once on meta tensors
    (``kaiming.torch._tracer.trace_flow``); without them, or when that run fails, ``torch.fx``
    traces the model; when fx fails too, activations come from module registration order
    (``traced=False``; ``reason`` gives every failure).
    """
    names = list(layers)
    reasons = []
    if example_inputs is not None:
        modules = dict(model.named_modules())
        by_module: dict[nn.Module, str] = {}
        for name in names:
            by_module.setdefault(modules[name], name)
        try:
            flow = trace_flow(model, by_module, example_inputs)
        except FlowError as exc:
            reasons.append(f"the forward did not run on meta tensors ({exc})")
        else:
            found: dict[str, Activation | None] = {n: None for n in names}
            for module, name in by_module.items():
                for other in names:
                    if modules[other] is module:
                        found[other] = flow.activations.get(name)
            gated = {str(k): v for k, v in flow.gated.items() if found.get(str(k)) is None}
            return GraphInfo(found, tuple(flow.residual_norms), True, None, "forward", gated)
    else:
        reasons.append("no example_inputs were given to run the forward on meta tensors")
    graph_module, reason = trace(model, names)
    reasons.append(f"torch.fx could not trace it ({reason})")
    if graph_module is None:
        return GraphInfo(
            module_order_activations(model, names), (), False, "; ".join(reasons), "module order"
        )
    activations: dict[str, Activation | None] = {}
    for node in graph_module.graph.nodes:
        if node.op == "call_module" and node.target in names:
            consumer = consumer_activation(node, graph_module)
            if activations.get(str(node.target)) is None:
                activations[str(node.target)] = None if consumer is None else consumer[1]
    for name in names:
        activations.setdefault(name, None)
    fx_reason = None if example_inputs is None else reasons[0]
    return GraphInfo(activations, residual_norms(graph_module), True, fx_reason, "torch.fx")
