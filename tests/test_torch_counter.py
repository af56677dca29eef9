"""``kaiming.torch._counter`` (the ``stream="counter"`` path of ``init_model``) checked directly:
against the stream's own values, the formula for each distribution's std and bound, the keyed
orthogonal initializer with orthonormality checked, and the part of a tensor against its slice."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
import torch

from kaiming import stream
from kaiming._plan import ParamRule
from kaiming.structured import orthogonal
from kaiming.torch._counter import counter_fill_, counter_values, draw

NORMAL = ParamRule("fc.weight", (200, 300), "Linear", "he_normal", "normal", std=0.5)
UNIFORM = ParamRule("fc.bias", (200, 300), "Linear", "torch_default", "uniform", bound=0.25)
UNIFORM_STD = ParamRule("u.weight", (200, 300), "Linear", "he_uniform", "uniform", std=0.5)
TRUNCATED = ParamRule("t.weight", (200, 300), "Linear", "he_truncated_normal", "truncated_normal", std=0.5)
ORTHOGONAL = ParamRule("q.weight", (30, 50), "Linear", "orthogonal", "orthogonal", gain=2.0)
ORTHOGONAL_NO_GAIN = ParamRule("q1.weight", (30, 50), "Linear", "orthogonal", "orthogonal")
PADDED = ParamRule("emb.weight", (12, 8), "Embedding", "embedding_normal", "normal", std=1.0, zero_index=5)
PADDED_LAST = ParamRule(
    "emb2.weight", (12, 8), "Embedding", "embedding_normal", "normal", std=1.0, zero_index=-1
)
# std of N(0, 1) truncated to [-2, 2], from the density: 1 - 2 * 2 * phi(2) / (Phi(2) - Phi(-2))
TRUNCATED_UNIT_STD = math.sqrt(1 - 4 * math.exp(-2) / math.sqrt(2 * math.pi) / math.erf(math.sqrt(2)))
RULES = [NORMAL, UNIFORM, UNIFORM_STD, TRUNCATED, ORTHOGONAL, ORTHOGONAL_NO_GAIN, PADDED, PADDED_LAST]


def test_draw_is_the_stream_at_scale_one_by_default() -> None:
    key = stream.key(5, "w")
    full = draw("normal", (6, 7), key)
    assert full.dtype == np.float32
    assert np.array_equal(full, stream.sample("normal", (6, 7), key, dtype=np.float32))
    scaled = draw("uniform", (6, 7), key, scale=3.0, dtype=np.float64)
    assert np.array_equal(scaled, stream.sample("uniform", (6, 7), key, scale=3.0, dtype=np.float64))
    assert np.array_equal(draw("normal", (6, 7), key, index=(slice(1, 4),)), full[1:4])


@pytest.mark.parametrize(
    ("rule", "std", "bound"),
    [
        (NORMAL, 0.5, None),
        (UNIFORM, 0.25 / np.sqrt(3), 0.25),
        (UNIFORM_STD, 0.5, 0.5 * np.sqrt(3)),
        (TRUNCATED, 0.5, 2 * 0.5 / TRUNCATED_UNIT_STD),
    ],
)
def test_each_distribution_has_the_rules_std_and_bound(
    rule: ParamRule, std: float, bound: float | None
) -> None:
    # 60000 values: the sample std is within 0.5% of the true one (5 sigma), far inside 3%
    values = counter_values(rule, 11).astype(np.float64)
    assert values.std() == pytest.approx(std, rel=0.03)
    assert abs(values.mean()) < 5 * std / np.sqrt(values.size)
    if bound is not None:
        assert np.abs(values).max() < bound
        assert np.abs(values).max() > 0.99 * bound


CONV_ORTHOGONAL = ParamRule("conv.weight", (8, 3, 3, 3), "Conv2d", "orthogonal", "orthogonal", gain=1.0)


@pytest.mark.parametrize(
    ("rule", "gain"), [(ORTHOGONAL, 2.0), (ORTHOGONAL_NO_GAIN, 1.0), (CONV_ORTHOGONAL, 1.0)]
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_orthogonal_rule_is_the_keyed_orthogonal_initializer(
    rule: ParamRule, gain: float, dtype: type
) -> None:
    values = counter_values(rule, 3, dtype=dtype)
    assert values.dtype == dtype and values.shape == rule.shape
    rows = values.reshape(rule.shape[0], -1).astype(np.float64)  # torch layout: (out, in, *k)
    np.testing.assert_allclose(rows @ rows.T, gain**2 * np.eye(rule.shape[0]), atol=1e-5)
    want = orthogonal(rule.shape, gain, layout="torch", key=stream.key(3, rule.name), dtype=dtype)
    assert np.array_equal(values, want)
    out = np.empty(rule.shape, dtype)
    assert counter_values(rule, 3, dtype=dtype, out=out) is out
    assert np.array_equal(out, want)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
@pytest.mark.parametrize("rows", [slice(1, 4), slice(4, 9), slice(9, 12)])
def test_a_part_is_the_slice_of_the_whole(rule: ParamRule, rows: slice) -> None:
    full = counter_values(rule, 7)
    index = (rows, slice(2, 6))
    part = counter_values(rule, 7, index)
    assert np.array_equal(part, full[index])
    out = np.empty(part.shape, np.float32)
    assert counter_values(rule, 7, index, out=out) is out and np.array_equal(out, full[index])


@pytest.mark.parametrize("rule", [PADDED, PADDED_LAST], ids=lambda r: r.name)
def test_the_padding_row_is_zero_in_the_whole_and_in_the_part_holding_it(rule: ParamRule) -> None:
    row = rule.zero_index % rule.shape[0]  # type: ignore[operator]
    full = counter_values(rule, 2)
    assert not full[row].any() and np.count_nonzero(full) == full.size - rule.shape[1]
    part = counter_values(rule, 2, (slice(row - 1, row + 1),))
    assert not part[1].any() and part[0].all()
    assert counter_values(rule, 2, (slice(0, row - 1),)).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("rule", [NORMAL, TRUNCATED, ORTHOGONAL, PADDED], ids=lambda r: r.name)
def test_counter_fill_writes_the_values_into_any_cpu_tensor(rule: ParamRule, dtype: torch.dtype) -> None:
    work = np.float64 if dtype == torch.float64 else np.float32
    want = torch.from_numpy(counter_values(rule, 4, dtype=work)).to(dtype)
    for tensor in (
        torch.full(rule.shape, float("nan"), dtype=dtype),
        torch.full(rule.shape[::-1], float("nan"), dtype=dtype).T,
    ):
        counter_fill_(tensor, rule, 4)
        assert torch.equal(tensor, want), (dtype, tensor.is_contiguous())


def test_counter_fill_writes_a_constant_rule() -> None:
    tensor = torch.full((3, 4), float("nan"))
    counter_fill_(tensor, ParamRule("b", (3, 4), "Linear", "ones", "constant", value=1.0), 0)
    assert torch.equal(tensor, torch.ones(3, 4))
    counter_fill_(tensor, ParamRule("b", (3, 4), "Linear", "zeros", "constant"), 0)
    assert torch.equal(tensor, torch.zeros(3, 4))


def test_counter_fill_writes_a_contiguous_cpu_tensor_without_a_full_size_copy() -> None:
    rule = ParamRule("big.weight", (1024, 1024), "Linear", "he_normal", "normal", std=0.05)
    tensor = torch.empty(rule.shape)
    counter_fill_(tensor, rule, 0)  # compiles / warms up outside the measurement
    tracemalloc.start()
    try:
        counter_fill_(tensor, rule, 1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < tensor.numel() * 4 // 4, peak  # the values go straight into the tensor (4 MiB)
    assert torch.equal(tensor, torch.from_numpy(counter_values(rule, 1)))


DTENSOR_RULES = [
    ParamRule("w", (10, 6), "Linear", "he_normal", "normal", std=0.5),
    ParamRule("e", (10, 6), "Embedding", "embedding_normal", "normal", std=1.0, zero_index=4),
    ParamRule("q", (10, 6), "Linear", "orthogonal", "orthogonal", gain=1.5),
    ParamRule("b", (10, 6), "Linear", "ones", "constant", value=1.0),
    ParamRule("v", (5, 1), "Linear", "he_normal", "normal", std=0.5),  # Shard(0): 2, 2, 1, 0 values
]


@pytest.mark.skipif(not torch.distributed.is_available(), reason="needs torch.distributed")
def test_counter_fill_of_a_dtensor_writes_each_ranks_slice() -> None:
    """Four ranks of a fake process group, one after another in this process: Shard(0) uneven
    (3, 3, 3, 1 rows), Shard(1) with an empty last shard, Replicate; each local part equals the
    slice of the whole (in this process, so that mutation testing sees which code it runs)."""
    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import Replicate, Shard, distribute_tensor
    from torch.testing._internal.distributed.fake_pg import FakeStore

    from kaiming.torch._dtensor import local_index

    if dist.is_initialized():
        pytest.skip("a process group is already initialized in this process")
    checked = 0
    for rank in range(4):
        dist.init_process_group("fake", store=FakeStore(), rank=rank, world_size=4)
        try:
            mesh = init_device_mesh("cpu", (4,))
            for dtype in (torch.float32, torch.float64, torch.bfloat16):
                for placement in (Shard(0), Shard(1), Replicate()):
                    for rule in DTENSOR_RULES:
                        constant = rule.distribution == "constant"
                        work = np.float64 if dtype == torch.float64 else np.float32
                        full = (
                            torch.ones(rule.shape)
                            if constant
                            else torch.from_numpy(counter_values(rule, 9, dtype=work))
                        )
                        d = distribute_tensor(torch.full(rule.shape, -7.0, dtype=dtype), mesh, [placement])
                        counter_fill_(d, rule, 9)
                        local = d.to_local()
                        assert torch.equal(local, full.to(dtype)[local_index(d)]), (
                            rank,
                            placement,
                            dtype,
                            rule.name,
                        )
                        checked += 1
        finally:
            dist.destroy_process_group()
    assert checked == 4 * 3 * 3 * len(DTENSOR_RULES)
