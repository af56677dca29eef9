"""``kaiming.torch.init_model`` on real torch models: activation detection, rules, determinism."""

from __future__ import annotations

import itertools
import json
import math

import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from _references import TRUNC_STD
from kaiming.gains import calculate_gain
from kaiming.torch import InitPlan, TracingFallbackWarning, init_model


def mlp(widths: list[int], act: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(widths)):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


class FunctionalNet(nn.Module):
    """Activations called as functions and methods, with shape ops in between."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(40, 300)
        self.fc2 = nn.Linear(300, 300)
        self.fc3 = nn.Linear(300, 300)
        self.fc4 = nn.Linear(300, 300)
        self.fc5 = nn.Linear(300, 300)
        self.fc6 = nn.Linear(300, 300)
        self.out = nn.Linear(300, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.fc1(x))
        x = F.leaky_relu(F.dropout(self.fc2(x), 0.1).view(-1, 300), 0.2)
        x = torch.tanh(self.fc3(x))
        x = self.fc4(x).relu()
        x = F.gelu(self.fc5(x))
        x = torch.sigmoid(self.fc6(x).flatten(1))
        return F.log_softmax(self.out(x), dim=-1)


class SmallCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.LeakyReLU(0.1),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class BasicBlock(nn.Module):
    """ResNet basic block with a projection shortcut (torchvision's layout)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.downsample = nn.Sequential(
            nn.Conv2d(c_in, c_out, 1, stride=2, bias=False), nn.BatchNorm2d(c_out)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.downsample(x)
        return self.relu(out)


class ResNetish(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.block = BasicBlock(16, 32)
        self.fc = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.block(F.relu(self.stem(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class Untraceable(nn.Module):
    """Data-dependent control flow: torch.fx cannot trace it."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(20, 64)
        self.act1 = nn.Tanh()
        self.fc2 = nn.Linear(64, 64)
        self.drop = nn.Dropout(0.1)
        self.act2 = nn.ReLU()
        self.fc3 = nn.Linear(64, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act1(self.fc1(x))
        if float(h.sum()) > 0:
            h = -h
        return self.fc3(self.act2(self.drop(self.fc2(h))))


def weight_std(layer: nn.Module) -> float:
    return float(layer.weight.detach().std())


# ---------------------------------------------------------------------------------------------


def test_relu_mlp_gets_he_std_per_layer() -> None:
    net = mlp([784, 512, 512, 256, 10])
    plan = init_model(net, seed=0)
    linears = [m for m in net if isinstance(m, nn.Linear)]
    for i, layer in enumerate(linears[:-1]):
        fan_in = layer.in_features
        row = plan[f"{2 * i}.weight"]
        assert (row.rule, row.activation, row.fan) == ("he_normal", "relu", fan_in)
        # >= 131k values: the std's relative standard error is < 0.2%, 2% is > 10 standard errors;
        # the LeCun/Xavier/torch-default stds differ by >= sqrt(2)
        assert weight_std(layer) == pytest.approx(math.sqrt(2 / fan_in), rel=0.02)
        assert float(layer.bias.detach().abs().max()) == 0.0
    last = plan["6.weight"]
    assert (last.rule, last.activation) == ("lecun_normal", None)
    # 2560 values: relative standard error 1.4%, 8% tolerance is > 5 standard errors
    assert weight_std(linears[-1]) == pytest.approx(math.sqrt(1 / 256), rel=0.08)


def test_functional_activations_are_found_through_shape_ops() -> None:
    net = FunctionalNet()
    plan = init_model(net, seed=1)
    assert plan.traced
    expected = {
        "fc1": ("he_normal", "relu", math.sqrt(2 / 40)),
        "fc2": ("he_normal", "leaky_relu(0.2)", calculate_gain("leaky_relu", 0.2) / math.sqrt(300)),
        "fc3": ("xavier_uniform", "tanh", 5 / 3 * math.sqrt(2 / 600)),
        "fc4": ("he_normal", "relu", math.sqrt(2 / 300)),
        "fc5": ("he_normal", "gelu", calculate_gain("gelu") / math.sqrt(300)),
        "fc6": ("xavier_uniform", "sigmoid", math.sqrt(2 / 600)),
        "out": ("lecun_normal", None, math.sqrt(1 / 300)),
    }
    for name, (rule, activation, std) in expected.items():
        row = plan[f"{name}.weight"]
        assert (row.rule, row.activation) == (rule, activation), name
        assert row.std == pytest.approx(std, rel=1e-12)
        # 90k values (12k for fc1, 3k for out): 5% is > 7 standard errors
        assert weight_std(getattr(net, name)) == pytest.approx(std, rel=0.05), name
    assert plan["fc3.weight"].bound == pytest.approx(5 / 3 * math.sqrt(6 / 600))
    assert float(net.fc3.weight.detach().abs().max()) <= plan["fc3.weight"].bound  # uniform, not normal


def test_small_cnn_sees_relu_through_batchnorm_and_slope_through_pooling() -> None:
    net = SmallCNN()
    plan = init_model(net, seed=2)
    conv1, bn, conv2 = net.features[0], net.features[1], net.features[4]
    assert plan["features.0.weight"].activation == "relu"
    assert plan["features.4.weight"].activation == "leaky_relu(0.1)"
    assert plan["head.weight"].activation is None
    # 864 and 18432 values: 10% and 3% are > 4 and > 4 standard errors
    assert weight_std(conv1) == pytest.approx(math.sqrt(2 / 27), rel=0.1)
    assert weight_std(conv2) == pytest.approx(calculate_gain("leaky_relu", 0.1) / math.sqrt(288), rel=0.03)
    assert torch.equal(bn.weight.detach(), torch.ones(32)) and torch.equal(bn.bias.detach(), torch.zeros(32))
    assert plan["features.1.weight"].rule == "ones"


def test_resnet_block_residual_sum_is_transparent_and_zero_init_residual() -> None:
    net = ResNetish()
    plan = init_model(net, seed=3, zero_init_residual=True)
    assert plan["block.conv2.weight"].activation == "relu"  # bn2 -> += -> relu
    assert plan["block.downsample.0.weight"].activation == "relu"
    assert plan["stem.weight"].activation == "relu"  # F.relu
    assert float(net.block.bn2.weight.detach().abs().max()) == 0.0
    zeroed = plan["block.bn2.weight"]
    assert (zeroed.note, zeroed.module, zeroed.shape, zeroed.value) == (
        "zero_init_residual",
        "BatchNorm2d",
        (32,),
        0.0,
    )
    # the shortcut's norm and the inner norm stay at 1
    assert torch.equal(net.block.downsample[1].weight.detach(), torch.ones(32))
    assert torch.equal(net.block.bn1.weight.detach(), torch.ones(32))
    # the zeroed block is the identity on its branch: output = relu(shortcut)
    x = torch.randn(2, 16, 8, 8, generator=torch.Generator().manual_seed(0))
    net.eval()
    with torch.no_grad():
        expected = torch.relu(net.block.downsample(x))
        assert torch.allclose(net.block(x), expected)


def test_untraceable_model_falls_back_to_module_order_with_a_warning() -> None:
    net = Untraceable()
    with pytest.warns(TracingFallbackWarning, match="could not trace Untraceable"):
        plan = init_model(net, seed=4)
    assert not plan.traced and plan.reason
    assert plan["fc1.weight"].activation == "tanh" and plan["fc1.weight"].rule == "xavier_uniform"
    assert plan["fc2.weight"].activation == "relu"  # through the Dropout
    assert plan["fc3.weight"].activation is None
    assert "module order" in plan.table()


def test_conv_transpose_uses_the_fans_of_its_connectivity() -> None:
    # weight (in=32, out/groups=16, 3, 3); each output sees in/groups * 9 = 144 inputs
    net = nn.Sequential(nn.ConvTranspose2d(32, 32, 3, groups=2), nn.ReLU())
    plan = init_model(net, seed=5)
    row = plan["0.weight"]
    assert tuple(net[0].weight.shape) == (32, 16, 3, 3)
    assert row.fan == 144
    # 4608 values: relative standard error 1%, 6% is 6 standard errors; torch's reading (fan 144
    # here by coincidence? no: size(1) * 9 = 144) -- so also check an asymmetric case below
    assert weight_std(net[0]) == pytest.approx(math.sqrt(2 / 144), rel=0.06)
    wide = nn.Sequential(nn.ConvTranspose1d(64, 8, 5), nn.ReLU())
    plan = init_model(wide, seed=5)
    assert plan["0.weight"].fan == 64 * 5  # torch.nn.init would read size(1) * 5 = 40
    assert weight_std(wide[0]) == pytest.approx(math.sqrt(2 / 320), rel=0.06)


@pytest.mark.parametrize(("stride", "kernel"), [(1, 3), (2, 3), (2, 4), (3, 3), ((1, 2), 3)])
def test_conv_transpose_he_keeps_the_variance_at_every_stride(
    stride: int | tuple[int, int], kernel: int
) -> None:
    """An output of a stride-s transposed conv receives in * prod(k) / prod(s) terms on average:
    with that fan_in, He's std gives the pre-activations variance 2 (x the input's), whatever the
    stride. Measured on the interior outputs (the borders receive fewer terms), 8 x 64 x 24 x 24
    inputs, 36,864+ weights (the realized weight variance is within 1.5% of its target)."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.ConvTranspose2d(64, 64, kernel, stride=stride), nn.ReLU())
    plan = init_model(net, seed=3)
    strides = math.prod(stride) if isinstance(stride, tuple) else stride**2
    assert plan["0.weight"].fan == 64 * kernel**2 / strides
    x = torch.randn(8, 64, 24, 24)
    with torch.no_grad():
        pre = net[0](x)[:, :, 6:-6, 6:-6]
    assert float(pre.var() / x.var()) == pytest.approx(2.0, rel=0.06)


def test_conv_transpose_fan_out_counts_every_group() -> None:
    # weight (in=8, out/groups=6, 3, 3), groups 2: each output sees in/groups * 9 = 36 inputs (an
    # int), each input reaches out/groups * groups * 9 = 108 outputs; Xavier averages the two
    net = nn.Sequential(nn.ConvTranspose2d(8, 12, 3, groups=2))
    assert tuple(net[0].weight.shape) == (8, 6, 3, 3)
    he = init_model(net, "he_normal", seed=0)["0.weight"]
    assert he.fan == 36 and type(he.fan) is int
    xavier = init_model(net, "xavier_normal", seed=0)["0.weight"]
    assert xavier.fan == (36 + 108) / 2


def test_embedding_and_layernorm_and_groupnorm() -> None:
    net = nn.Sequential(nn.Embedding(1000, 64, padding_idx=3), nn.LayerNorm(64), nn.GroupNorm(4, 64))
    init_model(net, seed=6)
    w = net[0].weight.detach()
    assert float(w[3].abs().max()) == 0.0
    assert float(w.std()) == pytest.approx(1.0, rel=0.02)  # 64k values: 2% is > 7 standard errors
    for norm in (net[1], net[2]):
        assert torch.equal(norm.weight.detach(), torch.ones(64))
        assert torch.equal(norm.bias.detach(), torch.zeros(64))


def test_same_seed_same_weights_whatever_the_global_rng_did() -> None:
    a, b = mlp([30, 40, 5]), mlp([30, 40, 5])
    init_model(a, seed=11)
    torch.manual_seed(123)
    torch.randn(1000)
    state = torch.get_rng_state()
    init_model(b, seed=11)
    assert torch.equal(torch.get_rng_state(), state)  # init_model never touches the global RNG
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    c = mlp([30, 40, 5])
    init_model(c, seed=12)
    assert not torch.equal(a[0].weight, c[0].weight)


def test_each_parameter_is_independent_of_the_others() -> None:
    small = nn.Sequential(nn.Linear(30, 40), nn.ReLU())
    large = nn.Sequential(nn.Linear(30, 40), nn.ReLU(), nn.Linear(40, 40), nn.ReLU(), nn.Linear(40, 2))
    init_model(small, seed=7)
    init_model(large, seed=7)
    assert torch.equal(small[0].weight, large[0].weight)


def test_seed_none_is_reported_and_reproducible() -> None:
    a, b = mlp([10, 20, 3]), mlp([10, 20, 3])
    plan = init_model(a, seed=None)
    init_model(b, seed=plan.seed)
    assert torch.equal(a[0].weight, b[0].weight)


def test_dry_run_changes_nothing() -> None:
    net = ResNetish()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    plan = init_model(net, seed=0, dry_run=True, zero_init_residual=True)
    assert plan.dry_run and "DRY RUN" in str(plan)
    for key, value in net.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert len(plan) == len(list(net.parameters()))


def test_plan_table_and_json() -> None:
    plan = init_model(FunctionalNet(), seed=0)
    text = plan.table()
    assert str(plan) == text
    for row in plan:
        assert row.name in text
    data = json.loads(json.dumps(plan.to_dict()))
    assert data["seed"] == 0 and data["traced"] is True
    assert [r["name"] for r in data["rows"]] == [name for name, _ in FunctionalNet().named_parameters()]
    assert data["rows"][0]["shape"] == [300, 40]


def test_explicit_schemes() -> None:
    net = mlp([256, 512, 512, 10])
    init_model(net, "xavier_normal", seed=0)
    assert weight_std(net[2]) == pytest.approx(math.sqrt(2 / 1024), rel=0.02)
    plan = init_model(net, "he_uniform", seed=0)
    assert plan["2.weight"].bound == pytest.approx(math.sqrt(6 / 512))
    assert float(net[2].weight.detach().abs().max()) <= plan["2.weight"].bound
    plan = init_model(net, "orthogonal", seed=0)
    w = net[2].weight.detach().double()
    assert torch.allclose(w @ w.T, 2.0 * torch.eye(512, dtype=torch.float64), atol=1e-4)  # gain sqrt(2): ReLU
    assert plan["4.weight"].gain == 1.0  # no activation after the last layer


def test_torch_default_matches_reset_parameters() -> None:
    net = nn.Sequential(nn.Linear(300, 200), nn.Conv1d(8, 16, 5), nn.ConvTranspose1d(16, 4, 3))
    ref = nn.Sequential(nn.Linear(300, 200), nn.Conv1d(8, 16, 5), nn.ConvTranspose1d(16, 4, 3))
    plan = init_model(net, "torch_default", seed=0)
    for ours, theirs in zip(net.parameters(), ref.parameters(), strict=True):
        bound = 1 / math.sqrt(float(plan[next(n for n, p in net.named_parameters() if p is ours)].fan or 1))
        # same support: max |w| within the bound and close to it for both
        assert float(ours.detach().abs().max()) <= bound + 1e-7
        assert float(theirs.detach().abs().max()) <= bound + 1e-7
    # 60k values of a uniform: the std's relative standard error is 0.2%, 2% is 10 of them
    assert weight_std(net[0]) == pytest.approx(weight_std(ref[0]), rel=0.02)


def test_mapping_by_name_pattern_and_class() -> None:
    net = SmallCNN()
    plan = init_model(
        net, {nn.Conv2d: "he_uniform", "head": "xavier_normal", "features.4": "lecun_normal"}, seed=0
    )
    assert plan["features.0.weight"].rule == "he_uniform"
    assert plan["features.4.weight"].rule == "lecun_normal"  # exact name beats class
    assert plan["head.weight"].rule == "xavier_normal"
    plan = init_model(net, {"features.*": "orthogonal"}, seed=0)
    assert plan["features.0.weight"].rule == "orthogonal" and plan["head.weight"].rule == "lecun_normal"


def test_fifty_layer_relu_mlp_keeps_its_scale_while_torch_default_collapses() -> None:
    width, depth = 1024, 50
    ours = mlp([width] * (depth + 1) + [width])
    default = mlp([width] * (depth + 1) + [width])
    init_model(ours, seed=0)
    x = torch.randn(32, width, generator=torch.Generator().manual_seed(0))

    # Activation scale = RMS of each ReLU's output, the quantity He init preserves (input: std 1,
    # mean 0, so RMS = std). Measured, not predicted: log RMS after L layers of width n wanders
    # with sd ~ 0.5 sqrt(5 L / n) ~ 0.25 here, so a factor-2 band is ~2.8 sd wide (seed fixed).
    def scales(net: nn.Sequential) -> list[float]:
        out, h = [], x
        with torch.no_grad():
            for module in net:
                h = module(h)
                if isinstance(module, nn.ReLU):
                    out.append(float(h.pow(2).mean().sqrt()))
        return out

    input_scale = float(x.std())
    ours_scales, default_scales = scales(ours), scales(default)
    assert len(ours_scales) == depth
    assert all(0.5 * input_scale <= s <= 2.0 * input_scale for s in ours_scales), ours_scales
    assert default_scales[-1] < 0.05 * input_scale, default_scales  # torch's U(+-1/sqrt(n)) shrinks it


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"scheme": "he"}, ValueError, "scheme"),
        ({"scheme": {"nope": "he_normal"}}, ValueError, "matches no module"),
        ({"scheme": {"0": "bad"}}, ValueError, "scheme"),
        ({"scheme": {3: "he_normal"}}, TypeError, "keys"),
        ({"scheme": 3}, TypeError, "scheme"),
        ({"seed": -1}, ValueError, "seed"),
        ({"seed": "0"}, TypeError, "seed"),
        ({"stream": "threefry"}, ValueError, "not available"),
        ({"dry_run": "yes"}, TypeError, "dry_run"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        init_model(mlp([4, 4, 2]), **kwargs)  # type: ignore[arg-type]


def test_not_a_module_and_lazy_modules() -> None:
    with pytest.raises(TypeError, match=r"nn\.Module"):
        init_model("net")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="materialized"):
        init_model(nn.Sequential(nn.LazyLinear(4)))


def test_plan_type() -> None:
    plan = init_model(mlp([3, 2]), seed=0)
    assert isinstance(plan, InitPlan)
    assert [row.name for row in plan] == ["0.weight", "0.bias"] and plan.seed == 0
    assert (plan["0.weight"].rule, plan["0.bias"].rule) == ("lecun_normal", "zeros")  # output layer


class TiedLM(nn.Module):
    """An embedding and an output head sharing one weight (tied embeddings), and two Linear
    layers sharing one weight with the same rule."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 16)
        self.fc_a = nn.Linear(16, 16, bias=False)
        self.fc_b = nn.Linear(16, 16, bias=False)
        self.fc_b.weight = self.fc_a.weight
        self.head = nn.Linear(16, 10, bias=False)
        self.head.weight = self.embed.weight

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h = self.embed(tokens)
        return self.head(self.fc_b(self.fc_a(h)))


def test_tied_parameters_show_every_name_and_warn_on_conflicting_rules() -> None:
    from kaiming.torch import TiedParameterWarning

    net = TiedLM()
    tokens = torch.randint(0, 10, (2, 5), generator=torch.Generator().manual_seed(0))
    with pytest.warns(TiedParameterWarning, match=r"embed\.weight is tied with head\.weight") as record:
        plan = init_model(net, seed=0, example_inputs=tokens)
    assert len(record) == 1  # fc_a/fc_b agree: no warning for them
    message = str(record[0].message)
    assert "embedding_normal" in message and "lecun_normal" in message
    row = plan["embed.weight"]
    assert row.tied == ("head.weight",) and plan["head.weight"] is row
    assert "tied: head.weight" in row.note and "lecun_normal" in row.note
    assert row.rule == "embedding_normal"  # the first use's rule is applied
    assert plan["fc_b.weight"].name == "fc_a.weight" and plan["fc_a.weight"].tied == ("fc_b.weight",)
    assert plan["fc_a.weight"].note == "tied: fc_b.weight"
    assert net.head.weight is net.embed.weight  # the tie is kept
    assert "tied: head.weight" in plan.table()
    assert plan.to_dict()["rows"][0]["tied"] == ["head.weight"]


# ---------- every kind of parameter against the formula, per scheme and stream ----------

# The registry's names spelled out: (rule in the plan, fan mode, distribution drawn).
NAMED = {
    "he_normal": ("he_normal", "fan_in", "normal"),
    "kaiming_normal": ("he_normal", "fan_in", "normal"),
    "he_uniform": ("he_uniform", "fan_in", "uniform"),
    "kaiming_uniform": ("he_uniform", "fan_in", "uniform"),
    "he_truncated_normal": ("he_truncated_normal", "fan_in", "truncated_normal"),
    "xavier_normal": ("xavier_normal", "fan_avg", "normal"),
    "glorot_normal": ("xavier_normal", "fan_avg", "normal"),
    "xavier_uniform": ("xavier_uniform", "fan_avg", "uniform"),
    "glorot_uniform": ("xavier_uniform", "fan_avg", "uniform"),
    "xavier_truncated_normal": ("xavier_truncated_normal", "fan_avg", "truncated_normal"),
    "lecun_normal": ("lecun_normal", "fan_in", "normal"),
    "lecun_uniform": ("lecun_uniform", "fan_in", "uniform"),
    "lecun_truncated_normal": ("lecun_truncated_normal", "fan_in", "truncated_normal"),
}
LEAKY_HE_GAIN = math.sqrt(2.0 / (1.0 + 0.2**2))  # He after leaky_relu(0.2)
MODULE_OF = {"fc": "Linear", "proj": "Conv1D"}


class EveryKind(nn.Module):
    """An Embedding (padding_idx 3), a Linear before leaky_relu(0.2), Hugging Face's Conv1D
    (weight stored (in, out) = (512, 128)) before tanh, a LayerNorm and a loose Parameter."""

    def __init__(self) -> None:
        from transformers.pytorch_utils import Conv1D

        super().__init__()
        self.emb = nn.Embedding(10, 256, padding_idx=3)
        self.fc = nn.Linear(256, 512)
        self.proj = Conv1D(128, 512)
        self.ln = nn.LayerNorm(128)
        self.extra = nn.Parameter(torch.full((3,), 7.0))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.fc(self.emb(ids)), 0.2)
        return self.ln(torch.tanh(self.proj(x))) * self.extra.sum()


def _expected_weight(
    scheme: str, fan_in: int, fan_out: int, after_relu: bool
) -> tuple[str, str, str, float, float]:
    """(rule, fan mode, distribution, fan, gain) for a named scheme, from the table above."""
    rule, mode, distribution = NAMED[scheme]
    fan = fan_in if mode == "fan_in" else (fan_in + fan_out) / 2
    gain = (LEAKY_HE_GAIN if after_relu else math.sqrt(2.0)) if rule.startswith("he") else 1.0
    return rule, mode, distribution, fan, gain


def test_the_named_schemes_are_the_registrys_names() -> None:
    from kaiming.torch.model_init import SCHEMES

    assert set(SCHEMES) == {*NAMED, "auto", "orthogonal", "torch_default", "own"}


@pytest.mark.parametrize("stream", ["torch", "counter"])
@pytest.mark.parametrize("scheme", [*NAMED, "auto", "torch_default"])
def test_every_kind_of_parameter_against_the_formula(scheme: str, stream: str) -> None:
    pytest.importorskip("transformers")
    net = EveryKind()
    plan = init_model(net, scheme, seed=11, stream=stream)
    assert plan.traced and plan.method == "torch.fx"
    fc, proj = plan["fc.weight"], plan["proj.weight"]
    assert (fc.activation, proj.activation) == ("leaky_relu(0.2)", "tanh")  # Conv1D's too (fx)
    if scheme == "torch_default":  # U(+-1/sqrt(fan_in)) on weight and bias, fan_in as torch reads it
        expected = {"fc": (256, 1 / 16), "proj": (512, 1 / math.sqrt(512))}
        for layer, (fan, bound) in expected.items():
            for attr in ("weight", "bias"):
                row = plan[f"{layer}.{attr}"]
                assert row.module == MODULE_OF[layer]
                assert (row.rule, row.distribution, row.fan_mode, row.fan) == (
                    "torch_default",
                    "uniform",
                    "fan_in",
                    fan,
                )
                assert row.bound == pytest.approx(bound, rel=1e-12)
                assert row.std == pytest.approx(bound / math.sqrt(3), rel=1e-12)
                values = getattr(getattr(net, layer), attr).detach()
                assert float(values.abs().max()) <= bound
                assert float(values.abs().max()) > 0.9 * bound  # 512+ draws: P(max < 0.9 b) < 1e-23
    else:
        if scheme == "auto":  # He after the ReLU family, Xavier (tanh's gain 5/3) after tanh
            want = {
                "fc": ("he_normal", "fan_in", "normal", 256, LEAKY_HE_GAIN),
                "proj": ("xavier_uniform", "fan_avg", "uniform", 320.0, 5.0 / 3.0),
            }
        else:
            want = {
                "fc": _expected_weight(scheme, 256, 512, after_relu=True),
                "proj": _expected_weight(scheme, 512, 128, after_relu=False),
            }
        for layer, (rule, mode, distribution, fan, gain) in want.items():
            row = plan[f"{layer}.weight"]
            assert (row.module, row.shape) == (MODULE_OF[layer], tuple(getattr(net, layer).weight.shape))
            std = gain / math.sqrt(fan)
            assert (row.rule, row.fan_mode, row.distribution, row.fan) == (rule, mode, distribution, fan)
            assert row.gain == pytest.approx(gain, rel=1e-12) and row.std == pytest.approx(std, rel=1e-12)
            values = getattr(net, layer).weight.detach().double()
            assert float(values.std()) == pytest.approx(std, rel=0.02)  # >= 65536 values: 7+ standard errors
            if distribution == "uniform":
                assert row.bound == pytest.approx(math.sqrt(3.0) * std, rel=1e-12)
                assert 0.99 * row.bound < float(values.abs().max()) <= row.bound
            else:
                assert row.bound is None
                if distribution == "truncated_normal":
                    cut = 2.0 * std / TRUNC_STD
                    assert 0.97 * cut < float(values.abs().max()) <= cut
            bias = plan[f"{layer}.bias"]
            assert (bias.rule, bias.distribution, bias.value) == ("zeros", "constant", 0.0)
            assert not getattr(net, layer).bias.detach().any()
    emb = plan["emb.weight"]
    assert (emb.module, emb.shape) == ("Embedding", (10, 256))
    assert (emb.rule, emb.distribution, emb.std, emb.zero_index) == ("embedding_normal", "normal", 1.0, 3)
    assert emb.note == "row 3 (padding_idx) zero"
    table = net.emb.weight.detach().double()
    assert not table[3].any() and bool(torch.cat([table[:3], table[4:]]).ne(0).all())
    assert float(torch.cat([table[:3], table[4:]]).std()) == pytest.approx(1.0, rel=0.1)  # 2304 values
    for attr, value, rule in (("weight", 1.0, "ones"), ("bias", 0.0, "zeros")):
        row = plan[f"ln.{attr}"]
        assert (row.rule, row.distribution, row.value) == (rule, "constant", value)
        assert bool(getattr(net.ln, attr).detach().eq(value).all())
    extra = plan["extra"]
    assert (extra.module, extra.shape) == ("EveryKind", (3,))
    assert (extra.rule, extra.distribution, extra.note) == ("untouched", "none", "no rule for this parameter")
    assert bool(net.extra.detach().eq(7.0).all())


def test_a_conv1d_class_outside_transformers_is_not_taken_for_hugging_faces() -> None:
    class Conv1D(nn.Module):  # same name and attribute, another library: no rule is guessed for it
        def __init__(self) -> None:
            super().__init__()
            self.nf = 4
            self.weight = nn.Parameter(torch.full((8, 4), 3.0))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x @ self.weight

    net = nn.Sequential(Conv1D(), nn.ReLU())
    plan = init_model(net, "he_normal", seed=0)
    assert (plan["0.weight"].rule, plan["0.weight"].distribution) == ("untouched", "none")
    assert bool(net[0].weight.detach().eq(3.0).all())


def test_hugging_face_conv1d_without_nf_is_not_taken_for_a_layer() -> None:
    pytest.importorskip("transformers")
    from transformers.pytorch_utils import Conv1D

    layer = Conv1D(4, 8)
    del layer.nf
    net = nn.Sequential(layer)
    with pytest.warns(TracingFallbackWarning):  # its forward reads nf: fx cannot trace it
        plan = init_model(net, "he_normal", seed=0)
    assert plan["0.weight"].rule == "untouched"


# ---------- arguments, defaults and what the plan records ----------


def test_defaults_are_auto_seed_0_and_no_zeroed_residual_norms() -> None:
    plain, explicit = ResNetish(), ResNetish()
    plan = init_model(plain)
    init_model(explicit, "auto", seed=0, zero_init_residual=False)
    for (name, a), b in zip(plain.state_dict().items(), explicit.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert (plan.seed, plan.scheme, plan.stream, plan.dry_run) == (0, "auto", "torch", False)
    assert torch.equal(plain.block.bn2.weight.detach(), torch.ones(32))  # not zeroed by default


@pytest.mark.parametrize("seed", [0, 2**64 - 1])
def test_every_seed_in_0_to_2_64_is_accepted_and_recorded(seed: int) -> None:
    assert init_model(mlp([4, 3]), seed=seed).seed == seed


def test_arguments_are_named_in_their_errors() -> None:
    net = mlp([4, 3])
    for seed in (-1, 2**64):
        with pytest.raises(ValueError, match=rf"^seed must be an int in \[0, 2\*\*64\), got {seed}$"):
            init_model(net, seed=seed)
    with pytest.raises(TypeError, match=r"^model must be a torch\.nn\.Module, got str$"):
        init_model("net", seed=0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^dry_run and zero_init_residual must be bools$"):
        init_model(net, seed=0, dry_run=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^stream='philox' is not available; allowed: 'torch', 'counter'$"):
        init_model(net, seed=0, stream="philox")
    with pytest.raises(ValueError, match=r"\bscheme\b.*'he_norml'"):
        init_model(net, "he_norml", seed=0)
    with pytest.raises(TypeError, match=r"^scheme must be a scheme name or a mapping, got int$"):
        init_model(net, 3, seed=0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^example_inputs must be a tensor, .* got int$"):
        init_model(net, seed=0, example_inputs=3)
    lazy = nn.Sequential(nn.LazyLinear(3))
    with pytest.raises(
        ValueError,
        match=r"^parameter 0\.weight of lazy module LazyLinear is not materialized yet; "
        r"run one forward pass before init_model$",
    ):
        init_model(lazy, seed=0)


def test_example_inputs_run_the_forward() -> None:
    net = FunctionalNet()
    plan = init_model(net, seed=0, example_inputs=torch.zeros(2, 40))
    assert plan.method == "forward" and plan.traced and plan.reason is None


class SwiGLU(nn.Module):
    """Llama's MLP: down(silu(gate(x)) * up(x)), every projection with a bias."""

    def __init__(self) -> None:
        super().__init__()
        self.gate, self.up, self.down = nn.Linear(64, 128), nn.Linear(64, 128), nn.Linear(128, 64)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(F.silu(self.gate(x)) * self.up(x))


@pytest.mark.parametrize("example", [None, torch.zeros(2, 64)])
def test_the_up_projection_of_a_gated_mlp_is_linear_and_says_so(example: torch.Tensor | None) -> None:
    plan = init_model(SwiGLU(), seed=0, example_inputs=example)
    up = plan["up.weight"]
    assert (up.rule, up.activation, up.gain) == ("lecun_normal", None, 1.0)
    if plan.method == "forward":  # the gate is found by following the data flow
        assert up.note == "linear factor of a gated product (silu(gate) * this)"
    assert plan["up.bias"].note == "" and plan["gate.weight"].activation == "silu"
    assert plan["gate.weight"].note == "" and plan["down.weight"].note == ""


def test_the_plan_records_a_mapping_scheme_by_class_and_module_names() -> None:
    plan = init_model(
        SmallCNN(), {nn.Conv2d: "he_uniform", "head": "xavier_normal"}, seed=0, stream="counter"
    )
    assert plan.scheme == str({"Conv2d": "he_uniform", "head": "xavier_normal"})
    assert plan.stream == "counter" and plan.to_dict()["stream"] == "counter"


# ---------- apply_rule, the one writer ----------


def _generator_of(seed: int, name: str) -> torch.Generator:
    """torch's generator seeded as documented: BLAKE2b-8 of "seed NUL name", little-endian."""
    import hashlib

    digest = hashlib.blake2b(f"{seed}\x00{name}".encode(), digest_size=8).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest, "little"))


