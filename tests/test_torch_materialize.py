"""Meta-device materialization: ties kept, every tensor written (scheme or the model's own init,
replayed from the counter stream), and the audit that raises naming what was not.

Regression tests for issue 11, items 1 and 2: on the meta path ``init_model(m, stream="counter")``
used to untie tied weights (the tied copy left as uninitialized memory) and to leave every tensor
the scheme has no rule for (LSTM/GRU weights, MultiheadAttention ``in_proj_*``, custom
parameters, PReLU slopes, Hugging Face RMSNorm weights, rotary ``inv_freq``) uninitialized.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from _zoo import ZOO, build
from kaiming.torch import InitializationError, deferred_init, init_model


class TiedLM(nn.Module):
    def __init__(self, vocab: int = 50, dim: int = 16) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.body = nn.Linear(dim, dim)
        self.head = nn.Linear(dim, vocab, bias=False)
        self.head.weight = self.embed.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.body(self.embed(x))))


class Rotary(nn.Module):
    """A rotary embedding's buffers: computed in __init__, and made from Python data."""

    def __init__(self, dim: int = 16) -> None:
        super().__init__()
        inv_freq = 1.0 / (10000 ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        self.register_buffer("scale", torch.tensor([0.5, 2.0, 3.0]))


class Leftovers(nn.Module):
    """One of each kind of tensor ``init_model``'s schemes have no rule for."""

    def __init__(self) -> None:
        super().__init__()
        self.prelu = nn.PReLU(8)
        self.lstm = nn.LSTM(8, 16)
        self.gru = nn.GRU(16, 16)
        self.attn = nn.MultiheadAttention(16, 4)
        self.gamma = nn.Parameter(torch.randn(4096) * 0.5)
        self.rotary = Rotary()
        self.out = nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.prelu(x).sum() * self.gamma[:16])


LEFTOVER_NAMES = {
    "prelu.weight", "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0",
    "gru.weight_ih_l0", "gru.weight_hh_l0", "gru.bias_ih_l0", "gru.bias_hh_l0",
    "attn.in_proj_weight", "attn.in_proj_bias", "gamma", "rotary.inv_freq", "rotary.scale",
}  # fmt: skip


# ---------------------------------------------------------------------------------------------
# item 1: ties


@pytest.mark.parametrize("recorded", [False, True])
def test_tied_weights_stay_tied_and_written_on_the_meta_path(recorded: bool) -> None:
    if recorded:
        model = deferred_init(TiedLM)
    else:
        with torch.device("meta"):
            model = TiedLM()
    init_model(model, stream="counter", seed=0)
    assert model.head.weight is model.embed.weight
    weight = model.embed.weight.detach()
    assert torch.isfinite(weight).all() and 0.9 < float(weight.std()) < 1.1  # embedding N(0, 1)
    assert [n for n, _ in model.named_parameters()] == ["embed.weight", "body.weight", "body.bias"]


def test_the_tied_llama_keeps_its_tie() -> None:
    model = deferred_init(lambda: ZOO["llama"]()[0])
    init_model(model, stream="counter", seed=0)
    assert model.lm_head.weight is model.model.embed_tokens.weight


# ---------------------------------------------------------------------------------------------
# item 2: leftovers, and the audit


def test_leftovers_without_a_record_raise_naming_each_tensor() -> None:
    with torch.device("meta"):
        model = Leftovers()
    with pytest.raises(InitializationError, match="never written") as caught:
        init_model(model, stream="counter", seed=0)
    assert set(caught.value.tensors) == LEFTOVER_NAMES


def test_hf_llama_built_on_meta_without_a_record_raises_for_norms_and_inv_freq() -> None:
    model, _ = build("llama", device="meta")
    with pytest.raises(InitializationError) as caught:
        init_model(model, stream="counter", seed=0)
    names = set(caught.value.tensors)
    assert "model.layers.1.input_layernorm.weight" in names and "model.rotary_emb.inv_freq" in names


def test_leftovers_with_a_record_are_replayed_with_their_own_distributions() -> None:
    model = deferred_init(Leftovers)
    torch.manual_seed(0)
    reference = Leftovers()
    plan = init_model(model, stream="counter", seed=0)
    assert plan["out.weight"].rule == "lecun_normal"  # the scheme still applies where it has a rule
    assert plan["lstm.weight_ih_l0"].rule == plan["gamma"].rule == "own"  # the rest: replayed
    tensors = dict(model.named_parameters()) | dict(model.named_buffers())
    assert all(torch.isfinite(t).all() for t in tensors.values())
    assert torch.equal(model.prelu.weight, torch.full((8,), 0.25))
    # LSTM/GRU: U(-1/sqrt(hidden), 1/sqrt(hidden)); 2048 values fill the interval
    bound = 1 / math.sqrt(16)
    for name in ("lstm.weight_ih_l0", "gru.weight_hh_l0", "lstm.bias_hh_l0"):
        values = tensors[name].detach()
        assert values.abs().max() <= bound and values.abs().max() > 0.9 * bound, name
    # in_proj: xavier_uniform over (48, 16); bias zeros
    in_bound = math.sqrt(6 / (48 + 16))
    assert model.attn.in_proj_weight.abs().max() <= in_bound and not model.attn.in_proj_bias.any()
    # custom parameter N(0, 0.25): 4096 values, s.e. of the std 1.1%; 8% band is > 7 s.e.
    assert float(model.gamma.std()) == pytest.approx(0.5, rel=0.08)
    # computed and constant buffers equal a normally constructed model's, bit for bit
    assert torch.equal(model.rotary.inv_freq, reference.rotary.inv_freq)
    assert torch.equal(model.rotary.scale, reference.rotary.scale)


