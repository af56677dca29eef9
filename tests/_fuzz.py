"""Shared pieces of the property-based fuzz suites (tests/test_fuzz_*.py).

The contract every public entry point must keep, whatever it is given: either a correct, finite
result, or a ``ValueError``/``TypeError`` whose message is one line and names the argument at
fault. ``outcome`` checks it for one call; the strategies mix valid values with hostile ones
(wrong types, NaN/inf, huge and tiny numbers, big ints, 0-d arrays, bools, ...).
"""

from __future__ import annotations

import inspect
import math
import os
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

FUZZ = settings(
    max_examples=int(os.environ.get("KAIMING_FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
"""Bounded runtime: 40 examples per entry point, each a small call (``KAIMING_FUZZ_EXAMPLES=500``
for a longer local run)."""

HOSTILE_REALS: list[object] = [
    float("nan"),
    float("inf"),
    -float("inf"),
    1e308,
    -1e308,
    1.3e154,
    1e-320,
    5e-324,
    10**400,
    -(10**400),
    2**63,
    2**64,
    True,
    None,
    "1.0",
    complex(1, 1),
    np.float16(65504),
    np.float64(1e300),
    np.array(2.0),
]
HOSTILE_INTS: list[object] = [
    0,
    -1,
    -(2**63),
    2**31,
    2**63,
    2**64,
    10**30,
    10**400,
    1.5,
    2.0,
    True,
    None,
    "3",
    np.int64(-5),
    np.uint64(2**63),
    np.array(3),
    [],
]
HOSTILE_SHAPES: list[object] = [
    (),
    0,
    -3,
    (0, 4),
    (4, -1),
    (2**63, 2),
    (2**40, 2**40),
    (2**62, 4),
    (10**7, 10**7),
    (3.0, 4),
    ("3", 4),
    (True, 4),
    None,
    "44",
    b"4",
    np.array(5),
    np.array([[2, 2]]),
    [4, 4, 4, 4, 4, 4],
    (1,) * 70,
    {4: 4},
    4.5,
    (None,),
]
HOSTILE_NAMES: list[object] = ["", "He", "ReLU", "RELU", "he normal", "x" * 500, None, 3, b"relu", ["relu"]]
HOSTILE_DTYPES: list[object] = [
    "float8",
    "bfloat16",
    np.int32,
    "int64",
    bool,
    object,
    None,
    "complex64",
    np.complex128,
    "f",
    3,
    "nonsense",
]
HOSTILE_SEEDS: list[object] = [-1, 2**64, 2**200, 1.5, "0", True, np.float64(1.0), []]

reals = st.one_of(
    st.floats(-4.0, 4.0), st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(HOSTILE_REALS)
)
nonnegative = st.one_of(st.floats(0.0, 4.0), st.floats(0.0, 4.0), st.sampled_from(HOSTILE_REALS))
small_shapes = st.lists(st.integers(1, 6), min_size=2, max_size=4).map(tuple)
shapes = st.one_of(small_shapes, small_shapes, st.sampled_from(HOSTILE_SHAPES))
float_dtypes = st.sampled_from([np.float16, np.float32, np.float64, "float32", np.dtype("float64")])
dtypes = st.one_of(float_dtypes, float_dtypes, st.sampled_from(HOSTILE_DTYPES))
seeds = st.one_of(st.integers(0, 2**32), st.sampled_from(HOSTILE_SEEDS))
layouts = st.one_of(st.sampled_from(["jax", "torch"]), st.sampled_from(["JAX", "pytorch", None, 1]))


def hostile_or(valid: st.SearchStrategy[Any], hostile: Iterable[object]) -> st.SearchStrategy[Any]:
    """``valid`` two times in three, else one of ``hostile``."""
    return st.one_of(valid, valid, st.sampled_from(list(hostile)))


def names_of(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> set[str]:
    """The parameter names a call binds (what an error message may name)."""
    try:
        bound = inspect.signature(fn).bind_partial(*args, **kwargs)
    except (TypeError, ValueError):
        return set(kwargs)
    names = set(bound.arguments)
    for param in inspect.signature(fn).parameters.values():
        if param.kind is inspect.Parameter.VAR_KEYWORD and param.name in names:
            names |= set(bound.arguments[param.name])
    return names


def outcome(fn: Callable[..., Any], *args: Any, also: Iterable[str] = (), **kwargs: Any) -> Any:
    """Call ``fn``; return its result, or ``None`` if it refused the call as the contract allows.

    Anything but a ``ValueError``/``TypeError`` fails the test, as does a message of more than one
    line or one naming none of the call's arguments (nor one of ``also``, e.g. ``"param"``).
    """
    names = names_of(fn, args, kwargs) | set(also)
    try:
        return fn(*args, **kwargs)
    except (ValueError, TypeError) as exc:
        message = str(exc)
        assert message and "\n" not in message, f"{fn.__name__}: multi-line message {message!r}"
        assert any(name in message for name in names), f"{fn.__name__}: {message!r} names none of {names}"
        return None


def assert_finite_array(result: object, dtype: object = None) -> None:
    """A correct array result: all finite, of the requested float dtype when one was given."""
    array = np.asarray(result)
    assert array.dtype.kind == "f", array.dtype
    assert np.isfinite(array).all(), "non-finite values returned"
    if dtype is not None:
        assert array.dtype == np.dtype(dtype)  # type: ignore[call-overload]


def assert_finite_number(value: object) -> None:
    assert isinstance(value, float) and math.isfinite(value), value
