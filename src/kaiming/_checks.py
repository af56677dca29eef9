"""Argument validation shared by the public functions.

Every public function validates its arguments here, once, at the boundary; internal helpers
trust their inputs. Errors are ``TypeError`` for a value of the wrong type and ``ValueError``
for a value of the right type that is not allowed, and every message names the argument, the
value received and what is allowed.
"""

from __future__ import annotations

import difflib
import math
import numbers
import os
from collections.abc import Iterable, Sequence
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "MAX_ELEMENTS",
    "MEMORY_ENV",
    "available_memory_bytes",
    "check_array_request",
    "check_at_most",
    "check_choice",
    "check_dtype",
    "check_finite_result",
    "check_fraction",
    "check_memory",
    "check_nonnegative",
    "check_not_tiny",
    "check_positive_int",
    "check_real",
    "check_representable",
    "check_shape",
    "check_size_fits",
    "check_squarable",
    "did_you_mean",
    "overflow_error",
    "overflow_possible",
    "too_small_error",
]

T = TypeVar("T", bound=str)

_FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))

MAX_ELEMENTS = 2**63 - 1
"""No tensor may have more elements than this: flat indices are int64 (NumPy's own limit too)."""

MEMORY_ENV = "KAIMING_MEMORY_BYTES"
"""Environment variable that, when set to a byte count, replaces the available memory."""

_CHECK_MEMORY_ABOVE = 64 << 20
"""Working sets below this many bytes are not compared with the available memory (no need)."""

_SQRT_MAX = math.sqrt(float(np.finfo(np.float64).max))


def check_positive_int(name: str, value: object) -> int:
    """Return ``value`` as an ``int`` if it is a positive integer (Python or NumPy)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be a positive integer, got {_short(value)} of type {type(value).__name__}"
        )
    as_int = int(value)
    if as_int <= 0:
        raise ValueError(f"{name} must be a positive integer, got {_short(as_int)}")
    return as_int


def check_shape(value: object, name: str = "shape", min_rank: int = 0) -> tuple[int, ...]:
    """Return ``value`` as a tuple of positive ints; an int is a shape of rank 1."""
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
        dims: Sequence[object] = (value,)
    elif isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"{name} must be a sequence of positive integers, got {_short(value)}")
    elif isinstance(value, np.ndarray) and value.ndim != 1:
        raise TypeError(
            f"{name} must be a sequence of positive integers, got an array of shape {value.shape}"
        )
    else:
        dims = tuple(value)
    shape = tuple(check_positive_int(f"{name}[{i}]", d) for i, d in enumerate(dims))
    if len(shape) < min_rank:
        raise ValueError(
            f"{name} must have at least {min_rank} dimensions to define fan_in and fan_out, "
            f"got {shape} with {len(shape)}"
        )
    if len(shape) > 64:
        raise ValueError(f"{name} must have at most 64 dimensions (NumPy's limit), got {len(shape)}")
    if math.prod(shape) > MAX_ELEMENTS:
        raise ValueError(
            f"{name}={_short(shape)} has more than 2**63 - 1 elements, the most allowed "
            "(flat indices are 64-bit)"
        )
    return shape


def available_memory_bytes() -> int:
    """The memory a new allocation can use now, in bytes.

    ``KAIMING_MEMORY_BYTES`` (an int) when set; else ``MemAvailable`` of ``/proc/meminfo``
    (Linux); else the free physical pages; else the physical memory.

    Example:
        >>> available_memory_bytes() > 0
        True
    """
    override = os.environ.get(MEMORY_ENV)
    if override is not None:
        try:
            value = int(override)
        except ValueError:
            raise ValueError(f"{MEMORY_ENV} must be a byte count (an int), got {override!r}") from None
        return max(value, 0)
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    for pages in ("SC_AVPHYS_PAGES", "SC_PHYS_PAGES"):  # pragma: no cover - not Linux
        try:
            return int(os.sysconf(pages)) * int(os.sysconf("SC_PAGE_SIZE"))
        except (AttributeError, ValueError, OSError):
            continue
    return 1 << 48  # pragma: no cover - unknown platform


def check_memory(peak_bytes: float, what: str) -> None:
    """Refuse work whose peak working set ``peak_bytes`` exceeds the available memory.

    ``what`` starts the message and names the argument, e.g. ``"shape=(4, 4) as float16"``.
    """
    if peak_bytes <= _CHECK_MEMORY_ABOVE and MEMORY_ENV not in os.environ:
        return
    available = available_memory_bytes()
    if peak_bytes > available:
        need = f"{peak_bytes / 2**30:.3g}" if peak_bytes < 2**1000 else "more than 1e300"
        raise ValueError(
            f"{what} needs about {need} GiB of memory at its peak, more than the "
            f"{available / 2**30:.3g} GiB available now"
        )


def check_size_fits(
    shape: tuple[int, ...],
    dtype: np.dtype[np.generic],
    name: str = "shape",
    bytes_per_element: float | None = None,
) -> None:
    """Refuse, before allocating, an array whose peak working set would not fit in memory.

    ``bytes_per_element`` is the peak memory per element of the result, all temporaries
    included (default: the result alone, ``dtype.itemsize``).
    """
    per_element = dtype.itemsize if bytes_per_element is None else bytes_per_element
    check_memory(math.prod(shape) * per_element, f"{name}={shape} as {dtype.name}")


def check_real(name: str, value: object) -> float:
    """Return ``value`` as a finite float."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {_short(value)} of type {type(value).__name__}")
    try:
        as_float = float(value)
    except OverflowError:
        raise ValueError(f"{name} must be a finite number (|x| < 1.8e308), got {_short(value)}") from None
    if not math.isfinite(as_float):
        raise ValueError(f"{name} must be a finite number, got {as_float}")
    return as_float


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:28]}...{text[-28:]} ({len(text)} characters)"


