"""Lottery-ticket sparse init: masks, the 1/sqrt(density) factor measured against 1/(1 - sparsity)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from kaiming.torch import apply_mask_, kaiming_normal_, random_mask, sparse_init_


@pytest.fixture(autouse=True, scope="module")
def _one_thread():  # type: ignore[no-untyped-def]
    """Tiny training loops: extra intra-op threads only spin on a shared 2-core machine (measured 10x)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _data(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _he_layer(fan_in: int, fan_out: int, seed: int) -> nn.Linear:
    layer = nn.Linear(fan_in, fan_out, bias=False)
    kaiming_normal_(layer.weight, nonlinearity="relu", seed=seed)
    return layer


@pytest.mark.parametrize("shape", [(7, 30), (5, 3, 3, 3), (4, 2, 5)])
@pytest.mark.parametrize("density", [0.05, 0.3, 1.0])
def test_mask_keeps_a_fixed_number_of_inputs_per_unit(shape: tuple[int, ...], density: float) -> None:
    mask = random_mask(shape, density, seed=1)
    fan_in = math.prod(shape[1:])
    assert mask.dtype == torch.bool and mask.shape == shape
    kept = mask.reshape(shape[0], -1).sum(dim=1)
    assert kept.tolist() == [max(1, round(density * fan_in))] * shape[0]


def test_mask_positions_are_uniform_and_seeded() -> None:
    a = random_mask((2000, 10), 0.3, seed=4)
    assert torch.equal(a, random_mask((2000, 10), 0.3, generator=torch.Generator().manual_seed(4)))
    assert not torch.equal(a, random_mask((2000, 10), 0.3, seed=5))
    # each of the 10 positions is kept by each of 2000 rows with p = 0.3: count ~ 600 +- 20.5;
    # a 6-sigma band (two-sided odds ~ 2e-9 per position) still rejects a position-biased sampler
    counts = a.sum(dim=0)
    assert ((counts - 600).abs() < 6 * math.sqrt(2000 * 0.3 * 0.7)).all(), counts


def test_global_rng_untouched() -> None:
    net = nn.Sequential(nn.Linear(10, 10), nn.Linear(10, 2))  # constructing a layer draws from it
    state = torch.random.get_rng_state()
    sparse_init_(net, 0.5, seed=0)
    assert torch.equal(torch.random.get_rng_state(), state)


@pytest.mark.parametrize("density", [0.1, 0.25])
def test_preactivation_variance_preserved_by_sqrt_factor_not_by_inverse_density(density: float) -> None:
    fan_in, fan_out = 1000, 1000
    x = _data(512, fan_in, seed=1)
    layer = _he_layer(fan_in, fan_out, seed=2)
    with torch.no_grad():
        dense_var = float(layer(x).var())
        dense_weight = layer.weight.detach().clone()
        masks = sparse_init_(layer, density, seed=3)
        ours = float(layer(x).var())
        # the inverted-dropout factor 1/(1 - sparsity) = 1/density on the same survivors
        mask = masks.masks["weight"]
        dropout_like = float(F.linear(x, dense_weight * mask / density).var())
    # both sides use the same x and the same surviving weights. The masked variance differs from the
    # dense one only through which k = density * 1000 weights survive per unit: per unit sum of k
    # squared normals has relative sd sqrt(2/k) <= 0.14, averaged over 1000 units ~ 0.5%; 5% is 10 sd.
    assert ours == pytest.approx(dense_var, rel=0.05)
    # 1/(1 - sparsity) inflates the variance by 1/density (4x or 10x): measured, not assumed
    assert dropout_like / dense_var == pytest.approx(1 / density, rel=0.05)


def test_deep_sparse_relu_net_keeps_signal_and_dropout_factor_explodes_it() -> None:
    depth, width, density = 10, 400, 0.2
    x = _data(256, width, seed=0)
    dense = nn.Sequential(*[_he_layer(width, width, seed=10 + i) for i in range(depth)])
    sparse = nn.Sequential(*[_he_layer(width, width, seed=10 + i) for i in range(depth)])
    masks = sparse_init_(sparse, density, seed=1)
    wrong = nn.Sequential(*[_he_layer(width, width, seed=10 + i) for i in range(depth)])
    with torch.no_grad():
        for i, layer in enumerate(wrong):
            layer.weight.mul_(masks.masks[f"{i}.weight"] / density)

    def last_std(net: nn.Sequential) -> float:
        h = x
        with torch.no_grad():
            for layer in net:
                h = F.relu(layer(h))
        return float(h.pow(2).mean().sqrt())

    # He keeps E[h^2] ~ E[x^2] = 1 per layer; masking with our factor keeps it, 1/density multiplies
    # the second moment by 5 per layer: 5^10 ~ 1e7 (std ~ 3e3) after 10 layers.
    dense_rms, sparse_rms, wrong_rms = last_std(dense), last_std(sparse), last_std(wrong)
    assert 0.5 < dense_rms < 2.0
    assert 0.5 < sparse_rms / dense_rms < 2.0
    assert wrong_rms / dense_rms > 1e3


def test_conv_and_report() -> None:
    net = nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU(), nn.Flatten(), nn.Linear(16 * 6 * 6, 10))
    masks = sparse_init_(net, 0.1, seed=0)
    conv, lin = masks.layers
    assert (conv.name, conv.fan_in, conv.kept_per_unit) == ("0.weight", 27, 3)
    assert conv.scale == pytest.approx(math.sqrt(27 / 3))
    assert (lin.name, lin.fan_in, lin.kept_per_unit) == ("3.weight", 576, 58)
    assert masks.density == pytest.approx((16 * 3 + 10 * 58) / (16 * 27 + 10 * 576))
    assert torch.equal(net[0].weight != 0, masks.masks["0.weight"])
    assert "kept_per_unit" in masks.table() and len(masks.to_dict()["layers"]) == 2


