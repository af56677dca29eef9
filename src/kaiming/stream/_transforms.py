"""Fixed-cost maps from Philox words to floats, written once for NumPy arrays and numba scalars.

Bit-identity between the NumPy reference path and the numba fast path (and across platforms)
rests on three rules that every function here follows:

1. Only IEEE-754 operations that are correctly rounded everywhere: ``+ - * /``, ``sqrt``,
   exact integer <-> float conversions, and bit reinterpretation (``view``). No libm call
   (``log``, ``sin``, ... differ in the last bit between NumPy's SIMD kernels, glibc and LLVM):
   the logarithm, sine and cosine are evaluated here by range reduction and fixed polynomials.
2. Every float constant is typed (``np.float32``/``np.float64``), so numba never promotes a
   float32 expression to float64, and the operations happen in the same order on both paths
   (numba does not contract ``a * b + c`` into an FMA without ``fastmath``).
3. Choices are made with ``sel(cond, a, b)``: ``np.where`` here, a scalar select in numba
   (registered by ``_numba_path``).

Layout of a Philox block (4 words of 32 bits) per distribution; an element's value depends
only on its own lanes, so any slice gives the same bits as the full tensor:

=================  =======  =============================================================
distribution       values   words used per value
=================  =======  =============================================================
normal, float32    4        Box-Muller on (w0, w1) -> v0, v1 and on (w2, w3) -> v2, v3
normal, float64    2        Box-Muller: radius from 53 bits of (w0, w1), angle from (w2, w3)
uniform, float32   4        one word each (24 bits), symmetric on (-1, 1)
uniform, float64   2        two words each (53 bits)
truncated, f32     4        one word each: sign bit + 23 bits through the normal quantile
truncated, f64     2        two words each: sign bit + 52 bits
=================  =======  =============================================================
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any

import numpy as np

from ._philox import U64

__all__ = [
    "GROUP_FUNCTIONS",
    "INLINE",
    "P_LOWER",
    "SMALL",
    "Constants",
    "constants",
    "sel",
    "values_per_block",
]

Array = Any  # a NumPy array on the reference path, a scalar inside numba


def sel(cond: Array, a: Array, b: Array) -> Array:
    """``a`` where ``cond`` else ``b`` (``np.where``; the numba path registers a scalar select)."""
    return np.where(cond, a, b)


# Phi(-2), the lower tail mass cut off by truncation at -2 sigma, as a literal so that it is the
# same double on every platform (tests check it against scipy.special.ndtr(-2)).
P_LOWER = 0.022750131948179195

# Wichura (1988), Algorithm AS 241 "The percentage points of the normal distribution",
# Applied Statistics 37(3):477-484, PPND16: rational approximations of Phi^{-1}, highest degree
# first. Central region |p - 0.5| <= 0.425 (in r = 0.180625 - q**2) and the first tail region
# 0.075 > p >= exp(-25) (in r = sqrt(-log p) - 1.6). Truncation at +-2 sigma needs no other.
_AS241_A = (
    2.5090809287301226727e3, 3.3430575583588128105e4, 6.7265770927008700853e4,
    4.5921953931549871457e4, 1.3731693765509461125e4, 1.9715909503065514427e3,
    1.3314166789178437745e2, 3.3871328727963666080e0,
)  # fmt: skip
_AS241_B = (
    5.2264952788528545610e3, 2.8729085735721942674e4, 3.9307895800092710610e4,
    2.1213794301586595867e4, 5.3941960214247511077e3, 6.8718700749205790830e2,
    4.2313330701600911252e1, 1.0,
)  # fmt: skip
_AS241_C = (
    7.74545014278341407640e-4, 2.27238449892691845833e-2, 2.41780725177450611770e-1,
    1.27045825245236838258e0, 3.64784832476320460504e0, 5.76949722146069140550e0,
    4.63033784615654529590e0, 1.42343711074968357734e0,
)  # fmt: skip
_AS241_D = (
    1.05075007164441684324e-9, 5.47593808499534494600e-4, 1.51986665636164571966e-2,
    1.48103976427480074590e-1, 6.89767334985100004550e-1, 1.67638483018380384940e0,
    2.05319162663775882187e0, 1.0,
)  # fmt: skip


def _ln2_split(keep_bits: int) -> tuple[float, float]:
    """ln 2 as hi + lo, hi with only ``keep_bits`` significant bits so ``k * hi`` is exact."""
    with localcontext() as ctx:
        ctx.prec = 50
        ln2 = Decimal(2).ln()
        hi = math.ldexp(math.floor(math.ldexp(float(ln2), keep_bits)), -keep_bits)
        lo = float(ln2 - Decimal(hi))
    return hi, lo


def _taylor(first: int, terms: int) -> tuple[float, ...]:
    """Coefficients (-1)**(j+1) / (first + 2j)! for j = terms-1 .. 0 (highest degree first)."""
    return tuple((-1.0) ** (j + 1) / math.factorial(first + 2 * j) for j in reversed(range(terms)))


@dataclass(frozen=True)
class Constants:
    """The constants of one float format's transforms, typed (``ftype``/``U64`` scalars).

    Every executor (NumPy, numba, ``_xp`` for jax.numpy and torch) takes its constants from
    here, so a coefficient cannot differ between paths.
    """

    mant_mask: Any
    one_bits: Any
    exp_one: Any
    sqrt2_bits: Any
    f_bias: Any
    ln2_hi: Any
    ln2_lo: Any
    log_poly: tuple[Any, ...]
    sin_poly: tuple[Any, ...]
    cos_poly: tuple[Any, ...]
    unit: Any
    angle_unit: Any
    quarter_shift: int
    quarter_mask: Any
    eighth: Any
    full: int
    a_poly: tuple[Any, ...]
    b_poly: tuple[Any, ...]
    c_poly: tuple[Any, ...]
    d_poly: tuple[Any, ...]
    central_r: Any
    central_q: Any
    tail_r: Any
    p_lower: Any
    p_span: Any
    lo_bound: Any


def constants(
    ftype: type[np.floating[Any]],
    utype: type[np.unsignedinteger[Any]],
    mant: int,
    bias: int,
    bits: int,
) -> Constants:
    """The transform constants for a float format (see ``_make`` for the arguments)."""
    half = ftype(0.5)
    p_lower = ftype(P_LOWER)
    ln2_hi, ln2_lo = (ftype(v) for v in _ln2_split(12 if bits == 24 else 32))
    a_poly, b_poly, c_poly, d_poly = (
        tuple(ftype(c) for c in t) for t in (_AS241_A, _AS241_B, _AS241_C, _AS241_D)
    )
    return Constants(
        mant_mask=U64((1 << mant) - 1),
        one_bits=U64(bias << mant),
        exp_one=U64(1 << mant),
        sqrt2_bits=U64(int(np.array(math.sqrt(2.0), dtype=ftype).view(utype))),
        f_bias=ftype(bias),
        ln2_hi=ln2_hi,
        ln2_lo=ln2_lo,
        # atanh series: log(1+f) = 2s + 2s * z * (1/3 + z/5 + ...), s = f/(2+f), z = s*s, |s| < 0.1716
        log_poly=tuple(ftype(1.0 / (2 * j + 3)) for j in reversed(range(5 if bits == 24 else 10))),
        # sin y = y + y*z*P(z), cos y = 1 + z*Q(z) on |y| <= pi/4 (Taylor, error < 2e-9 / 5e-17)
        sin_poly=tuple(ftype(c) for c in _taylor(3, 4 if bits == 24 else 7)),
        cos_poly=tuple(ftype(c) for c in _taylor(2, 5 if bits == 24 else 8)),
        unit=ftype(2.0**-bits),  # a uniform's resolution
        angle_unit=ftype(math.pi * 2.0 ** (1 - bits)),  # 2 pi / 2**bits
        quarter_shift=bits - 2,
        quarter_mask=U64((1 << (bits - 2)) - 1),
        eighth=U64(1 << (bits - 3)),
        full=1 << bits,
        a_poly=a_poly,
        b_poly=b_poly,
        c_poly=c_poly,
        d_poly=d_poly,
        central_r=ftype(0.180625),
        central_q=ftype(-0.425),
        tail_r=ftype(1.6),
        p_lower=p_lower,
        p_span=ftype(half - p_lower),
        lo_bound=ftype(-2.0),
    )


def _make(
    ftype: type[np.floating[Any]],
    utype: type[np.unsignedinteger[Any]],
    itype: type[np.signedinteger[Any]],
    mant: int,
    bias: int,
    bits: int,
) -> dict[str, Callable[..., Any]]:
    """The transforms for one float format (float32: 23-bit mantissa; float64: 52-bit).

    ``bits`` is the number of random bits a uniform in (0, 1] gets (24 or 53). Integers are
    converted to floats through the signed ``itype`` (exact either way; int32 -> float32 is a
    single SIMD instruction, unlike uint64 -> float32).
    """
    c = constants(ftype, utype, mant, bias, bits)
    one, two, half, neg_two = ftype(1.0), ftype(2.0), ftype(0.5), ftype(-2.0)
    mant_mask, one_bits, exp_one, sqrt2_bits = c.mant_mask, c.one_bits, c.exp_one, c.sqrt2_bits
    shift_mant, f_bias, ln2_hi, ln2_lo = U64(mant), c.f_bias, c.ln2_hi, c.ln2_lo
    log_poly, sin_poly, cos_poly = c.log_poly, c.sin_poly, c.cos_poly
    unit, angle_unit = c.unit, c.angle_unit
    quarter_shift, quarter_mask, eighth = U64(c.quarter_shift), c.quarter_mask, c.eighth
    i_eighth, i_full = itype(c.eighth), itype(c.full)
    three, two_u, one_u = U64(3), U64(2), U64(1)
    a_poly, b_poly, c_poly, d_poly = c.a_poly, c.b_poly, c.c_poly, c.d_poly
    central_r, central_q, tail_r = c.central_r, c.central_q, c.tail_r
    p_lower, p_span, lo_bound = c.p_lower, c.p_span, c.lo_bound

    def horner(coeffs: tuple[Any, ...], x: Array) -> Array:
        acc = coeffs[0]
        for i in range(1, len(coeffs)):
            acc = acc * x + coeffs[i]
        return acc

    def log(x: Array) -> Array:
        """Natural log of positive normal floats ``x``: x = 2**k * m, m in [sqrt(1/2), sqrt(2))."""
        xbits = U64(ftype(x).view(utype))
        mbits = (xbits & mant_mask) | one_bits
        big = mbits >= sqrt2_bits
        m = utype(sel(big, mbits - exp_one, mbits)).view(ftype)
        k = ftype(itype(xbits >> shift_mant)) - f_bias
        k = sel(big, k + one, k)
        f = m - one  # exact (Sterbenz)
        s = f / (two + f)
        z = s * s
        s2 = s + s
        return k * ln2_hi + (k * ln2_lo + (s2 + s2 * (z * horner(log_poly, z))))

    def unit_open(t: Array) -> Array:
        """(t + 1) / 2**bits in (0, 1] for an integer t of ``bits`` bits (exact)."""
        return ftype(itype(t + one_u)) * unit

    def box_muller(t_radius: Array, t_angle: Array) -> tuple[Array, Array]:
        """Two independent N(0, 1) from two ``bits``-bit integers: r*cos(theta), r*sin(theta).

        theta = 2 pi t_angle / 2**bits is reduced exactly in integers: the quadrant q of the
        nearest multiple of pi/2 and a remainder y in [-pi/4, pi/4).
        """
        r = np.sqrt(neg_two * log(unit_open(t_radius)))
        tt = t_angle + eighth
        q = (tt >> quarter_shift) & three
        y = ftype(itype(tt & quarter_mask) - i_eighth) * angle_unit
        z = y * y
        s = y + y * (z * horner(sin_poly, z))
        c = one + z * horner(cos_poly, z)
        swap = (q & one_u) != 0
        cc = sel(swap, s, c)
        ss = sel(swap, c, s)
        cc = sel(((q + one_u) & two_u) != 0, -cc, cc)
        ss = sel((q & two_u) != 0, -ss, ss)
        return r * cc, r * ss

    def symmetric_unit(t: Array) -> Array:
        """(2t + 1 - 2**bits) / 2**bits in (-1, 1) for a ``bits``-bit integer t (exact)."""
        return ftype(itype(t + t + one_u) - i_full) * unit

    def ndtri_lower(p: Array) -> Array:
        """Phi^{-1}(p) for p in [Phi(-2), 0.5] by AS 241 (both regions, then a select)."""
        q = p - half
        rc = central_r - q * q
        central = q * horner(a_poly, rc) / horner(b_poly, rc)
        rt = np.sqrt(-log(p)) - tail_r
        tail = -(horner(c_poly, rt) / horner(d_poly, rt))
        return sel(q >= central_q, central, tail)

    def truncated(negative: Array, t: Array) -> Array:
        """N(0, 1) truncated to [-2, 2]: a sign and a ``bits - 1``-bit magnitude by inverse CDF."""
        p = p_lower + (ftype(itype(t + t + one_u)) * unit) * p_span
        z = ndtri_lower(p)
        z = sel(z < lo_bound, lo_bound, z)
        return sel(negative, -z, z)

    return {
        "horner": horner,
        "log": log,
        "unit_open": unit_open,
        "box_muller": box_muller,
        "symmetric_unit": symmetric_unit,
        "ndtri_lower": ndtri_lower,
        "truncated": truncated,
    }


F32 = _make(np.float32, np.uint32, np.int32, 23, 127, 24)
F64 = _make(np.float64, np.uint64, np.int64, 52, 1023, 53)

_S8, _S11, _S21, _S31 = U64(8), U64(11), U64(21), U64(31)
_LOW23 = U64((1 << 23) - 1)
_LOW31 = U64((1 << 31) - 1)
_f32_box, _f64_box = F32["box_muller"], F64["box_muller"]
_f32_sym, _f64_sym = F32["symmetric_unit"], F64["symmetric_unit"]
_f32_trunc, _f64_trunc = F32["truncated"], F64["truncated"]


def bits53(hi: Array, lo: Array) -> Array:
    """53 bits from two words: all 32 of ``hi`` above the top 21 of ``lo``."""
    return (hi << _S21) | (lo >> _S11)


def normal_f32(w0: Array, w1: Array) -> tuple[Array, Array]:
    return _f32_box(w0 >> _S8, w1 >> _S8)  # type: ignore[no-any-return]


def normal_f64(w0: Array, w1: Array, w2: Array, w3: Array) -> tuple[Array, Array]:
    return _f64_box(bits53(w0, w1), bits53(w2, w3))  # type: ignore[no-any-return]


def uniform_f32(w: Array) -> Array:
    return _f32_sym(w >> _S8)


def uniform_f64(hi: Array, lo: Array) -> Array:
    return _f64_sym(bits53(hi, lo))


def truncated_f32(w: Array) -> Array:
    return _f32_trunc((w >> _S31) != 0, (w >> _S8) & _LOW23)


def truncated_f64(hi: Array, lo: Array) -> Array:
    return _f64_trunc((hi >> _S31) != 0, bits53(hi & _LOW31, lo))


GROUP_FUNCTIONS: dict[tuple[str, str], tuple[Callable[..., Any], int, int]] = {
    ("normal", "float32"): (normal_f32, 2, 2),
    ("normal", "float64"): (normal_f64, 4, 2),
    ("uniform", "float32"): (uniform_f32, 1, 1),
    ("uniform", "float64"): (uniform_f64, 2, 1),
    ("truncated_normal", "float32"): (truncated_f32, 1, 1),
    ("truncated_normal", "float64"): (truncated_f64, 2, 1),
}
"""(distribution, work dtype) -> (function, words it takes, values it returns).

A block's four words are consumed in order, ``words`` at a time, and the values are laid out
in the same order: a block holds ``4 // words * values`` consecutive elements."""


def values_per_block(dist_key: tuple[str, str]) -> int:
    _, words, values = GROUP_FUNCTIONS[dist_key]
    return 4 // words * values


INLINE: tuple[Callable[..., Any], ...] = (
    F32["log"],
    F32["box_muller"],
    F32["symmetric_unit"],
    F32["ndtri_lower"],
    F32["truncated"],
    F64["log"],
    F64["box_muller"],
    F64["symmetric_unit"],
    F64["ndtri_lower"],
    F64["truncated"],
    *(fn for fn, _, _ in GROUP_FUNCTIONS.values()),
)
"""Helpers the numba path inlines into its loops (at numba's IR level: too big for LLVM's
own inliner, and a call in a loop body prevents vectorization)."""

SMALL: tuple[Callable[..., Any], ...] = (
    F32["horner"],
    F32["unit_open"],
    F64["horner"],
    F64["unit_open"],
    bits53,
)
"""Small helpers the numba path leaves to LLVM's inliner (cheaper to compile)."""