def check_at_most(name: str, value: int, limit: int, why: str) -> int:
    """Return ``value`` if it is at most ``limit``, else raise saying ``why`` the bound exists."""
    if value > limit:
        raise ValueError(f"{name} must be at most {limit} ({why}), got {_short(value)}")
    return value


def check_squarable(name: str, value: float) -> float:
    """Return a finite ``value`` whose square is a finite float64 and, unless ``value`` is 0,
    not 0 (``1.5e-154 < |value| < 1.34e154``)."""
    if abs(value) >= _SQRT_MAX or 0 < abs(value) <= 1 / _SQRT_MAX:
        raise ValueError(
            f"{name} must be 0 or between 1.5e-154 and 1.34e154 in magnitude (its square must be a "
            f"finite, nonzero float64), got {value}"
        )
    return value


def check_representable(
    name: str, value: float, dtype: np.dtype[np.floating], magnitude: float, *, random: bool = True
) -> None:
    """Refuse ``value`` (argument ``name``) when the values it gives reach ``magnitude``, beyond
    the largest finite number of ``dtype``; or, when nonzero, are too small for it: below the
    smallest normal number for random draws (``random``), rounding to 0 for a constant."""
    info = np.finfo(dtype)
    largest = float(info.max)
    if not magnitude <= largest:
        raise ValueError(
            f"{name}={value:g} gives values of magnitude up to {magnitude:.4g}, beyond the largest "
            f"finite {dtype.name} ({largest:.6g}); use a smaller value or a wider dtype"
        )
    if random:
        check_not_tiny(name, value, dtype, magnitude)
    elif value != 0 and dtype.type(value) == 0:
        smallest = float(info.smallest_subnormal) / 2
        raise too_small_error(name, value, magnitude, dtype.name, smallest, normal=False)


def check_not_tiny(name: str, value: float, dtype: np.dtype[np.floating], magnitude: float) -> None:
    """Refuse ``value`` (argument ``name``) when the random values it gives, of typical
    ``magnitude``, are nonzero but below the smallest normal number of ``dtype``: most would
    round to 0 or keep only a few bits."""
    smallest = float(np.finfo(dtype).smallest_normal)
    if 0 < magnitude < smallest:
        raise too_small_error(name, value, magnitude, dtype.name, smallest)


