"""kaiming.torch's in-place initializers with ``key=``: the counter stream, bit for bit the NumPy
family's keyed values, on the tensor's own device, a DTensor writing its shard alone."""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from scipy import special, stats

import kaiming
from _fake_ranks import run_on_fake_ranks
from kaiming import stream
from kaiming.torch import _tensors as kt
from kaiming.torch._device_stream import device_stream_on_cpu

K = stream.key(7, "layer.weight")
DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
SHAPES = [(7, 5), (16, 3, 3, 3), (64, 33)]
NUMPY = {
    torch.float16: np.float16,
    torch.bfloat16: np.float32,
    torch.float32: np.float32,
    torch.float64: np.float64,
}
INT_OF = {2: torch.int16, 4: torch.int32, 8: torch.int64}

Fill = Callable[..., torch.Tensor]
Reference = Callable[..., Any]

# (name, the in-place call with key=, the NumPy family's keyed call for the same shape)
CASES: list[tuple[str, Fill, Reference]] = [
    ("kaiming_normal_", lambda t, k: kt.kaiming_normal_(t, key=k),
     lambda s, k, d: kaiming.he_normal(s, layout="torch", key=k, dtype=d)),
    ("he_normal_ fan_out leaky", lambda t, k: kt.he_normal_(t, 0.1, "fan_out", key=k),
     lambda s, k, d: kaiming.he_normal(s, a=0.1, nonlinearity="leaky_relu", mode="fan_out",
                                       layout="torch", key=k, dtype=d)),
    ("kaiming_uniform_", lambda t, k: kt.kaiming_uniform_(t, key=k),
     lambda s, k, d: kaiming.he_uniform(s, layout="torch", key=k, dtype=d)),
    ("he_uniform_ tanh", lambda t, k: kt.he_uniform_(t, nonlinearity="tanh", key=k),
     lambda s, k, d: kaiming.he_uniform(s, nonlinearity="tanh", layout="torch", key=k, dtype=d)),
    ("he_truncated_normal_", lambda t, k: kt.he_truncated_normal_(t, key=k),
     lambda s, k, d: kaiming.he_truncated_normal(s, layout="torch", key=k, dtype=d)),
    ("xavier_normal_", lambda t, k: kt.xavier_normal_(t, 2.0, key=k),
     lambda s, k, d: kaiming.xavier_normal(s, gain=2.0, layout="torch", key=k, dtype=d)),
    ("xavier_uniform_", lambda t, k: kt.xavier_uniform_(t, key=k),
     lambda s, k, d: kaiming.xavier_uniform(s, layout="torch", key=k, dtype=d)),
    ("glorot_uniform_", lambda t, k: kt.glorot_uniform_(t, 0.5, key=k),
     lambda s, k, d: kaiming.glorot_uniform(s, gain=0.5, layout="torch", key=k, dtype=d)),
    ("xavier_truncated_normal_", lambda t, k: kt.xavier_truncated_normal_(t, key=k),
     lambda s, k, d: kaiming.xavier_truncated_normal(s, layout="torch", key=k, dtype=d)),
    ("lecun_normal_", lambda t, k: kt.lecun_normal_(t, key=k),
     lambda s, k, d: kaiming.lecun_normal(s, layout="torch", key=k, dtype=d)),
    ("lecun_uniform_", lambda t, k: kt.lecun_uniform_(t, 3.0, key=k),
     lambda s, k, d: kaiming.lecun_uniform(s, gain=3.0, layout="torch", key=k, dtype=d)),
    ("lecun_truncated_normal_", lambda t, k: kt.lecun_truncated_normal_(t, key=k),
     lambda s, k, d: kaiming.lecun_truncated_normal(s, layout="torch", key=k, dtype=d)),
    ("variance_scaling_", lambda t, k: kt.variance_scaling_(t, 0.3, "fan_avg", "truncated_normal", key=k),
     lambda s, k, d: kaiming.variance_scaling(s, 0.3, "fan_avg", "truncated_normal", layout="torch",
                                              key=k, dtype=d)),
    ("variance_scaling_ gain 0", lambda t, k: kt.variance_scaling_(t, 0.0, key=k),
     lambda s, k, d: kaiming.variance_scaling(s, 0.0, layout="torch", key=k, dtype=d)),
    ("normal_", lambda t, k: kt.normal_(t, 0.25, 3.0, key=k),
     lambda s, k, d: kaiming.normal(s, 0.25, 3.0, key=k, dtype=d)),
    ("normal_ std 0", lambda t, k: kt.normal_(t, 0.0, 0.0, key=k),  # signed zeros as NumPy's
     lambda s, k, d: kaiming.normal(s, 0.0, 0.0, key=k, dtype=d)),
    ("uniform_", lambda t, k: kt.uniform_(t, -0.3, 0.7, key=k),
     lambda s, k, d: kaiming.uniform(s, -0.3, 0.7, key=k, dtype=d)),
    ("orthogonal_", lambda t, k: kt.orthogonal_(t, 1.5, key=k),
     lambda s, k, d: kaiming.orthogonal(s, 1.5, layout="torch", key=k, dtype=d)),
]  # fmt: skip


