"""The counter stream's arguments, errors, dispatch and keys, one by one.

The values themselves are held by the known answers (``test_stream_known_answers.py``) and the
statistics tests; this file checks what those do not reach: each error names its argument and
value, ``sample`` hands the right arguments to the numba kernels and picks them by size,
``out=`` is filled in place, and the key derivation (its bytes, its labels) is pinned.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from kaiming import stream
from kaiming.stream import _numpy_path, _sample

K = stream.key(5, "w")


# ------------------------------------------------------------------------------------------------
# errors name their argument and value
# ------------------------------------------------------------------------------------------------

ERRORS: list[tuple[str, Any, type[Exception], str]] = [
    ("distribution", lambda: stream.sample("gauss", 4, K), ValueError, r"^Invalid distribution 'gauss'"),
    (
        "scale",
        lambda: stream.sample("normal", 4, K, scale=-1.0),
        ValueError,
        r"^scale must be a finite number >= 0",
    ),
    ("backend", lambda: stream.sample("normal", 4, K, backend="gpu"), ValueError, r"^Invalid backend 'gpu'"),
    (
        "key",
        lambda: stream.sample("normal", 4, (1, 2)),
        TypeError,
        r"^key must be a kaiming.stream.StreamKey .*got \(1, 2\)$",
    ),
    (
        "out type",
        lambda: stream.sample("normal", 4, K, out=[0.0] * 4),
        TypeError,
        r"^out must be a numpy.ndarray, got list$",
    ),
    (
        "out shape",
        lambda: stream.sample("normal", 4, K, out=np.empty(5)),
        ValueError,
        r"^out must have the result's shape \(4,\) and dtype float64, got shape \(5,\) and dtype float64$",
    ),
    (
        "out layout",
        lambda: stream.sample("normal", (4, 4), K, out=np.empty((4, 4))[:, ::1].T),
        ValueError,
        r"^out must be C-contiguous and writeable$",
    ),
    # a result that cannot exist: named "shape" or "index", whichever gives its size
    (
        "huge shape",
        lambda: stream.sample("normal", (1 << 40, 1 << 20), K),
        ValueError,
        r"^shape=\(1099511627776, 1048576\)",
    ),
    (
        "huge index",
        lambda: stream.sample("normal", (1 << 40, 1 << 20), K, index=(slice(0, 1 << 39),)),
        ValueError,
        r"^index=\(slice\(0, 549755813888, None\),\) of shape=\(1099511627776, 1048576\) "
        r"\(a \(549755813888, 1048576\) result\) as float64 needs about",
    ),
    # values beyond the dtype: truncated values reach 2 scale, uniform and normal scale
    (
        "half truncated",
        lambda: stream.sample("truncated_normal", 4, K, scale=4e4, dtype=np.float16),
        ValueError,
        r"^scale=40000 gives values of magnitude up to 8e\+04",
    ),
    (
        "half uniform",
        lambda: stream.sample("uniform", 4, K, scale=7e4, dtype=np.float16),
        ValueError,
        r"^scale=70000 gives values of magnitude up to 7e\+04",
    ),
    (
        "half normal",
        lambda: stream.sample("normal", 10_000, K, scale=3e4, dtype=np.float16),
        ValueError,
        r"^scale=30000 makes values overflow float16 \(largest finite 65504\)",
    ),
    ("public std", lambda: stream.normal(4, K, std=-1.0), ValueError, r"^std must be a finite number >= 0"),
    (
        "public limit",
        lambda: stream.uniform(4, K, limit=-1.0),
        ValueError,
        r"^limit must be a finite number >= 0",
    ),
    (
        "public truncated std",
        lambda: stream.truncated_normal(4, K, std=-1.0),
        ValueError,
        r"^std must be a finite number >= 0",
    ),
    (
        "public std range",
        lambda: stream.normal(10_000, K, std=3e4, dtype=np.float16),
        ValueError,
        r"^std=30000 makes values overflow",
    ),
    (
        "public limit range",
        lambda: stream.uniform(4, K, limit=7e4, dtype=np.float16),
        ValueError,
        r"^limit=70000 gives values",
    ),
    (
        "public truncated range",
        lambda: stream.truncated_normal(4, K, std=4e4, dtype=np.float16),
        ValueError,
        r"^std=40000 gives values",
    ),
    (
        "counter",
        lambda: stream.philox4x32([0, 0, 0], [0, 0]),
        ValueError,
        r"^counter must be an integer array of shape \(\.\.\., 4\)",
    ),
    (
        "counter kind",
        lambda: stream.philox4x32([0.0] * 4, [0, 0]),
        ValueError,
        r"^counter must be an integer array",
    ),
    (
        "key words",
        lambda: stream.philox4x32([0] * 4, [0]),
        ValueError,
        r"^key must be an integer array of shape \(\.\.\., 2\)",
    ),
    (
        "key range",
        lambda: stream.philox4x32([0] * 4, [0, 1 << 32]),
        ValueError,
        r"^key words must be in \[0, 2\*\*32\)",
    ),
    (
        "rounds 0",
        lambda: stream.philox4x32([0] * 4, [0, 0], 0),
        ValueError,
        r"^rounds must be an int in \[1, 16\], got 0$",
    ),
    (
        "rounds 17",
        lambda: stream.philox4x32([0] * 4, [0, 0], 17),
        ValueError,
        r"^rounds must be an int in \[1, 16\], got 17$",
    ),
    (
        "rounds bool",
        lambda: stream.philox4x32([0] * 4, [0, 0], True),
        ValueError,
        r"^rounds must be an int in \[1, 16\], got True$",
    ),
    (
        "rounds float",
        lambda: stream.philox4x32([0] * 4, [0, 0], 10.0),
        ValueError,
        r"^rounds must be an int in \[1, 16\], got 10.0$",
    ),
    (
        "k0",
        lambda: stream.StreamKey(1 << 32, 0),
        ValueError,
        r"^StreamKey.k0 must be an int in \[0, 2\*\*32\), got 4294967296$",
    ),
    (
        "k1",
        lambda: stream.StreamKey(0, -1),
        ValueError,
        r"^StreamKey.k1 must be an int in \[0, 2\*\*32\), got -1$",
    ),
    ("k0 bool", lambda: stream.StreamKey(True, 0), ValueError, r"^StreamKey.k0 must be an int"),
    ("k1 float", lambda: stream.StreamKey(0, 1.0), ValueError, r"^StreamKey.k1 must be an int"),
    (
        "index without key",
        lambda: stream.check_keyed(None, (0,)),
        ValueError,
        r"^index= selects part of a keyed tensor: pass key= too \(index=\(0,\)\)$",
    ),
    (
        "keyed key type",
        lambda: stream.check_keyed(3, None),
        TypeError,
        r"^key must be a kaiming.stream.StreamKey .*got 3$",
    ),
    (
        "key and seed",
        lambda: stream.check_keyed(K, None, seed=1),
        ValueError,
        r"^pass either key \(counter-based stream\) or seed/rng \(NumPy generator\), not both$",
    ),
    (
        "key and rng",
        lambda: stream.check_keyed(K, None, rng=np.random.default_rng(0)),
        ValueError,
        r"^pass either key",
    ),
]


@pytest.mark.parametrize(("label", "call", "error", "match"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_name_the_argument_and_its_value(
    label: str, call: Any, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        call()


def test_check_keyed_answers_whether_the_stream_is_used() -> None:
    assert stream.check_keyed(None, None) is False
    assert stream.check_keyed(None, None, seed=3) is False
    assert stream.check_keyed(K, None) is True
    assert stream.check_keyed(K, (slice(0, 2),)) is True


def test_the_largest_values_a_dtype_holds_are_accepted() -> None:
    """Just inside float16: truncated values up to 2 scale, uniform up to scale."""
    assert np.isfinite(stream.sample("truncated_normal", 64, K, scale=3e4, dtype=np.float16)).all()
    assert np.isfinite(stream.sample("uniform", 64, K, scale=6e4, dtype=np.float16)).all()
    assert np.isfinite(stream.sample("normal", 64, K, scale=1e3, dtype=np.float16)).all()  # 64 std < 65504


def test_philox_rounds_1_and_16_and_uint32_words() -> None:
    for rounds in (1, 16):
        out = stream.philox4x32(np.array([[1, 2, 3, 4]], dtype=np.int64), [5, 6], rounds)
        assert out.dtype == np.uint32 and out.shape == (1, 4)
    assert not np.array_equal(
        stream.philox4x32([1, 2, 3, 4], [5, 6], 1), stream.philox4x32([1, 2, 3, 4], [5, 6], 16)
    )


# ------------------------------------------------------------------------------------------------
# out= and the dtypes
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("distribution", ["normal", "uniform", "truncated_normal"])
def test_out_receives_the_values_in_place(distribution: str, dtype: type) -> None:
    expected = stream.sample(distribution, (6, 5), K, scale=0.5, dtype=dtype)  # type: ignore[arg-type]
    out = np.full((6, 5), np.nan, dtype=dtype)
    got = stream.sample(distribution, (6, 5), K, scale=0.5, dtype=dtype, out=out)  # type: ignore[arg-type]
    assert got is out
    assert np.array_equal(out, expected) and expected.dtype == dtype


def test_float64_is_drawn_in_float64_and_the_others_in_float32() -> None:
    wide = stream.sample("normal", 1000, K, dtype=np.float64)
    narrow = stream.sample("normal", 1000, K, dtype=np.float32)
    assert wide.dtype == np.float64 and narrow.dtype == np.float32
    assert not np.array_equal(wide.astype(np.float32), narrow)  # other bits, not a rounding of each other
    assert np.array_equal(stream.sample("normal", 1000, K, dtype=np.float16), narrow.astype(np.float16))


# ------------------------------------------------------------------------------------------------
# which kernels run: numba's for large draws (or when asked), NumPy's otherwise
# ------------------------------------------------------------------------------------------------


class _Recorder:
    """Stands in for ``kaiming.stream._numba_path``: records each call, fills with the NumPy path."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.arrays: list[np.ndarray] = []  # the array each call filled

    def fill(self, dist_key: Any, words: Any, pieces: Any, scale: Any, flat: np.ndarray) -> None:
        self.calls.append((dist_key, words, scale, flat.dtype, flat.size))
        self.arrays.append(flat)
        _numpy_path.fill(dist_key, words, pieces, scale, flat)


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> _Recorder:
    fake = _Recorder()
    monkeypatch.setattr(_sample, "_fast", [fake])
    return fake