def too_small_error(
    name: str, value: float, magnitude: float, dtype: str, smallest: float, *, normal: bool = True
) -> ValueError:
    """The error for argument ``name=value`` giving values of ``magnitude`` below ``smallest``,
    the smallest (``normal``) number of ``dtype`` (also ``kaiming.torch``'s, whose dtypes
    include bfloat16)."""
    return ValueError(
        f"{name}={value:g} gives values of magnitude {magnitude:.4g}, below the smallest "
        f"{'normal ' if normal else ''}{dtype} ({smallest:.4g}): they would be 0 or lose their "
        "precision; use a larger value or a wider dtype"
    )


def overflow_possible(
    scale: float, dtype: np.dtype[np.floating], reach: float = 64.0, offset: float = 0.0
) -> bool:
    """Whether draws of ``offset + scale * x``, ``|x|`` up to ``reach`` (an unbounded variable's
    64, a uniform's 1), may overflow ``dtype``."""
    return abs(offset) + scale * reach > float(np.finfo(dtype).max)


def check_finite_result(values: NDArray[np.floating], name: str, value: float) -> None:
    """Refuse a result with an infinite or NaN element, caused by argument ``name=value``."""
    if not np.isfinite(values).all():
        raise overflow_error(name, value, values.dtype)


def overflow_error(name: str, value: float, dtype: np.dtype[np.floating]) -> ValueError:
    """The error for values that overflowed ``dtype`` because of argument ``name=value``."""
    return ValueError(
        f"{name}={value:g} makes values overflow {dtype.name} (largest finite "
        f"{float(np.finfo(dtype).max):.6g}); use a smaller value or a wider dtype"
    )


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
        raise TypeError(f"{name} must be a string, one of {_quoted(options)}; got {_short(value)}")
    for option in options:
        if value == option:
            return option
    raise ValueError(
        f"Invalid {name} {_short(value)}; allowed: {_quoted(options)}{did_you_mean(value, options)}"
    )


def did_you_mean(value: str, options: Iterable[str]) -> str:
    """``"; did you mean 'relu'?"`` for the closest option (case-insensitive), else ``""``."""
    lowered = {option.lower(): option for option in options}
    if value.lower() in lowered:
        return f"; did you mean {lowered[value.lower()]!r}?"
    close = difflib.get_close_matches(value.lower(), list(lowered), n=1, cutoff=0.7)
    return f"; did you mean {lowered[close[0]]!r}?" if close else ""


def _quoted(options: Iterable[str]) -> str:
    return ", ".join(repr(o) for o in options)


def check_dtype(value: object, name: str = "dtype") -> np.dtype[np.floating]:
    """Return ``value`` as a NumPy float dtype (float16, float32 or float64)."""
    try:
        dtype = np.dtype(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, SyntaxError):
        raise TypeError(
            f"{name} must be a NumPy float dtype (float16, float32, float64), got {_short(value)}"
        ) from None
    if dtype not in _FLOAT_DTYPES:
        raise ValueError(
            f"{name} must be one of float16, float32, float64, got {dtype.name} "
            "(bfloat16: use kaiming.torch, NumPy has no bfloat16)"
        )
    float_dtype: np.dtype[np.floating] = dtype
    return float_dtype


def check_array_request(
    shape: object, dtype: object, min_rank: int = 0, bytes_per_element: float | None = None
) -> tuple[tuple[int, ...], np.dtype[np.floating]]:
    """Validate the ``shape`` and float ``dtype`` of an array to be made, and that its peak
    working set (``bytes_per_element`` per element of the result) fits in available memory."""
    dims = check_shape(shape, min_rank=min_rank)
    out_dtype = check_dtype(dtype)
    check_size_fits(dims, out_dtype, bytes_per_element=bytes_per_element)
    return dims, out_dtype
