"""The model zoo (GPT-2, Llama with tied embeddings, BERT, T5, ViT, ConvNeXt, ResNet from small
Hugging Face configs) through the meta path: built by ``deferred_init``, materialized by
``init_model(..., stream="counter")``.

For every model: no tensor left unset, ties as in a normally constructed model, buffers equal to
a normally constructed model's, and under ``scheme="own"`` every tensor follows the model's own
initialization: deterministic tensors (norm weights, zero biases, computed buffers) bit for bit,
random tensors of at least ``KS_MIN`` values by a two-sample Kolmogorov-Smirnov test against the
normally constructed model's tensor.
"""

from __future__ import annotations

import warnings

import pytest
import torch
from scipy import stats
from torch import nn

from _zoo import ZOO, build, zoo_ids
from kaiming.torch import deferred_init, init_model

KS_MIN = 1000
# Per-tensor significance level of the KS test. The zoo has under 300 random tensors of >= 1000
# values, so the chance of any false failure is < 300 * 1e-6 = 3e-4. KS at this level rejects a
# std wrong by 30% on 4096 values (checked below); the std/mean comparison on tensors of >= 4096
# values catches 10%: the std ratio of two such samples has s.e. < 1.6%, so the 10% band is > 6
# s.e. (false failure < 1e-9 per tensor); the means must agree within 6 s.e. of their difference.
KS_ALPHA = 1e-6
MOMENTS_MIN = 4096


def _meta(name: str) -> nn.Module:
    model = deferred_init(lambda: ZOO[name]()[0])
    model.eval()
    return model


def _init(model: nn.Module, scheme: str = "auto") -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.fx cannot trace HF models: the fallback warning
        init_model(model, scheme, stream="counter", seed=0)


def _ties(model: nn.Module) -> list[list[str]]:
    groups: dict[int, list[str]] = {}
    named = [*model.named_parameters(remove_duplicate=False), *model.named_buffers(remove_duplicate=False)]
    for name, tensor in named:
        groups.setdefault(id(tensor), []).append(name)
    return sorted(sorted(g) for g in groups.values() if len(g) > 1)


def _state(model: nn.Module) -> dict[str, torch.Tensor]:
    named = [*model.named_parameters(remove_duplicate=False), *model.named_buffers(remove_duplicate=False)]
    return {name: t.detach() for name, t in named}


@pytest.fixture(scope="module")
def normal() -> dict[str, tuple[nn.Module, dict[str, torch.Tensor]]]:
    """Each zoo model built normally twice (seeds 0 and 1): the reference, and which tensors
    do not depend on the seed (deterministic init)."""
    out = {}
    for name in zoo_ids():
        first, _ = build(name, seed=0)
        second, _ = build(name, seed=1)
        out[name] = (first, _state(second))
    return out


@pytest.mark.parametrize("name", zoo_ids())
def test_meta_path_writes_every_tensor_keeps_ties_and_buffers(
    name: str, normal: dict[str, tuple[nn.Module, dict[str, torch.Tensor]]]
) -> None:
    reference, _ = normal[name]
    model = _meta(name)
    _init(model)
    state = _state(model)
    assert not any(t.is_meta for t in state.values())
    assert all(torch.isfinite(t).all() for t in state.values() if t.is_floating_point())
    assert _ties(model) == _ties(reference)
    for buffer_name, buffer in reference.named_buffers():
        assert torch.equal(state[buffer_name], buffer), buffer_name


@pytest.mark.parametrize("name", zoo_ids())
def test_own_scheme_follows_the_model_own_init(
    name: str, normal: dict[str, tuple[nn.Module, dict[str, torch.Tensor]]]
) -> None:
    reference, other_seed = normal[name]
    model = _meta(name)
    _init(model, "own")
    state, expected = _state(model), _state(reference)
    assert state.keys() == expected.keys()
    tested = 0
    for tensor_name, want in expected.items():
        got = state[tensor_name]
        assert got.shape == want.shape and got.dtype == want.dtype, tensor_name
        if torch.equal(want, other_seed[tensor_name]):  # the same for every seed: deterministic
            assert torch.equal(got, want), tensor_name
        elif want.numel() >= KS_MIN:
            p = stats.ks_2samp(got.flatten().double().numpy(), want.flatten().double().numpy()).pvalue
            assert p > KS_ALPHA, (tensor_name, p, float(got.std()), float(want.std()))
            tested += 1
            if want.numel() >= MOMENTS_MIN:
                std = float(want.double().std())
                assert float(got.double().std()) == pytest.approx(std, rel=0.1), tensor_name
                se = std * (2 / want.numel()) ** 0.5
                assert abs(float(got.double().mean()) - float(want.double().mean())) < 6 * se, tensor_name
    assert tested >= 3


def test_the_ks_test_catches_a_wrong_std() -> None:
    """The power behind KS_ALPHA: a 30% wrong std on 4096 values is rejected."""
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(4096, generator=generator) * 0.02
    b = torch.randn(4096, generator=generator) * 0.026
    assert stats.ks_2samp(a.numpy(), b.numpy()).pvalue < KS_ALPHA
