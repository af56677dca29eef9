"""Property-based fuzzing of ``kaiming.torch``'s public entry points (contract: tests/_fuzz.py).

A refused call must also leave the tensor as it was (the values are checked before writing).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import kaiming.torch as kt  # noqa: E402
from _fuzz import (  # noqa: E402
    FUZZ,
    HOSTILE_NAMES,
    HOSTILE_SEEDS,
    hostile_or,
    nonnegative,
    outcome,
    reals,
)

TORCH_DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]


def _odd_tensor(kind: str) -> object:
    return {
        "int": torch.zeros(3, 3, dtype=torch.int64),
        "bool": torch.zeros(3, 3, dtype=torch.bool),
        "complex": torch.zeros(3, 3, dtype=torch.complex64),
        "meta": torch.empty(3, 3, device="meta"),
        "expanded": torch.zeros(3, 1).expand(3, 3),
        "sparse": torch.zeros(3, 3).to_sparse(),
        "scalar": torch.tensor(1.0),
        "empty": torch.empty(0, 3),
        "list": [[0.0, 0.0]],
        "array": __import__("numpy").zeros((3, 3)),
        "grad-leaf": torch.zeros(3, 3, requires_grad=True),
        "non-contiguous": torch.zeros(4, 6)[:, ::2],
    }[kind]


ODD = [
    "int",
    "bool",
    "complex",
    "meta",
    "expanded",
    "sparse",
    "scalar",
    "empty",
    "list",
    "array",
    "grad-leaf",
    "non-contiguous",
]
tensors = st.one_of(
    st.builds(
        lambda shape, dtype: torch.zeros(shape, dtype=dtype),
        st.lists(st.integers(1, 5), min_size=1, max_size=4).map(tuple),
        st.sampled_from(TORCH_DTYPES),
    ),
    st.sampled_from(ODD).map(_odd_tensor),
)
seeds = hostile_or(st.integers(0, 2**32), HOSTILE_SEEDS)

GAIN_FNS = [
    "xavier_normal_",
    "xavier_uniform_",
    "xavier_truncated_normal_",
    "glorot_normal_",
    "glorot_uniform_",
    "lecun_normal_",
    "lecun_uniform_",
    "lecun_truncated_normal_",
    "orthogonal_",
    "delta_orthogonal_",
]
HE_FNS = ["kaiming_normal_", "kaiming_uniform_", "he_normal_", "he_uniform_", "he_truncated_normal_"]


def _check(tensor: object, before: object, result: object) -> None:
    """A result is the tensor itself, all finite; a refusal left the tensor unchanged."""
    if not isinstance(tensor, torch.Tensor) or tensor.is_meta or tensor.layout != torch.strided:
        return
    if result is None:
        if tensor.is_floating_point() and isinstance(before, torch.Tensor):
            assert torch.equal(tensor.detach(), before), "a refused call wrote into the tensor"
        return
    assert result is tensor
    assert bool(torch.isfinite(tensor.detach().double()).all()), "non-finite values written"


def _before(tensor: object) -> object:
    if isinstance(tensor, torch.Tensor) and not tensor.is_meta and tensor.layout == torch.strided:
        return tensor.detach().clone()
    return None


@FUZZ
@given(st.sampled_from(GAIN_FNS), tensors, nonnegative, seeds)
def test_gain_initializers(name: str, tensor: Any, gain: Any, seed: Any) -> None:
    before = _before(tensor)
    _check(tensor, before, outcome(getattr(kt, name), tensor, gain, seed=seed))


@FUZZ
@given(
    st.sampled_from(HE_FNS),
    tensors,
    nonnegative,
    hostile_or(st.sampled_from(["fan_in", "fan_out"]), ["fan_avg", 1]),
    hostile_or(st.sampled_from(["leaky_relu", "relu", "tanh", "selu"]), HOSTILE_NAMES),
    seeds,
)
def test_he_initializers(name: str, tensor: Any, a: Any, mode: Any, nonlinearity: Any, seed: Any) -> None:
    before = _before(tensor)
    _check(tensor, before, outcome(getattr(kt, name), tensor, a, mode, nonlinearity, seed=seed))


@FUZZ
@given(
    tensors,
    reals,
    hostile_or(st.sampled_from(["fan_in", "fan_out", "fan_avg"]), HOSTILE_NAMES),
    hostile_or(st.sampled_from(["normal", "uniform", "truncated_normal"]), HOSTILE_NAMES),
    seeds,
)
def test_variance_scaling(tensor: Any, scale: Any, mode: Any, distribution: Any, seed: Any) -> None:
    before = _before(tensor)
    _check(tensor, before, outcome(kt.variance_scaling_, tensor, scale, mode, distribution, seed=seed))


@FUZZ
@given(tensors, reals, reals, reals, reals, seeds)
def test_distributions(tensor: Any, a: Any, b: Any, mean: Any, std: Any, seed: Any) -> None:
    before = _before(tensor)
    _check(tensor, before, outcome(kt.normal_, tensor, mean, std, seed=seed))
    _check(tensor, _before(tensor), outcome(kt.uniform_, tensor, a, b, seed=seed))
    _check(tensor, _before(tensor), outcome(kt.trunc_normal_, tensor, mean, std, a, b, seed=seed))


@FUZZ
@given(
    tensors,
    reals,
    hostile_or(st.integers(1, 3), [0, -1, 2**63, 1.5]),
    st.floats(0, 0.99) | st.sampled_from([1.0, -1, None]),
    nonnegative,
)
def test_deterministic_and_sparse(tensor: Any, value: Any, groups: Any, sparsity: Any, std: Any) -> None:
    for call in (
        lambda: kt.constant_(tensor, value),
        lambda: kt.zeros_(tensor),
        lambda: kt.ones_(tensor),
        lambda: kt.eye_(tensor, value),
        lambda: kt.identity_(tensor, value),
        lambda: kt.dirac_(tensor, groups, value),
        lambda: kt.sparse_(tensor, sparsity, std, seed=0),
    ):
        before = _before(tensor)
        try:
            result = call()
        except (ValueError, TypeError) as exc:
            assert "\n" not in str(exc) and str(exc)
            result = None
        _check(tensor, before, result)


@FUZZ
@given(hostile_or(st.sampled_from(["cpu", torch.device("cpu")]), ["gpu", "cuda:99", 3, None, "cuda"]), seeds)
def test_make_generator(device: Any, seed: Any) -> None:
    gen = outcome(kt.make_generator, device, seed=seed)
    assert gen is None or isinstance(gen, torch.Generator)


@FUZZ
@given(hostile_or(st.integers(0, 2**63), HOSTILE_SEEDS), hostile_or(st.text(max_size=6), [None, 3, b"x"]))
def test_param_seed(seed: Any, name: Any) -> None:
    value = outcome(kt.param_seed, seed, name)
    assert value is None or isinstance(value, int)


MODEL_FUZZ = settings(FUZZ, max_examples=min(FUZZ.max_examples, 12))
"""Whole-model calls cost more: 12 examples."""


def _mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))


@FUZZ
@given(
    hostile_or(st.sampled_from(kt.SCHEMES), HOSTILE_NAMES),
    hostile_or(st.integers(0, 2**32), HOSTILE_SEEDS),
    hostile_or(st.sampled_from(kt.STREAMS), HOSTILE_NAMES),
    st.booleans(),
)
def test_init_model(scheme: Any, seed: Any, stream: Any, zero_init_residual: bool) -> None:
    model = _mlp()
    plan = outcome(
        kt.init_model, model, scheme, seed=seed, stream=stream, zero_init_residual=zero_init_residual
    )
    if plan is not None:
        assert all(bool(torch.isfinite(p).all()) for p in model.parameters())


@MODEL_FUZZ
@given(
    st.sampled_from(["ok", "nan", "inf", "empty", "width", "rank", "float64", "int64", "bool", "tuple"]),
    hostile_or(st.floats(0.01, 1.0), [0.0, -1.0, float("nan"), 1e308, None]),
    hostile_or(st.integers(1, 3), [0, -1, 10**9, 1.5]),
    hostile_or(st.integers(0, 2**32), HOSTILE_SEEDS),
)
def test_data_dependent_schemes(batch_kind: str, tol: Any, iters: Any, seed: Any) -> None:
    batch = {
        "ok": torch.randn(16, 6, generator=torch.Generator().manual_seed(0)),
        "nan": torch.full((16, 6), float("nan")),
        "inf": torch.full((16, 6), float("inf")),
        "empty": torch.empty(0, 6),
        # batches that do not fit the model: refused with a ValueError naming the argument
        "width": torch.randn(16, 5),
        "rank": torch.randn(16, 2, 3),
        "float64": torch.randn(16, 6, dtype=torch.float64),
        "int64": torch.zeros(16, 6, dtype=torch.int64),
        "bool": torch.zeros(16, 6, dtype=torch.bool),
        "tuple": (torch.randn(16, 6), torch.randn(16, 6)),
    }[batch_kind]
    outcome(kt.lsuv_, _mlp(), batch, tol=tol, max_iters=iters, seed=seed)
    outcome(kt.repair_dead_relus_, _mlp(), batch, max_attempts=iters, seed=seed, also=("batch",))
    outcome(
        kt.analyze, _mlp(), batch, seed=seed if isinstance(seed, int) and seed >= 0 else 0, also=("inputs",)
    )


@FUZZ
@given(
    hostile_or(st.lists(st.integers(1, 5), min_size=1, max_size=3), [[0], [-1], [2**63], [1.5]]),
    hostile_or(st.floats(0.0, 1.0), [-0.1, 1.5, float("nan"), None]),
    hostile_or(st.integers(0, 99), HOSTILE_SEEDS),
)
def test_masks(shape: Any, density: Any, seed: Any) -> None:
    mask = outcome(kt.random_mask, shape, density, seed=seed)
    if mask is not None:
        weight = torch.ones(mask.shape)
        outcome(kt.apply_mask_, weight, mask)
        assert bool(torch.isfinite(weight).all())
    outcome(kt.sparse_init_, _mlp(), density, seed=seed)
    outcome(kt.fixup_init_, _mlp(), seed=seed)
