"""Dead-ReLU repair on real models: what is dead, what changes (only that), bounded rounds, hooks."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from kaiming.torch import DeadUnitWarning, kaiming_normal_, repair_dead_relus_, zeros_


def _data(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _mlp(inplace: bool = False) -> nn.Sequential:
    net = nn.Sequential(
        nn.Linear(16, 32), nn.ReLU(inplace), nn.Linear(32, 32), nn.ReLU(inplace), nn.Linear(32, 4)
    )
    gen = torch.Generator().manual_seed(0)
    for layer in net:
        if isinstance(layer, nn.Linear):
            kaiming_normal_(layer.weight, nonlinearity="relu", generator=gen)
            zeros_(layer.bias)
    return net


def _kill(layer: nn.Module, units: list[int]) -> None:
    with torch.no_grad():
        layer.bias[units] = -1e3


def _params(net: nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in net.named_parameters()}


def _dead_units(net: nn.Sequential, x: torch.Tensor, index: int) -> list[int]:
    """Independent check: units of net[index] whose ReLU output is 0 for the whole batch."""
    with torch.no_grad():
        return (F.relu(net[: index + 1](x)) == 0).all(dim=0).nonzero().flatten().tolist()


@pytest.mark.parametrize("inplace", [False, True])
def test_repairs_exactly_the_dead_units_and_nothing_else(inplace: bool) -> None:
    net = _mlp(inplace)
    x = _data(256, 16)
    _kill(net[0], [1, 5, 9])
    _kill(net[2], [0, 31])
    assert _dead_units(net, x, 0) == [1, 5, 9]
    before = _params(net)
    report = repair_dead_relus_(net, x, seed=0)
    assert [(r.name, r.units, r.dead_before, r.dead_after, r.reinitialized) for r in report.layers] == [
        ("0", 32, 3, 0, 3),
        ("2", 32, 2, 0, 2),
    ]
    assert report.dead_fraction_before == pytest.approx(5 / 64) and report.dead_fraction_after == 0.0
    assert report.success and report.attempts == 1
    assert _dead_units(net, x, 0) == [] and _dead_units(net, x, 2) == []
    after = _params(net)
    for name, layer_index, units in (("0", 0, [1, 5, 9]), ("2", 2, [0, 31])):
        keep = [i for i in range(32) if i not in units]
        assert torch.equal(after[f"{name}.weight"][keep], before[f"{name}.weight"][keep])
        assert torch.equal(after[f"{name}.bias"][keep], before[f"{name}.bias"][keep])
        assert not torch.equal(after[f"{name}.weight"][units], before[f"{name}.weight"][units])
        assert torch.count_nonzero(after[f"{name}.bias"][units]) == 0
        assert net[layer_index].weight.dtype == torch.float32
    # outgoing weights (the next layer's columns) and the last layer are untouched
    assert torch.equal(after["4.weight"], before["4.weight"]) and torch.equal(
        after["4.bias"], before["4.bias"]
    )


def test_units_killed_by_a_too_large_step_are_revived() -> None:
    from sklearn import datasets

    features, targets = datasets.load_digits(return_X_y=True)
    x = torch.tensor(features, dtype=torch.float32)
    x = (x - x.mean(0)) / (x.std(0) + 1e-3)
    y = torch.tensor(targets)
    net = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10))
    gen = torch.Generator().manual_seed(0)
    for layer in net[::2]:
        kaiming_normal_(layer.weight, nonlinearity="relu", generator=gen)
        zeros_(layer.bias)
    opt = torch.optim.SGD(net.parameters(), lr=3.0)  # far too large: measured, kills ~1/4 of layer 2
    for _ in range(3):
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()
    dead = _dead_units(net, x, 2)
    assert len(dead) > 10  # measured: 62 of 128
    report = repair_dead_relus_(net, x, seed=0, init="match")
    assert report.layers[1].dead_before == len(dead) and report.dead_fraction_after == 0.0
    assert _dead_units(net, x, 0) == [] and _dead_units(net, x, 2) == []


class FunctionalConv(nn.Module):
    """ReLUs called as F.relu and x.relu() in forward, a conv channel dead over every position."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Linear(8, 6)
        self.out = nn.Linear(6, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.conv(x)).mean(dim=(2, 3))
        return self.out(self.fc(h).relu())


def test_functional_relu_and_conv_channels() -> None:
    net = FunctionalConv()
    with torch.no_grad():
        net.conv.bias[[2, 6]] = -1e3
        net.fc.bias[3] = -1e3
    x = _data(32, 3, 8, 8)

    def dead() -> tuple[list[int], list[int]]:  # independent of repair's function-mode tracking
        with torch.no_grad():
            conv = F.relu(net.conv(x))
            fc = F.relu(net.fc(conv.mean(dim=(2, 3))))
        return (conv == 0).all(dim=3).all(dim=2).all(dim=0).nonzero().flatten().tolist(), (
            (fc == 0).all(dim=0).nonzero().flatten().tolist()
        )

    conv_dead, fc_dead = dead()
    assert conv_dead == [2, 6] and 3 in fc_dead
    report = repair_dead_relus_(net, x, seed=1)
    rows = {r.name: (r.units, r.dead_before, r.dead_after) for r in report.layers}
    assert rows == {"conv": (8, 2, 0), "fc": (6, len(fc_dead), 0)}  # "out" feeds no ReLU: not counted
    assert dead() == ([], [])
    assert report.unattributed_relu_calls == 0


