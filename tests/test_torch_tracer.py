"""The forward tracer (``kaiming.torch._tracer``): data flow from each layer to its activation on
toy models that fx cannot trace, gated MLPs, residual sums, norms, attention, and side effects."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from kaiming.torch import TracingFallbackWarning, init_model
from kaiming.torch._tracer import FlowError, trace_flow


class Block(nn.Module):
    """Pre-norm transformer block with a gated MLP, written with functional calls and a branch on
    a Python value that fx cannot trace (``if x.shape[1] > 1``)."""

    def __init__(self, d: int = 16) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        self.norm2 = nn.RMSNorm(d)
        self.gate = nn.Linear(d, 4 * d)
        self.up = nn.Linear(d, 4 * d)
        self.down = nn.Linear(4 * d, d)
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1  # a Python side effect: counts forward runs
        q, k, v = self.qkv(self.norm1(x)).chunk(3, dim=-1)
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
        if x.shape[1] > 1:  # control flow on a shape: fine on meta, fatal for fx
            scores = scores + torch.triu(torch.full_like(scores, -1e9), 1)
        x = x + self.out(F.softmax(scores, dim=-1) @ v)
        h = self.norm2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Linear(8, 16)
        self.block = Block()
        self.head = nn.Linear(16, 5)
        self.fc = nn.Linear(5, 7)

    def forward(self, x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        h = self.block(torch.tanh(self.embed(x)))
        y = self.head(h).mean(dim=1)
        return self.fc(F.leaky_relu(y * scale, 0.2))


def tokens(*shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(0))


def test_functional_activations_gated_mlp_residuals_and_attention() -> None:
    net = Net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with warnings.catch_warnings():
        warnings.simplefilter("error", TracingFallbackWarning)  # no fallback
        plan = init_model(net, seed=0, example_inputs=tokens(2, 4, 8), dry_run=True)
    assert plan.method == "forward" and plan.traced and plan.reason is None
    found = {r.name: r.activation for r in plan if r.name.endswith("weight") and r.fan is not None}
    assert found == {
        "embed.weight": "tanh",  # F-style torch.tanh
        "block.qkv.weight": None,  # attention: matmul/softmax end the flow
        "block.out.weight": None,  # residual sum -> RMSNorm -> gate/up (layers): no activation
        "block.gate.weight": "silu",  # the gate of a gated MLP gets the activation
        "block.up.weight": None,  # the up projection is linear (LeCun)
        "block.down.weight": None,  # residual -> head (a layer)
        "head.weight": "leaky_relu(0.2)",  # through mean() and a scalar product
        "fc.weight": None,
    }
    assert plan["block.gate.weight"].rule == "he_normal" and plan["block.up.weight"].rule == "lecun_normal"
    assert "gated" in plan["block.up.weight"].note and "silu" in plan["block.up.weight"].note
    assert plan["embed.weight"].rule == "xavier_uniform"
    assert "graph=forward" in plan.table()
    # one run of forward, nothing else touched
    assert net.block.calls == 1
    for key, value in net.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_keyword_and_tuple_inputs_and_a_meta_model() -> None:
    with torch.device("meta"):
        net = Net()
    plan = init_model(net, seed=0, example_inputs={"x": tokens(2, 3, 8), "scale": 2.0}, dry_run=True)
    assert plan.method == "forward" and plan["head.weight"].activation == "leaky_relu(0.2)"
    plan = init_model(net, seed=0, example_inputs=(tokens(2, 3, 8),), dry_run=True)
    assert plan["embed.weight"].activation == "tanh" and net.block.calls == 2


def test_example_inputs_of_a_wrong_type_are_an_error() -> None:
    with pytest.raises(TypeError, match=r"example_inputs must be a tensor, a tuple/list .* got int"):
        init_model(Net(), example_inputs=3, dry_run=True)


class NeedsValues(nn.Module):
    """A forward that reads a value (``.item()``): cannot run on meta tensors; fx traces it as a
    constant-free graph only if the value is not used, so here fx fails too."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(4, 4)
        self.fc2 = nn.Linear(4, 4)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc1(x)
        if float(h.sum().item()) > 1e9:
            h = h * 0
        return self.fc2(self.act(h))


def test_a_forward_that_needs_values_falls_back_with_the_reason() -> None:
    with pytest.raises(FlowError, match="meta"):
        trace_flow(NeedsValues(), {}, tokens(2, 4))
    with pytest.warns(TracingFallbackWarning, match="did not run on meta tensors") as record:
        plan = init_model(NeedsValues(), seed=0, example_inputs=tokens(2, 4), dry_run=True)
    assert "example_inputs" in str(record[0].message)
    # registration order (fc1, fc2, act) pairs the ReLU with fc2: the fallback's known limitation
    assert plan.method == "module order" and plan["fc2.weight"].activation == "relu"
    assert plan["fc1.weight"].activation is None


