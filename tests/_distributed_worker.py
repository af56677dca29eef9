"""One rank of the sharded-initialization tests (spawned by tests/test_torch_distributed.py).

Each rank joins a gloo process group on localhost, builds models on the meta device, shards
them (DTensor placements, FSDP2), initializes them with ``init_sharded``, gathers every
parameter and writes what the parent test checks into ``out_dir``.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

SEED = 11
SCHEME = {"2": "xavier_truncated_normal", "4": "orthogonal"}
BIG = (8192, 2048)  # the memory probe: a 64 MiB float32 weight, 64/world_size MiB per rank


def dtensor_model() -> nn.Module:
    """Layers whose sizes do not divide 4 evenly (uneven shards), a padding row, orthogonal."""
    layers = [nn.Linear(40, 52), nn.ReLU(), nn.Linear(52, 24), nn.Tanh(), nn.Linear(24, 7)]
    return nn.Sequential(*layers, nn.Embedding(13, 6, padding_idx=5))


def fsdp_model() -> nn.Module:
    return nn.Sequential(nn.Linear(40, 52), nn.ReLU(), nn.Linear(52, 23), nn.GELU(), nn.Linear(23, 5))


def xavier_model() -> nn.Module:
    return nn.Sequential(nn.Linear(256, 4096))


#: Zoo models (tests/_zoo.py) initialized with scheme="own": parameter -> placement. The
#: Llama's tied embedding is sharded by columns (and re-tied to lm_head); BERT's word embedding
#: by columns too, so its padding row (zeroed by BERT's own init) crosses every shard.
ZOO_PLACEMENTS = {
    "llama": {
        "model.embed_tokens.weight": "Shard(1)",
        "model.layers.0.self_attn.q_proj.weight": "Shard(0)",
        "model.layers.0.self_attn.o_proj.weight": "Shard(1)",
        "model.layers.1.mlp.down_proj.weight": "Shard(0)",
        "model.layers.0.input_layernorm.weight": "Shard(0)",
        "model.norm.weight": "Replicate()",
    },
    "bert": {
        "bert.embeddings.word_embeddings.weight": "Shard(1)",
        "bert.embeddings.position_embeddings.weight": "Shard(0)",
        "bert.encoder.layer.0.intermediate.dense.weight": "Shard(0)",
        "bert.encoder.layer.1.output.dense.weight": "Shard(1)",
        "bert.encoder.layer.0.attention.output.LayerNorm.bias": "Shard(0)",
    },
}


class OwnInits(nn.Module):
    """torch.nn.init calls the replay serves on a shard (trunc_normal_: one random op; an
    Embedding's padding row: a view) and one it computes whole (orthogonal_: QR)."""

    def __init__(self) -> None:
        super().__init__()
        self.t = nn.Parameter(torch.empty(40, 30))
        nn.init.trunc_normal_(self.t, std=0.5, a=-1.0, b=1.0)
        self.o = nn.Parameter(torch.empty(12, 20))
        nn.init.orthogonal_(self.o)
        self.e = nn.Embedding(13, 6, padding_idx=5)


OWN_PLACEMENTS = {"t": "Shard(1)", "o": "Shard(0)", "e.weight": "Shard(1)"}


def own_inits_model() -> nn.Module:
    from kaiming.torch import deferred_init

    return deferred_init(OwnInits)


def zoo_model(name: str) -> nn.Module:
    """The zoo model ``name`` built on meta by ``deferred_init`` (its own init recorded)."""
    from _zoo import ZOO
    from kaiming.torch import deferred_init

    return deferred_init(lambda: ZOO[name]()[0])


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def worker(rank: int, world_size: int, port: int, out_dir: str) -> None:
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world_size, timeout=datetime.timedelta(seconds=60))
    try:
        _run(rank, world_size, Path(out_dir))
    finally:
        dist.destroy_process_group()


def _gather(model: nn.Module, buffers: bool = False) -> dict[str, np.ndarray]:
    out = {}
    for name, param in [*model.named_parameters(), *(model.named_buffers() if buffers else [])]:
        full = param.full_tensor() if hasattr(param, "full_tensor") else param
        out[name] = full.detach().numpy().copy()
    return out