def test_apply_rule_draws_from_the_documented_generator_by_default() -> None:
    from kaiming.torch import ParamRule
    from kaiming.torch.model_init import apply_rule

    bound = 0.125
    uniform = ParamRule(
        "fc.weight", (64, 32), "Linear", "he_uniform", "uniform", std=bound / math.sqrt(3), bound=bound
    )
    ours = torch.empty(64, 32)
    apply_rule(ours, uniform, seed=5)  # stream="torch" by default
    theirs = torch.nn.init.uniform_(
        torch.empty(64, 32), -bound, bound, generator=_generator_of(5, "fc.weight")
    )
    assert torch.equal(ours, theirs)
    # A bound whose std/bound round trip, sqrt(3) * (b / sqrt(3)), is an ulp off b: the uniform is
    # drawn from the bound itself, bit for bit torch's U(-b, b) in float64.
    bound = 1.0 / math.sqrt(5.0)
    wide = ParamRule(
        "fc.weight", (64, 32), "Linear", "he_uniform", "uniform", std=bound / math.sqrt(3), bound=bound
    )
    ours64 = torch.empty(64, 32, dtype=torch.float64)
    apply_rule(ours64, wide, seed=5)
    theirs64 = torch.empty(64, 32, dtype=torch.float64)
    torch.nn.init.uniform_(theirs64, -bound, bound, generator=_generator_of(5, "fc.weight"))
    assert torch.equal(ours64, theirs64)
    # A uniform rule written by hand with its std alone: U(-sqrt(3) std, sqrt(3) std).
    by_std = ParamRule("fc.weight", (64, 32), "Linear", "he_uniform", "uniform", std=0.25)
    apply_rule(ours, by_std, seed=5)
    limit = math.sqrt(3.0) * 0.25
    theirs = torch.nn.init.uniform_(
        torch.empty(64, 32), -limit, limit, generator=_generator_of(5, "fc.weight")
    )
    assert torch.allclose(ours, theirs, rtol=1e-6, atol=0)
    normal = ParamRule("fc.weight", (64, 32), "Linear", "he_normal", "normal", std=0.25)
    apply_rule(ours, normal, seed=5)
    theirs = torch.nn.init.normal_(torch.empty(64, 32), 0.0, 0.25, generator=_generator_of(5, "fc.weight"))
    assert torch.equal(ours, theirs)


