"""LSUV (Mishkin & Matas, 2016) on real models: unit output variance, orthogonal pre-init, hooks, warnings."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from kaiming.torch import LSUVWarning, lsuv_


def _data(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _output_vars(model: nn.Module, x: torch.Tensor) -> dict[str, float]:
    """Each Linear/Conv layer's output variance on ``x``, measured independently of lsuv_."""
    out: dict[str, float] = {}

    def hook(name: str):  # type: ignore[no-untyped-def]
        def record(_m: nn.Module, _i: object, o: torch.Tensor) -> None:
            out.setdefault(name, float(o.double().var(correction=0)))

        return record

    handles = [
        module.register_forward_hook(hook(name))
        for name, module in model.named_modules()
        if isinstance(module, (nn.Linear, nn.Conv2d))
    ]
    with torch.no_grad():
        model(x)
    for handle in handles:
        handle.remove()
    return out


def _hooks_left(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def _deep_mlp(depth: int = 12, width: int = 64, act: type[nn.Module] = nn.Tanh) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(32, width), act()]
    for _ in range(depth - 2):
        layers += [nn.Linear(width, width), act()]
    layers.append(nn.Linear(width, 10))
    return nn.Sequential(*layers)


class SmallCNN(nn.Module):
    """Convs with functional ReLU and pooling: the order comes from the calls, not the registration."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(16 * 4 * 4, 10)  # registered first, called last
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc(x.flatten(1))


@pytest.mark.parametrize("act", [nn.Tanh, nn.ReLU])
def test_every_mlp_layer_has_unit_output_variance(act: type[nn.Module]) -> None:
    model = _deep_mlp(act=act)
    x = _data(512, 32)
    report = lsuv_(model, x, seed=0, tol=0.05)
    measured = _output_vars(model, x)
    assert report.converged
    assert [layer.name for layer in report.layers] == list(measured)
    for layer in report.layers:
        assert abs(measured[layer.name] - 1.0) < 0.05, (layer.name, measured[layer.name])
        assert measured[layer.name] == pytest.approx(layer.final_var, rel=1e-5)
    # unit variance carries over to new data from the same distribution (512 x 64 samples per
    # layer: the variance estimate's relative SE is ~ sqrt(2 / 32768) ~ 0.8% plus weight effects)
    fresh = _output_vars(model, _data(512, 32, seed=1))
    assert all(0.8 < v < 1.25 for v in fresh.values()), fresh


def test_cnn_layers_are_scaled_in_call_order() -> None:
    model = SmallCNN()
    x = _data(64, 3, 16, 16)
    report = lsuv_(model, x, seed=0)
    assert [layer.name for layer in report.layers] == ["conv1", "conv2", "fc"]
    measured = _output_vars(model, x)
    assert all(abs(v - 1.0) < 0.1 for v in measured.values()), measured
    assert report.skipped == ()


def test_pre_init_is_orthogonal_and_zero_bias() -> None:
    model = nn.Sequential(nn.Linear(50, 20), nn.ReLU(), nn.Linear(20, 5))  # rows fewer than columns
    report = lsuv_(model, _data(256, 50), seed=3)
    for layer, row in zip((model[0], model[2]), report.layers, strict=True):
        w = layer.weight.detach().double() / row.scale  # undo LSUV's scalar: the orthonormal pre-init
        torch.testing.assert_close(w @ w.T, torch.eye(w.shape[0], dtype=torch.float64), atol=1e-5, rtol=0)
        assert torch.count_nonzero(layer.bias) == 0


def test_same_seed_same_weights_and_global_rng_untouched() -> None:
    x = _data(128, 32)
    a, b, c = _deep_mlp(depth=4), _deep_mlp(depth=4), _deep_mlp(depth=4)
    lsuv_(a, x, seed=7)
    state = torch.random.get_rng_state()
    lsuv_(b, x, generator=torch.Generator().manual_seed(7))
    assert torch.equal(torch.random.get_rng_state(), state)
    lsuv_(c, x, seed=8)
    for pa, pb, pc in zip(a.parameters(), b.parameters(), c.parameters(), strict=True):
        assert torch.equal(pa, pb)
        if pa.dim() == 2:
            assert not torch.equal(pa, pc)


def test_keeps_existing_weights_without_pre_init() -> None:
    model = nn.Sequential(nn.Linear(20, 20), nn.ReLU(), nn.Linear(20, 4))
    before = [p.detach().clone() for p in model.parameters()]
    report = lsuv_(model, _data(256, 20), pre_init=False, seed=0)
    for layer, row, w0 in zip((model[0], model[2]), report.layers, before[::2], strict=True):
        torch.testing.assert_close(layer.weight.detach(), w0 * row.scale)


def test_layer_that_cannot_converge_warns_and_is_reported() -> None:
    # a bias whose spread across units alone has variance ~ 9 > 1 + tol: no weight scale fixes it
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))
    with torch.no_grad():
        model[0].bias.copy_(3.0 * _data(32, seed=5))
    with pytest.warns(LSUVWarning, match="layer '0'"):
        report = lsuv_(model, _data(256, 16), pre_init=False, max_iters=4, seed=0)
    first = report["0"]
    assert not first.converged and not report.converged
    assert first.iterations == 4
    assert first.final_var > 1.1
    assert report.layers[1].converged


def test_zero_variance_layer_warns_without_dividing_by_zero() -> None:
    model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error", LSUVWarning)
        with pytest.raises(LSUVWarning, match="no rescaling can bring to 1"):
            lsuv_(model, torch.zeros(16, 8), seed=0)


class RaisesOnCall(nn.Module):
    """Raises on its ``n``-th call: mid-forward, after some hooks have been registered."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.calls >= self.n:
            raise RuntimeError("boom in forward")
        return x


