"""The counter stream in jax.numpy: bit-identical to the NumPy reference, eager and under jax.jit."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
ml_dtypes = pytest.importorskip("ml_dtypes")

from kaiming import stream  # noqa: E402
from kaiming.stream import _jax_path  # noqa: E402
from kaiming.stream._jax_path import philox4x32_jax, sample_jax, sample_jax_block  # noqa: E402
from test_stream_generator import KAT  # noqa: E402

DISTS = stream.STREAM_DISTRIBUTIONS
KEY = stream.key(11, "layer.weight")

SELECTIONS: list[tuple[tuple[int, ...], Any]] = [
    ((37, 101), None),  # whole tensor: one run, a block at a time
    ((37, 101), (slice(3, 9),)),  # rows: one run starting mid-block
    ((37, 101), (slice(None), slice(5, 60, 3))),  # strided columns: element-wise
    ((6, 7, 9), (2, slice(None, None, -2), ...)),  # int, negative step, Ellipsis
    ((5,), (3,)),  # a scalar
    ((4, 2, 3), (slice(1, 1),)),  # empty
    ((3, 1, 7), (slice(1, 2), 0, slice(6, 0, -1))),
]


def _bits(a: Any) -> np.ndarray:
    a = np.asarray(a)
    return a.view({2: np.uint16, 4: np.uint32, 8: np.uint64}[a.dtype.itemsize])


def _reference(dist: str, shape: tuple[int, ...], index: Any, dtype: str, scale: float = 1.0) -> np.ndarray:
    """The NumPy path's values; bfloat16 is its float32 value rounded to nearest even."""
    work = np.float32 if dtype == "bfloat16" else dtype
    ref = stream.sample(dist, shape, KEY, scale=scale, index=index, dtype=work, backend="numpy")
    return ref.astype(ml_dtypes.bfloat16) if dtype == "bfloat16" else ref


@pytest.mark.parametrize(("rounds", "counter", "key", "expected"), KAT)
def test_philox_known_answers_eager_and_jitted(rounds: int, counter: str, key: str, expected: str) -> None:
    c = [jnp.uint32(int(w, 16)) for w in counter.split()]
    k = [int(w, 16) for w in key.split()]
    want = [int(w, 16) for w in expected.split()]
    assert [int(w) for w in philox4x32_jax(c, k, rounds)] == want
    jitted = jax.jit(lambda c, k: philox4x32_jax(c, k, rounds))(c, jnp.asarray(k, jnp.uint32))
    assert [int(w) for w in jitted] == want


@pytest.mark.parametrize("dist", DISTS)
def test_bit_identical_to_numpy_for_every_selection(dist: str) -> None:
    """Every distribution and index form; exact bits of the jitted (fused) computation."""
    for shape, index in SELECTIONS:
        ref = _reference(dist, shape, index, "float32", scale=0.7)
        got = sample_jax(dist, shape, KEY, scale=0.7, index=index)
        assert got.shape == ref.shape and got.dtype == jnp.float32
        assert np.array_equal(_bits(got), _bits(ref)), (shape, index)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("dist", DISTS)
def test_half_precision_rounds_the_float32_value(dist: str, dtype: str) -> None:
    for shape, index in SELECTIONS[1:3]:
        ref = _reference(dist, shape, index, dtype, scale=0.7)
        got = sample_jax(dist, shape, KEY, scale=0.7, index=index, dtype=dtype)
        assert got.shape == ref.shape and got.dtype == jnp.dtype(dtype)
        assert np.array_equal(_bits(got), _bits(ref)), (shape, index)


@pytest.mark.parametrize("dist", DISTS)
def test_many_keys_and_a_long_tensor(dist: str) -> None:
    """20 keys x 3,000 values each (all Box-Muller quadrants, both AS 241 regions)."""
    for seed in range(20):
        k = stream.key(seed, "w")
        ref = stream.sample(dist, (3, 1000), k, dtype=np.float32, backend="numpy")
        assert np.array_equal(_bits(sample_jax(dist, (3, 1000), k)), _bits(ref))


@pytest.mark.parametrize("dist", DISTS)
def test_traced_key_scale_and_shard_offsets_under_jit(dist: str) -> None:
    """Key words, scale and a shard's corner as traced jit arguments."""
    shape = (40, 24)

    @jax.jit
    def shard(words: Any, scale: Any, r: Any, c: Any) -> Any:
        return sample_jax_block(dist, shape, words, starts=(r, c), block_shape=(10, 8), scale=scale)

    words = jnp.asarray([KEY.k0, KEY.k1], dtype=jnp.uint32)
    full = stream.sample(dist, shape, KEY, scale=0.25, dtype=np.float32, backend="numpy")
    for r, c in [(0, 0), (10, 8), (30, 16)]:
        assert np.array_equal(_bits(shard(words, 0.25, r, c)), _bits(full[r : r + 10, c : c + 8]))
    whole = jax.jit(lambda words, s: sample_jax(dist, shape, words, scale=s))(words, 0.25)
    assert np.array_equal(_bits(whole), _bits(full))