def _bits(t: torch.Tensor) -> torch.Tensor:
    return t.contiguous().view(INT_OF[t.element_size()])


def _reference(
    ref: Reference, shape: tuple[int, ...], key: stream.StreamKey, dtype: torch.dtype
) -> torch.Tensor:
    """The NumPy family's keyed array; bfloat16 (not in NumPy) is its float32 array rounded once."""
    return torch.from_numpy(np.ascontiguousarray(ref(shape, key, NUMPY[dtype]))).to(dtype)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize(("name", "fill", "ref"), CASES, ids=[c[0] for c in CASES])
def test_bits_equal_the_numpy_keyed_path(
    name: str, fill: Fill, ref: Reference, dtype: torch.dtype, shape: tuple[int, ...]
) -> None:
    expected = _bits(_reference(ref, shape, K, dtype))
    host = torch.empty(shape, dtype=dtype)
    assert fill(host, K) is host
    assert torch.equal(_bits(host), expected)
    with device_stream_on_cpu():  # the torch-ops executor that serves CUDA/MPS tensors
        device = fill(torch.empty(shape, dtype=dtype), K)
    assert torch.equal(_bits(device), expected)
    strided = torch.empty(tuple(reversed(shape)), dtype=dtype).permute(*reversed(range(len(shape))))
    assert torch.equal(_bits(fill(strided, K)), expected)
    other = fill(torch.empty(shape, dtype=dtype), stream.key(8, "layer.weight"))
    assert not torch.equal(_bits(other), expected) or float(host.abs().max()) == 0.0


@pytest.mark.parametrize("shape", [(32, 16, 3, 3), (8, 8, 3), (6, 2, 3, 3, 3)], ids=str)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_delta_orthogonal_bits_equal_the_numpy_keyed_path(dtype: torch.dtype, shape: tuple[int, ...]) -> None:
    w = kt.delta_orthogonal_(torch.empty(shape, dtype=dtype), 0.5, key=K)
    ref = kaiming.delta_orthogonal(shape, 0.5, layout="torch", key=K, dtype=NUMPY[dtype])
    assert torch.equal(_bits(w), _bits(torch.from_numpy(ref).to(dtype)))
    with pytest.raises(ValueError, match=r"either key .* or seed"):
        kt.delta_orthogonal_(torch.empty(shape, dtype=dtype), key=K, seed=0)
    with pytest.raises(TypeError, match=r"key must be a kaiming\.stream\.StreamKey"):
        kt.delta_orthogonal_(torch.empty(shape, dtype=dtype), key="k")


def test_the_device_path_runs_torch_ops_in_place(torch_ops_calls: list[Any]) -> None:
    """Inside device_stream_on_cpu an initializer's values come from the torch-ops executor,
    written into the tensor (no NumPy array in between)."""
    calls = torch_ops_calls
    t = torch.empty(32, 16)
    with device_stream_on_cpu():
        kt.kaiming_normal_(t, key=K)
    assert len(calls) == 1 and calls[0] is t
    kt.kaiming_normal_(torch.empty(32, 16), key=K)  # the CPU path does not use it
    assert len(calls) == 1


# --- the values follow the formulas (independent references, sample sizes where 5% fails) -----

CONV = (256, 32, 3, 3)  # fan_in 288, fan_out 2304; 73,728 values: a std's relative error ~0.3%


