"""Sharded initialization on real torch.distributed process groups (gloo, localhost).

For world sizes 1, 2 and 4, spawned ranks build models on the meta device, shard them
(DTensor Shard(0)/Shard(1)/Replicate, uneven shards, FSDP2 fully_shard) and call
init_sharded; the gathered weights must be bit-identical to a single-process
init_model(stream="counter"), each rank's peak memory must stay near its shard, and the std
must not depend on the world size.
"""

from __future__ import annotations

import math
import socket
import sys
import time

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

import _distributed_worker as worker
from kaiming.torch import init_model

pytestmark = pytest.mark.skipif(
    not (dist.is_available() and dist.is_gloo_available() and sys.platform.startswith("linux")),
    reason="needs torch.distributed with gloo on Linux (peak RSS from /proc)",
)

WORLD_SIZES = (1, 2, 4)
TIMEOUT_S = 300  # a guard against hung ranks (the machine may be shared), not a timing


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def ranks(tmp_path_factory: pytest.TempPathFactory) -> dict[int, list[dict[str, np.ndarray]]]:
    """world size -> each rank's results (one spawn per world size, joined with a deadline)."""
    results = {}
    for world_size in WORLD_SIZES:
        out = tmp_path_factory.mktemp(f"ws{world_size}")
        args = (world_size, _free_port(), str(out))
        context = mp.start_processes(
            worker.worker, args=args, nprocs=world_size, join=False, start_method="spawn"
        )
        deadline = time.monotonic() + TIMEOUT_S
        while not context.join(timeout=max(1.0, deadline - time.monotonic())):
            if time.monotonic() > deadline:
                for process in context.processes:
                    process.kill()
                pytest.fail(f"world size {world_size}: ranks did not finish in {TIMEOUT_S} s")
        results[world_size] = [dict(np.load(out / f"rank{r}.npz")) for r in range(world_size)]
    return results


def _reference(model: nn.Module, scheme: object = "auto") -> dict[str, np.ndarray]:
    init_model(model, scheme, seed=worker.SEED, stream="counter")  # type: ignore[arg-type]
    return {name: p.detach().numpy() for name, p in model.named_parameters()}


@pytest.mark.parametrize("world_size", WORLD_SIZES)
@pytest.mark.parametrize(
    ("prefix", "build", "scheme"),
    [("dtensor", worker.dtensor_model, worker.SCHEME), ("fsdp", worker.fsdp_model, "auto")],
)
def test_gathered_weights_equal_single_process_bits(
    ranks: dict[int, list[dict[str, np.ndarray]]], world_size: int, prefix: str, build: object, scheme: object
) -> None:
    reference = _reference(build(), scheme)  # type: ignore[operator]
    for rank, got in enumerate(ranks[world_size]):
        for name, expected in reference.items():
            gathered = got[f"{prefix}/{name}"]
            assert gathered.tobytes() == expected.tobytes(), (world_size, rank, name)


