"""``kaiming.torch``'s tensor initializers number for number against ``torch.nn.init``, and their
argument checks, messages and warnings one by one.

Given the same ``torch.Generator``, ``kaiming.torch`` draws what ``torch.nn.init`` draws: the
same calls on the generator, in the same order, with the same scale. So the values of the
initializers torch has are compared with torch's, computed live, *exactly* (float32) or to an
ulp (float64, where the gain may be rounded once more or less). Those torch lacks (LeCun,
truncated, ``variance_scaling_``, ``delta_orthogonal_``) are compared with torch's
``normal_``/``uniform_``/``orthogonal_`` at the std the formula gives, on the same generator.
float16 and bfloat16 tensors are drawn in float32 and rounded once (module docstring of
``kaiming.torch._tensors``): they equal torch's float32 draw, rounded.
"""

from __future__ import annotations

import inspect
import math
import re
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import kaiming
import kaiming.torch as kt
from _references import TRUNC_STD
from kaiming import stream
from kaiming.torch import _tensors
from kaiming.torch._tensors import ZERO_ELEMENT_WARNING

init = torch.nn.init
SHAPES = [
    (24, 40),
    (40, 24),
    (30, 30),
    (16, 8, 3, 3),
    (1, 1),
]  # wide, tall, square (QR's branch), conv, one value
LOW = (torch.float16, torch.bfloat16)


def gen(seed: int = 5) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def assert_same(mine: torch.Tensor, ref: torch.Tensor) -> None:
    """Equal in float32 and the low-precision dtypes; within 2 ulp in float64."""
    assert mine.dtype == ref.dtype and mine.shape == ref.shape
    if mine.dtype == torch.float64:
        torch.testing.assert_close(mine, ref, rtol=4.5e-16, atol=0.0)
    else:
        assert torch.equal(mine, ref)


def torch_draw(
    dtype: torch.dtype, shape: tuple[int, ...], fill: Callable[[torch.Tensor], Any]
) -> torch.Tensor:
    """torch's values for ``shape`` in ``dtype``: drawn in float32 and rounded for float16/bfloat16."""
    work = torch.float32 if dtype in LOW else dtype
    out = torch.empty(shape, dtype=work)
    fill(out)
    return out.to(dtype)


# (kaiming.torch function, torch.nn.init function, keyword arguments); () means the defaults
TORCH_TWINS: list[tuple[str, dict[str, Any]]] = [
    ("kaiming_normal_", {}),
    ("kaiming_normal_", {"a": 0.3, "mode": "fan_out", "nonlinearity": "leaky_relu"}),
    ("kaiming_normal_", {"nonlinearity": "tanh"}),
    ("kaiming_uniform_", {}),
    ("kaiming_uniform_", {"a": math.sqrt(5)}),
    ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "selu"}),
    ("xavier_normal_", {}),
    ("xavier_normal_", {"gain": 1.7}),
    ("xavier_uniform_", {}),
    ("xavier_uniform_", {"gain": 0.5}),
    ("normal_", {}),
    ("normal_", {"mean": 0.3, "std": 2.0}),
    ("uniform_", {}),
    ("uniform_", {"a": -0.2, "b": 0.7}),
    ("orthogonal_", {}),
    ("orthogonal_", {"gain": 1.5}),
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize(("name", "kwargs"), TORCH_TWINS, ids=lambda v: v if isinstance(v, str) else str(v))
def test_same_generator_same_numbers_as_torch(
    name: str, kwargs: dict[str, Any], shape: tuple[int, ...], dtype: torch.dtype
) -> None:
    mine = getattr(kt, name)(torch.empty(shape, dtype=dtype), **kwargs, generator=gen())
    ref = torch_draw(dtype, shape, lambda t: getattr(init, name)(t, **kwargs, generator=gen()))
    assert_same(mine, ref)


@pytest.mark.parametrize(
    ("name", "kwargs"), TORCH_TWINS[::3], ids=lambda v: v if isinstance(v, str) else str(v)
)
def test_seed_is_a_generator_seeded_with_it(name: str, kwargs: dict[str, Any]) -> None:
    mine = getattr(kt, name)(torch.empty(40, 24), **kwargs, seed=5)
    assert torch.equal(mine, getattr(init, name)(torch.empty(40, 24), **kwargs, generator=gen(5)))


def test_seed_range_ends_are_taken_and_refused_past_them() -> None:
    for seed in (0, 2**64 - 1):
        ref = torch.empty(8).normal_(generator=torch.Generator().manual_seed(seed))
        assert torch.equal(kt.normal_(torch.empty(8), seed=seed), ref)
    for seed in (-1, 2**64):
        with pytest.raises(ValueError, match=rf"^seed must be an int in \[0, 2\*\*64\), got {seed}$"):
            kt.normal_(torch.empty(8), seed=seed)
    with pytest.raises(TypeError, match=r"^seed must be an int in \[0, 2\*\*64\) or None, got True$"):
        kt.normal_(torch.empty(8), seed=True)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------