@pytest.mark.parametrize(
    ("fill", "std"),
    [
        (lambda t: kt.kaiming_normal_(t, key=K), math.sqrt(2 / 288)),
        (lambda t: kt.kaiming_normal_(t, mode="fan_out", key=K), math.sqrt(2 / 2304)),
        (lambda t: kt.kaiming_uniform_(t, key=K), math.sqrt(2 / 288)),
        (lambda t: kt.he_truncated_normal_(t, key=K), math.sqrt(2 / 288)),
        (lambda t: kt.xavier_normal_(t, key=K), math.sqrt(2 / (288 + 2304))),
        (lambda t: kt.xavier_uniform_(t, key=K), math.sqrt(2 / (288 + 2304))),
        (lambda t: kt.lecun_normal_(t, key=K), math.sqrt(1 / 288)),
        (lambda t: kt.lecun_truncated_normal_(t, key=K), math.sqrt(1 / 288)),
        (lambda t: kt.normal_(t, 0.0, 0.02, key=K), 0.02),
        (lambda t: kt.uniform_(t, -0.1, 0.1, key=K), 0.2 / math.sqrt(12)),
    ],
)
def test_std_follows_the_formula(fill: Callable[[torch.Tensor], torch.Tensor], std: float) -> None:
    w = fill(torch.empty(CONV, dtype=torch.float64))
    assert abs(float(w.std()) / std - 1) < 0.015
    assert abs(float(w.mean())) < 4 * std / math.sqrt(w.numel())


def test_uniform_bounds() -> None:
    w = kt.kaiming_uniform_(torch.empty(CONV), key=K)
    bound = math.sqrt(6 / 288)
    assert float(w.abs().max()) <= bound and float(w.abs().max()) > 0.999 * bound
    v = kt.uniform_(torch.empty(100_000), 2.0, 5.0, key=K)
    assert float(v.min()) >= 2.0 and float(v.max()) <= 5.0 and abs(float(v.mean()) - 3.5) < 0.01


# --- trunc_normal_ with a key --------------------------------------------------------------


TRUNCATIONS = [
    (0.0, 1.0, -2.0, 2.0),
    (0.0, 0.02, -2.0, 2.0),
    (0.0, 1.0, 1.0, 3.0),
    (0.0, 1.0, 6.0, 7.0),
    (1.0, 1.0, -10.0, -9.0),
    (0.0, 1.0, -0.5, 0.5),
]


@pytest.mark.filterwarnings("ignore:mean is more than 2 std")
@pytest.mark.parametrize(("mean", "std", "a", "b"), TRUNCATIONS)
def test_trunc_normal_follows_scipy_and_stays_inside(mean: float, std: float, a: float, b: float) -> None:
    w = kt.trunc_normal_(torch.empty(200_000, dtype=torch.float64), mean, std, a, b, key=K)
    law = stats.truncnorm((a - mean) / std, (b - mean) / std, loc=mean, scale=std)
    assert float(w.min()) > a and float(w.max()) < b
    assert abs(float(w.mean()) - law.mean()) < 5 * law.std() / math.sqrt(w.numel())
    assert abs(float(w.std()) / law.std() - 1) < 0.015
    assert stats.kstest(w.numpy(), law.cdf).pvalue > 1e-4


def test_trunc_normal_is_the_inverse_cdf_of_the_stream_uniforms() -> None:
    """Central interval: value i = mean + std * ndtri(Phi(alpha) + u_i (Phi(beta) - Phi(alpha))),
    u_i = (v_i + 1) / 2 from the float64 stream uniform (SciPy's ndtri as the reference)."""
    shape = (40, 25)
    w = kt.trunc_normal_(torch.empty(shape, dtype=torch.float64), 0.5, 2.0, -1.0, 3.0, key=K)
    u = (stream.uniform(shape, K, dtype=np.float64) + 1.0) / 2.0
    lo, hi = special.ndtr(-0.75), special.ndtr(1.25)
    np.testing.assert_allclose(
        w.numpy(), 0.5 + 2.0 * special.ndtri(lo + u * (hi - lo)), rtol=1e-12, atol=1e-13
    )


