"""Argument validation shared by the public functions.

Every public function validates its arguments here, once, at the boundary; internal helpers
trust their inputs. Errors are ``TypeError`` for a value of the wrong type and ``ValueError``
for a value of the right type that is not allowed, and every message names the argument, the
value received and what is allowed.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterable, Sequence
from typing import TypeVar

import numpy as np

__all__ = [
    "check_array_request",
    "check_choice",
    "check_dtype",
    "check_fraction",
    "check_nonnegative",
    "check_positive_int",
    "check_real",
    "check_shape",
    "check_size_fits",
]

T = TypeVar("T", bound=str)

_FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


def check_positive_int(name: str, value: object) -> int:
    """Return ``value`` as an ``int`` if it is a positive integer (Python or NumPy)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive integer, got {value!r} of type {type(value).__name__}")
    as_int = int(value)
    if as_int <= 0:
        raise ValueError(f"{name} must be a positive integer, got {as_int}")
    return as_int


def check_shape(value: object, name: str = "shape", min_rank: int = 0) -> tuple[int, ...]:
    """Return ``value`` as a tuple of positive ints; an int is a shape of rank 1."""
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
        dims: Sequence[object] = (value,)
    elif isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"{name} must be a sequence of positive integers, got {value!r}")
    else:
        dims = tuple(value)
    shape = tuple(check_positive_int(f"{name}[{i}]", d) for i, d in enumerate(dims))
    if len(shape) < min_rank:
        raise ValueError(
            f"{name} must have at least {min_rank} dimensions to define fan_in and fan_out, "
            f"got {shape} with {len(shape)}"
        )
    return shape


def _memory_limit_bytes() -> int:
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - non-POSIX
        return 1 << 48


def check_size_fits(shape: tuple[int, ...], dtype: np.dtype[np.generic], name: str = "shape") -> None:
    """Refuse, before allocating, a shape whose array would not fit in physical memory."""
    nbytes = math.prod(shape) * dtype.itemsize
    limit = _memory_limit_bytes()
    if nbytes > limit:
        raise ValueError(
            f"{name}={shape} needs {nbytes / 2**30:.3g} GiB as {dtype.name}, more than this "
            f"machine's {limit / 2**30:.3g} GiB of memory"
        )


def check_real(name: str, value: object) -> float:
    """Return ``value`` as a finite float."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} of type {type(value).__name__}")
    as_float = float(value)
    if not math.isfinite(as_float):
        raise ValueError(f"{name} must be a finite number, got {as_float}")
    return as_float


def check_nonnegative(name: str, value: object) -> float:
    """Return ``value`` as a finite float >= 0."""
    as_float = check_real(name, value)
    if as_float < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {as_float}")
    return as_float


def check_fraction(name: str, value: object) -> float:
    """Return ``value`` as a float in [0, 1)."""
    as_float = check_real(name, value)
    if not 0.0 <= as_float < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {as_float}")
    return as_float


def check_choice(name: str, value: object, allowed: Iterable[T]) -> T:
    """Return ``value`` if it is one of ``allowed`` (strings), else raise naming them all."""
    options = tuple(allowed)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {_quoted(options)}; got {value!r}")
    for option in options:
        if value == option:
            return option
    raise ValueError(f"Invalid {name} {value!r}; allowed: {_quoted(options)}")


def _quoted(options: Iterable[str]) -> str:
    return ", ".join(repr(o) for o in options)


def check_dtype(value: object, name: str = "dtype") -> np.dtype[np.floating]:
    """Return ``value`` as a NumPy float dtype (float16, float32 or float64)."""
    try:
        dtype = np.dtype(value)  # type: ignore[call-overload]
    except TypeError as exc:
        raise TypeError(f"{name} must be a NumPy float dtype, got {value!r}") from exc
    if dtype not in _FLOAT_DTYPES:
        raise ValueError(
            f"{name} must be one of float16, float32, float64, got {dtype.name} "
            "(bfloat16: use kaiming.torch, NumPy has no bfloat16)"
        )
    float_dtype: np.dtype[np.floating] = dtype
    return float_dtype


def check_array_request(
    shape: object, dtype: object, min_rank: int = 0
) -> tuple[tuple[int, ...], np.dtype[np.floating]]:
    """Validate the ``shape`` and float ``dtype`` of an array to be made, and that it fits."""
    dims = check_shape(shape, min_rank=min_rank)
    out_dtype = check_dtype(dtype)
    check_size_fits(dims, out_dtype)
    return dims, out_dtype