# initializers torch lacks: torch's sampler at the std of the formula, on the same generator
# ------------------------------------------------------------------------------------------------


def formula_std(name: str, shape: tuple[int, ...], gain: float) -> float:
    fan_in, fan_out = fans(shape)
    fan = (fan_in + fan_out) / 2 if name.startswith("xavier") else fan_in
    return gain / math.sqrt(fan)


def reference(distribution: str, std: float) -> Callable[[torch.Tensor], Any]:
    """torch's (or, truncated, kaiming.torch's SciPy-checked ``trunc_normal_``) draw of a
    zero-mean ``distribution`` with final std ``std``."""
    if distribution == "normal":
        return lambda t: t.normal_(0.0, std, generator=gen())
    if distribution == "uniform":
        bound = math.sqrt(3.0) * std
        return lambda t: t.uniform_(-bound, bound, generator=gen())
    s = std / TRUNC_STD
    return lambda t: kt.trunc_normal_(t, 0.0, s, -2 * s, 2 * s, generator=gen())


GAIN_FAMILY = [
    ("lecun_normal_", "normal"),
    ("lecun_uniform_", "uniform"),
    ("lecun_truncated_normal_", "truncated_normal"),
    ("xavier_truncated_normal_", "truncated_normal"),
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16], ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("gain", [None, 1.7])
@pytest.mark.parametrize(("name", "distribution"), GAIN_FAMILY)
def test_lecun_and_truncated_xavier_are_the_formula(
    name: str, distribution: str, gain: float | None, shape: tuple[int, ...], dtype: torch.dtype
) -> None:
    kwargs = {} if gain is None else {"gain": gain}
    mine = getattr(kt, name)(torch.empty(shape, dtype=dtype), **kwargs, generator=gen())
    std = formula_std(name, shape, 1.0 if gain is None else gain)  # the default gain is 1
    ref = torch_draw(dtype, shape, reference(distribution, std))
    torch.testing.assert_close(mine, ref, rtol=2e-6 if dtype != torch.bfloat16 else 8e-3, atol=0.0)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize(
    ("kwargs", "gain"),
    [({}, math.sqrt(2.0)), ({"a": 0.3}, math.sqrt(2 / 1.09)), ({"nonlinearity": "tanh"}, 5 / 3)],
)
def test_he_truncated_normal_is_the_formula(
    shape: tuple[int, ...], kwargs: dict[str, Any], gain: float
) -> None:
    mine = kt.he_truncated_normal_(torch.empty(shape), **kwargs, generator=gen())
    ref = torch_draw(torch.float32, shape, reference("truncated_normal", gain / math.sqrt(fans(shape)[0])))
    torch.testing.assert_close(mine, ref, rtol=2e-6, atol=0.0)
    fan_out = kt.he_truncated_normal_(torch.empty(shape), **kwargs, mode="fan_out", generator=gen())
    ref = torch_draw(torch.float32, shape, reference("truncated_normal", gain / math.sqrt(fans(shape)[1])))
    torch.testing.assert_close(fan_out, ref, rtol=2e-6, atol=0.0)


@pytest.mark.parametrize("distribution", ["normal", "uniform", "truncated_normal"])
@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("shape", [(40, 24), (16, 8, 3, 3)], ids=str)
def test_variance_scaling_is_the_formula(shape: tuple[int, ...], mode: str, distribution: str) -> None:
    fan_in, fan_out = fans(shape)
    fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    mine = kt.variance_scaling_(torch.empty(shape), 3.0, mode, distribution, generator=gen())  # type: ignore[arg-type]
    ref = torch_draw(torch.float32, shape, reference(distribution, math.sqrt(3.0 / fan)))
    torch.testing.assert_close(mine, ref, rtol=2e-6, atol=0.0)


def test_variance_scaling_defaults_are_scale_1_fan_in_normal() -> None:
    mine = kt.variance_scaling_(torch.empty(40, 24), generator=gen())
    ref = torch.empty(40, 24).normal_(0.0, 1 / math.sqrt(24), generator=gen())
    torch.testing.assert_close(mine, ref, rtol=2e-6, atol=0.0)