def test_threshold_leaves_a_net_under_it_alone() -> None:
    net = _mlp()
    _kill(net[0], [3])
    before = _params(net)
    report = repair_dead_relus_(net, _data(64, 16), max_dead_fraction=0.05, seed=0)  # 1/64 dead
    assert report.attempts == 0 and report.success
    assert report.layers[0].dead_before == report.layers[0].dead_after == 1
    assert all(torch.equal(p, before[name]) for name, p in _params(net).items())


def test_unreachable_units_warn_after_bounded_rounds() -> None:
    net = _mlp()
    # a batch of zeros: every pre-activation is the bias; a re-drawn unit gets bias 0 -> relu(0) = 0
    with pytest.warns(DeadUnitWarning, match=r"dead fraction still 1 > 0 after 3 round"):
        report = repair_dead_relus_(net, torch.zeros(8, 16), max_attempts=3, seed=0)
    assert not report.success and report.attempts == 3
    assert report.layers[0].reinitialized == 3 * 32


def test_match_init_draws_at_the_scale_of_the_live_rows() -> None:
    layer = nn.Linear(200, 400)
    with torch.no_grad():
        layer.weight.copy_(0.3 * _data(400, 200, seed=3))
        layer.bias.zero_()
        layer.bias[:200] = -1e4  # half the units dead
    net = nn.Sequential(layer, nn.ReLU())
    repair_dead_relus_(net, _data(64, 200), init="match", seed=0)
    # 200 rows x 200 = 40000 draws: the std estimate has relative sd ~ 0.35%; 3% is ~8.5 sd, and
    # He's sqrt(2/200) = 0.1 (vs 0.3) is off by 3x
    assert float(layer.weight[:200].detach().std()) == pytest.approx(0.3, rel=0.03)
    net2 = nn.Sequential(nn.Linear(200, 400), nn.ReLU())
    with torch.no_grad():
        net2[0].weight.copy_(0.3 * _data(400, 200, seed=3))
        net2[0].bias.zero_()
        net2[0].bias[:200] = -1e4
    repair_dead_relus_(net2, _data(64, 200), init="he", seed=0)
    assert float(net2[0].weight[:200].detach().std()) == pytest.approx(math.sqrt(2 / 200), rel=0.03)


def test_seeded_and_global_rng_untouched() -> None:
    nets = [_mlp(), _mlp(), _mlp()]
    for net in nets:
        _kill(net[0], [0, 1, 2])
    x = _data(64, 16)
    state = torch.random.get_rng_state()
    repair_dead_relus_(nets[0], x, seed=5)
    repair_dead_relus_(nets[1], x, generator=torch.Generator().manual_seed(5))
    repair_dead_relus_(nets[2], x, seed=6)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.equal(nets[0][0].weight, nets[1][0].weight)
    assert not torch.equal(nets[0][0].weight, nets[2][0].weight)


class Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + F.relu(self.fc(x)))  # the outer ReLU takes a sum: unattributed


def test_relus_on_other_tensors_are_counted_not_repaired() -> None:
    report = repair_dead_relus_(Residual(), _data(16, 8), seed=0)
    assert report.unattributed_relu_calls == 1 and [r.name for r in report.layers] == ["fc"]
    norm_first = nn.Sequential(nn.Linear(8, 8), nn.BatchNorm1d(8), nn.ReLU())
    with pytest.raises(ValueError, match=r"no ReLU .* takes a Linear/Conv1d/Conv2d/Conv3d output directly"):
        repair_dead_relus_(norm_first, _data(16, 8), seed=0)


class Boom(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("boom in forward")


def test_hooks_and_mode_restored_when_model_raises() -> None:
    net = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), Boom(), nn.Dropout())
    net.train()
    with pytest.raises(RuntimeError, match="boom in forward"):
        repair_dead_relus_(net, _data(8, 4), seed=0)
    assert all(m.training for m in net.modules())
    assert sum(len(m._forward_hooks) for m in net.modules()) == 0
    assert torch.is_grad_enabled()
    # the function mode is gone too: a ReLU outside repair is not intercepted
    assert torch._C._is_torch_function_mode_enabled() is False


def test_report_outputs() -> None:
    net = _mlp()
    _kill(net[0], [4])
    report = repair_dead_relus_(net, _data(64, 16), seed=0)
    text = str(report)
    assert "dead_before" in text and "dead fraction 0.01562 -> 0 (threshold 0) in 1 round(s)" in text
    d = report.to_dict()
    assert d["success"] is True and d["layers"][0]["dead_before"] == 1 and d["attempts"] == 1
    assert report["0"].reinitialized == 1 and [r.name for r in report] == ["0", "2"]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"max_dead_fraction": 1.0}, ValueError, r"max_dead_fraction must be in \[0, 1\), got 1.0"),
        ({"max_attempts": 0}, ValueError, "max_attempts must be a positive integer, got 0"),
        ({"init": "xavier"}, ValueError, "Invalid init 'xavier'; allowed: 'he', 'match'"),
        ({"generator": "g"}, TypeError, "generator must be a torch.Generator"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        repair_dead_relus_(_mlp(), _data(8, 16), **kwargs)  # type: ignore[arg-type]
