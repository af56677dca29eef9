"""Tensor initializers of ``kaiming.torch``: parity with ``torch.nn.init``, randomness, dtypes, errors."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import kaiming.torch as kt
from kaiming import stream
from kaiming.gains import calculate_gain

SHAPE = (256, 64, 3, 3)  # a conv kernel: fan_in = 576, fan_out = 2304; 147,456 values
FAN_IN, FAN_OUT = 64 * 9, 256 * 9

# (ours, torch's, kwargs, expected std). The std of 147k samples has a relative standard error
# of about 1/sqrt(2 n) = 0.18% (less for uniform); the 2% tolerance is > 10 standard errors, so a
# false failure has odds below 1e-20, while a wrong factor sqrt(2) (41%) or a wrong fan fails.
PARITY: list[tuple[str, Callable[..., Any], Callable[..., Any], dict[str, Any], float]] = [
    ("kaiming_normal", kt.kaiming_normal_, torch.nn.init.kaiming_normal_, {}, math.sqrt(2 / FAN_IN)),
    (
        "kaiming_normal fan_out",
        kt.kaiming_normal_,
        torch.nn.init.kaiming_normal_,
        {"mode": "fan_out", "nonlinearity": "relu"},
        math.sqrt(2 / FAN_OUT),
    ),
    (
        "kaiming_normal leaky 0.2",
        kt.kaiming_normal_,
        torch.nn.init.kaiming_normal_,
        {"a": 0.2},
        math.sqrt(2 / (1.04 * FAN_IN)),
    ),
    ("kaiming_uniform", kt.kaiming_uniform_, torch.nn.init.kaiming_uniform_, {}, math.sqrt(2 / FAN_IN)),
    (
        "kaiming_uniform sqrt5",
        kt.kaiming_uniform_,
        torch.nn.init.kaiming_uniform_,
        {"a": math.sqrt(5)},
        math.sqrt(1 / (3 * FAN_IN)),
    ),
    (
        "xavier_normal tanh",
        kt.xavier_normal_,
        torch.nn.init.xavier_normal_,
        {"gain": calculate_gain("tanh")},
        5 / 3 * math.sqrt(2 / (FAN_IN + FAN_OUT)),
    ),
    (
        "xavier_uniform",
        kt.xavier_uniform_,
        torch.nn.init.xavier_uniform_,
        {},
        math.sqrt(2 / (FAN_IN + FAN_OUT)),
    ),
    ("normal", kt.normal_, torch.nn.init.normal_, {"mean": 0.0, "std": 0.3}, 0.3),
    ("uniform", kt.uniform_, torch.nn.init.uniform_, {"a": -0.5, "b": 0.5}, 1 / math.sqrt(12)),
    ("trunc_normal", kt.trunc_normal_, torch.nn.init.trunc_normal_, {"std": 1.0, "a": -1.0, "b": 1.0}, 0.0),
    ("orthogonal", kt.orthogonal_, torch.nn.init.orthogonal_, {"gain": 2.0}, 2.0 / math.sqrt(FAN_IN)),
]


@pytest.mark.parametrize(
    ("label", "ours", "theirs", "kwargs", "expected"), PARITY, ids=[p[0] for p in PARITY]
)
def test_parity_with_torch_nn_init(
    label: str, ours: Callable[..., Any], theirs: Callable[..., Any], kwargs: dict[str, Any], expected: float
) -> None:
    shape = (256, FAN_IN) if label == "orthogonal" else SHAPE  # orthogonal: element std 1/sqrt(max)
    mine = ours(torch.empty(shape), **kwargs, seed=1).flatten()
    gen = torch.Generator().manual_seed(2)
    ref = theirs(torch.empty(shape), **kwargs, generator=gen).flatten()
    assert float(mine.mean()) == pytest.approx(float(ref.mean()), abs=0.05 * float(ref.std()))
    assert float(mine.std()) == pytest.approx(float(ref.std()), rel=0.02)
    if expected:
        assert float(mine.std()) == pytest.approx(expected, rel=0.02)
    # Same distribution shape (normal vs uniform vs truncated): two-sample KS on 20k values each;
    # a false failure at p < 1e-6 has odds 1e-6.
    assert stats.ks_2samp(mine[:20000].numpy(), ref[:20000].numpy()).pvalue > 1e-6
    assert float(mine.abs().max()) <= float(ref.abs().max()) * 1.5 + 1e-6


def test_trunc_normal_bounds_and_mean() -> None:
    w = kt.trunc_normal_(torch.empty(100_000), mean=1.0, std=0.5, a=0.5, b=2.0, seed=0)
    assert float(w.min()) >= 0.5 and float(w.max()) <= 2.0
    ref = torch.nn.init.trunc_normal_(
        torch.empty(100_000), mean=1.0, std=0.5, a=0.5, b=2.0, generator=torch.Generator().manual_seed(0)
    )
    # standard error of the mean ~ 0.4/sqrt(1e5) ~ 0.0013; 0.01 is > 5 standard errors of the difference
    assert float(w.mean()) == pytest.approx(float(ref.mean()), abs=0.01)


@pytest.mark.parametrize("shape", [(40, 100), (100, 40), (16, 8, 3, 3)])
def test_orthogonal_is_orthogonal(shape: tuple[int, ...]) -> None:
    w = kt.orthogonal_(torch.empty(shape, dtype=torch.float64), gain=1.5, seed=3)
    m = w.reshape(shape[0], -1)
    gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    assert torch.allclose(gram, 2.25 * torch.eye(gram.shape[0], dtype=torch.float64), atol=1e-10)


def test_exact_structured_inits_match_torch() -> None:
    assert torch.equal(kt.eye_(torch.empty(3, 5)), torch.nn.init.eye_(torch.empty(3, 5)))
    for groups in (1, 2):
        assert torch.equal(
            kt.dirac_(torch.empty(8, 4, 3, 3), groups=groups),
            torch.nn.init.dirac_(torch.empty(8, 4, 3, 3), groups=groups),
        )
    assert torch.equal(kt.ones_(torch.empty(4)), torch.ones(4))
    assert torch.equal(kt.zeros_(torch.empty(2, 2)), torch.zeros(2, 2))
    assert torch.equal(kt.constant_(torch.empty(3), 0.25), torch.full((3,), 0.25))


def test_sparse_zeroes_the_right_count_per_column() -> None:
    w = kt.sparse_(torch.empty(50, 30), sparsity=0.1, std=0.02, seed=0)
    ref = torch.nn.init.sparse_(torch.empty(50, 30), sparsity=0.1, std=0.02)
    assert (w == 0).sum(dim=0).tolist() == (ref == 0).sum(dim=0).tolist() == [5] * 30
    # 1350 non-zero values: std's standard error ~2%, 15% tolerance is > 7 standard errors
    assert float(w[w != 0].std()) == pytest.approx(0.02, rel=0.15)


def test_delta_orthogonal_centre_is_orthogonal() -> None:
    w = kt.delta_orthogonal_(torch.empty(16, 8, 3, 3, 3), gain=2.0, seed=0)
    centre = w[:, :, 1, 1, 1]
    assert torch.allclose(centre.T @ centre, 4 * torch.eye(8), atol=1e-4)
    assert float(w.abs().sum()) == pytest.approx(float(centre.abs().sum()))


# ---------------------------------------------------------------------------------------------
# randomness


RANDOM_INITS: list[Callable[..., Any]] = [
    kt.kaiming_normal_,
    kt.kaiming_uniform_,
    kt.he_truncated_normal_,
    kt.xavier_normal_,
    kt.xavier_uniform_,
    kt.xavier_truncated_normal_,
    kt.lecun_normal_,
    kt.lecun_uniform_,
    kt.lecun_truncated_normal_,
    kt.orthogonal_,
    kt.normal_,
    kt.uniform_,
    kt.trunc_normal_,
]


@pytest.mark.parametrize("init", RANDOM_INITS, ids=lambda f: f.__name__)
def test_seed_semantics_and_no_global_rng(init: Callable[..., Any]) -> None:
    state = torch.get_rng_state()
    a = init(torch.empty(20, 30), seed=5)
    b = init(torch.empty(20, 30), seed=5)
    c = init(torch.empty(20, 30), seed=6)
    fresh1, fresh2 = init(torch.empty(20, 30)), init(torch.empty(20, 30))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert not torch.equal(fresh1, fresh2)  # no seed: fresh entropy each call
    assert torch.equal(torch.get_rng_state(), state)  # torch's global RNG neither read nor advanced
    gen = torch.Generator().manual_seed(5)
    first, second = init(torch.empty(20, 30), generator=gen), init(torch.empty(20, 30), generator=gen)
    assert torch.equal(first, a)  # seed=5 is the same stream as a generator seeded with 5
    assert not torch.equal(first, second)  # a generator is advanced, not reset


def test_sparse_and_delta_orthogonal_seeded() -> None:
    assert torch.equal(kt.sparse_(torch.empty(9, 4), 0.5, seed=1), kt.sparse_(torch.empty(9, 4), 0.5, seed=1))
    assert torch.equal(
        kt.delta_orthogonal_(torch.empty(4, 4, 3), seed=1), kt.delta_orthogonal_(torch.empty(4, 4, 3), seed=1)
    )


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
@pytest.mark.parametrize("init", RANDOM_INITS, ids=lambda f: f.__name__)
def test_dtype_kept_and_values_are_rounded_float32_draws(
    init: Callable[..., Any], dtype: torch.dtype
) -> None:
    w = init(torch.empty(12, 16, dtype=dtype), seed=9)
    assert w.dtype == dtype and w.device.type == "cpu"
    assert bool(torch.isfinite(w).all())
    if dtype != torch.float64:
        expected = init(torch.empty(12, 16), seed=9).to(dtype)
        moved = w != expected
        # truncated draws: a float32 value that rounds onto a bound (1.9964 -> 2.0 in bfloat16) is
        # moved one step inside it, as no value may be on a bound; every other value is equal
        assert int(moved.sum()) <= 2 and bool((w[moved].abs() < expected[moved].abs()).all())
        if "trunc" not in init.__name__:
            assert not bool(moved.any())


def test_parameter_with_grad_is_filled_without_autograd_history() -> None:
    layer = torch.nn.Linear(30, 20)
    out = kt.kaiming_normal_(layer.weight, seed=0)
    assert out is layer.weight and out.is_leaf and out.grad_fn is None and out.requires_grad
    assert float(layer.weight.detach().std()) > 0


def test_zero_element_tensor_is_a_warned_no_op() -> None:
    with pytest.warns(UserWarning, match="zero-element"):
        assert kt.kaiming_normal_(torch.empty(0, 4), seed=0).shape == (0, 4)


@settings(max_examples=25, deadline=None)
@given(
    shape=st.lists(st.integers(1, 6), min_size=2, max_size=5).map(tuple),
    index=st.integers(0, len(RANDOM_INITS) - 1),
    seed=st.integers(0, 2**64 - 1),
)
def test_any_shape_keeps_shape_and_is_finite(shape: tuple[int, ...], index: int, seed: int) -> None:
    w = RANDOM_INITS[index](torch.empty(shape), seed=seed)
    assert tuple(w.shape) == shape and bool(torch.isfinite(w).all())


# ---------------------------------------------------------------------------------------------
# errors


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: kt.kaiming_normal_(torch.empty(3, 3, device="meta")), ValueError, "meta"),
        (lambda: kt.normal_(torch.empty(3, device="meta")), ValueError, "meta"),
        (lambda: kt.kaiming_normal_(torch.zeros(3, 3, dtype=torch.int64)), TypeError, "floating dtype"),
        (lambda: kt.zeros_(torch.zeros(3, dtype=torch.bool)), TypeError, "floating dtype"),
        (lambda: kt.kaiming_normal_(torch.empty(5)), ValueError, "at least 2 dimensions"),
        (lambda: kt.xavier_uniform_(torch.empty(5)), ValueError, "at least 2 dimensions"),
        (lambda: kt.orthogonal_(torch.empty(5)), ValueError, "at least 2 dimensions"),
        (lambda: kt.kaiming_normal_(torch.empty(3, 3), mode="fan_avg"), ValueError, "mode"),
        (lambda: kt.kaiming_normal_(torch.empty(3, 3), nonlinearity="rleu"), ValueError, "nonlinearity"),
        (lambda: kt.kaiming_normal_(torch.empty(3, 3), a=0.1, nonlinearity="tanh"), ValueError, "a"),
        (lambda: kt.variance_scaling_(torch.empty(3, 3), 1.0, "fan_in", "gauss"), ValueError, "distribution"),
        (lambda: kt.variance_scaling_(torch.empty(3, 3), -1.0), ValueError, "scale"),
        (
            lambda: kt.normal_(torch.empty(3), generator=torch.Generator(), seed=1),
            ValueError,
            "either generator or seed",
        ),
        (lambda: kt.normal_(torch.empty(3), generator=1), TypeError, "torch.Generator"),  # type: ignore[arg-type]
        (lambda: kt.normal_(torch.empty(3), seed=-1), ValueError, "seed"),
        (lambda: kt.normal_(torch.empty(3), seed=1.5), TypeError, "seed"),  # type: ignore[arg-type]
        (lambda: kt.normal_([1.0, 2.0]), TypeError, "torch.Tensor"),  # type: ignore[arg-type]
        (lambda: kt.normal_(torch.empty(3), std=-1.0), ValueError, "std"),
        (lambda: kt.uniform_(torch.empty(3), 1.0, 0.0), ValueError, "a <= b"),
        (lambda: kt.trunc_normal_(torch.empty(3), a=1.0, b=1.0), ValueError, "a < b"),
        (lambda: kt.sparse_(torch.empty(3, 3, 3), 0.5), ValueError, "2-D"),
        (lambda: kt.sparse_(torch.empty(3, 3), 1.0), ValueError, "sparsity"),
        (lambda: kt.delta_orthogonal_(torch.empty(4, 8, 3)), ValueError, "in <= out"),
        (lambda: kt.eye_(torch.empty(2, 2, 2)), ValueError, "2-D"),
    ],
)
def test_bad_input_raises_a_clear_error(call: Callable[[], Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        call()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_tensor_stays_on_its_device() -> None:
    w = kt.kaiming_normal_(torch.empty(512, 256, device="cuda", dtype=torch.bfloat16), seed=0)
    assert w.device.type == "cuda" and w.dtype == torch.bfloat16
    assert float(w.float().std()) == pytest.approx(math.sqrt(2 / 256), rel=0.05)
    assert torch.equal(
        w, kt.kaiming_normal_(torch.empty(512, 256, device="cuda", dtype=torch.bfloat16), seed=0)
    )
    with pytest.raises(ValueError, match="device"):
        kt.normal_(torch.empty(3, device="cuda"), generator=torch.Generator())


# --- trunc_normal_ in the tails, zero-element no-ops, calculate_gain (issue 11) -----------------


def test_trunc_normal_never_returns_a_bound() -> None:
    # Seed 12 makes the previous float32 inverse CDF (uniform on [-1, 1] then erfinv, clamped)
    # return exactly -2.0 (-100 sigma) among 1M values; the float64 inverse CDF gives none, and
    # its largest |value| is where a normal's maximum of 1M draws lies (~5 sigma, < 6.5 sigma
    # with probability > 1 - 1e-4).
    w = kt.trunc_normal_(torch.empty(1_000_000), std=0.02, seed=12)
    assert float(w.abs().max()) < 2.0
    assert 4.0 < float(w.abs().max()) / 0.02 < 6.5
    # the bounds are never reached even when the interval is a single float32 step wide
    lo = 1.0
    hi = float(torch.nextafter(torch.nextafter(torch.tensor(lo), torch.tensor(2.0)), torch.tensor(2.0)))
    narrow = kt.trunc_normal_(torch.empty(1000), a=lo, b=hi, seed=0)
    assert bool((narrow > lo).all()) and bool((narrow < hi).all())
    with pytest.raises(ValueError, match="strictly inside"):
        kt.trunc_normal_(
            torch.empty(3), a=1.0, b=float(torch.nextafter(torch.tensor(1.0), torch.tensor(2.0)))
        )


@pytest.mark.parametrize(("a", "b"), [(6.0, 7.0), (10.0, 11.0), (-7.0, -6.0), (1.0, 3.0), (40.0, 41.0)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_trunc_normal_far_intervals_have_the_conditional_distribution(
    a: float, b: float, dtype: torch.dtype
) -> None:
    # 20k values against scipy's truncated normal (computed live): a KS test at p > 1e-4 fails
    # by chance once in 10^4 runs; the previous float32 code put every value on b (p = 0).
    n = 20_000
    with pytest.warns(UserWarning, match=r"mean is more than 2 std") if a > 2 or b < -2 else _quiet():
        w = kt.trunc_normal_(torch.empty(n, dtype=dtype), a=a, b=b, seed=1)
    x = w.double().numpy()
    assert x.min() > a and x.max() < b
    assert stats.kstest(x, stats.truncnorm(a, b).cdf).pvalue > 1e-4
    # the values spread over the interval: their std is the conditional one (5% for 20k values)
    assert x.std() == pytest.approx(stats.truncnorm(a, b).std(), rel=0.05)


@pytest.mark.filterwarnings("ignore:mean is more than 2 std")
@pytest.mark.parametrize("alpha", [5e3, 2e4, 1e200])  # Newton steps below 1e4, the exponential above
@pytest.mark.parametrize("keyed", [False, True])
def test_trunc_normal_with_the_mean_far_outside_lies_within_std_over_alpha_of_the_bound(
    alpha: float, keyed: bool
) -> None:
    """With the mean ``alpha`` std below ``a``, ``(x - a) / (std / alpha)`` is Exp(1) to a relative
    ``1 / alpha**2`` (the conditional density ``exp(-alpha t - t**2 / 2)``): KS on 20k values at
    p > 1e-4. The values were once formed as ``mean + std x``, which cancels: at ``alpha = 1e200``
    that gave NaN, at ``1e20`` the far bound."""
    std, a = 1e-3, 0.0  # the offsets, down to 1e-203, are normal float64 numbers next to 0
    mean = a - alpha * std
    randomness = {"key": stream.key(4, "t")} if keyed else {"seed": 4}
    w = kt.trunc_normal_(torch.empty(20_000, dtype=torch.float64), mean, std, a, a + 1.0, **randomness)
    offsets = (w.numpy() - a) / (std / alpha)
    assert offsets.min() > 0
    assert stats.kstest(offsets, stats.expon.cdf).pvalue > 1e-4
    mirrored = kt.trunc_normal_(
        torch.empty(20_000, dtype=torch.float64), -mean, std, -a - 1.0, -a, **randomness
    )
    assert stats.kstest((-a - mirrored.numpy()) / (std / alpha), stats.expon.cdf).pvalue > 1e-4


@pytest.mark.filterwarnings("ignore:mean is more than 2 std")
@pytest.mark.parametrize(
    ("dtype", "mean"),
    [(torch.float64, m) for m in (1e20, 1.9e154, 1e300, -1e20, -1e300)]
    + [(dtype, m) for dtype in (torch.float32, torch.bfloat16) for m in (1e20, 3e38, -1e20)],
)
def test_trunc_normal_beyond_resolution_gives_the_value_next_to_the_nearer_bound(
    mean: float, dtype: torch.dtype
) -> None:
    """``std / alpha`` below the bound's ulp: every value is the one next to the nearer bound, on
    both randomness paths, never NaN or the far bound."""
    low, high = (0.0, 1.0) if mean > 0 else (-1.0, 0.0)
    near = torch.tensor(high if mean > 0 else low, dtype=dtype)
    inside = torch.nextafter(near, torch.tensor(low if mean > 0 else high, dtype=dtype))
    for randomness in ({"seed": 0}, {"key": stream.key(0, "t")}):
        w = kt.trunc_normal_(torch.empty(64, dtype=dtype), mean, 1.0, low, high, **randomness)
        assert bool((w == inside).all()), (randomness, w[:4])


class _quiet:  # noqa: N801 - a tiny context manager that turns warnings into errors
    def __enter__(self) -> None:
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("error")

    def __exit__(self, *exc: object) -> None:
        self._ctx.__exit__(*exc)


def test_trunc_normal_warns_with_torchs_text() -> None:
    with pytest.warns(UserWarning) as theirs:
        torch.nn.init.trunc_normal_(torch.empty(10), a=10.0, b=11.0)
    with pytest.warns(UserWarning) as ours:
        kt.trunc_normal_(torch.empty(10), a=10.0, b=11.0, seed=0)
    torch_text = str(theirs[0].message)
    assert str(ours[0].message).startswith(torch_text)  # a filter written for torch's text matches
    with _quiet():  # within 2 std: no warning, as torch
        kt.trunc_normal_(torch.empty(10), a=1.9, b=3.0, seed=0)


def test_trunc_normal_is_seeded_and_keeps_mean_and_std() -> None:
    a = kt.trunc_normal_(torch.empty(50_000), mean=3.0, std=2.0, a=1.0, b=4.0, seed=5)
    b = kt.trunc_normal_(torch.empty(50_000), mean=3.0, std=2.0, a=1.0, b=4.0, seed=5)
    assert torch.equal(a, b)
    ref = stats.truncnorm((1.0 - 3.0) / 2.0, (4.0 - 3.0) / 2.0, loc=3.0, scale=2.0)
    assert stats.kstest(a.double().numpy(), ref.cdf).pvalue > 1e-4  # fails by chance 1 in 10^4


def _torch_zero_element_text() -> str:
    with pytest.warns(UserWarning) as record:
        torch.nn.init.kaiming_normal_(torch.empty(0, 3))
    return str(record[0].message)


@pytest.mark.parametrize(
    "call",
    [
        lambda t: kt.eye_(t),
        lambda t: kt.normal_(t, seed=0),
        lambda t: kt.kaiming_normal_(t, seed=0),
        lambda t: kt.trunc_normal_(t, seed=0),
    ],
    ids=["eye_", "normal_", "kaiming_normal_", "trunc_normal_"],
)
def test_zero_element_tensors_are_a_warned_no_op_with_torchs_text(call: Callable[..., Any]) -> None:
    text = _torch_zero_element_text()
    with pytest.warns(UserWarning) as record:
        out = call(torch.empty(0, 3))
    assert [str(r.message) for r in record] == [text]
    assert out.shape == (0, 3)


def test_dirac_zero_element_is_a_warned_no_op_and_still_validates() -> None:
    text = _torch_zero_element_text()
    with pytest.warns(UserWarning) as record:
        kt.dirac_(torch.empty(0, 4, 3, 3), groups=2)
    assert [str(r.message) for r in record] == [text]
    with pytest.raises(ValueError, match="divisible by groups"):
        kt.dirac_(torch.empty(3, 0, 3), groups=2)
    with pytest.raises(ValueError, match="2-D"):
        kt.eye_(torch.empty(0, 2, 2))


def test_calculate_gain_matches_torch() -> None:
    names = ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]
    names += [f"conv{d}d" for d in (1, 2, 3)] + [f"conv_transpose{d}d" for d in (1, 2, 3)]
    for name in names:
        assert kt.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name), rel=1e-12), name
    for slope in (0, 0.01, 0.2, 1, 3.5):
        ours, theirs = (
            kt.calculate_gain("leaky_relu", slope),
            torch.nn.init.calculate_gain("leaky_relu", slope),
        )
        assert ours == pytest.approx(theirs, rel=1e-12)
    with pytest.raises(ValueError, match="nonlinearity"):
        kt.calculate_gain("swishy")


@pytest.mark.parametrize("shape", [(30, 8), (8, 30), (7, 7)])
@pytest.mark.parametrize("sparsity", [0.1, 0.3, 0.5])
def test_numpy_sparse_in_torch_layout_agrees_with_torch(shape: tuple[int, int], sparsity: float) -> None:
    import kaiming

    theirs = torch.nn.init.sparse_(torch.empty(shape), sparsity, std=0.02)
    ours_torch = kt.sparse_(torch.empty(shape), sparsity, std=0.02, seed=0)
    ours_numpy = torch.from_numpy(kaiming.sparse(shape, sparsity, std=0.02, layout="torch", seed=0))
    for w in (theirs, ours_torch, ours_numpy):  # the zero pattern's counts, per column and per row
        assert torch.equal((w == 0).sum(dim=0), (theirs == 0).sum(dim=0))
        assert int((w == 0).sum()) == int((theirs == 0).sum())
    assert bool(((theirs == 0).sum(dim=0) == math.ceil(sparsity * shape[0])).all())