def test_auto_uses_the_kernels_from_auto_numba_min_values_on(recorder: _Recorder) -> None:
    small = stream.sample("normal", _sample.AUTO_NUMBA_MIN - 1, K, scale=0.5, dtype=np.float32)
    assert recorder.calls == []
    big = stream.sample("normal", _sample.AUTO_NUMBA_MIN, K, scale=0.5, dtype=np.float32)
    assert len(recorder.calls) == 1
    dist_key, words, scale, dtype, size = recorder.calls[0]
    assert dist_key == ("normal", "float32") and words == K.words
    assert type(scale) is np.float32 and scale == 0.5
    assert (dtype, size) == (np.float32, _sample.AUTO_NUMBA_MIN)
    assert np.array_equal(big[: small.size], small)  # the same bits either way


@pytest.mark.parametrize("size", [100, _sample.AUTO_NUMBA_MIN])
@pytest.mark.parametrize("backend", ["numba", "numpy", "auto"])
def test_backend_picks_the_kernels(recorder: _Recorder, backend: str, size: int) -> None:
    calls = int(backend == "numba" or (backend == "auto" and size >= _sample.AUTO_NUMBA_MIN))
    values = stream.sample("uniform", size, K, scale=2.0, backend=backend)  # type: ignore[arg-type]
    assert len(recorder.calls) == calls
    if calls:
        assert recorder.calls[0][:3] == (("uniform", "float64"), K.words, 2.0)
    recorder.calls.clear()
    assert np.array_equal(values, stream.sample("uniform", size, K, scale=2.0, backend="numpy"))
    assert recorder.calls == []


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_the_kernels_fill_out_itself_in_the_work_dtype_and_a_work_array_otherwise(
    recorder: _Recorder, dtype: type
) -> None:
    work = np.float64 if dtype == np.float64 else np.float32
    out = np.empty((6, 7), dtype)
    got = stream.sample("normal", (6, 7), K, dtype=dtype, backend="numba", out=out)  # type: ignore[arg-type]
    (flat,) = recorder.arrays
    assert flat.dtype == work and flat.size == 42  # the kernels take float32 or float64 only
    assert np.shares_memory(flat, out) == (dtype == work)  # no copy where out can take the values
    assert got is out
    assert np.array_equal(out, stream.sample("normal", (6, 7), K, dtype=dtype, backend="numpy"))


