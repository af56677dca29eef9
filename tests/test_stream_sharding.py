"""kaiming.stream: any slice equals the full tensor's slice, bit for bit, on both backends."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from _indices import shapes_and_indices
from kaiming import stream
from kaiming.stream import _index, _sample

DISTS = stream.STREAM_DISTRIBUTIONS
WORK = (np.float32, np.float64)
numba_only = pytest.mark.skipif(
    not stream.fast_path_available(), reason="numba (kaiming[fast]) not installed"
)


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


@given(shapes_and_indices(), st.sampled_from(DISTS), st.sampled_from(WORK), st.integers(0, 2**64 - 1))
def test_any_basic_index_is_the_slice_of_the_full_tensor(
    case: tuple[tuple[int, ...], tuple[object, ...]], dist: str, dtype: type, seed: int
) -> None:
    shape, index = case
    key = stream.key(seed, "w")
    full = stream.sample(dist, shape, key, dtype=dtype, backend="numpy")  # type: ignore[arg-type]
    part = stream.sample(dist, shape, key, dtype=dtype, index=index, backend="numpy")  # type: ignore[arg-type]
    assert _same_bits(part, np.array(full[index]))


def test_long_runs_cross_piece_and_block_boundaries() -> None:
    """Selections that start/stop inside Philox blocks and span several parallel pieces."""
    shape = (3, _index.PIECE + 7)
    key = stream.key(1, "long")
    for dtype in WORK:
        full = stream.normal(shape, key, dtype=dtype, backend="numpy")
        for index in [
            (slice(None), slice(1, -3)),
            (1, slice(5, None)),
            slice(1, 3),
            (slice(None), slice(3, 2 * 2**10, 3)),
        ]:
            assert _same_bits(
                stream.normal(shape, key, dtype=dtype, index=index, backend="numpy"), full[index]
            )


def test_chunks_concatenate_to_the_whole() -> None:
    key = stream.key(2, "chunks")
    full = stream.uniform(1001, key, dtype=np.float32)
    chunks = [stream.uniform(1001, key, dtype=np.float32, index=slice(a, a + 97)) for a in range(0, 1001, 97)]
    assert _same_bits(np.concatenate(chunks), full)


def test_values_depend_only_on_flat_index_not_on_shape() -> None:
    key = stream.key(0, "reshape")
    flat = stream.normal(24, key, dtype=np.float32)
    assert _same_bits(stream.normal((2, 3, 4), key, dtype=np.float32).ravel(), flat)


def test_float16_is_the_rounded_float32_stream_and_scale_is_one_multiply() -> None:
    key = stream.key(0, "h")
    base = stream.normal((8, 8), key, dtype=np.float32)
    assert _same_bits(stream.normal((8, 8), key, dtype=np.float16), base.astype(np.float16))
    assert _same_bits(stream.normal((8, 8), key, std=0.25, dtype=np.float32), base * np.float32(0.25))


def test_out_receives_the_values_in_place() -> None:
    key = stream.key(0, "out")
    out = np.full((4, 5), np.nan, dtype=np.float32)
    got = stream.truncated_normal((10, 5), key, index=slice(2, 6), dtype=np.float32, out=out)
    assert got is out
    assert _same_bits(out, stream.truncated_normal((10, 5), key, dtype=np.float32)[2:6])
    half = np.empty((10, 5), dtype=np.float16)
    stream.normal((10, 5), key, dtype=np.float16, out=half)
    assert _same_bits(half, stream.normal((10, 5), key, dtype=np.float16))
    with pytest.raises(ValueError, match="shape"):
        stream.normal((10, 5), key, dtype=np.float32, out=np.empty((5, 10), np.float32))
    with pytest.raises(ValueError, match="C-contiguous"):
        stream.normal((5, 10), key, dtype=np.float32, out=np.empty((10, 5), np.float32).T)


@pytest.mark.parametrize(
    ("index", "error", "match"),
    [
        ((0, 0, 0), ValueError, "more entries"),
        ((Ellipsis, Ellipsis), ValueError, "Ellipsis"),
        (5, ValueError, "out of range"),
        ((slice(None), -4), ValueError, "out of range"),
        (1.5, TypeError, "ints, slices"),
        ([0, 1], TypeError, "ints, slices"),
        (slice(0, 1, 0), ValueError, "slice"),
    ],
)
def test_bad_index_is_refused(index: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        stream.normal((3, 3), stream.key(0, "x"), index=index)  # type: ignore[arg-type]


def test_bad_arguments_are_refused() -> None:
    key = stream.key(0, "x")
    with pytest.raises(TypeError, match="StreamKey"):
        stream.normal(3, (1, 2))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="distribution"):
        stream.sample("cauchy", 3, key)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="std"):
        stream.normal(3, key, std=-1.0)
    with pytest.raises(ValueError, match="backend"):
        stream.normal(3, key, backend="cuda")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dtype"):
        stream.normal(3, key, dtype=np.int32)


def test_without_numba_auto_uses_numpy_and_numba_backend_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = stream.key(0, "nonumba")
    expected = stream.normal(_sample.AUTO_NUMBA_MIN, key, dtype=np.float32, backend="numpy")
    monkeypatch.setattr(_sample, "_fast", [None])
    assert not stream.fast_path_available()
    assert _same_bits(stream.normal(_sample.AUTO_NUMBA_MIN, key, dtype=np.float32), expected)
    with pytest.raises(ImportError, match=r"kaiming\[fast\]"):
        stream.normal(3, key, backend="numba")


# --- the numba fast path gives the NumPy path's bits ----------------------------------------


@numba_only
@pytest.mark.parametrize("dtype", WORK)
@pytest.mark.parametrize("dist", DISTS)
def test_numba_matches_numpy_on_many_keys_shapes_and_slices(dist: str, dtype: type) -> None:
    rng = np.random.default_rng(0)
    cases: list[tuple[tuple[int, ...], object]] = [
        ((1,), None),
        ((7,), slice(3, None)),
        ((5, 13), (slice(1, 4), slice(2, 11))),
        ((33, 65), (slice(None), slice(7, 40))),
        ((4, 3, 17), (slice(None, None, -1), 1, slice(None, None, 3))),
        ((_index.PIECE * 3 + 5,), slice(11, -13)),
        ((300, 700), (slice(17, 283), slice(None))),
    ]
    for i, (shape, index) in enumerate(cases):
        for seed in rng.integers(0, 2**63, 4):
            key = stream.key(int(seed), f"t{i}")
            args = {"index": index, "dtype": dtype}
            ref = stream.sample(dist, shape, key, backend="numpy", **args)  # type: ignore[arg-type]
            got = stream.sample(dist, shape, key, backend="numba", **args)  # type: ignore[arg-type]
            assert _same_bits(got, ref), (shape, index, seed)


@numba_only
@given(shapes_and_indices(), st.sampled_from(DISTS), st.integers(0, 2**64 - 1))
def test_numba_matches_numpy_property(
    case: tuple[tuple[int, ...], tuple[object, ...]], dist: str, seed: int
) -> None:
    shape, index = case
    key = stream.key(seed, "prop")
    for dtype in WORK:
        ref = stream.sample(dist, shape, key, index=index, dtype=dtype, backend="numpy")  # type: ignore[arg-type]
        got = stream.sample(dist, shape, key, index=index, dtype=dtype, backend="numba")  # type: ignore[arg-type]
        assert _same_bits(got, ref)


@numba_only
def test_numba_is_independent_of_thread_count() -> None:
    import numba

    key = stream.key(9, "threads")
    before = numba.get_num_threads()
    try:
        results = []
        for threads in sorted({1, before}):
            numba.set_num_threads(threads)
            results.append(stream.normal((257, 1031), key, dtype=np.float32, backend="numba"))
    finally:
        numba.set_num_threads(before)
    assert all(_same_bits(r, results[0]) for r in results)