def test_own_scheme_is_deterministic_and_keyed_by_seed() -> None:
    def values(seed: int) -> dict[str, torch.Tensor]:
        model = deferred_init(Leftovers)
        init_model(model, "own", stream="counter", seed=seed)
        return {n: t.detach().clone() for n, t in model.state_dict().items()}

    a, b, c = values(1), values(1), values(2)
    assert all(torch.equal(a[n], b[n]) for n in a)
    assert not torch.equal(a["lstm.weight_ih_l0"], c["lstm.weight_ih_l0"])
    assert not torch.equal(a["lstm.weight_ih_l0"], a["lstm.weight_hh_l0"])  # keyed by name


def test_own_scheme_draws_from_the_counter_stream_keyed_by_name() -> None:
    """``normal_(0, 0.02)`` on ``head.weight`` replays as the stream of key(seed, name)."""
    import numpy as np

    from kaiming import stream

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.head = nn.Linear(32, 64)
            nn.init.normal_(self.head.weight, std=0.02)

    model = deferred_init(Net)
    init_model(model, "own", stream="counter", seed=5)
    expected = stream.normal((64, 32), stream.key(5, "head.weight"), std=0.02, dtype=np.float32)
    assert np.array_equal(model.head.weight.detach().numpy(), expected)


def test_random_ops_of_torch_init_functions_replay() -> None:
    class Inits(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.t = nn.Parameter(torch.empty(100, 100))
            nn.init.trunc_normal_(self.t, std=0.5, a=-1.0, b=1.0)
            self.o = nn.Parameter(torch.empty(32, 64))
            nn.init.orthogonal_(self.o)
            self.s = nn.Parameter(torch.empty(20, 10))
            nn.init.sparse_(self.s, sparsity=0.3)
            self.b = nn.Parameter(torch.empty(1000).bernoulli_(0.25))
            self.i = nn.Parameter(torch.randint(0, 5, (1000,)).float())
            self.e = nn.Parameter(torch.empty(4000).exponential_(2.0))
            self.r = nn.Parameter(torch.rand(3, 1000) * 4 - 2)

    model = deferred_init(Inits)
    init_model(model, "own", stream="counter", seed=0)
    assert model.t.abs().max() <= 1.0 and float(model.t.std()) == pytest.approx(0.4, rel=0.1)
    o = model.o.detach()
    assert torch.allclose(o @ o.T, torch.eye(32), atol=1e-5)
    assert ((model.s == 0).sum(dim=0) == math.ceil(0.3 * 20)).all()  # torch's sparse_: per column
    assert set(model.b.detach().unique().tolist()) == {0.0, 1.0}
    assert 0.2 < float(model.b.mean()) < 0.3  # 1000 draws, s.e. 0.014
    assert set(model.i.detach().unique().tolist()) == {0.0, 1.0, 2.0, 3.0, 4.0}
    assert float(model.e.mean()) == pytest.approx(0.5, rel=0.1)  # 4000 draws, s.e. 1.6%
    assert model.r.min() >= -2 and model.r.max() < 2 and float(model.r.mean()) == pytest.approx(0.0, abs=0.1)


def test_a_replayed_trunc_normal_is_strictly_inside_and_equals_the_keyed_initializer() -> None:
    """The replay of ``nn.init.trunc_normal_`` is ``kaiming.torch.trunc_normal_(..., key=...)`` with
    the tensor's key: never a value on a bound, the right law far in the tail (float32)."""
    from scipy import stats

    from kaiming import stream
    from kaiming.torch import trunc_normal_

    cuts = {  # name: (mean, std, a, b)
        "far": (0.0, 1.0, 6.0, 7.0),  # 6 to 7 sigma
        "deep": (0.0, 1.0, 40.0, 41.0),  # Phi(-40) underflows float64: only the log tail works
        "narrow": (0.0, 1.0, 1.0, 1.0 + 2.0**-21),  # 4 float32 ulps wide: rounding meets the bounds
        "wide": (0.0, 0.02, -2.0, 2.0),  # torch's default bounds: +-100 sigma
    }

    class Tails(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            for name, (mean, std, a, b) in cuts.items():
                setattr(self, name, nn.Parameter(torch.empty(200, 100)))
                nn.init.trunc_normal_(getattr(self, name), mean=mean, std=std, a=a, b=b)

    model = deferred_init(Tails)
    init_model(model, "own", stream="counter", seed=3)
    for name, (mean, std, a, b) in cuts.items():
        values = getattr(model, name).detach()
        assert float(values.min()) > a and float(values.max()) < b, name  # never on a bound
        keyed = trunc_normal_(torch.empty(values.shape), mean, std, a, b, key=stream.key(3, name))
        assert torch.equal(values, keyed), name
        if name in ("far", "deep"):  # the law in the tail (20,000 values), not a collapse
            law = stats.truncnorm(a, b)
            assert len(values.unique()) > 1000, name
            assert stats.kstest(values.double().flatten().numpy(), law.cdf).pvalue > 1e-3, name
    assert float(model.wide.std()) == pytest.approx(0.02, rel=0.02)  # s.e. 0.5%


def test_a_random_op_without_a_counter_replay_raises_naming_the_tensor() -> None:
    class Cauchy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c = nn.Parameter(torch.empty(10).cauchy_())

    model = deferred_init(Cauchy)
    with pytest.raises(InitializationError, match=r"\bc \(random op aten.cauchy_"):
        init_model(model, "own", stream="counter", seed=0)


def test_a_prelu_after_a_layer_on_meta_uses_its_initial_slope() -> None:
    model = deferred_init(lambda: nn.Sequential(nn.Linear(8, 8), nn.PReLU(init=0.5), nn.Linear(8, 2)))
    plan = init_model(model, stream="counter", seed=0)
    assert plan["0.weight"].activation == "prelu(0.5)" and float(model[1].weight.detach()) == 0.5


def test_own_needs_a_record_and_the_counter_stream() -> None:
    with pytest.raises(InitializationError, match="deferred_init"):
        init_model(nn.Sequential(nn.Linear(2, 2)), "own", stream="counter")
    with pytest.raises(ValueError, match="stream='counter'"):
        init_model(deferred_init(lambda: nn.Sequential(nn.Linear(2, 2))), "own", stream="torch")
    with pytest.raises(TypeError, match="callable"):
        deferred_init(nn.Linear(2, 2))  # type: ignore[arg-type]


def test_tensors_attached_after_construction_raise() -> None:
    model = deferred_init(lambda: nn.Sequential(nn.Linear(2, 2)))
    with torch.device("meta"):
        model.register_buffer("late", torch.empty(3))
    with pytest.raises(InitializationError, match="late"):
        init_model(model, stream="counter", seed=0)


# ---------------------------------------------------------------------------------------------
# the audit on the ordinary (non-meta) path


def test_audit_raises_for_a_non_finite_parameter_or_a_nan_buffer() -> None:
    net = nn.Sequential(nn.Linear(4, 4))
    net.register_parameter("scale", nn.Parameter(torch.tensor([1.0, float("inf")])))
    with pytest.raises(InitializationError, match="scale"):
        init_model(net, seed=0)
    masked = nn.Sequential(nn.Linear(4, 4))
    masked.register_buffer("mask", torch.tensor([0.0, float("-inf")]))
    init_model(masked, seed=0)  # -inf in a buffer is allowed (attention masks)
    masked.register_buffer("bad", torch.tensor([float("nan")]))
    with pytest.raises(InitializationError, match="bad"):
        init_model(masked, seed=0)


def test_replayed_rand_and_randint_stay_below_their_upper_bound() -> None:
    """``(u + 1) / 2`` rounds to exactly 1 in float32 where the stream's uniform ``u`` is its top
    value ``1 - 2**-24``; the replayed ``rand`` must stay on [0, 1) and ``randint`` below ``high``."""
    from kaiming import stream
    from kaiming.torch._replay import random_values

    key = stream.key(0, "r")
    n = 1 << 23
    u = stream.uniform(n, key, dtype=np.float32)
    top = np.flatnonzero(u == np.float32(1.0) - np.float32(2.0**-24))
    assert top.size and (u[top[0]] + np.float32(1.0)) * np.float32(0.5) == 1.0  # the case exists
    at = (slice(int(top[0]), int(top[0]) + 1),)
    rand = random_values(torch.ops.aten.rand.default, {}, (n,), torch.float32, key, index=at)
    assert 0.0 <= float(rand) < 1.0 and float(rand) == float(np.nextafter(np.float32(1), np.float32(0)))
    bound = {"low": 0, "high": 5}
    ints = random_values(torch.ops.aten.randint.low, bound, (n,), torch.float32, key, index=at)
    assert float(ints) == 4.0
