"""Real models (``tests/_zoo.py``: GPT-2, Llama, BERT, T5, ViT, ConvNeXt, ResNet built from small
configs): the forward tracer finds the activation each architecture is known to use after every
Linear/Conv, with no fallback, and ``analyze`` reports every layer."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable

import pytest
import torch
from torch import nn

pytest.importorskip("transformers")

from _zoo import build, zoo_ids
from kaiming.torch import TiedParameterWarning, TracingFallbackWarning, analyze, init_model


def _rule(*pairs: tuple[str, str]) -> Callable[[str], str | None]:
    """Expected activation of a layer: the first regex matching its name, else none (linear)."""

    def expected(name: str) -> str | None:
        return next((act for pattern, act in pairs if re.search(pattern, name)), None)

    return expected


# What each architecture is known to use (its config's hidden_act and its code); every other
# Linear/Conv (attention projections, output projections, heads) is followed by no activation.
EXPECTED: dict[str, Callable[[str], str | None]] = {
    "gpt2": _rule((r"\.mlp\.c_fc$", "gelu_new")),
    "llama": _rule((r"\.mlp\.gate_proj$", "silu")),  # up_proj: the linear factor of silu(gate) * up
    "bert": _rule((r"\.intermediate\.dense$", "gelu"), (r"^bert\.pooler\.dense$", "tanh")),
    "t5": _rule((r"\.DenseReluDense\.wi$", "relu")),
    "vit": _rule((r"\.(mlp\.fc1|intermediate\.dense)$", "gelu")),
    "convnext": _rule((r"\.pwconv1$", "gelu")),
    "resnet": _rule((r"convolution$", "relu")),  # every conv: conv -> bn -> relu, shortcut -> add -> relu
}

GATED = {"llama": r"\.mlp\.up_proj$"}


def _dense(model: nn.Module) -> list[str]:
    """Every Linear/Conv of the model (and Hugging Face's Conv1D), by module name."""
    return [
        name
        for name, module in model.named_modules()
        if isinstance(module, (nn.Linear, nn.modules.conv._ConvNd)) or type(module).__name__ == "Conv1D"
    ]


@pytest.mark.parametrize("name", zoo_ids())
def test_init_model_finds_every_activation_with_no_fallback(name: str) -> None:
    model, inputs = build(name)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        warnings.simplefilter("error", TracingFallbackWarning)
        plan = init_model(model, seed=0, example_inputs=inputs)
    assert plan.method == "forward" and plan.traced and plan.reason is None
    # the language models tie their output head to the embedding, whose uses imply two rules
    tied = [r for r in record if issubclass(r.category, TiedParameterWarning)]
    assert len(tied) == (1 if name in ("gpt2", "llama", "t5") else 0)
    if tied:
        assert "embedding_normal" in str(tied[0].message) and "lm_head.weight" in str(tied[0].message)
    rows = {row.name: row for row in plan}
    expected = EXPECTED[name]
    layers = _dense(model)
    found = {}
    for layer in layers:
        row = rows.get(f"{layer}.weight")
        if row is None:  # a tied weight (an LM head): planned under the embedding's name
            continue
        assert row.fan is not None, layer  # a Linear/Conv rule, not "untouched"
        found[layer] = row.activation
    assert found == {layer: expected(layer) for layer in found}
    activations = {a for a in found.values() if a is not None}
    assert activations == {expected(layer) for layer in found} - {None}
    assert activations, f"{name}: no activation found at all"
    if name in GATED:
        gated = [r for r in plan if re.search(GATED[name], r.name.removesuffix(".weight"))]
        assert gated and all("gated" in r.note and "silu" in r.note for r in gated)
    for layer, activation in found.items():  # the rule follows the activation
        row = rows[f"{layer}.weight"]
        assert row.rule == (
            "lecun_normal"
            if activation is None
            else "xavier_uniform"
            if activation == "tanh"
            else "he_normal"
        )


@pytest.mark.parametrize("name", ["gpt2", "llama", "resnet"])
def test_a_meta_model_is_traced_the_same(name: str) -> None:
    model, inputs = build(name)
    meta, _ = build(name, device="meta")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TiedParameterWarning)
        warnings.simplefilter("error", TracingFallbackWarning)
        on_cpu = init_model(model, seed=0, example_inputs=inputs, dry_run=True)
        on_meta = init_model(meta, seed=0, example_inputs=inputs, dry_run=True)
    assert [(r.name, r.activation, r.rule) for r in on_cpu] == [
        (r.name, r.activation, r.rule) for r in on_meta
    ]


def _called_leaf_layers(model: nn.Module, inputs: dict[str, torch.Tensor]) -> set[str]:
    """Leaf modules holding parameters that a forward pass calls (found with plain forward hooks;
    T5's ``shared`` embedding, for one, is only used through its tied copies)."""
    called: set[str] = set()
    handles = [
        m.register_forward_hook(lambda *_, n=n: called.add(n))
        for n, m in model.named_modules()
        if not any(m.children()) and any(True for _ in m.parameters(recurse=False))
    ]
    try:
        with torch.no_grad():
            model(**inputs)
    finally:
        for handle in handles:
            handle.remove()
    return called


@pytest.mark.parametrize("name", zoo_ids())
def test_analyze_reports_every_layer(name: str) -> None:
    model, inputs = build(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TiedParameterWarning)
        init_model(model, seed=0, example_inputs=inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TracingFallbackWarning)
        report = analyze(model, inputs)
    reported = {r.name.split(" (call ")[0] for r in report}
    assert reported == _called_leaf_layers(model, inputs)
    expected = EXPECTED[name]
    dense = set(_dense(model))
    for row in report:
        layer = row.name.split(" (call ")[0]
        if layer in dense:
            assert row.activation == expected(layer), layer
    assert all(r.health in ("healthy", "vanishing", "exploding", "dying") for r in report)
    assert torch.isfinite(torch.tensor([r.pre_std for r in report])).all()


@pytest.mark.parametrize("name", ["gpt2", "llama", "bert"])
def test_without_example_inputs_the_fx_failure_is_reported_not_hidden(name: str) -> None:
    model, _ = build(name)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        plan = init_model(model, seed=0, dry_run=True)
    if plan.method == "torch.fx":  # a future transformers that fx can trace: nothing to report
        return
    fallbacks = [r for r in record if issubclass(r.category, TracingFallbackWarning)]
    assert plan.method == "module order" and not plan.traced and len(fallbacks) == 1
    message = str(fallbacks[0].message)
    assert "torch.fx could not trace" in message and "example_inputs=" in message
    assert "torch.fx could not trace" in str(plan.reason)