@pytest.mark.filterwarnings("ignore:mean is more than 2 std")
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize(("a", "b"), [(-2.0, 2.0), (1.0, 3.0), (-7.0, -6.0)])
def test_trunc_normal_same_bits_on_both_paths_and_in_parts(dtype: torch.dtype, a: float, b: float) -> None:
    host = kt.trunc_normal_(torch.empty(30, 20, dtype=dtype), 0.0, 1.0, a, b, key=K)
    with device_stream_on_cpu():
        device = kt.trunc_normal_(torch.empty(30, 20, dtype=dtype), 0.0, 1.0, a, b, key=K)
    assert torch.equal(_bits(host), _bits(device))
    assert float(host.min()) > a and float(host.max()) < b
    # value i depends on i alone: a row-chunked draw (tiny chunks) gives the same bits
    from kaiming.torch import _truncated

    chunk, _truncated._CHUNK = _truncated._CHUNK, 40  # two rows per chunk
    try:
        chunked = kt.trunc_normal_(torch.empty(30, 20, dtype=dtype), 0.0, 1.0, a, b, key=K)
    finally:
        _truncated._CHUNK = chunk
    assert torch.equal(_bits(host), _bits(chunked))


def test_trunc_normal_of_a_0d_tensor_with_a_key() -> None:
    t = kt.trunc_normal_(torch.empty(()), key=K)
    u = (float(stream.uniform((), K, dtype=np.float64)) + 1.0) / 2.0
    lo, hi = special.ndtr(-2.0), special.ndtr(2.0)
    assert float(t) == pytest.approx(float(special.ndtri(lo + u * (hi - lo))), rel=1e-6)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_sparse_bits_equal_the_numpy_keyed_path(dtype: torch.dtype) -> None:
    def ref(shape: tuple[int, ...], key: stream.StreamKey, np_dtype: Any) -> Any:
        return kaiming.sparse(shape, 0.3, 0.05, layout="torch", key=key, dtype=np_dtype)

    expected = _bits(_reference(ref, (24, 10), K, dtype))
    host = torch.empty((24, 10), dtype=dtype)
    assert kt.sparse_(host, 0.3, 0.05, key=K) is host
    assert torch.equal(_bits(host), expected)
    assert int((host == 0).sum()) == 80  # ceil(0.3 * 24) per column
    strided = torch.empty(10, 24, dtype=dtype).T
    assert torch.equal(_bits(kt.sparse_(strided, 0.3, 0.05, key=K)), expected)
    t = torch.zeros(4, 6, dtype=dtype)
    with pytest.raises(ValueError, match=r"either key .* or seed .* got key=StreamKey.* and seed=3"):
        kt.sparse_(t, 0.5, key=K, seed=3)
    with pytest.raises(TypeError, match=r"key must be a kaiming.stream.StreamKey .* got 7"):
        kt.sparse_(t, 0.5, key=7)  # type: ignore[arg-type]
    assert bool((t == 0).all())  # nothing written


# --- arguments, errors, and the seeded path's checks ---------------------------------------

ALL_KEYED: list[Fill] = [
    kt.kaiming_normal_, kt.kaiming_uniform_, kt.he_truncated_normal_, kt.he_normal_, kt.he_uniform_,
    kt.xavier_normal_, kt.xavier_uniform_, kt.xavier_truncated_normal_, kt.glorot_normal_,
    kt.glorot_uniform_, kt.lecun_normal_, kt.lecun_uniform_, kt.lecun_truncated_normal_,
    kt.variance_scaling_, kt.normal_, kt.uniform_, kt.trunc_normal_, kt.orthogonal_,
]  # fmt: skip


@pytest.mark.parametrize("init", ALL_KEYED, ids=lambda f: f.__name__)
def test_key_with_seed_or_generator_is_refused(init: Fill) -> None:
    t = torch.zeros(4, 6)
    with pytest.raises(ValueError, match=r"either key .* or seed .* got key=StreamKey.* and seed=3"):
        init(t, key=K, seed=3)
    with pytest.raises(ValueError, match=r"either key .* or generator .* and generator=<torch._C.Generator"):
        init(t, key=K, generator=torch.Generator())
    with pytest.raises(TypeError, match=r"key must be a kaiming.stream.StreamKey .* got 7"):
        init(t, key=7)
    with pytest.raises(TypeError, match=r"key must be a kaiming.stream.StreamKey .* got \(1, 2\)"):
        init(t, key=(1, 2))
    assert bool((t == 0).all())  # nothing written


