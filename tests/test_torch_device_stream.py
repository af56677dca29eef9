"""kaiming.torch computes counter-stream values on the tensor's device: the same bits as the CPU path."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from kaiming.torch import init_model, init_sharded
from kaiming.torch._device_stream import device_stream_on_cpu, uses_device_stream


def _model(dtype: torch.dtype = torch.float32) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Embedding(50, 16, padding_idx=3),
        nn.Linear(16, 64),
        nn.ReLU(),
        nn.Linear(64, 33),
        nn.Tanh(),
        nn.Linear(33, 7),
    ).to(dtype)


def _state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def _bitwise_equal(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    int_of = {2: torch.int16, 4: torch.int32, 8: torch.int64}
    return a.keys() == b.keys() and all(
        torch.equal(a[k].view(int_of[a[k].element_size()]), b[k].view(int_of[b[k].element_size()])) for k in a
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16, torch.float64])
def test_forced_device_path_equals_cpu_path(dtype: torch.dtype, torch_ops_calls: list[Any]) -> None:
    """init_model(stream="counter") through torch ops (forced on the CPU) equals the numba/NumPy
    path bit for bit, padding row included; a spy proves the torch-ops path ran."""
    host = _model(dtype)
    init_model(host, seed=5, stream="counter")
    calls = torch_ops_calls
    device = _model(dtype)
    with device_stream_on_cpu():
        init_model(device, seed=5, stream="counter")
    assert len(calls) == 4  # three Linear weights and the Embedding (the biases are constant zeros)
    assert all(isinstance(out, torch.Tensor) for out in calls)  # written in place
    assert _bitwise_equal(_state(host), _state(device))
    assert bool((device[0].weight[3] == 0).all())


def test_init_sharded_row_shards_on_the_device_path() -> None:
    """init_sharded on plain tensors computes the same values through the device path."""
    host, device = _model(), _model()
    init_sharded(host, seed=2)
    with device_stream_on_cpu():
        init_sharded(device, seed=2)
    assert _bitwise_equal(_state(host), _state(device))


def test_dispatch_rules() -> None:
    cpu = torch.empty(2, 2)
    assert not uses_device_stream(cpu, "normal")
    with device_stream_on_cpu():
        assert uses_device_stream(cpu, "uniform")
        assert not uses_device_stream(cpu, "orthogonal")  # QR of the whole matrix: host path
    assert not uses_device_stream(cpu, "normal")
    assert uses_device_stream(torch.empty(2, 2, device="meta"), "normal")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16, torch.float64])
def test_cuda_model_equals_cpu_model(dtype: torch.dtype, monkeypatch: pytest.MonkeyPatch) -> None:
    """A model on CUDA gets the CPU model's bits, computed on the GPU (no host copy)."""
    host = _model(dtype)
    init_model(host, seed=9, stream="counter")
    gpu = _model(dtype).cuda()

    def no_host_copy(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the CUDA path must not copy values from the host")

    monkeypatch.setattr("kaiming.torch._counter._numpy_view", no_host_copy)
    init_model(gpu, seed=9, stream="counter")
    assert _bitwise_equal(_state(host), _state(gpu))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16, torch.float64])
def test_fill_keyed_same_bits_on_both_paths(dtype: torch.dtype) -> None:
    """fill_keyed_ (for in-place initializers with key=): CPU path, forced device path and a
    strided parameter all give the stream's bits, also for a shard (index=)."""
    import numpy as np

    from kaiming import stream
    from kaiming.torch._device_stream import fill_keyed_

    k = stream.key(4, "w")
    work = np.float64 if dtype == torch.float64 else np.float32
    ref = torch.from_numpy(stream.normal((6, 10), k, std=0.3, dtype=work)).to(dtype)
    host = fill_keyed_(nn.Parameter(torch.empty(6, 10, dtype=dtype)), "normal", k, 0.3)
    with device_stream_on_cpu():
        device = fill_keyed_(torch.empty(6, 10, dtype=dtype), "normal", k, 0.3)
        shard = fill_keyed_(torch.empty(3, 10, dtype=dtype), "normal", k, 0.3, (6, 10), (slice(3, 6),))
    strided = fill_keyed_(torch.empty(10, 6, dtype=dtype).t(), "normal", k, 0.3)
    for got, want in ((host, ref), (device, ref), (shard, ref[3:]), (strided, ref)):
        assert torch.equal(got.detach(), want)


class _OwnInit(nn.Module):
    """A model whose own init uses normal_ (with a mean), uniform_ and trunc_normal_."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(40, 24)
        nn.init.normal_(self.embed.weight, mean=0.5, std=0.02)
        self.proj = nn.Linear(24, 24)  # reset_parameters: kaiming_uniform_ and uniform_ bias
        self.cls = nn.Parameter(torch.empty(1, 24))
        nn.init.trunc_normal_(self.cls, std=0.02)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float64])
def test_own_replay_on_the_device_path_equals_the_cpu_path(
    dtype: torch.dtype, torch_ops_calls: list[Any]
) -> None:
    """init_model(m, "own", stream="counter") draws the replayed normal_/uniform_/trunc_normal_
    values with torch ops on the tensor's device (forced on the CPU here): the CPU bits."""
    from kaiming.torch import deferred_init

    host = deferred_init(_OwnInit).to(dtype)
    init_model(host, "own", stream="counter", seed=1)
    assert not torch_ops_calls  # the CPU path does not use torch ops
    device = deferred_init(_OwnInit).to(dtype)
    with device_stream_on_cpu():
        init_model(device, "own", stream="counter", seed=1)
    assert len(torch_ops_calls) >= 4  # embed (normal_), proj weight and bias (uniform_), cls (uniforms)
    assert _bitwise_equal(_state(host), _state(device))
    assert float(host.embed.weight.float().mean()) == pytest.approx(0.5, abs=0.01)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_cuda_own_replay_equals_cpu_without_host_draws(
    dtype: torch.dtype, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The model's own normal_/uniform_ replayed on CUDA (init_sharded(device="cuda")) are the CPU
    bits, computed on the GPU: the NumPy stream is never asked for them."""
    from kaiming import stream
    from kaiming.torch import deferred_init

    def model() -> nn.Module:
        return nn.Sequential(nn.Embedding(40, 24), nn.Linear(24, 24)).to(dtype)  # normal_, uniform_

    host = deferred_init(model)
    init_model(host, "own", stream="counter", seed=1)

    def no_host_draw(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the CUDA replay must not draw on the host")

    monkeypatch.setattr(stream, "sample", no_host_draw)
    gpu = deferred_init(model)
    init_sharded(gpu, "own", seed=1, device="cuda")
    assert all(t.device.type == "cuda" for t in gpu.state_dict().values())
    assert _bitwise_equal(_state(host), _state(gpu))