@pytest.mark.parametrize(
    ("function", "distribution"),
    [(stream.normal, "normal"), (stream.uniform, "uniform"), (stream.truncated_normal, "truncated_normal")],
)
def test_the_public_functions_default_to_a_scale_of_one(function: Any, distribution: str) -> None:
    assert np.array_equal(function((5, 3), K), stream.sample(distribution, (5, 3), K))


def test_backend_numba_without_numba_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_sample, "_fast", [None])
    with pytest.raises(ImportError, match=r'^backend="numba" needs numba: pip install "kaiming\[fast\]"$'):
        stream.sample("normal", 4, K, backend="numba")
    assert stream.fast_path_available() is False


def test_the_kernels_module_is_imported_once_and_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_sample, "_fast", [])
    first = _sample._numba_module()
    assert _sample._fast == [first]
    assert _sample._numba_module() is first
    try:
        import kaiming.stream._numba_path as kernels
    except ImportError:
        assert first is None
    else:
        assert first is kernels


# ------------------------------------------------------------------------------------------------
# keys: the derivation is part of the reproducibility contract
# ------------------------------------------------------------------------------------------------

# (call, k0, k1, label): pinned; a change is a breaking change (every keyed weight changes)
KEYS = [
    (lambda: stream.key(7, 3), 521676603, 588981005, "seed=7, name=3"),
    (lambda: stream.key(7, "w").child(2), 1051736059, 2905154652, "seed=7, name='w'/2"),
    (lambda: stream.key(7, "w").child("b"), 1003608630, 1614424304, "seed=7, name='w'/b"),
]


@pytest.mark.parametrize(("call", "k0", "k1", "label"), KEYS)
def test_key_words_and_labels_are_pinned(call: Any, k0: int, k1: int, label: str) -> None:
    made = call()
    assert (made.k0, made.k1, made.label) == (k0, k1, label)


def test_int_and_str_names_differ() -> None:
    assert stream.key(7, 3) != stream.key(7, "3")
    assert stream.key(7, "w").child(3) != stream.key(7, "w").child("3")
    assert stream.key(7, "é").words != stream.key(7, "e").words  # UTF-8 bytes, not ASCII only


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_a_normal_draw_that_overflows_is_refused_without_numpy_warnings(dtype: type) -> None:
    """Values beyond the dtype overflow to inf on the way: the draw is refused by name, and NumPy's
    overflow warnings (in the transform and in the cast) stay quiet."""
    std = float(np.finfo(dtype).max) / 4  # values beyond 4 std overflow: a few in 2**16
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"^std="):
            stream.normal(1 << 16, K, std=std, dtype=dtype)