@pytest.mark.parametrize("n", [1, 3])  # 1: in the first (ordering) pass; 3: while rescaling
def test_hooks_removed_and_modes_restored_when_model_raises(n: int) -> None:
    model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), RaisesOnCall(n), nn.Linear(8, 8), nn.Dropout(0.5))
    model.train()
    model[1].eval()  # a mixed train/eval state must come back as it was
    with pytest.raises(RuntimeError, match="boom in forward"):
        lsuv_(model, _data(16, 8), seed=0)
    assert _hooks_left(model) == 0
    assert [m.training for m in model.modules()] == [True, True, False, True, True, True]
    assert torch.is_grad_enabled()


def test_restores_train_mode_and_leaves_no_hooks_on_success() -> None:
    model = _deep_mlp(depth=3)
    model.train()
    lsuv_(model, _data(64, 32), seed=0)
    assert model.training and all(m.training for m in model.modules())
    assert _hooks_left(model) == 0


def test_report_table_and_dict() -> None:
    report = lsuv_(_deep_mlp(depth=3), _data(64, 32), seed=0)
    text = report.table()
    assert text.splitlines()[0].split() == [
        "layer",
        "kind",
        "scale",
        "initial_var",
        "final_var",
        "iters",
        "converged",
    ]
    assert len(text.splitlines()) == 2 + len(report.layers)
    d = report.to_dict()
    assert d["converged"] is True and len(d["layers"]) == 3 and d["tol"] == 0.1
    assert report["2"] is report.layers[1] and len(report) == 3


def test_uncalled_layers_are_skipped_and_listed() -> None:
    class WithSpare(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.used = nn.Linear(4, 4)
            self.spare = nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.used(x)

    model = WithSpare()
    spare = model.spare.weight.detach().clone()
    report = lsuv_(model, _data(32, 4), seed=0)
    assert [layer.name for layer in report.layers] == ["used"] and report.skipped == ("spare",)
    assert torch.equal(model.spare.weight, spare)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"tol": 0.0}, ValueError, "tol must be a number > 0, got 0.0"),
        ({"tol": "x"}, TypeError, "tol must be a real number"),
        ({"max_iters": 0}, ValueError, "max_iters must be a positive integer, got 0"),
        ({"pre_init": 1}, TypeError, "pre_init must be a bool"),
        ({"seed": -1}, ValueError, "seed"),
        ({"seed": 1, "generator": torch.Generator()}, ValueError, "not both"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        lsuv_(_deep_mlp(depth=3), _data(8, 32), **kwargs)  # type: ignore[arg-type]


def test_bad_model_and_batch() -> None:
    with pytest.raises(TypeError, match=r"model must be a torch\.nn\.Module"):
        lsuv_("net", _data(8, 4))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"batch must be a torch\.Tensor"):
        lsuv_(nn.Linear(4, 4), [[1.0] * 4] * 8)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 2 samples"):
        lsuv_(nn.Linear(4, 4), _data(1, 4))
    with pytest.raises(ValueError, match="no Linear/Conv1d/2d/3d/ConvTranspose1d/2d/3d layer"):
        lsuv_(nn.Sequential(nn.ReLU()), _data(8, 4))


@pytest.mark.parametrize("groups", [1, 2])
def test_conv_transpose_layers_are_rescaled_not_skipped(groups: int) -> None:
    net = nn.Sequential(
        nn.Conv1d(4, 8, 3, padding=1),
        nn.ReLU(),
        nn.ConvTranspose1d(8, 8, 4, stride=2, padding=1, groups=groups),
        nn.ReLU(),
        nn.Conv1d(8, 3, 3, padding=1),
    )
    x = torch.randn(64, 4, 32, generator=torch.Generator().manual_seed(0))
    with warnings.catch_warnings():
        warnings.simplefilter("error", LSUVWarning)
        report = lsuv_(net, x, seed=0)
    assert [layer.name for layer in report.layers] == ["0", "2", "4"] and report.skipped == ()
    assert report["2"].kind == "ConvTranspose1d" and report.converged
    with torch.no_grad():
        h = net[2](net[1](net[0](x)))
        out = net(x)
    # measured again by hand: every layer's output, the transposed conv's included, within tol of 1
    assert abs(float(h.double().var(correction=0)) - 1.0) < 0.1
    assert abs(float(out.double().var(correction=0)) - 1.0) < 0.1
    # the transposed conv's pre-init is orthogonal as an (out/groups, in * k) matrix per its transpose
    w = net[2].weight.detach().transpose(0, 1).reshape(8 // groups, -1).double()
    gram = w @ w.T
    assert torch.allclose(gram / gram[0, 0], torch.eye(8 // groups, dtype=torch.float64), atol=1e-6)