def _run(rank: int, world_size: int, out: Path) -> None:
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard
    from torch.distributed.tensor import Replicate, Shard, distribute_tensor

    from kaiming import stream
    from kaiming.torch import init_sharded

    mesh = init_device_mesh("cpu", (world_size,))
    results: dict[str, np.ndarray] = {}

    # 1. DTensor placements: Shard(0), Shard(1), Replicate, on a meta-device model
    with torch.device("meta"):
        model = dtensor_model()
    placements = {"0.weight": Shard(0), "0.bias": Shard(0), "2.weight": Shard(1), "2.bias": Replicate(),
                  "4.weight": Shard(0), "4.bias": Replicate(), "5.weight": Shard(0)}  # fmt: skip
    for name, placement in placements.items():
        module_name, attr = name.split(".")
        module = model.get_submodule(module_name)
        setattr(module, attr, nn.Parameter(distribute_tensor(getattr(module, attr), mesh, [placement])))
    init_sharded(model, SCHEME, seed=SEED)
    results.update({f"dtensor/{k}": v for k, v in _gather(model).items()})

    # 2. FSDP2: fully_shard on each Linear and the root
    with torch.device("meta"):
        fsdp = fsdp_model()
    for layer in fsdp:
        if isinstance(layer, nn.Linear):
            fully_shard(layer, mesh=mesh)
    fully_shard(fsdp, mesh=mesh)
    init_sharded(fsdp, seed=SEED)
    results.update({f"fsdp/{k}": v for k, v in _gather(fsdp).items()})

    # 3. Xavier on a row shard: the std of this rank's own shard, and of the whole weight
    with torch.device("meta"):
        xavier = xavier_model()
    xavier[0].weight = nn.Parameter(distribute_tensor(xavier[0].weight, mesh, [Shard(0)]))
    init_sharded(xavier, "xavier_normal", seed=SEED)
    local_std = float(xavier[0].weight.to_local().detach().std())
    results["xavier/local_std"] = np.array([local_std])
    results["xavier/global_std"] = np.array([float(xavier[0].weight.full_tensor().detach().std())])

    # 4. Peak memory of materializing + initializing a 64 MiB weight sharded world_size ways
    stream.normal(1 << 19, stream.key(0, "warm-up"), dtype=np.float32)  # load the fast path first
    with torch.device("meta"):
        big = nn.Linear(BIG[1], BIG[0], bias=False)
    big.weight = nn.Parameter(distribute_tensor(big.weight, mesh, [Shard(0)]))
    before = _rss_kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak-RSS mark to the current RSS
    init_sharded(big, "he_normal", seed=SEED)
    results["memory/peak_delta_kib"] = np.array([_rss_kib("VmHWM") - before])
    results["memory/shard_kib"] = np.array([big.weight.to_local().numel() * 4 // 1024])
    results["memory/local_std"] = np.array([float(big.weight.to_local().detach().std())])

    # 5. The zoo's Llama and BERT under scheme="own": their own init replayed on each shard
    import warnings

    for name, placements_text in [*ZOO_PLACEMENTS.items(), ("inits", OWN_PLACEMENTS)]:
        zoo = own_inits_model() if name == "inits" else zoo_model(name)
        for param_name, text in placements_text.items():
            module_name, _, attr = param_name.rpartition(".")
            module = zoo.get_submodule(module_name)
            placement = Replicate() if text == "Replicate()" else Shard(int(text[6]))
            setattr(module, attr, nn.Parameter(distribute_tensor(getattr(module, attr), mesh, [placement])))
        if name == "llama":
            zoo.lm_head.weight = zoo.model.embed_tokens.weight  # type: ignore[union-attr]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.fx cannot trace HF models
            init_sharded(zoo, "own", seed=SEED)
        results.update({f"{name}/{k}": v for k, v in _gather(zoo, buffers=True).items()})
        if name == "llama":
            results["llama/tied"] = np.array([zoo.lm_head.weight is zoo.model.embed_tokens.weight])

    # 6. The zoo's Llama under FSDP2 (fully_shard per decoder layer and the root), scheme="own"
    fsdp_llama = zoo_model("llama")
    for layer in fsdp_llama.model.layers:  # type: ignore[union-attr]
        fully_shard(layer, mesh=mesh)
    fully_shard(fsdp_llama, mesh=mesh)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        init_sharded(fsdp_llama, "own", seed=SEED)
    results.update({f"fsdp-llama/{k}": v for k, v in _gather(fsdp_llama, buffers=True).items()})

    np.savez(out / f"rank{rank}.npz", **results)