def test_without_example_inputs_fx_is_used_and_its_failure_says_to_pass_them() -> None:
    simple = nn.Sequential(nn.Linear(4, 4), nn.GELU(), nn.Linear(4, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error", TracingFallbackWarning)
        plan = init_model(simple, seed=0, dry_run=True)
    assert plan.method == "torch.fx" and plan["0.weight"].activation == "gelu"
    with pytest.warns(TracingFallbackWarning, match="pass example_inputs="):
        plan = init_model(Net(), seed=0, dry_run=True)
    assert plan.method == "module order" and "no example_inputs" in str(plan.reason)


def test_a_meta_run_failure_with_fx_success_warns_and_uses_fx() -> None:
    class Nonzero(nn.Module):
        """``torch.nonzero`` has no meta implementation; fx records it as a node."""

        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.relu(self.fc(x)) + torch.nonzero(x).shape[0] * 0

    with pytest.warns(TracingFallbackWarning, match="torch.fx instead"):
        plan = init_model(Nonzero(), seed=0, example_inputs=tokens(2, 4), dry_run=True)
    assert plan.method == "torch.fx" and plan["fc.weight"].activation == "relu"
    assert plan.reason is not None and "nonzero" in plan.reason


def test_resnet_block_residual_norm_found_by_the_forward() -> None:
    from .test_torch_model_init import ResNetish

    net = ResNetish()
    plan = init_model(net, seed=3, zero_init_residual=True, example_inputs=tokens(2, 3, 8, 8))
    assert plan.method == "forward"
    assert plan["block.bn2.weight"].note == "zero_init_residual"
    assert plan["block.conv2.weight"].activation == "relu"
    assert plan["block.downsample.0.weight"].activation == "relu"
    assert float(net.block.bn2.weight.detach().abs().max()) == 0.0
    assert torch.equal(net.block.bn1.weight.detach(), torch.ones(32))


class Swish(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(x)


class Half(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * x


class TokenMix(nn.Module):
    """Parameter-free but not elementwise (a softmax over the last dim)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * x.softmax(dim=-1)


def test_custom_elementwise_modules_are_recognized_by_probing() -> None:
    net = nn.Sequential(
        nn.Linear(8, 8),
        Swish(),
        nn.Linear(8, 8),
        Half(),
        nn.ReLU(),
        nn.Linear(8, 8),
        TokenMix(),
        nn.Linear(8, 2),
    )
    plan = init_model(net, seed=0, example_inputs=tokens(4, 8), dry_run=True)
    silu_gain = plan["0.weight"].gain
    assert plan["0.weight"].activation == "Swish" and silu_gain is not None
    # Swish is SiLU: the same mean-field gain as torch's SiLU module
    ref = init_model(
        nn.Sequential(nn.Linear(8, 8), nn.SiLU()), seed=0, example_inputs=tokens(4, 8), dry_run=True
    )
    assert silu_gain == pytest.approx(ref["0.weight"].gain, rel=1e-9)
    assert plan["2.weight"].activation == "relu"  # 0.5 * x is linear: transparent
    assert plan["5.weight"].activation is None  # softmax mixing is not an activation


def test_fused_gate_and_up_projection_gets_the_activation() -> None:
    class GeGLU(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.proj = nn.Linear(8, 32)
            self.out = nn.Linear(16, 8)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            gate, up = self.proj(x).chunk(2, dim=-1)
            return self.out(F.gelu(gate) * up)

    plan = init_model(GeGLU(), seed=0, example_inputs=tokens(4, 8), dry_run=True)
    assert plan["proj.weight"].activation == "gelu" and plan["out.weight"].activation is None


def test_gated_mlp_rule_gives_the_product_the_activations_second_moment() -> None:
    class Gated(nn.Module):
        def __init__(self, d: int = 512, h: int = 1024) -> None:
            super().__init__()
            self.gate, self.up, self.down = nn.Linear(d, h), nn.Linear(d, h), nn.Linear(h, d)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.down(F.silu(self.gate(x)) * self.up(x))

    net = Gated()
    x = tokens(256, 512)
    init_model(net, seed=0, example_inputs=x)
    with torch.no_grad():
        g, u = net.gate(x), net.up(x)
        act2 = float((F.silu(g) ** 2).mean())
        product2 = float(((F.silu(g) * u) ** 2).mean())
    # 256 x 1024 values from 1024 random units of fan_in 512: the finite-width spread of these
    # means is about sqrt(2 / 512) / sqrt(1024) < 0.2%; 5% is a wide margin
    assert float((u**2).mean()) == pytest.approx(1.0, rel=0.05)  # up: LeCun, unit second moment
    assert product2 == pytest.approx(act2, rel=0.05)  # the gate adds no scale of its own
