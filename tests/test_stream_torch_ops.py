"""The counter stream in eager torch ops: bit-identical to the NumPy reference on any device."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from kaiming import stream
from kaiming.stream._torch_path import philox4x32_torch, sample_torch
from test_stream_generator import KAT

DISTS = stream.STREAM_DISTRIBUTIONS
KEY = stream.key(11, "layer.weight")
DTYPES = [
    (torch.float16, np.float16),
    (torch.bfloat16, None),
    (torch.float32, np.float32),
    (torch.float64, np.float64),
]
SELECTIONS: list[tuple[tuple[int, ...], Any]] = [
    ((37, 101), None),
    ((37, 101), (slice(3, 9),)),
    ((37, 101), (slice(None), slice(5, 60, 3))),
    ((6, 7, 9), (2, slice(None, None, -2), ...)),
    ((5,), (3,)),
    ((4, 2, 3), (slice(1, 1),)),
    ((1 << 20, 1 << 13), (slice(1_000_000, 1_000_003), slice(8000, 8192))),  # flat index > 2**32
]
_INT_VIEW = {2: torch.int16, 4: torch.int32, 8: torch.int64}


def _bits(t: torch.Tensor) -> torch.Tensor:
    return t.cpu().contiguous().view(_INT_VIEW[t.element_size()])


def _reference(
    dist: str, shape: tuple[int, ...], index: Any, dtype: torch.dtype, scale: float
) -> torch.Tensor:
    """The NumPy path's values as a tensor; bfloat16 rounds its float32 value to nearest even."""
    np_dtype = {torch.float16: np.float16, torch.float64: np.float64}.get(dtype, np.float32)
    ref = stream.sample(dist, shape, KEY, scale=scale, index=index, dtype=np_dtype, backend="numpy")
    return torch.from_numpy(np.array(ref)).to(dtype)


def check_device(device: str) -> None:
    """Every distribution, dtype and selection on ``device`` equals the NumPy bits."""
    for dist in DISTS:
        for dtype, _ in DTYPES:
            for shape, index in SELECTIONS:
                ref = _reference(dist, shape, index, dtype, 0.7)
                got = sample_torch(dist, shape, KEY, scale=0.7, index=index, dtype=dtype, device=device)
                assert got.device.type == torch.device(device).type and got.dtype == dtype
                assert got.shape == ref.shape and torch.equal(_bits(got), _bits(ref)), (dist, dtype, index)


@pytest.mark.parametrize(("rounds", "counter", "key", "expected"), KAT)
def test_philox_known_answers(rounds: int, counter: str, key: str, expected: str) -> None:
    c = [torch.tensor([int(w, 16)], dtype=torch.int64) for w in counter.split()]
    k = [int(w, 16) for w in key.split()]
    assert [int(w) for w in philox4x32_torch(c, k, rounds)] == [int(w, 16) for w in expected.split()]


def test_bit_identical_to_numpy_on_cpu() -> None:
    check_device("cpu")


@pytest.mark.parametrize("dist", DISTS)
def test_chunks_and_many_keys(dist: str) -> None:
    """20 keys x 3,000 values; chunk boundaries anywhere (7 values: mid-block)."""
    for seed in range(20):
        k = stream.key(seed, "w")
        ref = torch.from_numpy(stream.sample(dist, (3, 1000), k, dtype=np.float32, backend="numpy"))
        assert torch.equal(_bits(sample_torch(dist, (3, 1000), k, chunk=1000)), _bits(ref))
    ref = torch.from_numpy(stream.sample(dist, (3, 20), KEY, dtype=np.float32, backend="numpy"))
    assert torch.equal(_bits(sample_torch(dist, (3, 20), KEY, chunk=7)), _bits(ref))
    strided = sample_torch(dist, (40, 30), KEY, index=(slice(None), slice(1, None, 4)), chunk=50)
    full = sample_torch(dist, (40, 30), KEY)
    assert torch.equal(strided, full[:, 1::4])


def test_out_is_filled_in_place() -> None:
    out = torch.empty(6, 101, dtype=torch.bfloat16)
    got = sample_torch(
        "normal", (37, 101), KEY, scale=0.5, index=(slice(3, 9),), dtype=torch.bfloat16, out=out
    )
    assert got is out
    assert torch.equal(
        _bits(out), _bits(_reference("normal", (37, 101), (slice(3, 9),), torch.bfloat16, 0.5))
    )


def test_key_as_two_words() -> None:
    a = sample_torch("uniform", (9,), (KEY.k0, KEY.k1))
    assert torch.equal(a, sample_torch("uniform", (9,), KEY))


def test_cpu_sqrt_is_correctly_rounded() -> None:
    """torch's own CPU sqrt is not (vector math library); the stream's replacement is."""
    from kaiming.stream._torch_path import TorchOps

    x = torch.from_numpy(np.random.default_rng(0).random(1 << 16).astype(np.float32) * 10)
    assert np.array_equal(TorchOps().sqrt(x).numpy(), np.sqrt(x.numpy()))


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="dtype must be one of"):
        sample_torch("normal", (2, 2), KEY, dtype=torch.int32)
    with pytest.raises(TypeError, match="key must be"):
        sample_torch("normal", (2, 2), (1, 2**32))
    with pytest.raises(ValueError, match="out must be contiguous"):
        sample_torch("normal", (2, 2), KEY, out=torch.empty(2, 3))
    with pytest.raises(ValueError, match=r"too large|more than 2\*\*63"):
        sample_torch("normal", (1 << 40, 1 << 30), KEY, index=(0, 0))
    with pytest.raises(ValueError, match="chunk"):
        sample_torch("normal", (2, 2), KEY, chunk=0)
    with pytest.raises(ValueError, match="distribution"):
        sample_torch("cauchy", (2, 2), KEY)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_bits_equal_numpy() -> None:
    check_device("cuda")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_large_tensor_in_chunks_equals_cpu() -> None:
    """A 2**24-value tensor, several device chunks, equals the numba/NumPy CPU path."""
    for dist in DISTS:
        ref = stream.sample(dist, (4096, 4096), KEY, scale=0.1, dtype=np.float32)
        got = sample_torch(dist, (4096, 4096), KEY, scale=0.1, device="cuda", chunk=1 << 22)
        assert torch.equal(_bits(got), _bits(torch.from_numpy(ref)))