@pytest.mark.parametrize("world_size", WORLD_SIZES)
@pytest.mark.parametrize(
    ("prefix", "name"), [("llama", "llama"), ("bert", "bert"), ("fsdp-llama", "llama"), ("inits", "inits")]
)
def test_own_scheme_on_zoo_models_is_bit_identical_at_every_world_size(
    ranks: dict[int, list[dict[str, np.ndarray]]], world_size: int, prefix: str, name: str
) -> None:
    """The model's own init (HF ``_init_weights``: normal(0, 0.02), zero biases, unit norms, the
    padding row zeroed; rotary ``inv_freq``) replayed on DTensor shards (placements of
    ``worker.ZOO_PLACEMENTS``, or FSDP2) equals one process."""
    import warnings

    model = worker.own_inits_model() if name == "inits" else worker.zoo_model(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        init_model(model, "own", seed=worker.SEED, stream="counter")
    reference = {n: t.detach().numpy() for n, t in [*model.named_parameters(), *model.named_buffers()]}
    for rank, got in enumerate(ranks[world_size]):
        for tensor_name, expected in reference.items():
            gathered = got[f"{prefix}/{tensor_name}"]
            assert gathered.tobytes() == expected.tobytes(), (world_size, rank, tensor_name)
        if prefix == "llama":
            assert got["llama/tied"][0]


def test_the_reference_itself_follows_the_rules() -> None:
    """Sanity of what the shards are compared with: He after ReLU, padding row zero, orthogonal."""
    ref = _reference(worker.dtensor_model(), worker.SCHEME)
    assert ref["0.weight"].std() == pytest.approx(math.sqrt(2 / 40), rel=0.1)
    assert not ref["5.weight"][5].any() and ref["5.weight"][4].any()
    w = ref["4.weight"]
    gain = 1.0  # output layer: "auto" gain 1 for orthogonal
    assert np.allclose(w @ w.T, gain**2 * np.eye(7), atol=1e-5)


def test_std_is_the_same_at_every_world_size(ranks: dict[int, list[dict[str, np.ndarray]]]) -> None:
    """Xavier on a (4096, 256) weight sharded by rows: fans from the global shape. A shard's own
    fans would give sqrt(2 / (4096/ws + 256)): 1.84x too large at 4 shards. Each rank's shard
    has >= 262k values, so the relative s.e. of its std is < 0.14%; the 2% band is > 14 s.e.
    (chance failure < 1e-40)."""
    expected = math.sqrt(2 / (4096 + 256))
    global_stds = set()
    for world_size, per_rank in ranks.items():
        for got in per_rank:
            assert got["xavier/local_std"][0] == pytest.approx(expected, rel=0.02), world_size
            global_stds.add(float(got["xavier/global_std"][0]))
    assert len(global_stds) == 1  # identical bits -> identical std at 1, 2 and 4 ranks


def test_each_rank_peak_memory_stays_near_its_shard(
    ranks: dict[int, list[dict[str, np.ndarray]]], capsys: pytest.CaptureFixture[str]
) -> None:
    """Materializing and initializing a 64 MiB weight raises a rank's peak RSS by about its
    shard (64/ws MiB) plus at most a few MiB of work buffers, never by the full tensor."""
    full_kib = worker.BIG[0] * worker.BIG[1] * 4 // 1024
    lines = []
    for world_size, per_rank in ranks.items():
        for rank, got in enumerate(per_rank):
            peak, shard = int(got["memory/peak_delta_kib"][0]), int(got["memory/shard_kib"][0])
            lines.append(
                f"world {world_size} rank {rank}: shard {shard / 1024:.1f} MiB, peak +{peak / 1024:.1f} MiB"
            )
            assert shard == full_kib // world_size
            assert peak < shard + 16 * 1024, lines[-1]
            assert got["memory/local_std"][0] == pytest.approx(math.sqrt(2 / worker.BIG[1]), rel=0.01)
    with capsys.disabled():
        print("\n" + "\n".join(lines))


def test_init_model_counter_materializes_a_meta_model_like_the_cpu_one() -> None:
    with torch.device("meta"):
        meta = worker.dtensor_model()
    on_cpu = worker.dtensor_model()
    init_model(meta, worker.SCHEME, seed=3, stream="counter")  # type: ignore[arg-type]
    init_model(on_cpu, worker.SCHEME, seed=3, stream="counter")  # type: ignore[arg-type]
    for (name, a), (_, b) in zip(meta.named_parameters(), on_cpu.named_parameters(), strict=True):
        assert not a.is_meta and torch.equal(a, b), name


class _ShapeBranch(nn.Module):
    """A forward that branches on an input's size: torch.fx cannot trace it (a Proxy has no
    bool), a run on meta tensors shaped like ``example_inputs`` can."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.fc2 = nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc1(x)
        if x.shape[0] > 1:
            h = torch.tanh(h)
        return self.fc2(h)


def test_init_sharded_takes_example_inputs_like_init_model() -> None:
    """init_sharded(example_inputs=...) reaches the same activation search as init_model's: the
    functional tanh after fc1 is found (fc1 gets Xavier), which fx alone cannot see."""
    from kaiming.torch import TracingFallbackWarning, init_sharded

    x = torch.randn(4, 8, generator=torch.Generator().manual_seed(0))
    for inputs in (x, (x,), {"x": x}):
        with torch.device("meta"):
            net = _ShapeBranch()
        plan = init_sharded(net, seed=2, example_inputs=inputs)
        assert plan.method == "forward" and plan["fc1.weight"].activation == "tanh"
        assert plan["fc1.weight"].rule == "xavier_uniform" and not net.fc1.weight.is_meta
        reference = _ShapeBranch()
        expected = init_model(reference, seed=2, stream="counter", example_inputs=inputs)
        assert expected.table() == plan.table()
        assert torch.equal(net.fc1.weight, reference.fc1.weight)
    with torch.device("meta"):
        net = _ShapeBranch()
    with pytest.warns(TracingFallbackWarning, match="pass example_inputs="):
        assert init_sharded(net, seed=2).method == "module order"
    with torch.device("meta"):
        net = _ShapeBranch()
    with pytest.raises(TypeError, match=r"example_inputs must be a tensor, a tuple/list .* got int"):
        init_sharded(net, example_inputs=3)
    assert net.fc1.weight.is_meta  # refused before anything was materialized
