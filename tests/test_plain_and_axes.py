"""kaiming.normal / kaiming.uniform, and fans by axis (in_axis/out_axis/batch_axis) checked
against jax.nn.initializers, computed in the same test."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

import kaiming
from kaiming.stream import key

jax = pytest.importorskip("jax")
jnn = pytest.importorskip("jax.nn.initializers")


# --- fans by axis ---------------------------------------------------------------------------

AXIS_CASES = [
    # shape, in_axis, out_axis, batch_axis, mode (fan_in != fan_out in each, so a wrong mode shows)
    ((32, 16, 3, 3), 1, 0, (), "fan_out"),
    ((4, 24, 40), -2, -1, 0, "fan_avg"),
    ((6, 5, 7, 8), (1, 2), 3, 0, "fan_in"),
    ((2, 3, 10, 12), 0, (2, 3), (), "fan_out"),
]


def _shift(axes: int | tuple[int, ...]) -> tuple[int, ...]:
    """The same axes after a new leading axis is put in front."""
    return tuple(a + 1 if a >= 0 else a for a in (axes if isinstance(axes, tuple) else (axes,)))


@pytest.mark.parametrize(("shape", "in_axis", "out_axis", "batch_axis", "mode"), AXIS_CASES)
def test_fans_by_axis_match_jax_bound(shape, in_axis, out_axis, batch_axis, mode) -> None:  # type: ignore[no-untyped-def]
    # jax's uniform variance scaling draws U(-b, b), b = sqrt(3 * scale / fan); its largest |w| over
    # n >= 720 values is above b * (1 - 1e-2) unless all fall inside: probability 0.99**720 < 1e-3...
    # so draw 30 times as many: n >= 21,600 values in all, false-failure probability < 1e-90.
    big = (30, *shape)  # an extra leading batch axis of repeats: it counts in no fan
    shift = lambda a: tuple(x + 1 if x >= 0 else x for x in (a if isinstance(a, tuple) else (a,)))  # noqa: E731
    jax_big = jnn.variance_scaling(
        2.0,
        mode,
        "uniform",
        in_axis=shift(in_axis),
        out_axis=shift(out_axis),
        batch_axis=(0, *shift(batch_axis)),
    )
    jax_bound = float(np.abs(np.asarray(jax_big(jax.random.key(0), big, np.float32))).max())
    ours = kaiming.variance_scaling(
        shape, 2.0, mode, "uniform", in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis, seed=0
    )
    assert ours.shape == shape
    fan_in, fan_out = kaiming.fans_by_axis(shape, in_axis, out_axis, batch_axis)
    fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    bound = math.sqrt(3 * 2.0 / fan)
    assert bound * (1 - 1e-2) < jax_bound <= bound * (1 + 1e-6)
    assert float(np.abs(ours).max()) <= bound


def test_default_axes_are_the_jax_layout() -> None:
    for shape in [(5, 7), (3, 3, 4, 8), (2, 3, 4, 5, 6)]:
        assert kaiming.fans_by_axis(shape) == kaiming.compute_fans(shape, "jax")
        out, inp, *k = shape
        torch_shape = (out, inp, *k)
        assert kaiming.fans_by_axis(torch_shape, in_axis=1, out_axis=0) == kaiming.compute_fans(
            torch_shape, "torch"
        )


@given(st.lists(st.integers(1, 6), min_size=2, max_size=5), st.randoms(use_true_random=False))
def test_fans_by_axis_are_the_jax_fans_of_the_permuted_shape(dims: list[int], rnd: object) -> None:
    # Name two distinct axes in and out (maybe a batch axis too), move them to (..., in, out):
    # the fans must be compute_fans of that shape with the batch axes dropped.
    shape = tuple(dims)
    axes = list(range(len(shape)))
    rnd.shuffle(axes)  # type: ignore[attr-defined]
    in_axis, out_axis, rest = axes[0], axes[1], axes[2:]
    batch = tuple(rest[:1]) if rest and rnd.random() < 0.5 else ()  # type: ignore[attr-defined]
    kernel = [shape[a] for a in rest if a not in batch]
    expected = kaiming.compute_fans((*kernel, shape[in_axis], shape[out_axis]), "jax")
    negative = in_axis - len(shape)  # negative axes name the same axis
    assert kaiming.fans_by_axis(shape, negative, out_axis, batch) == expected


@pytest.mark.parametrize("name", ["he_normal", "he_uniform", "xavier_uniform", "lecun_normal"])
def test_named_initializers_take_axes(name: str) -> None:
    fn = getattr(kaiming, name)
    shape = (4, 24, 40)
    with_axes = fn(shape, batch_axis=0, key=key(0, "w"))
    with_fans = kaiming.variance_scaling(
        shape,
        kaiming.calculate_gain("relu") ** 2 if name.startswith("he") else 1.0,
        "fan_avg" if name.startswith("xavier") else "fan_in",
        name.split("_", 1)[1],  # type: ignore[arg-type]
        fans=(24, 40),
        key=key(0, "w"),
    )
    np.testing.assert_array_equal(with_axes, with_fans)


def test_axis_errors_name_the_argument() -> None:
    with pytest.raises(ValueError, match=r"in_axis=5 is out of range"):
        kaiming.he_normal((3, 4), in_axis=5, seed=0)
    with pytest.raises(ValueError, match=r"out_axis=0 names axis 0 .* already named by in_axis=0"):
        kaiming.variance_scaling((3, 4), in_axis=0, out_axis=0, seed=0)
    with pytest.raises(TypeError, match=r"batch_axis must be an int or a sequence of ints"):
        kaiming.variance_scaling((3, 4, 5), batch_axis="0", seed=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"either fans=.* or in_axis"):
        kaiming.variance_scaling((3, 4), fans=(3, 4), in_axis=0, seed=0)
    with pytest.raises(ValueError, match=r"names an axis twice"):
        kaiming.fans_by_axis((3, 4, 5), batch_axis=(0, -3))


# --- normal / uniform -----------------------------------------------------------------------

# n = 10**6 draws: the s.e. of the mean is std/1000 and of the std 7.1e-4 std; bands of 10 s.e.
# fail by chance with probability < 1e-22.
N = (1000, 1000)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normal_moments_and_ks(dtype: type) -> None:
    w = kaiming.normal(N, mean=-3.0, std=0.25, seed=1, dtype=dtype)
    assert w.dtype == dtype
    assert abs(w.mean() + 3.0) < 10 * 0.25 / 1000
    assert w.std() == pytest.approx(0.25, rel=10 * 7.1e-4)
    # KS on 10**4 values: a correct sampler fails p < 1e-6 once in a million runs.
    assert stats.kstest(w.ravel()[:10_000], stats.norm(-3.0, 0.25).cdf).pvalue > 1e-6


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_uniform_range_moments_and_ks(dtype: type) -> None:
    u = kaiming.uniform(N, low=-1.0, high=3.0, seed=2, dtype=dtype)
    assert u.min() >= -1.0 and u.max() <= 3.0
    assert abs(u.mean() - 1.0) < 10 * (4 / math.sqrt(12)) / 1000
    assert stats.kstest(u.ravel()[:10_000], stats.uniform(-1.0, 4.0).cdf).pvalue > 1e-6
    keyed = kaiming.uniform(N, low=-1.0, high=3.0, key=key(0, "u"), dtype=dtype)
    assert keyed.min() >= -1.0 and keyed.max() <= 3.0
    assert stats.kstest(keyed.ravel()[:10_000], stats.uniform(-1.0, 4.0).cdf).pvalue > 1e-6


def test_jax_normal_has_the_same_std() -> None:
    # jax.nn.initializers.normal(stddev) draws N(0, stddev**2): the same law as normal(0, stddev).
    jax_w = np.asarray(jnn.normal(0.3)(jax.random.key(0), N, np.float32))
    ours = kaiming.normal(N, std=0.3, seed=0, dtype=np.float32)
    assert ours.std() == pytest.approx(jax_w.std(), rel=20 * 7.1e-4)


def test_seeded_keyed_and_index() -> None:
    a = kaiming.normal((5, 6), 1.0, 2.0, seed=3)
    np.testing.assert_array_equal(a, kaiming.normal((5, 6), 1.0, 2.0, rng=np.random.default_rng(3)))
    np.testing.assert_array_equal(a, 1.0 + 2.0 * np.random.default_rng(3).standard_normal((5, 6)))
    k = key(7, "layer.bias")
    full = kaiming.normal((5, 6), 1.0, 2.0, key=k)
    np.testing.assert_array_equal(full, 1.0 + kaiming.stream.normal((5, 6), k, std=2.0))
    np.testing.assert_array_equal(
        kaiming.normal((5, 6), 1.0, 2.0, key=k, index=(slice(1, 4), 2)), full[1:4, 2]
    )
    u = kaiming.uniform((5, 6), 2.0, 6.0, key=k)
    np.testing.assert_array_equal(u, 4.0 + kaiming.stream.uniform((5, 6), k, limit=2.0))
    np.testing.assert_array_equal(kaiming.uniform((5, 6), 2.0, 6.0, key=k, index=slice(2, None)), u[2:])


def test_plain_errors() -> None:
    with pytest.raises(ValueError, match=r"std must be a finite number >= 0, got -1.0"):
        kaiming.normal(3, std=-1.0, seed=0)
    with pytest.raises(ValueError, match=r"low must be below high, got low=1.0, high=1.0"):
        kaiming.uniform(3, 1.0, 1.0, seed=0)
    with pytest.raises(ValueError, match=r"mean must be a finite number"):
        kaiming.normal(3, mean=math.inf, seed=0)
    with pytest.raises(ValueError, match=r"overflow float16"):
        kaiming.normal(3, std=1e6, seed=0, dtype=np.float16)
    with pytest.raises(ValueError, match=r"index= selects part of a keyed tensor"):
        kaiming.uniform(3, index=slice(1), seed=0)
    with pytest.raises(ValueError, match=r"either key .* or seed"):
        kaiming.normal(3, key=key(0, "x"), seed=0)