def test_apply_rule_constants_none_orthogonal_and_refusals() -> None:
    from kaiming.torch import ParamRule
    from kaiming.torch.model_init import apply_rule

    w = torch.full((8, 16), 3.0)
    apply_rule(w, ParamRule("w", (8, 16), "Linear", "untouched", "none"), seed=0)
    assert bool(w.eq(3.0).all())  # "none" writes nothing
    apply_rule(w, ParamRule("w", (8, 16), "Linear", "zeros", "constant"), seed=0)  # value None: 0
    assert not w.any()
    apply_rule(w, ParamRule("w", (8, 16), "Linear", "he_normal", "normal", std=0.0), seed=0)
    assert not w.any()  # std 0: every value 0
    rule = ParamRule("w", (8, 16), "Linear", "orthogonal", "orthogonal")  # gain None: 1
    a, b = torch.empty(8, 16), torch.empty(8, 16)
    apply_rule(a, rule, seed=1)
    apply_rule(b, rule, seed=1)
    assert torch.equal(a, b)  # from the parameter's generator, not torch's global one
    assert torch.allclose(a.double() @ a.double().T, torch.eye(8, dtype=torch.float64), atol=1e-5)
    with pytest.raises(ValueError, match=r"^parameter w is on the meta device; materialize the model first$"):
        apply_rule(torch.empty(8, 16, device="meta"), rule, seed=0)
    with pytest.raises(ValueError, match=r"^stream='numpy' is not available; allowed: 'torch', 'counter'$"):
        apply_rule(a, rule, seed=0, stream="numpy")