@pytest.mark.parametrize("init", ALL_KEYED, ids=lambda f: f.__name__)
def test_functions_are_plain_module_functions(init: Fill) -> None:
    """Defined at module level with their own names and docstrings (no factory closures)."""
    assert init.__module__ == "kaiming.torch._tensors"
    assert init.__qualname__ == init.__name__ and "<locals>" not in init.__qualname__
    assert ">>> " in (init.__doc__ or "")
    assert "key" in inspect.signature(init).parameters


@pytest.mark.parametrize("init", ALL_KEYED, ids=lambda f: f.__name__)
def test_zero_element_tensor_is_a_warned_no_op_with_a_key(init: Fill) -> None:
    with pytest.warns(UserWarning, match=kt.ZERO_ELEMENT_WARNING) as record:
        init(torch.empty(0, 4), key=K)
    assert len(record) == 1  # where it points: test_torch_tensor_exact.py


@pytest.mark.parametrize(
    "call",
    [
        lambda **r: kt.normal_(torch.zeros(50, dtype=torch.float16), std=1e5, **r),  # std beyond float16
        lambda **r: kt.normal_(torch.zeros(50, dtype=torch.float16), mean=7e4, **r),
        lambda **r: kt.uniform_(torch.zeros(50, dtype=torch.bfloat16), -1e39, 1e39, **r),
        lambda **r: kt.variance_scaling_(torch.zeros(8, 8, dtype=torch.float16), 1e12, **r),
        lambda **r: kt.xavier_uniform_(torch.zeros(8, 8, dtype=torch.float16), 1e6, **r),
        lambda **r: kt.variance_scaling_(
            torch.zeros(8, 8, dtype=torch.float16), 1e-20, "fan_in", "uniform", **r
        ),
        lambda **r: kt.trunc_normal_(torch.zeros(5, dtype=torch.float16), 0.0, 1.0, -1e5, 1e5, **r),
        lambda **r: kt.orthogonal_(torch.zeros(4, 4, dtype=torch.float16), 1e5, **r),
    ],
)
def test_dtype_limits_refused_as_on_the_seeded_path(call: Callable[..., torch.Tensor]) -> None:
    with pytest.raises(ValueError) as seeded:
        call(seed=0)
    with pytest.raises(ValueError) as keyed:
        call(key=K)
    assert str(keyed.value) == str(seeded.value)


def test_a_normal_that_overflows_is_refused_and_leaves_the_tensor() -> None:
    """std 30000 in float16: one std fits, the values beyond 2.2 std do not (guarded fill)."""
    t = torch.full((1000,), 5.0, dtype=torch.float16)
    with pytest.raises(ValueError, match=r"std=30000 makes values overflow float16"):
        kt.normal_(t, std=30000.0, key=K)
    assert bool((t == 5.0).all())
    ok = kt.normal_(torch.empty(1000, dtype=torch.float16), std=1000.0, key=K)  # guarded, all finite
    ref = kaiming.normal(1000, 0.0, 1000.0, key=K, dtype=np.float16)
    assert torch.equal(_bits(ok), _bits(torch.from_numpy(ref)))


def test_grad_and_parameters() -> None:
    p = torch.nn.Parameter(torch.empty(6, 4))
    kt.xavier_uniform_(p, key=K)
    assert p.requires_grad and p.grad_fn is None
    ref = kaiming.xavier_uniform((6, 4), layout="torch", key=K, dtype=np.float32)
    assert np.array_equal(p.detach().numpy(), ref)


def test_meta_tensors_and_integer_tensors_are_refused_with_a_key() -> None:
    with pytest.raises(ValueError, match="meta tensor"):
        kt.kaiming_normal_(torch.empty(3, 3, device="meta"), key=K)
    with pytest.raises(TypeError, match="floating dtype"):
        kt.normal_(torch.empty(3, dtype=torch.int32), key=K)


def test_trunc_normal_warns_as_torch_with_a_key() -> None:
    with pytest.warns(UserWarning, match="mean is more than 2 std from"):
        kt.trunc_normal_(torch.empty(10), 0.0, 1.0, 3.0, 4.0, key=K)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kt.trunc_normal_(torch.empty(10), 0.0, 1.0, 1.0, 4.0, key=K)


# --- DTensor: each rank fills its own shard with the global shape's fans --------------------

