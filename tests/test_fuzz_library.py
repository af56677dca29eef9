"""Property-based fuzzing of every public NumPy entry point, plus the regressions it guards.

Contract (see tests/_fuzz.py): a correct finite result, or a one-line ``ValueError``/``TypeError``
naming the argument. 40 examples per entry point keep the whole file to seconds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import kaiming
from _fuzz import (
    FUZZ,
    HOSTILE_INTS,
    HOSTILE_NAMES,
    assert_finite_array,
    assert_finite_number,
    dtypes,
    hostile_or,
    layouts,
    nonnegative,
    outcome,
    reals,
    seeds,
    shapes,
    small_shapes,
)
from _peaks import peak_and_estimate
from kaiming import _checks, stream

VS_GAIN = [
    "xavier_normal",
    "xavier_uniform",
    "xavier_truncated_normal",
    "glorot_normal",
    "glorot_uniform",
    "lecun_normal",
    "lecun_uniform",
    "lecun_truncated_normal",
]
VS_HE = ["he_normal", "he_uniform", "he_truncated_normal", "kaiming_normal", "kaiming_uniform"]
keys = st.one_of(
    st.builds(stream.key, st.integers(0, 2**64 - 1), st.text(max_size=5)), st.sampled_from([None, 3])
)
indices = st.one_of(
    st.none(),
    st.integers(-8, 8),
    st.slices(8),
    st.tuples(st.slices(8), st.integers(-3, 3)),
    st.sampled_from(
        [(Ellipsis, 0), (Ellipsis, Ellipsis), (0, 0, 0, 0, 0, 0), 2**63, (slice(None, None, 0),), "a"]
    ),
)
activations = hostile_or(st.sampled_from(kaiming.PROBE_ACTIVATIONS), HOSTILE_NAMES)
small_ints = hostile_or(st.integers(1, 6), HOSTILE_INTS)


def _check_array(result: Any, dtype: object) -> None:
    if result is not None:
        assert_finite_array(result, dtype if dtype in (np.float16, np.float32, np.float64) else None)


@FUZZ
@given(st.sampled_from(VS_GAIN), shapes, nonnegative, layouts, seeds, dtypes, keys, indices)
def test_gain_initializers(
    name: str, shape: Any, gain: Any, layout: Any, seed: Any, dtype: Any, key: Any, index: Any
) -> None:
    fn = getattr(kaiming, name)
    if key is not None:
        result = outcome(fn, shape, gain=gain, layout=layout, key=key, index=index, dtype=dtype)
    else:
        result = outcome(fn, shape, gain=gain, layout=layout, seed=seed, dtype=dtype)
    _check_array(result, dtype)


@FUZZ
@given(
    st.sampled_from(VS_HE),
    shapes,
    nonnegative,
    hostile_or(st.sampled_from(kaiming.NONLINEARITIES), HOSTILE_NAMES),
    hostile_or(st.sampled_from(["fan_in", "fan_out"]), ["fan_avg", "FAN_IN"]),
    layouts,
    seeds,
    dtypes,
    keys,
    indices,
)
def test_he_initializers(
    name: str,
    shape: Any,
    a: Any,
    nonlinearity: Any,
    mode: Any,
    layout: Any,
    seed: Any,
    dtype: Any,
    key: Any,
    index: Any,
) -> None:
    fn = getattr(kaiming, name)
    kwargs = {"a": a, "nonlinearity": nonlinearity, "mode": mode, "layout": layout, "dtype": dtype}
    if key is not None:
        result = outcome(fn, shape, key=key, index=index, **kwargs)
    else:
        result = outcome(fn, shape, seed=seed, **kwargs)
    _check_array(result, dtype)


@FUZZ
@given(
    shapes,
    reals,
    hostile_or(st.sampled_from(kaiming.MODES), HOSTILE_NAMES),
    hostile_or(st.sampled_from(kaiming.DISTRIBUTIONS), HOSTILE_NAMES),
    layouts,
    st.one_of(
        st.none(),
        st.tuples(st.integers(1, 9), st.integers(1, 9)),
        st.sampled_from([(1,), (1, 2, 3), (0, 2), 5]),
    ),
    seeds,
    dtypes,
)
def test_variance_scaling(
    shape: Any, scale: Any, mode: Any, distribution: Any, layout: Any, fans: Any, seed: Any, dtype: Any
) -> None:
    result = outcome(
        kaiming.variance_scaling,
        shape,
        scale,
        mode,
        distribution,
        layout=layout,
        fans=fans,
        seed=seed,
        dtype=dtype,
    )
    _check_array(result, dtype)


@FUZZ
@given(
    st.sampled_from(["orthogonal", "delta_orthogonal"]),
    st.one_of(shapes, st.lists(st.integers(1, 5), min_size=3, max_size=5).map(tuple)),
    nonnegative,
    layouts,
    seeds,
    dtypes,
    keys,
    indices,
)
def test_orthogonal_family(
    name: str, shape: Any, gain: Any, layout: Any, seed: Any, dtype: Any, key: Any, index: Any
) -> None:
    fn = getattr(kaiming, name)
    if key is not None:
        result = outcome(fn, shape, gain, layout=layout, key=key, index=index, dtype=dtype)
    else:
        result = outcome(fn, shape, gain, layout=layout, seed=seed, dtype=dtype)
    _check_array(result, dtype)


@FUZZ
@given(shapes, reals, small_ints, layouts, dtypes)
def test_deterministic_initializers(shape: Any, value: Any, groups: Any, layout: Any, dtype: Any) -> None:
    _check_array(outcome(kaiming.identity, shape, value, dtype=dtype), dtype)
    _check_array(outcome(kaiming.dirac, shape, groups, value, layout=layout, dtype=dtype), dtype)
    _check_array(outcome(kaiming.constant, shape, value, dtype=dtype), dtype)
    _check_array(outcome(kaiming.zeros, shape, dtype=dtype), dtype)
    _check_array(outcome(kaiming.ones, shape, dtype=dtype), dtype)


@FUZZ
@given(
    shapes,
    st.one_of(st.floats(0, 0.99), st.sampled_from([1.0, -0.1, 2, float("nan"), None, "0.5"])),
    nonnegative,
    layouts,
    seeds,
    dtypes,
)
def test_sparse(shape: Any, sparsity: Any, std: Any, layout: Any, seed: Any, dtype: Any) -> None:
    _check_array(outcome(kaiming.sparse, shape, sparsity, std, layout=layout, seed=seed, dtype=dtype), dtype)


@FUZZ
@given(small_ints, small_ints, seeds)
def test_he_init(fan_in: Any, fan_out: Any, seed: Any) -> None:
    _check_array(outcome(kaiming.he_init, fan_in, fan_out, seed), np.float64)


@FUZZ
@given(hostile_or(st.sampled_from(kaiming.NONLINEARITIES), HOSTILE_NAMES), st.one_of(st.none(), reals))
def test_calculate_gain(nonlinearity: Any, param: Any) -> None:
    gain = outcome(kaiming.calculate_gain, nonlinearity, param)
    if gain is not None:
        assert_finite_number(gain)
        assert gain > 0


@FUZZ
@given(shapes, layouts)
def test_compute_fans(shape: Any, layout: Any) -> None:
    fans = outcome(kaiming.compute_fans, shape, layout)
    if fans is not None:
        assert all(isinstance(f, int) and f > 0 for f in fans)


@FUZZ
@given(hostile_or(st.sampled_from(kaiming.INITIALIZER_NAMES), HOSTILE_NAMES))
def test_get_initializer(name: Any) -> None:
    fn = outcome(kaiming.get_initializer, name)
    assert fn is None or callable(fn)


@FUZZ
@given(activations, nonnegative, st.one_of(st.none(), reals))
def test_gaussian_moments(activation: Any, variance: Any, param: Any) -> None:
    moments = outcome(kaiming.gaussian_moments, activation, variance, param)
    if moments is not None:
        assert all(np.isfinite(v) for v in (moments.mean, moments.second, moments.deriv_second))


probe_inits = hostile_or(st.sampled_from(kaiming.PROBE_INITS), HOSTILE_NAMES)
widths = st.one_of(
    small_ints, st.lists(st.integers(1, 6), min_size=1, max_size=3), st.sampled_from([[0], 10**9, [2**63]])
)
options = st.fixed_dictionaries(
    {},
    optional={
        "mode": st.sampled_from(["fan_in", "fan_avg", "x", None]),
        "std": nonnegative,
        "gain": nonnegative,
        "activation_param": reals,
        "bias_std": nonnegative,
        "batch_norm": st.sampled_from([True, False, 1]),
        "batch": hostile_or(st.integers(1, 8), [0, 10**9, 2**63]),
    },
)


@FUZZ
@given(
    probe_inits,
    activations,
    hostile_or(st.integers(1, 4), [0, -1, 10**6, 10**9, 2**63, 2.0]),
    widths,
    options,
)
def test_mean_field(init: Any, activation: Any, depth: Any, width: Any, kwargs: dict[str, Any]) -> None:
    layers = outcome(kaiming.mean_field, init, activation, depth, width, **kwargs)
    assert layers is None or len(layers) == depth


@FUZZ
@given(
    probe_inits,
    activations,
    hostile_or(st.integers(1, 3), [0, -1, 10**6, 2**63]),
    widths,
    options,
    st.sampled_from(["float32", "float64", np.float32, "float16", None]),
    seeds,
)
def test_probe(
    init: Any, activation: Any, depth: Any, width: Any, kwargs: dict[str, Any], dtype: Any, seed: Any
) -> None:
    kwargs.setdefault("batch", 4)
    result = outcome(kaiming.probe, init, activation, depth, width, dtype=dtype, seed=seed, **kwargs)
    assert (
        result is None or len(result.layers) == depth
    )  # overflowing statistics are a diagnosis, not an error


@FUZZ
@given(
    st.sampled_from(["normal", "uniform", "truncated_normal"]),
    shapes,
    keys,
    reals,
    indices,
    dtypes,
    hostile_or(st.sampled_from(["auto", "numpy"]), ["fast", None]),
)
def test_stream_samplers(
    name: str, shape: Any, key: Any, scale: Any, index: Any, dtype: Any, backend: Any
) -> None:
    argument = "limit" if name == "uniform" else "std"
    fn = getattr(stream, name)
    result = outcome(fn, shape, key, **{argument: scale}, index=index, dtype=dtype, backend=backend)
    _check_array(result, dtype)
    _check_array(outcome(stream.sample, name, shape, key, scale=scale, index=index, dtype=dtype), dtype)


@FUZZ
@given(
    hostile_or(st.integers(0, 2**64 - 1), [-1, 2**64, 1.0, "0", None]),
    hostile_or(st.text(max_size=4), [None, 1.5, b"x", -1]),
)
def test_stream_key(seed: Any, name: Any) -> None:
    k = outcome(stream.key, seed, name)
    assert k is None or isinstance(k, stream.StreamKey)


@FUZZ
@given(
    st.one_of(
        st.lists(st.integers(-1, 2**32), min_size=4, max_size=4),
        st.sampled_from([[0], 5, [[1, 2, 3, 4]], "abcd", [1.5] * 4]),
    ),
    st.one_of(st.lists(st.integers(-1, 2**32), min_size=2, max_size=2), st.sampled_from([[0], None])),
    hostile_or(st.integers(1, 16), [0, 17, True, 10.0]),
)
def test_philox(counter: Any, key: Any, rounds: Any) -> None:
    words = outcome(stream.philox4x32, counter, key, rounds)
    assert words is None or words.dtype == np.uint32


@FUZZ
@given(keys, st.one_of(st.none(), indices), seeds, st.sampled_from([None, np.random.default_rng(0), 3]))
def test_check_keyed(key: Any, index: Any, seed: Any, rng: Any) -> None:
    keyed = outcome(stream.check_keyed, key, index, seed, rng)
    assert keyed in (None, True, False)


@FUZZ
@given(
    hostile_or(st.integers(0, 2**32 - 1), [-1, 2**32, 1.5, True]),
    hostile_or(st.integers(0, 2**32 - 1), [None, "1"]),
)
def test_stream_key_words(k0: Any, k1: Any) -> None:
    k = outcome(stream.StreamKey, k0, k1)
    assert k is None or k.words == (np.uint64(k0), np.uint64(k1))


@FUZZ
@given(small_shapes, indices)
def test_select(shape: tuple[int, ...], index: Any) -> None:
    full = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    part = outcome(stream.select, full, index)
    if part is not None:
        expected = full if index is None else full[index if isinstance(index, tuple) else (index,)]
        np.testing.assert_array_equal(part, expected)


# --- the regressions the fuzzing found -----------------------------------------------------------

K = stream.key(0, "w")


@pytest.mark.parametrize(
    ("call", "kind", "text"),
    [
        (lambda: kaiming.identity((2, 2), gain=1e5, dtype=np.float16), ValueError, "gain=100000"),
        (lambda: kaiming.constant((2, 2), 1e5, dtype=np.float16), ValueError, "value=100000"),
        (lambda: kaiming.constant((2, 2), 10**400), ValueError, "value must be a finite number"),
        (lambda: kaiming.dirac((3, 3, 3), gain=1e39, dtype=np.float32), ValueError, "gain"),
        (lambda: stream.normal((4, 4), K, std=1e308), ValueError, "std=1e+308"),
        (lambda: stream.uniform((4,), K, limit=1e39, dtype=np.float32), ValueError, "limit=1e+39"),
        (lambda: kaiming.calculate_gain("elu", 1e200), ValueError, "param"),
        (lambda: kaiming.calculate_gain("softplus", 1e-300), ValueError, "param"),
        (lambda: kaiming.xavier_normal((8, 4), gain=1e200), ValueError, "gain"),
        # std 3e4 fits float16, but 3% of the 4096 values are beyond its 65504: certain to overflow
        (lambda: kaiming.xavier_normal((64, 64), gain=2.4e5, dtype=np.float16, seed=0), ValueError, "gain="),
        (lambda: kaiming.variance_scaling((8, 4), 1e300, dtype=np.float32), ValueError, "scale"),
        (lambda: kaiming.he_normal((8, 4), key=K, dtype=np.float16, a=0.0, mode="fan_out"), None, ""),
        (lambda: kaiming.sparse((8, 4), 0.5, std=1e5, dtype=np.float16, seed=0), ValueError, "std"),
        (lambda: kaiming.orthogonal((4, 4), gain=1e5, dtype=np.float16), ValueError, "gain"),
        (lambda: kaiming.lecun_normal((4, 4), gain=1e-300, dtype=np.float32), ValueError, "gain"),
        (lambda: stream.normal((2**63, 2), K), ValueError, "shape"),
        (lambda: stream.normal((2**62, 4), K, index=0), ValueError, "2**63 - 1"),
        (lambda: kaiming.he_normal(np.array(5)), TypeError, "shape"),
        (lambda: kaiming.he_normal((1,) * 70), ValueError, "shape"),
        (lambda: kaiming.he_normal((4, 4), dtype="float8"), TypeError, "dtype"),
        (lambda: kaiming.calculate_gain("ReLU"), ValueError, "did you mean 'relu'?"),
        (lambda: kaiming.probe(depth=10**6), ValueError, "depth must be at most"),
        (lambda: kaiming.probe(batch=10**9), ValueError, "batch must be at most"),
        (lambda: kaiming.mean_field(depth=10**9), ValueError, "depth must be at most"),
        (lambda: kaiming.probe("he", "relu", depth=10_000, width=4096), ValueError, "GiB"),
    ],
)
def test_regressions(call: Any, kind: type[Exception] | None, text: str) -> None:
    if kind is None:
        assert_finite_array(call())
        return
    with pytest.raises(kind) as info:
        call()
    assert text in str(info.value) and "\n" not in str(info.value)


def test_flat_index_is_exact_near_2_to_the_62() -> None:
    # the same flat index, reached through two shapes, gives the same numbers (no int64 wrap)
    flat = 2**62 - 8
    a = stream.normal((2**62,), K, index=slice(flat, flat + 8))
    b = stream.normal((2**31, 2**31), K, index=(flat // 2**31, slice(flat % 2**31, flat % 2**31 + 8)))
    np.testing.assert_array_equal(a, b)
    assert np.isfinite(a).all() and len(set(a.tolist())) == 8


def test_orthogonal_rejects_a_bad_index_before_the_qr(monkeypatch: pytest.MonkeyPatch) -> None:
    import kaiming.structured as structured

    def no_qr(*args: object) -> None:
        raise AssertionError("the QR ran before the index was validated")

    monkeypatch.setattr(structured, "_orthogonal_matrix", no_qr)
    for bad in [(5,), (0, slice(None), 9), (Ellipsis, Ellipsis), "x"]:
        with pytest.raises((ValueError, TypeError), match="index"):
            kaiming.orthogonal((2, 10**7, 5), key=K, index=bad)  # type: ignore[arg-type]
    with pytest.raises((ValueError, TypeError), match="index"):
        kaiming.delta_orthogonal((3, 3, 4, 8), key=K, index=(9,))


def test_overflowing_normal_is_refused_not_returned() -> None:
    # std 3e4 fits float16 (max 65504) but about 3% of N(0, std**2) values exceed it
    with pytest.raises(ValueError, match="overflow float16"):
        kaiming.variance_scaling((64, 64), scale=3e4**2 * 64, dtype=np.float16, seed=0)
    with pytest.raises(ValueError, match="overflow float16"):
        stream.normal((64, 64), K, std=3e4, dtype=np.float16)
    small = stream.normal((64, 64), K, std=1e3, dtype=np.float16)  # max about 4.5e3: fine
    assert np.isfinite(small).all()


# --- the memory check: peak working set against available memory ---------------------------------

CASES = {
    "he_normal f16": lambda: kaiming.he_normal((256, 512), seed=0, dtype=np.float16),
    "he_normal f64": lambda: kaiming.he_normal((256, 512), seed=0),
    "he_truncated_normal f32": lambda: kaiming.he_truncated_normal((256, 512), seed=0, dtype=np.float32),
    "keyed normal f16": lambda: stream.normal((256, 512), K, dtype=np.float16),
    "keyed columns f32": lambda: stream.normal(
        (256, 512), K, index=(slice(None), slice(0, 64)), dtype=np.float32
    ),
    "orthogonal f16": lambda: kaiming.orthogonal((256, 512), seed=0, dtype=np.float16),
    "orthogonal square f32": lambda: kaiming.orthogonal((384, 384), seed=0, dtype=np.float32),
    "sparse f32": lambda: kaiming.sparse((256, 512), 0.3, seed=0, dtype=np.float32),
    "identity f32": lambda: kaiming.identity((256, 512), dtype=np.float32),
    "constant f16": lambda: kaiming.constant((256, 512), 1.0, dtype=np.float16),
}


@pytest.mark.parametrize("name", list(CASES))
def test_peak_estimate_covers_the_measured_peak(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    measured, estimate = peak_and_estimate(CASES[name], monkeypatch)
    result = CASES[name]()
    # NumPy's allocations are traced (plus a few kB of Python objects); LAPACK's workspace is
    # not (hence orthogonal's margin)
    assert measured <= estimate + 16_384, (measured, estimate)
    assert estimate <= 4 * measured + 2 * result.nbytes, (measured, estimate)


def test_memory_check_uses_the_peak_and_the_available_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_checks.MEMORY_ENV, str(10 << 20))  # 10 MiB available
    kaiming.he_normal((512, 1024), seed=0, dtype=np.float16)  # 1 MiB out, 6 MiB peak: fine
    kaiming.constant((512, 1024), 1.0, dtype=np.float32)  # 2 MiB
    with pytest.raises(ValueError, match=r"shape=\(512, 1024\) as float16 needs about 0.0\d+ GiB"):
        kaiming.orthogonal((512, 1024), seed=0, dtype=np.float16)  # 1 MiB out, about 44 MiB peak
    with pytest.raises(ValueError, match="shape"):
        kaiming.sparse((512, 1024), 0.3, seed=0, dtype=np.float32)  # 2 MiB out, about 14 MiB peak
    with pytest.raises(ValueError, match="the probe"):
        kaiming.probe("he", "relu", depth=20, width=512)
    monkeypatch.setenv(_checks.MEMORY_ENV, "lots")
    with pytest.raises(ValueError, match="KAIMING_MEMORY_BYTES"):
        kaiming.orthogonal((512, 1024), seed=0)


def test_available_memory_reads_meminfo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_checks.MEMORY_ENV, raising=False)
    available = _checks.available_memory_bytes()
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        fields = dict(line.split(":", 1) for line in meminfo)
    total = int(fields["MemTotal"].split()[0]) * 1024
    assert 0 < available <= total
