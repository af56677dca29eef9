"""variance_scaling and the named initializers: statistics, torch parity, seeds, dtypes, errors."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

import kaiming

# Statistical bands. With n >= 1e6 normal samples the relative s.e. of the std estimate is
# <= 1/sqrt(2n) = 7.1e-4 (about 1.2e-3 for the truncated/uniform cases' fourth moments), so a
# 1.5% band is >= 12 s.e.: false-failure odds below 1e-30. A wrong factor of sqrt(2) (41%) or
# 2 is far outside.
N_BIG = (1000, 1000)
REL = 0.015


def _std_of(fan_in: int, fan_out: int, scale: float, mode: str) -> float:
    fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    return math.sqrt(scale / fan)


@pytest.mark.parametrize("distribution", kaiming.DISTRIBUTIONS)
@pytest.mark.parametrize("mode", kaiming.MODES)
def test_variance_is_scale_over_fan(distribution: kaiming.Distribution, mode: kaiming.Mode) -> None:
    shape = (500, 2000)  # fan_in != fan_out, so a wrong mode shows
    w = kaiming.variance_scaling(shape, 2.0, mode, distribution, seed=0)
    assert w.std() == pytest.approx(_std_of(500, 2000, 2.0, mode), rel=REL)
    assert abs(w.mean()) < 12 * w.std() / 1000


def test_truncated_normal_correction_derived_with_scipy() -> None:
    assert stats.truncnorm(-2, 2).std() == pytest.approx(kaiming.TRUNCATED_NORMAL_STD, rel=1e-14)


def test_truncated_normal_stays_inside_two_sigma_of_the_underlying_normal() -> None:
    w = kaiming.variance_scaling(N_BIG, 1.0, "fan_in", "truncated_normal", seed=1)
    sigma = math.sqrt(1 / 1000) / kaiming.TRUNCATED_NORMAL_STD
    assert np.abs(w).max() <= 2 * sigma
    # The shape is the truncated normal's: KS against scipy's truncnorm (p > 1e-4 fails by
    # chance with probability 1e-4).
    sample = w.ravel()[:200_000] / sigma
    assert stats.kstest(sample, stats.truncnorm(-2, 2).cdf).pvalue > 1e-4


def test_normal_is_normal_and_uniform_is_uniform() -> None:
    w = kaiming.he_normal((400, 500), seed=2).ravel()
    assert stats.kstest(w / math.sqrt(2 / 400), "norm").pvalue > 1e-4
    u = kaiming.he_uniform((400, 500), seed=2).ravel()
    bound = math.sqrt(6 / 400)
    assert stats.kstest(u, stats.uniform(-bound, 2 * bound).cdf).pvalue > 1e-4


# --- parity with torch.nn.init, both sides computed here -------------------------------------

TORCH_CASES: list[
    tuple[str, Callable[..., np.ndarray], Callable[[torch.Tensor], object], dict[str, object]]
] = [
    ("kaiming_normal", kaiming.he_normal, lambda t: torch.nn.init.kaiming_normal_(t), {}),
    (
        "kaiming_normal_fan_out",
        kaiming.he_normal,
        lambda t: torch.nn.init.kaiming_normal_(t, mode="fan_out"),
        {"mode": "fan_out"},
    ),
    (
        "kaiming_normal_leaky",
        kaiming.he_normal,
        lambda t: torch.nn.init.kaiming_normal_(t, a=0.3),
        {"a": 0.3},
    ),
    (
        "kaiming_normal_tanh",
        kaiming.he_normal,
        lambda t: torch.nn.init.kaiming_normal_(t, nonlinearity="tanh"),
        {"nonlinearity": "tanh"},
    ),
    ("kaiming_uniform", kaiming.he_uniform, lambda t: torch.nn.init.kaiming_uniform_(t), {}),
    (
        "kaiming_uniform_sqrt5",
        kaiming.he_uniform,
        lambda t: torch.nn.init.kaiming_uniform_(t, a=math.sqrt(5)),
        {"a": math.sqrt(5)},
    ),
    ("xavier_normal", kaiming.xavier_normal, lambda t: torch.nn.init.xavier_normal_(t), {}),
    (
        "xavier_normal_gain",
        kaiming.xavier_normal,
        lambda t: torch.nn.init.xavier_normal_(t, gain=5 / 3),
        {"gain": 5 / 3},
    ),
    ("xavier_uniform", kaiming.xavier_uniform, lambda t: torch.nn.init.xavier_uniform_(t), {}),
]


@pytest.mark.parametrize(("name", "ours", "theirs", "kwargs"), TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
@pytest.mark.parametrize("shape", [(300, 3000), (64, 32, 5, 5)])
def test_std_and_bound_match_torch(
    name: str,
    ours: Callable[..., np.ndarray],
    theirs: Callable[[torch.Tensor], object],
    kwargs: dict[str, object],
    shape: tuple[int, ...],
) -> None:
    torch_w = torch.empty(shape, dtype=torch.float64)
    theirs(torch_w)
    ref = torch_w.numpy()
    w = ours(shape, layout="torch", seed=0, **kwargs)
    assert w.shape == ref.shape
    assert w.std() == pytest.approx(ref.std(), rel=2 * REL)
    if "uniform" in name:
        # Both maxima lie within 0.1% of the common bound (odds of missing: (1-1e-3)^1e6).
        assert np.abs(w).max() == pytest.approx(np.abs(ref).max(), rel=2e-3)


def test_truncated_he_matches_jax_style_definition_via_torch_trunc_normal() -> None:
    # torch.nn.init.trunc_normal_(std=s/0.8796, a=-2s', b=2s') is the same distribution.
    shape = (1000, 1000)
    std = math.sqrt(2 / 1000)
    sigma = std / kaiming.TRUNCATED_NORMAL_STD
    ref = torch.nn.init.trunc_normal_(
        torch.empty(shape, dtype=torch.float64), std=sigma, a=-2 * sigma, b=2 * sigma
    )
    w = kaiming.he_truncated_normal(shape, layout="torch", seed=0)
    assert w.std() == pytest.approx(float(ref.std()), rel=2 * REL)
    assert w.std() == pytest.approx(std, rel=REL)


# --- seeds, rng, dtypes -----------------------------------------------------------------------

INITS = [
    getattr(kaiming, n)
    for n in (
        "he_normal",
        "he_uniform",
        "he_truncated_normal",
        "xavier_normal",
        "xavier_uniform",
        "lecun_normal",
        "lecun_uniform",
        "lecun_truncated_normal",
        "xavier_truncated_normal",
        "orthogonal",
    )
]


@pytest.mark.parametrize("init", INITS, ids=lambda f: f.__name__)
def test_same_seed_same_values_and_rng_stream_continues(init: Callable[..., np.ndarray]) -> None:
    a = init((20, 30), seed=5)
    assert np.array_equal(a, init((20, 30), seed=5))
    assert not np.array_equal(a, init((20, 30), seed=6))
    gen = np.random.default_rng(5)
    first = init((20, 30), rng=gen)
    second = init((20, 30), rng=gen)
    assert np.array_equal(first, a)
    assert not np.array_equal(first, second)


@pytest.mark.parametrize("init", INITS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, "float32"])
def test_dtype_is_kept_and_values_are_finite(init: Callable[..., np.ndarray], dtype: object) -> None:
    w = init((64, 48), seed=0, dtype=dtype)
    assert w.dtype == np.dtype(dtype)  # type: ignore[arg-type]
    assert np.isfinite(w).all()


def test_float32_values_have_float32_statistics() -> None:
    w = kaiming.he_normal(N_BIG, seed=0, dtype=np.float32)
    assert w.std(dtype=np.float64) == pytest.approx(math.sqrt(2 / 1000), rel=REL)


@given(
    shape=st.lists(st.integers(1, 6), min_size=2, max_size=5).map(tuple),
    layout=st.sampled_from(kaiming.LAYOUTS),
    dtype=st.sampled_from([np.float16, np.float32, np.float64]),
    init=st.sampled_from(INITS),
)
def test_any_shape_layout_dtype(
    shape: tuple[int, ...], layout: kaiming.Layout, dtype: type, init: Callable[..., np.ndarray]
) -> None:
    w = init(shape, layout=layout, seed=0, dtype=dtype)
    assert w.shape == shape and w.dtype == dtype and np.isfinite(w).all()


def test_fans_override_allows_bias_vectors() -> None:
    b = kaiming.variance_scaling(10_000, 1.0, "fan_in", "uniform", fans=(100, 50), seed=0)
    assert b.shape == (10_000,)
    assert np.abs(b).max() <= math.sqrt(3 / 100)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        kaiming.variance_scaling(10, 1.0)
    with pytest.raises(ValueError, match="fans must be a pair"):
        kaiming.variance_scaling(10, 1.0, fans=(3, 4, 5))  # type: ignore[arg-type]


def test_gain_and_a_rules() -> None:
    assert kaiming.he_normal((2000, 500), a=0.5, seed=0).std() == pytest.approx(
        math.sqrt(2 / 1.25 / 2000), rel=REL
    )
    assert kaiming.xavier_uniform((1000, 1000), gain=2.0, seed=0).std() == pytest.approx(
        2 * math.sqrt(1 / 1000), rel=REL
    )
    assert kaiming.lecun_normal((1000, 1000), seed=0).std() == pytest.approx(math.sqrt(1 / 1000), rel=REL)
    assert kaiming.kaiming_normal is kaiming.he_normal and kaiming.glorot_uniform is kaiming.xavier_uniform


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: kaiming.variance_scaling((3, 3), -1.0),
            ValueError,
            "scale must be a finite number >= 0, got -1.0",
        ),
        (lambda: kaiming.variance_scaling((3, 3), float("nan")), ValueError, "scale must be a finite number"),
        (
            lambda: kaiming.variance_scaling((3, 3), mode="fan_max"),
            ValueError,
            "Invalid mode 'fan_max'; allowed: 'fan_in', 'fan_out', 'fan_avg'",
        ),
        (
            lambda: kaiming.variance_scaling((3, 3), distribution="gauss"),
            ValueError,
            "Invalid distribution 'gauss'; allowed: 'normal', 'truncated_normal', 'uniform'",
        ),
        (lambda: kaiming.he_normal((3, 3), mode="fan_avg"), ValueError, "Invalid mode 'fan_avg'"),
        (lambda: kaiming.he_normal((3, 3), nonlinearity="relu6"), ValueError, "Invalid nonlinearity 'relu6'"),
        (lambda: kaiming.he_normal((3, 3), a=0.2, nonlinearity="tanh"), ValueError, "only used with"),
        (lambda: kaiming.he_normal((3, 3), a=-0.2), ValueError, "a must be a finite number >= 0"),
        (
            lambda: kaiming.xavier_normal((3, 3), gain=float("nan")),
            ValueError,
            "gain must be a finite number",
        ),
        (lambda: kaiming.xavier_normal((3, 3), gain="1"), TypeError, "gain must be a real number"),
        (lambda: kaiming.he_normal((3, 3), dtype=np.int32), ValueError, "dtype must be one of float16"),
        (lambda: kaiming.he_normal((3, 3), dtype="nonsense"), TypeError, "dtype must be a NumPy float dtype"),
        (
            lambda: kaiming.he_normal((3, 3), seed=1, rng=np.random.default_rng()),
            ValueError,
            "either seed or rng",
        ),
        (
            lambda: kaiming.he_normal((3, 3), rng=np.random.RandomState(0)),
            TypeError,
            "numpy.random.Generator",
        ),
        (lambda: kaiming.he_normal((3,)), ValueError, "at least 2 dimensions"),
        (lambda: kaiming.he_normal((3, 0)), ValueError, r"shape\[1\] must be a positive integer, got 0"),
        (lambda: kaiming.he_normal((2**31, 2**31)), ValueError, "GiB"),
        (lambda: kaiming.he_normal((3, 3), layout="tf"), ValueError, "Invalid layout 'tf'"),
    ],
)
def test_bad_input_gets_a_clear_error(call: Callable[[], object], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        call()


@given(bad=st.one_of(st.integers(max_value=0), st.floats(allow_nan=True), st.text(max_size=3), st.none()))
def test_any_non_positive_or_non_integer_dim_is_rejected(bad: object) -> None:
    with pytest.raises((TypeError, ValueError), match=r"shape\[0\]"):
        kaiming.he_normal((bad, 4))  # type: ignore[arg-type]


def test_variance_scaling_defaults_are_scale_1_fan_in_normal() -> None:
    w = kaiming.variance_scaling((1000, 300), seed=0)
    assert np.array_equal(w, kaiming.variance_scaling((1000, 300), 1.0, "fan_in", "normal", seed=0))
    assert w.std() == pytest.approx(math.sqrt(1 / 1000), rel=0.01)  # 300,000 draws: sd 0.13%


def test_variance_scaling_seed_and_rng_are_the_generator_draws() -> None:
    """float64 normal draws are ``default_rng(seed).standard_normal(shape) * std``, from ``seed``
    or from the ``rng`` given."""
    want = np.random.default_rng(3).standard_normal((40, 20)) * math.sqrt(2.0 / 40)
    assert np.array_equal(kaiming.variance_scaling((40, 20), 2.0, seed=3), want)
    assert np.array_equal(kaiming.variance_scaling((40, 20), 2.0, rng=np.random.default_rng(3)), want)


def test_variance_scaling_named_axes_give_jax_fans() -> None:
    """shape (400, 3, 50) with in_axis=-1, out_axis=0, batch_axis=1: no receptive field, so
    fan_in = 50 and fan_out = 400 (jax.nn.initializers' rule); fan_avg = 225."""
    w = kaiming.variance_scaling((400, 3, 50), mode="fan_avg", in_axis=-1, out_axis=0, batch_axis=1, seed=0)
    assert w.std() == pytest.approx(math.sqrt(1 / 225), rel=0.015)  # 60,000 draws: sd 0.3%


def test_float32_draws_are_made_in_float32() -> None:
    """float32/float16 results are drawn in float32 (``standard_normal``/``random`` with
    ``dtype=float32``) and scaled there; float64 in float64."""
    std = math.sqrt(1 / 30)
    normal = np.random.default_rng(5).standard_normal((30, 8), dtype=np.float32) * np.float32(std)
    got = kaiming.variance_scaling((30, 8), seed=5, dtype=np.float32)
    np.testing.assert_allclose(got, normal, rtol=1e-6)
    half = kaiming.variance_scaling((30, 8), seed=5, dtype=np.float16)
    np.testing.assert_array_equal(half, normal.astype(np.float16))
    limit = math.sqrt(3) * std
    u = np.random.default_rng(5).random((30, 8), dtype=np.float32)
    got_u = kaiming.variance_scaling((30, 8), distribution="uniform", seed=5, dtype=np.float32)
    np.testing.assert_allclose(got_u, u * np.float32(2 * limit) - np.float32(limit), rtol=0, atol=1e-6)
    t = kaiming.variance_scaling((30, 8), distribution="truncated_normal", seed=5, dtype=np.float32)
    first = np.random.default_rng(5).standard_normal((30, 8), dtype=np.float32)
    inside = np.abs(first) <= 2  # values drawn inside the truncation are kept where they are
    np.testing.assert_allclose(t[inside], first[inside] * np.float32(std / 0.8796256610342398), rtol=1e-5)


@pytest.mark.parametrize(
    ("distribution", "dtype", "per_element"),
    [
        ("normal", np.float64, 8),  # the float64 work array is the result
        ("normal", np.float32, 4),
        ("normal", np.float16, 4 + 2),  # float32 work array and the float16 cast
        ("uniform", np.float32, 4),
        ("truncated_normal", np.float64, 2 * 8 + 2),  # values, their abs, a bool mask
        ("truncated_normal", np.float32, 2 * 4 + 2),
        ("truncated_normal", np.float16, 2 * 4 + 2 + 2),
    ],
)
def test_peak_memory_per_value(
    monkeypatch: pytest.MonkeyPatch, distribution: str, dtype: type, per_element: int
) -> None:
    name = np.dtype(dtype).name
    monkeypatch.setenv("KAIMING_MEMORY_BYTES", str(per_element * 30 * 20))
    w = kaiming.variance_scaling((30, 20), distribution=distribution, seed=0, dtype=dtype)  # type: ignore[arg-type]
    assert w.shape == (30, 20)
    monkeypatch.setenv("KAIMING_MEMORY_BYTES", str(per_element * 30 * 20 - 1))
    with pytest.raises(ValueError, match=rf"^shape=\(30, 20\) as {name} needs about"):
        kaiming.variance_scaling((30, 20), distribution=distribution, seed=0, dtype=dtype)  # type: ignore[arg-type]


def test_values_must_fit_the_dtype_per_distribution() -> None:
    """float16 (largest 65504): the NumPy path's uniform scales U(0, 1) by 2 * limit, so limit
    40000 is refused there but drawn on the stream; the truncated normal reaches 2 s; a normal's
    std itself must fit."""
    from kaiming.stream import key

    scale = 40000.0**2 / 3  # uniform limit sqrt(3 * scale) = 40000
    with pytest.raises(
        ValueError, match=r"^scale=5\.33333e\+08 gives values of magnitude up to 8e\+04, beyond"
    ):
        kaiming.variance_scaling((4, 4), scale, distribution="uniform", fans=(1, 1), seed=0, dtype=np.float16)
    w = kaiming.variance_scaling(
        (4, 4), scale, distribution="uniform", fans=(1, 1), key=key(0, "w"), dtype=np.float16
    )
    assert np.isfinite(w).all() and np.abs(w).max() <= 40000
    s = 30000.0 * 0.8796256610342398  # truncated: sampler scale 30000, reach 60000 fits
    assert np.isfinite(
        kaiming.variance_scaling(
            (4, 4), s * s, distribution="truncated_normal", fans=(1, 1), seed=0, dtype=np.float16
        )
    ).all()
    with pytest.raises(ValueError, match=r"gives values of magnitude up to 7\.2e\+04"):
        s2 = 36000.0 * 0.8796256610342398
        kaiming.variance_scaling(
            (4, 4), s2 * s2, distribution="truncated_normal", fans=(1, 1), seed=0, dtype=np.float16
        )
    with pytest.raises(ValueError, match=r"gives values of magnitude up to 7e\+04"):
        kaiming.variance_scaling((4, 4), 70000.0**2, fans=(1, 1), seed=0, dtype=np.float16)


@pytest.mark.parametrize(
    ("nonlinearity", "a", "gain"),
    [
        ("leaky_relu", 0.3, math.sqrt(2 / 1.09)),
        ("prelu", 0.3, math.sqrt(2 / 1.09)),
        ("leaky_relu", 1.0, 1.0),
        ("tanh", 0.0, 5 / 3),
    ],
)
@pytest.mark.parametrize("name", ["he_normal", "he_uniform", "he_truncated_normal"])
def test_he_gain_follows_nonlinearity_and_slope(name: str, nonlinearity: str, a: float, gain: float) -> None:
    """std = gain / sqrt(fan_in) with torch's gains: sqrt(2 / (1 + a^2)) for leaky ReLU/PReLU, 5/3
    for tanh (150,000 draws: the std estimate's sd is 0.2%)."""
    w = getattr(kaiming, name)((3000, 50), nonlinearity=nonlinearity, a=a, seed=0)
    assert w.std() == pytest.approx(gain / math.sqrt(3000), rel=0.012)