_DTENSOR_SETUP = """
from kaiming.torch import _tensors as kt
import kaiming

k = kaiming.stream.key(3, "blocks.0.w")
inits = [
    lambda t: kt.xavier_normal_(t, key=k),
    lambda t: kt.kaiming_uniform_(t, mode="fan_out", key=k),
    lambda t: kt.he_truncated_normal_(t, key=k),
    lambda t: kt.normal_(t, 0.5, 0.1, key=k),
    lambda t: kt.uniform_(t, -1.0, 3.0, key=k),
    lambda t: kt.trunc_normal_(t, 0.0, 0.02, -0.04, 0.04, key=k),
    lambda t: kt.orthogonal_(t, key=k),
    lambda t: kt.sparse_(t, 0.3, 0.1, key=k),
]
"""

_DTENSOR_CHECK = """
for init in inits:
    full = init(torch.empty(10, 6, dtype=dtype))
    d = distribute_tensor(torch.zeros(10, 6, dtype=dtype), mesh, [placement])
    assert init(d) is d
    index = local_index(d)
    local = d.to_local()
    assert tuple(local.shape) == tuple(full[index].shape)
    assert torch.equal(local, full[index]), (rank, placement, dtype)
    checked += 1
"""


@pytest.mark.skipif(not torch.distributed.is_available(), reason="needs torch.distributed")
def test_dtensor_shards_equal_slices_of_the_whole() -> None:
    """Four ranks of a fake process group (one process): Shard(0) uneven (3, 3, 3, 1 rows),
    Shard(1) with an empty last shard, Replicate; every local part equals the slice of the
    plain tensor's keyed values (fans from the global (10, 6) shape)."""
    assert run_on_fake_ranks(_DTENSOR_SETUP, _DTENSOR_CHECK) == 192  # 8 inits x 24 rank-placement-dtypes


# --- CUDA: the same bits computed on the GPU --------------------------------------------------


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize(("name", "fill", "ref"), CASES, ids=[c[0] for c in CASES])
def test_cuda_bits_equal_cpu_bits(
    name: str, fill: Fill, ref: Reference, dtype: torch.dtype, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = fill(torch.empty(64, 3, 3, 3, dtype=dtype), K)
    if name != "orthogonal_":  # the QR runs on the host; everything else never touches NumPy

        def no_host(*args: Any, **kwargs: Any) -> None:
            raise AssertionError("a CUDA tensor's keyed values must be computed on the GPU")

        monkeypatch.setattr("kaiming.stream.sample", no_host)
    gpu = fill(torch.empty(64, 3, 3, 3, dtype=dtype, device="cuda"), K)
    assert gpu.device.type == "cuda"
    assert torch.equal(_bits(gpu.cpu()), _bits(host))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.filterwarnings("ignore:mean is more than 2 std")
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize(("a", "b"), [(-2.0, 2.0), (1.0, 3.0), (6.0, 7.0)])
def test_cuda_trunc_normal_matches_cpu(dtype: torch.dtype, a: float, b: float) -> None:
    """The stream uniforms are the same bits; ndtri/log_ndtr are CUDA's own, so the float64 values
    agree to rounding and a rounded dtype to one unit in the last place."""
    host = kt.trunc_normal_(torch.empty(64, 100, dtype=dtype), 0.0, 1.0, a, b, key=K)
    gpu = kt.trunc_normal_(torch.empty(64, 100, dtype=dtype, device="cuda"), 0.0, 1.0, a, b, key=K)
    rtol = 1e-12 if dtype == torch.float64 else float(torch.finfo(dtype).eps)
    torch.testing.assert_close(gpu.cpu(), host, rtol=rtol, atol=0)
    assert float(gpu.min()) > a and float(gpu.max()) < b


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_cuda_sparse_bits_equal_cpu_bits(dtype: torch.dtype) -> None:
    """The zeros of each column need the whole column: computed on the host, copied to the GPU."""
    host = kt.sparse_(torch.empty(64, 27, dtype=dtype), 0.3, 0.05, key=K)
    gpu = kt.sparse_(torch.empty(64, 27, dtype=dtype, device="cuda"), 0.3, 0.05, key=K)
    assert gpu.device.type == "cuda"
    assert torch.equal(_bits(gpu.cpu()), _bits(host))