def test_a_last_layer_without_activation_gets_lecun_and_constants_name_their_module() -> None:
    plan = init_model(mlp([32, 64, 10]), seed=0)
    last = plan["2.weight"]
    assert (last.rule, last.activation, last.gain) == ("lecun_normal", None, 1.0)
    assert last.std == pytest.approx(1.0 / math.sqrt(64), rel=1e-12)
    bias = plan["2.bias"]
    assert (bias.module, bias.note, bias.value) == ("Linear", "", 0.0)
    plan = init_model(nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4)), seed=0)
    assert (plan["1.weight"].module, plan["1.weight"].note) == ("LayerNorm", "")


def test_rows_of_own_orthogonal_conv_plain_embedding_and_torch_default_notes() -> None:
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 4 * 4, 5), nn.Embedding(4, 6)
    )
    own = init_model(net, "own", seed=0, stream="counter", dry_run=True)
    for name, param in net.named_parameters():
        row = own[name]
        assert (row.name, row.shape, row.rule, row.distribution) == (
            name,
            tuple(param.shape),
            "own",
            "replay",
        )
        assert row.module == type(net.get_submodule(name.rpartition(".")[0])).__name__
    ortho = init_model(net, "orthogonal", seed=0)["0.weight"]  # rows 8, cols 3 * 3 * 3 = 27
    assert (ortho.distribution, ortho.gain) == ("orthogonal", math.sqrt(2.0))
    assert ortho.std == pytest.approx(math.sqrt(2.0) / math.sqrt(27), rel=1e-12)
    w = net[0].weight.detach().double().reshape(8, 27)
    assert torch.allclose(w @ w.T, 2.0 * torch.eye(8, dtype=torch.float64), atol=1e-5)
    emb = init_model(net, seed=0)["4.weight"]  # no padding_idx: no row zeroed, no note
    assert (emb.zero_index, emb.note) == (None, "")
    default = init_model(net, "torch_default", seed=0)
    assert default["0.weight"].note == "torch's fan reading" and default["0.bias"].note == ""
    assert default["0.bias"].fan == 27 and default["0.bias"].module == "Conv2d"


def test_orthogonal_std_of_a_tall_layer_follows_its_rows() -> None:
    net = nn.Sequential(nn.Linear(4, 16))  # weight (16, 4): 16 rows of 4; std gain / sqrt(16)
    row = init_model(net, "orthogonal", seed=0)["0.weight"]
    assert row.std == pytest.approx(1.0 / 4.0, rel=1e-12)
    w = net[0].weight.detach().double()
    assert torch.allclose(w.T @ w, torch.eye(4, dtype=torch.float64), atol=1e-5)  # orthonormal columns


def test_a_drawn_seed_fits_a_signed_64_bit_int() -> None:
    # seed=None draws 63 random bits: the reported seed is an int64 for every JSON reader and
    # tensor library; 64 draws of 64 bits would all fit with probability 2**-64
    seeds = [init_model(mlp([2, 2]), seed=None, dry_run=True).seed for _ in range(64)]
    assert all(0 <= s < 2**63 for s in seeds) and len(set(seeds)) == 64


def test_the_fallback_warning_says_zero_init_residual_zeroes_nothing() -> None:
    with pytest.warns(TracingFallbackWarning, match="zero_init_residual needs the graph and zeroes nothing"):
        init_model(Untraceable(), seed=0, zero_init_residual=True)