@pytest.mark.parametrize("shape", [(16, 8, 3), (16, 16, 3, 3), (12, 5, 3, 3, 3)], ids=str)
@pytest.mark.parametrize("gain", [None, 0.5])
def test_delta_orthogonal_centre_is_torchs_orthogonal(shape: tuple[int, ...], gain: float | None) -> None:
    kwargs = {} if gain is None else {"gain": gain}
    mine = kt.delta_orthogonal_(torch.full(shape, 7.0), **kwargs, generator=gen())
    centre = (slice(None), slice(None), *(k // 2 for k in shape[2:]))
    assert torch.equal(mine[centre], init.orthogonal_(torch.empty(shape[:2]), **kwargs, generator=gen()))
    mine[centre] = 0.0
    assert not mine.any()  # every other tap written with 0


def test_sparse_keeps_torchs_normal_draw_where_it_is_not_zeroed() -> None:
    mine = kt.sparse_(torch.empty(30, 8), 0.3, std=0.2, generator=gen())
    ref = torch.empty(30, 8).normal_(0.0, 0.2, generator=gen())
    kept = mine != 0
    assert torch.equal(mine[kept], ref[kept])
    assert (~kept).sum(dim=0).tolist() == [9] * 8  # ceil(0.3 * 30) per column
    default = kt.sparse_(torch.empty(30, 8), 0.0, generator=gen())  # std 0.01, nothing zeroed
    assert torch.equal(default, torch.empty(30, 8).normal_(0.0, 0.01, generator=gen()))


# ------------------------------------------------------------------------------------------------
# tensors that are refused or accepted
# ------------------------------------------------------------------------------------------------


def test_tensor_checks_name_what_is_wrong() -> None:
    with pytest.raises(TypeError, match=r"^tensor must be a torch.Tensor, got list$"):
        kt.normal_([1.0, 2.0])  # type: ignore[arg-type]
    with pytest.raises(
        ValueError,
        match=r"^tensor is a meta tensor \(shape \(3, 2\)\) and has no storage to fill; "
        r"materialize it first, e\.g\. module\.to_empty\(device='cpu'\)$",
    ):
        kt.normal_(torch.empty(3, 2, device="meta"))
    with pytest.raises(
        TypeError, match=r"^tensor must be a dense \(strided\) tensor, got layout torch.sparse_coo$"
    ):
        kt.normal_(torch.zeros(3, 2).to_sparse())
    with pytest.raises(TypeError, match=r"^tensor must have a floating dtype .*got torch.int64$"):
        kt.normal_(torch.zeros(3, dtype=torch.int64))
    with pytest.raises(
        ValueError,
        match=r"^tensor has overlapping memory \(stride \(0,\) for shape \(2,\), e\.g\. from expand\(\)\); "
        r"its elements cannot hold different values: pass a contiguous tensor$",
    ):
        kt.normal_(torch.zeros(1).expand(2))
    with pytest.raises(ValueError, match=r"^tensor must have at least 2 dimensions .* shape \(5,\) with 1$"):
        kt.kaiming_normal_(torch.empty(5))


def test_a_stride_0_axis_of_length_1_and_a_0_d_tensor_are_written() -> None:
    column = torch.zeros(4).as_strided((4, 1), (1, 0))  # no element shared
    assert column.stride()[1] == 0
    assert torch.equal(kt.normal_(column, generator=gen()), torch.empty(4, 1).normal_(generator=gen()))
    scalar = kt.uniform_(torch.tensor(9.0), generator=gen())  # any number of dims, 0 included
    assert torch.equal(scalar, torch.empty(()).uniform_(generator=gen()))


def test_make_generator_defaults_and_errors() -> None:
    made = kt.make_generator(seed=3)
    assert made.device == torch.device("cpu")
    assert torch.equal(torch.rand(4, generator=made), torch.rand(4, generator=gen(3)))
    with pytest.raises(
        ValueError, match=r"^device must be a torch.device or a device string like 'cpu', got 'nope'$"
    ):
        kt.make_generator("nope")
    with pytest.raises(ValueError, match=r"^pass either generator or seed, not both$"):
        kt.make_generator(generator=gen(), seed=1)
    with pytest.raises(TypeError, match=r"^generator must be a torch.Generator, got int$"):
        kt.make_generator(generator=3)  # type: ignore[arg-type]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal of a device this machine lacks")
def test_an_absent_cuda_device_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"^device 'cuda:1' is not available on this machine$"):
        kt.make_generator("cuda:1")


# ------------------------------------------------------------------------------------------------
# arguments: each error names the argument and its value
# ------------------------------------------------------------------------------------------------

T = torch.empty(4, 3)
HALF = torch.empty(4, 3, dtype=torch.float16)
NAN = float("nan")
KEY = stream.key(3, "w")

ERRORS: list[tuple[str, Callable[[], Any], type[Exception], str]] = [
    ("normal mean", lambda: kt.normal_(T, mean=NAN), ValueError, r"^mean must be a finite number"),
    (
        "normal std",
        lambda: kt.normal_(T, std=-1.0),
        ValueError,
        r"^std must be a finite number >= 0, got -1.0$",
    ),
    ("uniform a", lambda: kt.uniform_(T, a=NAN), ValueError, r"^a must be a finite number"),
    ("uniform b", lambda: kt.uniform_(T, b=NAN), ValueError, r"^b must be a finite number"),
    (
        "uniform a > b",
        lambda: kt.uniform_(T, 1.0, 0.5),
        ValueError,
        r"^uniform_ needs a <= b, got a=1.0, b=0.5$",
    ),
    ("vs scale", lambda: kt.variance_scaling_(T, -1.0), ValueError, r"^scale must be a finite number >= 0"),
    ("vs mode", lambda: kt.variance_scaling_(T, 1.0, "fan"), ValueError, r"^Invalid mode 'fan'; allowed"),  # type: ignore[arg-type]
    (
        "vs distribution",
        lambda: kt.variance_scaling_(T, 1.0, "fan_in", "gauss"),  # type: ignore[arg-type]
        ValueError,
        r"^Invalid distribution 'gauss'; allowed",
    ),
    (
        "he mode",
        lambda: kt.kaiming_normal_(T, mode="fan_avg"),
        ValueError,
        r"^Invalid mode 'fan_avg'; allowed",
    ),
    (
        "xavier gain",
        lambda: kt.xavier_normal_(T, gain=-1.0),
        ValueError,
        r"^gain must be a finite number >= 0",
    ),
    (
        "lecun gain square",
        lambda: kt.lecun_uniform_(T, gain=1e200),
        ValueError,
        r"^gain must be 0 or between",
    ),
    (
        "key type",
        lambda: kt.normal_(T, key=3),
        TypeError,
        r"^key must be a kaiming.stream.StreamKey .*got 3$",
    ),  # type: ignore[arg-type]
    # values too large for float16 (largest finite 65504): named with their value
    (
        "half mean",
        lambda: kt.normal_(HALF, mean=1e5),
        ValueError,
        r"^mean=100000 gives values of magnitude up to 1e\+05",
    ),
    (
        "half std",
        lambda: kt.normal_(HALF, std=1e5),
        ValueError,
        r"^std=100000 gives values of magnitude up to 1e\+05",
    ),
    (
        "half a",
        lambda: kt.uniform_(HALF, -1e5, 0.0),
        ValueError,
        r"^a=-100000 gives values of magnitude up to 1e\+05",
    ),
    (
        "half b",
        lambda: kt.uniform_(HALF, 0.0, 1e5),
        ValueError,
        r"^b=100000 gives values of magnitude up to 1e\+05",
    ),
    ("half width", lambda: kt.uniform_(HALF, -6e4, 6e4), ValueError, r"^b - a=120000 gives values"),
    (
        "half scale uniform",
        lambda: kt.variance_scaling_(HALF, 1e10, distribution="uniform"),
        ValueError,
        r"^scale=1e\+10 gives values of magnitude up to 1e\+05, beyond the largest finite float16",
    ),
    (
        "half scale truncated",
        lambda: kt.variance_scaling_(HALF, 1e10, distribution="truncated_normal"),
        ValueError,
        "^scale=1e\\+10 gives values of magnitude up to "
        + re.escape(f"{2e5 / math.sqrt(3) / TRUNC_STD:.4g},"),  # 2 s
    ),
    (
        "half uniform gain",
        lambda: kt.xavier_uniform_(HALF, 1e5),
        ValueError,
        "^gain=100000 gives values of magnitude up to "
        + re.escape(f"{1e5 * math.sqrt(6 / 7):.4g},"),  # sqrt(3/3.5) gain
    ),
]


@pytest.mark.parametrize(("label", "call", "error", "match"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_name_the_argument_and_its_value(
    label: str, call: Callable[[], Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda t: kt.xavier_normal_(t, 3e5, generator=gen()), "gain"),
        (lambda t: kt.variance_scaling_(t, 3e10, generator=gen()), "scale"),  # std sqrt(3e10 / 25)
        (lambda t: kt.normal_(t, std=5e4, generator=gen()), "std"),
        (lambda t: kt.sparse_(t, 0.1, std=5e4, generator=gen()), "std"),
    ],
)
def test_a_normal_that_overflows_float16_is_refused_and_leaves_the_tensor(
    call: Callable[..., Any], name: str
) -> None:
    """Normal draws are unbounded: a std whose draws may pass float16's 65504 goes through a copy,
    refused (naming the argument) when a value is not finite, and the tensor keeps its values."""
    tensor = torch.full((40, 25), 0.25, dtype=torch.float16)
    with pytest.raises(
        ValueError, match=rf"^{name}=[0-9.e+]+ makes values overflow float16 \(largest finite 65504\)"
    ):
        call(tensor)
    assert bool((tensor == 0.25).all())


@pytest.mark.parametrize(
    ("call", "std"),
    [
        (lambda t: kt.normal_(t, std=2000.0, generator=gen()), 2000.0),
        (lambda t: kt.variance_scaling_(t, 25 * 2000.0**2, generator=gen()), 2000.0),  # fan_in 25
        (lambda t: kt.xavier_normal_(t, 2000.0 * math.sqrt(32.5), generator=gen()), 2000.0),  # fan_avg 32.5
        (lambda t: kt.sparse_(t, 0.0, std=2000.0, generator=gen()), 2000.0),  # nothing zeroed
    ],
)
def test_a_normal_that_may_overflow_but_does_not_is_torchs_draw(call: Callable[..., Any], std: float) -> None:
    """64 std beyond 65504: drawn through the guarded copy, and still torch's numbers."""
    mine = call(torch.empty(40, 25, dtype=torch.float16))
    ref = torch_draw(torch.float16, (40, 25), lambda t: t.normal_(0.0, std, generator=gen()))
    torch.testing.assert_close(mine, ref, rtol=1e-3, atol=0.0)  # the std computed from the fan: an ulp


# ------------------------------------------------------------------------------------------------
# defaults, seeds, the deterministic fills
# ------------------------------------------------------------------------------------------------

TWIN_NAMES = ["normal_", "uniform_", "trunc_normal_", "orthogonal_", "sparse_", "dirac_"]
TWIN_NAMES += [f"{family}_{dist}_" for family in ("kaiming", "xavier") for dist in ("normal", "uniform")]


@pytest.mark.parametrize("name", TWIN_NAMES)
def test_defaults_are_torchs(name: str) -> None:
    mine = inspect.signature(getattr(kt, name)).parameters
    theirs = inspect.signature(getattr(init, name)).parameters
    shared = [p for p in theirs if p in mine and theirs[p].default is not inspect.Parameter.empty]
    assert shared, name
    for parameter in shared:
        assert mine[parameter].default == theirs[parameter].default, (name, parameter)


RANDOM = [  # the tensor initializers (kaiming.torch also exports model-level functions)
    n
    for n in _tensors.__all__
    if n.endswith("_") and "generator" in inspect.signature(getattr(kt, n)).parameters
]


@pytest.mark.parametrize("name", RANDOM)
def test_every_random_fill_takes_seed_as_a_generator_seeded_with_it(name: str) -> None:
    args = (0.25,) if name == "sparse_" else ()
    shape = (8, 6, 3) if name == "delta_orthogonal_" else (6, 8)
    by_seed = getattr(kt, name)(torch.empty(shape), *args, seed=11)
    by_generator = getattr(kt, name)(torch.empty(shape), *args, generator=gen(11))
    assert torch.equal(by_seed, by_generator)
    assert not torch.equal(by_seed, getattr(kt, name)(torch.empty(shape), *args, seed=12))


def test_eye_and_dirac_scale_torchs_by_the_gain() -> None:
    assert torch.equal(kt.eye_(torch.empty(3, 5), gain=2.5), init.eye_(torch.empty(3, 5)) * 2.5)
    for shape, groups in (((4, 2, 3), 1), ((6, 3, 3, 3), 2), ((4, 4, 1, 1, 1), 4)):
        ref = init.dirac_(torch.empty(shape), groups) * -1.5
        assert torch.equal(kt.dirac_(torch.empty(shape), groups, gain=-1.5), ref)
        assert torch.equal(kt.dirac_(torch.empty(shape), groups), init.dirac_(torch.empty(shape), groups))
    assert torch.equal(kt.dirac_(torch.empty(4, 2, 3)), init.dirac_(torch.empty(4, 2, 3)))  # groups 1


def test_eye_and_dirac_round_a_float16_gain_once_as_numpy_does() -> None:
    """torch rounds float64 to float16 through float32: this gain is then a tie, rounded to 1.0;
    rounded once it is 1 + 2**-10, NumPy's ``astype``, which kaiming.identity/dirac give."""
    gain = 1 + 2**-11 + 2**-40
    assert torch.tensor(gain, dtype=torch.float64).half() == 1.0  # torch's own double rounding
    eye = kt.eye_(torch.empty(3, 4, dtype=torch.float16), gain)
    assert np.array_equal(eye.numpy(), kaiming.identity((3, 4), gain, dtype=np.float16))
    assert float(eye[0, 0]) == 1 + 2**-10
    dirac = kt.dirac_(torch.empty(4, 2, 3, dtype=torch.float16), 2, gain=gain)
    assert np.array_equal(dirac.numpy(), kaiming.dirac((4, 2, 3), 2, gain, layout="torch", dtype=np.float16))


def test_dirac_checks_a_zero_element_tensor_as_torch_does() -> None:
    for shape, groups in (((4, 0, 3), 2), ((2, 0, 1, 1, 1), 1)):  # divisible, 5 dims: warned no-ops
        with pytest.warns(UserWarning, match=ZERO_ELEMENT_WARNING):
            kt.dirac_(torch.empty(shape), groups)
    with pytest.raises(ValueError, match=r"^out channels \(3\) must be divisible by groups \(2\)$"):
        kt.dirac_(torch.empty(3, 0, 3), groups=2)
    with pytest.raises(
        ValueError, match=r"^dirac_ needs a tensor with 3 to 5 dims, got shape \(2, 0, 1, 1, 1, 1\)$"
    ):
        kt.dirac_(torch.empty(2, 0, 1, 1, 1, 1))
    with pytest.raises(ValueError, match=r"^groups must be a positive integer, got 0$"):
        kt.dirac_(torch.empty(2, 0, 3), groups=0)
    with pytest.raises(ValueError, match=r"^gain must be a finite number"):
        kt.dirac_(torch.empty(2, 0, 3), gain=NAN)
    with pytest.raises(ValueError, match=r"^gain must be a finite number"):
        kt.eye_(torch.empty(2, 0), gain=NAN)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: kt.eye_(torch.empty(4)), r"^tensor must have at least 2 dimensions"),
        (lambda: kt.sparse_(torch.empty(4), 0.1), r"^tensor must have at least 2 dimensions"),
        (lambda: kt.dirac_(torch.empty(4, 4)), r"^tensor must have at least 3 dimensions"),
        (lambda: kt.delta_orthogonal_(torch.empty(4, 4)), r"^tensor must have at least 3 dimensions"),
        (
            lambda: kt.delta_orthogonal_(torch.empty(2, 2, 1, 1, 1, 1)),
            r"^delta_orthogonal_ needs a tensor that is a conv kernel \(out, in, \*k\) with 3 to 5 dims and "
            r"in <= out, got shape \(2, 2, 1, 1, 1, 1\)$",
        ),
        (lambda: kt.sparse_(torch.empty(4, 4), 0.1, std=-1.0), r"^std must be a finite number >= 0"),
        (lambda: kt.sparse_(torch.empty(4, 4), 1.5), r"^sparsity must be in \[0, 1\), got 1.5$"),
        (lambda: kt.constant_(T, NAN), r"^val must be a finite number"),
        (lambda: kt.eye_(T, NAN), r"^gain must be a finite number"),
        (lambda: kt.dirac_(T.view(4, 3, 1), gain=NAN), r"^gain must be a finite number"),
        (lambda: kt.orthogonal_(T, -1.0), r"^gain must be a finite number >= 0"),
        (lambda: kt.delta_orthogonal_(torch.empty(4, 2, 3), -1.0), r"^gain must be a finite number >= 0"),
        (lambda: kt.trunc_normal_(T, mean=NAN), r"^mean must be a finite number"),
        (lambda: kt.trunc_normal_(T, a=NAN), r"^a must be a finite number"),
        (lambda: kt.trunc_normal_(T, b=NAN), r"^b must be a finite number"),
        (lambda: kt.trunc_normal_(T, std=-1.0), r"^std must be a finite number >= 0"),
        # the dtype's range, named with the value
        (lambda: kt.constant_(HALF, 7e4), r"^val=70000 gives values of magnitude up to 7e\+04, beyond"),
        (lambda: kt.eye_(HALF, 7e4), r"^gain=70000 gives values of magnitude up to 7e\+04, beyond"),
        (
            lambda: kt.dirac_(HALF.view(4, 3, 1), gain=-7e4),
            r"^gain=-70000 gives values of magnitude up to 7e\+04",
        ),
        (lambda: kt.orthogonal_(HALF, 7e4), r"^gain=70000 gives values of magnitude up to 7e\+04, beyond"),
        (
            lambda: kt.delta_orthogonal_(torch.empty(4, 2, 3, dtype=torch.float16), 7e4),
            r"^gain=70000 gives values of magnitude up to 7e\+04, beyond",
        ),
        (
            lambda: kt.sparse_(HALF, 0.1, std=7e4),
            r"^std=70000 gives values of magnitude up to 7e\+04, beyond",
        ),
        (
            lambda: kt.trunc_normal_(HALF, 0.0, 1.0, -7e4, 1.0),
            r"^a=-70000 gives values of magnitude up to 7e\+04",
        ),
        (
            lambda: kt.trunc_normal_(HALF, 0.0, 1.0, -1.0, 7e4),
            r"^b=70000 gives values of magnitude up to 7e\+04",
        ),
        (
            lambda: kt.trunc_normal_(HALF, 7e4, 1.0, -7e4, 7e4),
            r"^a=-70000 gives values",  # a is checked first
        ),
        (lambda: kt.normal_(HALF, mean=7e4), r"^mean=70000 gives values of magnitude up to 7e\+04, beyond"),
        (
            lambda: kt.trunc_normal_(HALF, 7e4, 1.0, -1.0, 1.0),
            r"^mean=70000 gives values of magnitude up to 7e\+04",
        ),
        (
            lambda: kt.variance_scaling_(HALF, 1e12),
            r"^scale=1e\+12 gives values of magnitude up to 5.774e\+05,",
        ),
        (
            lambda: kt.uniform_(HALF, 0.0, 1e-6),
            r"^b - a=1e-06 gives values of magnitude 1e-06, below the smallest",
        ),
        (
            lambda: kt.kaiming_uniform_(
                torch.empty(4, 4, dtype=torch.float16), a=1e5
            ),  # gain sqrt(2 / (1 + 1e10))
            r"^gain=1.41421e-05 gives values of magnitude 1.225e-05, below the smallest normal float16",
        ),
        (
            lambda: kt.xavier_uniform_(torch.empty(4, 4, dtype=torch.float16), 1e-5),
            r"^gain=1e-05 gives values of magnitude 8.66e-06, below the smallest normal float16",
        ),
        # normal draws that small are refused as uniform ones are, on every source
        (
            lambda: kt.kaiming_normal_(torch.empty(4, 4, dtype=torch.float16), a=1e5),
            r"^gain=1.41421e-05 gives values of magnitude 7.071e-06, below the smallest normal float16",
        ),
        (
            lambda: kt.kaiming_normal_(torch.empty(4, 4, dtype=torch.float16), a=1e5, key=KEY),
            r"^gain=1.41421e-05 gives values of magnitude 7.071e-06, below the smallest normal float16",
        ),
        (
            lambda: kt.xavier_normal_(torch.empty(4, 4, dtype=torch.float16), 1e-5),
            r"^gain=1e-05 gives values of magnitude 5e-06, below the smallest normal float16",
        ),
        (
            lambda: kt.variance_scaling_(HALF, 1e-12, distribution="truncated_normal"),
            r"^scale=1e-12 gives values of magnitude .*, below the smallest normal float16",
        ),
        (
            lambda: kt.normal_(HALF, mean=1.0, std=1e-6),
            r"^std=1e-06 gives values of magnitude 1e-06, below the smallest normal float16",
        ),
        (
            lambda: kt.normal_(torch.empty(3), std=1e-40),
            r"^std=1e-40 gives values of magnitude 1e-40, below the smallest normal float32",
        ),
        (
            lambda: kt.trunc_normal_(HALF, 1e-6, 1e-6, 0.0, 3e-6),
            r"^std=1e-06 gives values of magnitude 1e-06, below the smallest normal float16",
        ),
        (
            lambda: kt.trunc_normal_(HALF, 0.0, 1.0, -1e-5, 1e-5),
            r"^b - a=2e-05 gives values of magnitude 1e-05, below the smallest normal float16",
        ),
        # the narrower of std and half the interval is named: (b - a) / 2 = 1e-5 here
        (
            lambda: kt.trunc_normal_(HALF, 0.0, 1.5e-5, -1e-5, 1e-5),
            r"^b - a=2e-05 gives values of magnitude 1e-05, below",
        ),
        (
            lambda: kt.trunc_normal_(HALF, 0.0, 8e-6, -1e-5, 1e-5),
            r"^std=8e-06 gives values of magnitude 8e-06, below",
        ),
        (
            lambda: kt.trunc_normal_(HALF, 0.0, 1e-5, -1e-5, 1e-5),
            r"^std=1e-05 gives values of magnitude 1e-05, below",
        ),
    ],
)
def test_more_errors_name_the_argument_and_its_value(call: Callable[[], Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


def test_a_tiny_constant_is_written_not_refused() -> None:
    """Deterministic values below float16's smallest normal are stored as they round (torch's
    ``fill_``); only random draws that small are refused, their spread would be lost."""
    tiny = torch.tensor(1e-6, dtype=torch.float16)
    assert tiny != 0
    assert bool((kt.constant_(HALF.clone(), 1e-6) == tiny).all())
    assert bool((kt.normal_(HALF.clone(), mean=1e-6, std=0.0, generator=gen()) == tiny).all())
    assert bool((kt.uniform_(HALF.clone(), 1e-6, 1e-6, generator=gen()) == tiny).all())  # a == b is allowed
    assert float(kt.eye_(HALF.clone(), 1e-6)[0, 0]) == float(tiny)
    assert float(kt.dirac_(HALF.clone().view(4, 3, 1), gain=1e-6)[0, 0, 0]) == float(tiny)
    # a tiny mean with a spread float16 keeps is drawn: only the spread is checked
    t = kt.trunc_normal_(torch.empty(50, dtype=torch.float16), 1e-6, 1.0, -1.0, 1.0, generator=gen())
    assert bool((t.abs() < 1).all()) and float(t.float().std()) > 0.3


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("shape", [(16, 8, 5, 5), (8, 8, 5)], ids=str)
def test_delta_orthogonal_centre_of_wider_kernels_and_float64(
    shape: tuple[int, ...], dtype: torch.dtype
) -> None:
    mine = kt.delta_orthogonal_(torch.empty(shape, dtype=dtype), generator=gen())
    centre = (slice(None), slice(None), *(k // 2 for k in shape[2:]))
    assert torch.equal(mine[centre], init.orthogonal_(torch.empty(shape[:2], dtype=dtype), generator=gen()))


# ------------------------------------------------------------------------------------------------
# warnings point at the caller
# ------------------------------------------------------------------------------------------------

EMPTY_CALLS: list[Callable[[], Any]] = [
    lambda: kt.normal_(torch.empty(0), generator=gen()),
    lambda: kt.kaiming_normal_(torch.empty(0, 3), generator=gen()),
    lambda: kt.xavier_uniform_(torch.empty(3, 0), seed=1),
    lambda: kt.variance_scaling_(torch.empty(0, 3, 3)),
    lambda: kt.orthogonal_(torch.empty(0, 3)),
    lambda: kt.trunc_normal_(torch.empty(0)),
    lambda: kt.sparse_(torch.empty(0, 3), 0.5),
    lambda: kt.eye_(torch.empty(0, 3)),
    lambda: kt.dirac_(torch.empty(0, 3, 3)),
    lambda: kt.kaiming_uniform_(torch.empty(0, 3), key=KEY),
    lambda: kt.trunc_normal_(torch.empty(0), key=KEY),
    lambda: kt.orthogonal_(torch.empty(3, 0), key=KEY),
]


@pytest.mark.caller_location
@pytest.mark.parametrize("call", EMPTY_CALLS)
def test_the_zero_element_warning_points_at_the_callers_line(call: Callable[[], Any]) -> None:
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        call()
    assert [str(w.message) for w in record] == [ZERO_ELEMENT_WARNING]
    assert record[0].filename == __file__
    assert record[0].lineno == call.__code__.co_firstlineno  # the lambda's line in EMPTY_CALLS


@pytest.mark.parametrize(
    ("mean", "std", "a", "b", "warns"),
    [
        (-2.0, 1.0, 0.0, 1.0, False),  # exactly 2 std below a
        (-2.001, 1.0, 0.0, 1.0, True),
        (3.0, 1.0, 0.0, 1.0, False),  # exactly 2 std above b
        (3.001, 1.0, 0.0, 1.0, True),
        (-1.5, 0.5, 0.0, 1.0, True),  # 3 std below a (a std other than 1)
        (2.5, 0.5, 0.0, 1.0, True),  # 3 std above b
        (-2.5, 1.0, 0.0, 1.0, True),  # between 2 and 3 std
        (3.5, 1.0, 0.0, 1.0, True),
    ],
)
def test_trunc_normal_warns_where_torch_does(
    mean: float, std: float, a: float, b: float, warns: bool
) -> None:
    def caught(fill: Callable[[], Any]) -> list[warnings.WarningMessage]:
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            fill()
        return record

    mine = caught(lambda: kt.trunc_normal_(torch.empty(10), mean, std, a, b, generator=gen()))
    theirs = caught(lambda: init.trunc_normal_(torch.empty(10), mean, std, a, b, generator=gen()))
    assert len(mine) == len(theirs) == int(warns)
    if warns:
        assert str(mine[0].message).startswith(str(theirs[0].message))
        assert (
            "kaiming.torch.trunc_normal_ draws this tail exactly, in float64 with the complementary CDF"
            in str(mine[0].message)
        )


@pytest.mark.caller_location
def test_the_trunc_normal_warning_points_at_the_callers_line() -> None:
    with pytest.warns(UserWarning, match="mean is more than 2 std") as record:
        line = inspect.currentframe().f_lineno + 1  # type: ignore[union-attr]
        kt.trunc_normal_(torch.empty(10), 3.5, 1.0, 0.0, 1.0, generator=gen())
    assert (record[0].filename, record[0].lineno) == (__file__, line)


@pytest.mark.parametrize(
    "fill",
    [
        lambda t: kt.variance_scaling_(t, 0.0, distribution="truncated_normal", generator=gen()),
        lambda t: kt.xavier_truncated_normal_(t, 0.0, generator=gen()),
    ],
)
def test_a_truncated_normal_of_std_0_is_all_zeros(fill: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """N(0, 0) cut at 0 is 0 (not a refusal: no value lies strictly inside (0, 0))."""
    assert bool((fill(torch.full((6, 4), 3.0)) == 0).all())
