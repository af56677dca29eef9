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