@pytest.mark.parametrize("dist", DISTS)
def test_flat_indices_past_two_to_the_32(dist: str) -> None:
    """A (2**20, 2**13) tensor has 2**33 elements: the flat index needs both uint32 words."""
    shape = (1 << 20, 1 << 13)
    index = (slice(1_000_000, 1_000_003), slice(8000, 8192))
    ref = stream.sample(dist, shape, KEY, index=index, dtype=np.float32, backend="numpy")
    assert np.array_equal(_bits(sample_jax(dist, shape, KEY, index=index)), _bits(ref))
    box = jax.jit(lambda r: sample_jax_block(dist, shape, KEY, starts=(r, 8000), block_shape=(3, 192)))
    assert np.array_equal(_bits(box(1_000_000)), _bits(ref))
    row = stream.sample(dist, shape, KEY, index=(999_999,), dtype=np.float32, backend="numpy")
    assert np.array_equal(_bits(sample_jax(dist, shape, KEY, index=(999_999,))), _bits(row))


@pytest.mark.parametrize("dist", DISTS)
def test_float64_with_x64(dist: str) -> None:
    with jax.enable_x64(True):
        for shape, index in SELECTIONS[:4]:
            ref = stream.sample(dist, shape, KEY, scale=1.3, index=index, dtype=np.float64, backend="numpy")
            got = sample_jax(dist, shape, KEY, scale=1.3, index=index, dtype=jnp.float64)
            assert got.dtype == jnp.float64 and np.array_equal(_bits(got), _bits(ref))
        # float32 draws do not change when x64 is on
        ref32 = stream.sample(dist, (7, 9), KEY, dtype=np.float32, backend="numpy")
        assert np.array_equal(_bits(sample_jax(dist, (7, 9), KEY)), _bits(ref32))


def _cpu_has_fma() -> bool:
    try:
        return " fma " in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def test_the_contraction_guard_is_what_keeps_jitted_bits(monkeypatch: pytest.MonkeyPatch) -> None:
    """XLA on CPU fuses ``a * b + c`` into an FMA and folds ``(x + c1) + c2``: without
    ``JaxOps.keep`` the jitted transforms lose the reference's bits on an FMA machine."""
    if not _cpu_has_fma():
        pytest.skip("this CPU has no FMA instruction: nothing to contract")
    a, b, c = (np.random.default_rng(i).standard_normal(4096).astype(np.float32) for i in range(3))
    plain = np.asarray(jax.jit(lambda a, b, c: a * b + c)(a, b, c))
    assert not np.array_equal(plain, a * b + c)  # XLA contracts: the finding the guard answers
    monkeypatch.setattr(_jax_path.JaxOps, "keep", lambda self, x: x)
    jax.clear_caches()
    try:
        unguarded = sample_jax("truncated_normal", (64, 64), KEY)
        ref = stream.sample("truncated_normal", (64, 64), KEY, dtype=np.float32, backend="numpy")
        assert not np.array_equal(_bits(unguarded), _bits(ref))
    finally:
        monkeypatch.undo()
        jax.clear_caches()
    assert np.array_equal(_bits(sample_jax("truncated_normal", (64, 64), KEY)), _bits(ref))


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="dtype must be one of"):
        sample_jax("normal", (2, 2), KEY, dtype=jnp.int32)
    with pytest.raises(ValueError, match="distribution"):
        sample_jax("cauchy", (2, 2), KEY)
    with pytest.raises(ValueError, match="scale"):
        sample_jax("normal", (2, 2), KEY, scale=-1.0)
    with pytest.raises(ValueError, match="out of range"):
        sample_jax("normal", (2, 2), KEY, index=(5,))
    with pytest.raises(ValueError, match="starts"):
        sample_jax_block("normal", (4, 4), KEY, starts=(3, 0), block_shape=(2, 2))
    with pytest.raises(ValueError, match=r"too large|more than 2\*\*63"):
        sample_jax("normal", (1 << 40, 1 << 30), KEY, index=(0, 0))
    with pytest.raises(ValueError, match="one entry per axis"):
        sample_jax_block("normal", (4, 4), KEY, starts=(0,), block_shape=(2, 2))
    if not jax.config.jax_enable_x64:
        with pytest.raises(ValueError, match="jax_enable_x64"):
            sample_jax("normal", (2, 2), KEY, dtype=jnp.float64)


_SHARDED = """
import re, numpy as np, jax
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
from kaiming import stream
from kaiming.stream._jax_path import sample_jax
mesh = Mesh(np.array(jax.devices()).reshape(2, 2), ("x", "y"))
k = stream.key(1, "w")
spec = NamedSharding(mesh, P("x", "y"))
f = jax.jit(lambda: sample_jax("normal", (64, 256), k, scale=0.1), out_shardings=spec)
out = f()
ref = stream.sample("normal", (64, 256), k, scale=0.1, dtype=np.float32)
assert np.array_equal(np.asarray(out), ref)
assert [s.data.shape for s in out.addressable_shards] == [(32, 128)] * 4
assert set(re.findall(r"f32\\[(\\d+,\\d+)\\]", f.lower().compile().as_text())) == {"32,128"}
print("ok")
"""


def test_sharded_jit_computes_each_shard_only() -> None:
    """On a 4-device CPU mesh the sharded draw equals NumPy, and the compiled program holds
    only shard-sized float arrays (each device computes its (32, 128) block, nothing more)."""
    import os
    import subprocess

    env = {
        **os.environ,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=4",
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    result = subprocess.run(
        [sys.executable, "-c", _SHARDED], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]
