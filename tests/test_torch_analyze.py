"""``kaiming.torch.analyze``: statistics computed by hand on the side, verdicts, and no side effects."""

from __future__ import annotations

import json
from typing import Any

import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from kaiming._health import EXPLODING_STD, VANISHING_STD
from kaiming.torch import TracingFallbackWarning, analyze, init_model, normal_

from .test_torch_model_init import FunctionalNet, ResNetish, SmallCNN, Untraceable, mlp


def batch(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def pop_std(t: torch.Tensor) -> float:
    return float(t.detach().std(correction=0))


def test_mlp_statistics_match_a_hand_computation() -> None:
    net = mlp([20, 50, 30, 5])
    init_model(net, seed=0)
    x, y = batch(256, 20), batch(256, 5, seed=1)
    report = analyze(net, x, y)  # float targets -> MSE
    assert [r.name for r in report] == ["0", "2", "4"]
    # the same quantities computed by hand
    h1 = net[0](x)
    h1.retain_grad()
    a1 = torch.relu(h1)
    h2 = net[2](a1)
    h2.retain_grad()
    out = net[4](torch.relu(h2))
    out.retain_grad()
    loss = F.mse_loss(out, y)
    loss.backward()
    assert report.loss == pytest.approx(float(loss.detach()), rel=1e-6)
    assert report["0"].activation == "relu" and report["4"].activation is None
    assert report["0"].pre_mean == pytest.approx(float(h1.detach().mean()), abs=1e-6)
    assert report["0"].pre_std == pytest.approx(pop_std(h1), rel=1e-5)
    assert report["0"].post_std == pytest.approx(pop_std(a1), rel=1e-5)
    assert report["0"].dead_fraction == pytest.approx(float((a1 == 0).float().mean()))
    assert report["4"].post_std == report["4"].pre_std  # no activation: post = pre
    for name, h in (("0", h1), ("2", h2), ("4", out)):
        assert h.grad is not None
        assert report[name].grad_std == pytest.approx(pop_std(h.grad), rel=1e-4)
    assert report["2"].weight_grad_std == pytest.approx(pop_std(net[2].weight.grad), rel=1e-4)
    assert report.input_std == pytest.approx(pop_std(x))


def test_functional_relu_and_integer_targets() -> None:
    net = FunctionalNet()
    x, y = batch(128, 40), torch.randint(0, 10, (128,), generator=torch.Generator().manual_seed(0))
    report = analyze(net, x, y, loss_fn=lambda out, t: F.nll_loss(out, t))
    h = net.fc1(x)
    assert report["fc1"].activation == "relu"
    assert report["fc1"].post_mean == pytest.approx(float(torch.relu(h).detach().mean()), rel=1e-5)
    assert report["fc3"].activation == "tanh" and report["fc5"].activation == "gelu"
    plain = mlp([40, 30, 10])
    with torch.no_grad():
        expected = float(F.cross_entropy(plain(x), y))
    assert analyze(plain, x, y).loss == pytest.approx(expected, rel=1e-5)  # integer targets: cross-entropy


def test_cnn_post_activation_is_after_the_batchnorm() -> None:
    net = SmallCNN()
    init_model(net, seed=0)
    net.eval()
    x = batch(16, 3, 8, 8)
    report = analyze(net, x)
    conv = report["features.0"]
    expected = torch.relu(net.features[1](net.features[0](x)))
    assert conv.activation == "relu" and conv.module == "Conv2d"
    assert conv.post_std == pytest.approx(pop_std(expected), rel=1e-5)
    assert conv.pre_std == pytest.approx(pop_std(net.features[0](x)), rel=1e-5)


def test_inplace_relu_does_not_corrupt_the_pre_activation() -> None:
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(inplace=True), nn.Conv2d(8, 4, 3))
    x = batch(4, 3, 10, 10)
    report = analyze(net, x)
    pre = net[0](x)
    assert report["0"].pre_mean == pytest.approx(float(pre.detach().mean()), abs=1e-6)
    assert report["0"].post_mean == pytest.approx(float(torch.relu(pre).detach().mean()), abs=1e-6)
    assert report["0"].grad_std is not None and report["0"].grad_std > 0


def test_dead_units_counted_per_channel_for_convs() -> None:
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())
    with torch.no_grad():
        net[0].bias[:2] = -100.0  # channels 0 and 1 always negative -> dead
    report = analyze(net, batch(4, 3, 6, 6))
    assert report["0"].dead_units_fraction == pytest.approx(2 / 8)


def test_residual_block_pairs_each_layer_with_the_relu_after_the_sum() -> None:
    net = ResNetish()
    report = analyze(net, batch(2, 3, 8, 8))
    assert report["block.conv2"].activation == "relu"
    assert report["block.conv2"].post_std == report["block.downsample.0"].post_std  # the same relu
    assert report["fc"].activation is None