def test_apply_mask_rescales_each_unit_by_its_own_survivor_count() -> None:
    w = torch.ones(3, 2, 2)
    mask = torch.tensor([[[True, True], [True, True]], [[True, False], [False, False]], [[False] * 2] * 2])
    apply_mask_(w, mask)
    assert w[0].unique().tolist() == [1.0]
    assert w[1, 0, 0].item() == pytest.approx(2.0) and w[1].count_nonzero() == 1
    assert w[2].count_nonzero() == 0
    apply_mask_(w2 := torch.ones(3, 2, 2), mask, rescale=False)
    assert torch.equal(w2, mask.float())


@pytest.mark.parametrize("opt_name", ["sgd", "adamw"])
def test_registered_masks_survive_training(opt_name: str) -> None:
    net = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 3))
    masks = sparse_init_(net, 0.25, seed=0)
    handles = masks.register(net)
    x, y = _data(64, 20), torch.arange(64) % 3
    opt: torch.optim.Optimizer
    if opt_name == "sgd":
        opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-2)
    else:
        opt = torch.optim.AdamW(net.parameters(), lr=1e-2, weight_decay=1e-2)
    with torch.no_grad():
        first = float(F.cross_entropy(net(x), y))
    for _ in range(20):
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
    assert float(loss.detach()) < first  # it trains
    for name, mask in masks.masks.items():
        weight = dict(net.named_parameters())[name]
        assert torch.count_nonzero(weight[~mask]) == 0
        assert torch.count_nonzero(weight[mask]) == int(mask.sum())  # survivors still move freely
    for handle in handles:
        handle.remove()
    # without hooks a step moves pruned weights; apply_ puts the zeros back
    F.cross_entropy(net(x), y).backward()
    torch.optim.SGD(net.parameters(), lr=0.1).step()
    assert torch.count_nonzero(net[0].weight[~masks.masks["0.weight"]]) > 0
    masks.apply_(net)
    assert torch.count_nonzero(net[0].weight[~masks.masks["0.weight"]]) == 0


def test_bad_input() -> None:
    with pytest.raises(ValueError, match=r"density must be in \(0, 1\]"):
        random_mask((3, 3), 0.0)
    with pytest.raises(ValueError, match=r"density must be in \(0, 1\].*1.5"):
        sparse_init_(nn.Linear(3, 3), 1.5)
    with pytest.raises(TypeError, match="density must be a real number"):
        random_mask((3, 3), "half")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        random_mask((3,), 0.5)
    with pytest.raises(ValueError, match="bool tensor of the weight's shape"):
        apply_mask_(torch.ones(2, 2), torch.ones(2, 2))
    with pytest.raises(ValueError, match="no Linear/Conv1d/Conv2d/Conv3d layer"):
        sparse_init_(nn.ReLU(), 0.5)
    masks = sparse_init_(nn.Sequential(nn.Linear(3, 3)), 0.5, seed=0)
    with pytest.raises(ValueError, match="made for another model"):
        masks.apply_(nn.Linear(3, 3))