def test_verdicts() -> None:
    x = batch(256, 64)
    healthy = mlp([64] * 12)
    init_model(healthy, seed=0)
    assert {r.health for r in analyze(healthy, x)} == {"healthy"}

    vanishing = mlp([64] * 12, act=nn.Tanh)
    for layer in vanishing[::2]:
        normal_(layer.weight, std=0.01, seed=0)  # each layer multiplies the std by 0.08:
        nn.init.zeros_(layer.bias)  # below 1e-3 after 3 layers
    report = analyze(vanishing, x)
    verdicts = [r.forward_health for r in report]
    assert verdicts[0] == "healthy" and verdicts[-1] == "vanishing"
    # Backward, the gradient shrinks by the same 0.08 per layer: layer 0 gets 0.08**5 of the last's.
    assert report.layers[0].backward_health == "vanishing" and report.layers[-1].backward_health == "healthy"
    assert report.layers[0].health == "vanishing"

    exploding = mlp([64] * 12)
    init_model(exploding, "he_normal", seed=0)
    for layer in exploding[::2]:
        with torch.no_grad():
            layer.weight.mul_(4.0)  # x4 per layer: 1e3 passed after 5 layers
    report = analyze(exploding, x)
    assert report.layers[-1].forward_health == "exploding" and report.layers[0].forward_health == "healthy"
    # The gradient grows by the same x4 per layer going back: 4**5 > 1e3 at layer 0.
    assert report.layers[0].backward_health == "exploding" and report.layers[0].health == "exploding"
    assert report.layers[-1].pre_std > EXPLODING_STD > VANISHING_STD

    dying = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 4))
    with torch.no_grad():
        dying[0].bias[:40] = -50.0  # 40 of 64 units never fire
    report = analyze(dying, x)
    assert report["0"].health == "dying" and report["0"].dead_units_fraction == pytest.approx(40 / 64)
    assert "dying (first: 0)" in report.summary()


class Raising(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if float(x.sum()) > -1e9:  # untraceable: eager hooks are used
            raise RuntimeError("boom")
        return self.fc(x)


def _hook_count(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) for m in model.modules())


@pytest.mark.parametrize("make", [SmallCNN, Untraceable], ids=["fx-traceable", "fx-untraceable"])
def test_nothing_is_left_behind(make: Any) -> None:
    net = make()
    x = batch(8, 3, 8, 8) if make is SmallCNN else batch(8, 20)
    net.train()
    if make is SmallCNN:
        net.features[1].eval()  # mixed modes must come back exactly
    existing = {name: torch.full_like(p, 0.5) for name, p in net.named_parameters()}
    for name, p in net.named_parameters():
        p.grad = existing[name]
    state = {k: v.clone() for k, v in net.state_dict().items()}
    modes = {n: m.training for n, m in net.named_modules()}
    user_hook = net.register_forward_hook(lambda *_: None)
    rng = torch.get_rng_state()
    hooks_before = _hook_count(net)
    with _no_warning():  # the analyzed run itself is traced: no fallback for any model
        analyze(net, x, train=True)
    assert _hook_count(net) == hooks_before
    assert torch.equal(torch.get_rng_state(), rng)
    assert {n: m.training for n, m in net.named_modules()} == modes
    for key, value in net.state_dict().items():
        assert torch.equal(value, state[key]), key  # weights and BN running stats
    for name, p in net.named_parameters():
        assert p.grad is existing[name] and bool((p.grad == 0.5).all())
    user_hook.remove()


class _no_warning:  # noqa: N801 - a tiny context manager
    def __enter__(self) -> None:
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("error", TracingFallbackWarning)

    def __exit__(self, *exc: object) -> None:
        self._ctx.__exit__(*exc)


def test_hooks_removed_and_modes_restored_when_forward_raises() -> None:
    net = Raising()
    net.eval()
    with pytest.raises(RuntimeError, match="boom"):
        analyze(net, batch(2, 4), train=True)
    assert _hook_count(net) == 0 and not net.training and not net.fc.training


def test_a_model_fx_cannot_trace_is_followed_by_its_own_run() -> None:
    net = Untraceable()
    with _no_warning():
        report = analyze(net, batch(64, 20))
    assert report.traced and "forward data flow" in report.table()
    assert [r.activation for r in report] == ["tanh", "relu", None]
    h = net.fc1(batch(64, 20))
    assert report["fc1"].post_std == pytest.approx(pop_std(torch.tanh(h)), rel=1e-5)


def test_keyword_inputs_and_embedding_reference_scale() -> None:
    class Tagger(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(100, 16)
            self.fc = nn.Linear(16, 3)

        def forward(self, tokens: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
            return self.fc(torch.relu(self.emb(tokens))) * scale

    tokens = torch.randint(0, 100, (8, 5), generator=torch.Generator().manual_seed(0))
    report = analyze(Tagger(), {"tokens": tokens})
    assert report.input_std == 1.0  # integer inputs: reference std 1
    assert report["emb"].activation == "relu" and report["emb"].module == "Embedding"


def test_table_and_json() -> None:
    report = analyze(ResNetish(), batch(2, 3, 8, 8))
    text = str(report)
    assert text == report.table() and "block.conv2" in text and "healthy" in text
    data = json.loads(json.dumps(report.to_dict()))
    assert data["traced"] is True and len(data["layers"]) == len(report)
    assert set(data["layers"][0]) >= {"name", "pre_std", "post_std", "grad_std", "weight_grad_std", "health"}


def test_non_finite_values_are_json_safe() -> None:
    net = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 1))
    with torch.no_grad():
        net[0].weight.fill_(float("inf"))
    data = json.loads(json.dumps(analyze(net, batch(8, 4)).to_dict()))
    assert data["layers"][0]["health"] == "exploding"


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"model": "net"}, TypeError, "model"),
        ({"inputs": 3}, TypeError, "inputs"),
        ({"train": "yes"}, TypeError, "train"),
        ({"loss_fn": 3}, TypeError, "loss_fn"),
        ({"seed": -1}, ValueError, "seed"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    call: dict[str, Any] = {"model": mlp([4, 2]), "inputs": batch(3, 4)}
    call.update(kwargs)
    with pytest.raises(error, match=match):
        analyze(**call)
