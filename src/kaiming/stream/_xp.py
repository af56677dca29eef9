"""Philox4x32-10 and the float transforms for array libraries without a 64-bit product.

The jax.numpy and torch executors share this code; each supplies an ``Ops`` with a handful of
primitives (select, square root, casts, bit reinterpretation, the 32x32 -> 64-bit product).
The arithmetic is the reference's (``_philox``, ``_transforms``) operation for operation, in
the same order, with the same typed constants (``_transforms.constants``), so every value is
bit-identical to the NumPy path as long as the library neither contracts ``a * b + c`` into
an FMA nor flushes subnormals in these ranges (none occur: see ``docs/performance.md``).

Philox words are integer arrays holding values in ``[0, 2**32)``: ``uint32`` in jax.numpy
(32-bit ops only, so it runs with ``jax_enable_x64`` off) and ``int64`` in torch (every torch
device has int64; uint32 arithmetic is not). Only ``+``, ``^``, ``&``, ``|``, ``>>`` and the
ops' ``mulhilo`` touch them, so either representation gives the same words.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from ._philox import M0, M1, ROUNDS, W0, W1
from ._transforms import GROUP_FUNCTIONS, Constants, constants

__all__ = ["GROUPS", "Ops", "block_values", "lane_values", "philox_rounds"]

Array = Any
MASK32 = 0xFFFFFFFF


class Ops(Protocol):
    """The primitives an array library supplies (``kind``: ``"int32"``, ``"int64"``,
    ``"float32"``, ``"float64"``)."""

    def where(self, cond: Array, a: Array, b: Array) -> Array: ...

    def sqrt(self, x: Array) -> Array: ...

    def cast(self, x: Array, kind: str) -> Array: ...

    def bitcast(self, x: Array, kind: str) -> Array: ...

    def mulhilo(self, m: int, a: Array) -> tuple[Array, Array]:
        """``(hi, lo)`` 32-bit words of ``m * a`` for a constant ``m < 2**32``."""
        ...

    def word(self, value: int) -> Any:
        """A 32-bit word constant in the type the library's words combine with."""
        ...

    def keep(self, x: Array) -> Array:
        """``x`` itself, opaque to a compiler: neither contracted into a following addition
        (a fused multiply-add) nor re-associated with a following constant."""
        ...


def philox_rounds(
    o: Ops, c0: Array, c1: Array, c2: Array, c3: Array, k0: Any, k1: Any, rounds: int = ROUNDS
) -> tuple[Array, Array, Array, Array]:
    """``_philox.philox4x32_rounds`` on 32-bit words (key words: ints or arrays)."""
    m0, m1, w0, w1, mask = int(M0), int(M1), o.word(int(W0)), o.word(int(W1)), o.word(MASK32)
    for r in range(rounds):
        if r > 0:
            k0 = (k0 + w0) & mask
            k1 = (k1 + w1) & mask
        hi0, lo0 = o.mulhilo(m0, c0)
        hi1, lo1 = o.mulhilo(m1, c2)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    return c0, c1, c2, c3


def _f(c: Any) -> Any:
    """A typed constant as a Python number (exact), so a library's weak typing keeps the
    array's float width and rounds the constant to exactly the reference's value."""
    if isinstance(c, tuple):
        return tuple(_f(v) for v in c)
    return float(c) if isinstance(c, np.floating) else int(c)


class _Format:
    """The transforms of ``_transforms._make`` for one float format, on ``Ops`` arrays."""

    def __init__(self, c: Constants, fkind: str, ikind: str, mant: int) -> None:
        self.c = {name: _f(getattr(c, name)) for name in c.__dataclass_fields__}
        self.fkind, self.ikind, self.mant = fkind, ikind, mant

    def horner(self, o: Ops, coeffs: tuple[float, ...], x: Array) -> Array:
        acc = coeffs[0]
        for coeff in coeffs[1:]:
            acc = o.keep(acc * x) + coeff
        return acc

    def log(self, o: Ops, x: Array) -> Array:
        c = self.c
        xbits = o.bitcast(x, self.ikind)  # x > 0: the signed view holds the same bits
        mbits = (xbits & c["mant_mask"]) | c["one_bits"]
        big = mbits >= c["sqrt2_bits"]
        m = o.bitcast(o.where(big, mbits - c["exp_one"], mbits), self.fkind)
        k = o.cast(xbits >> self.mant, self.fkind) - c["f_bias"]
        k = o.where(big, k + 1.0, k)
        f = m - 1.0
        s = f / (2.0 + f)
        z = s * s
        s2 = s + s
        tail = s2 + o.keep(s2 * (z * self.horner(o, c["log_poly"], z)))
        return o.keep(k * c["ln2_hi"]) + (o.keep(k * c["ln2_lo"]) + tail)

    def to_float(self, o: Ops, t: Array) -> Array:
        return o.cast(o.cast(t, self.ikind), self.fkind)

    def box_muller(self, o: Ops, t_radius: Array, t_angle: Array) -> tuple[Array, Array]:
        c = self.c
        r = o.sqrt(-2.0 * self.log(o, self.to_float(o, t_radius + 1) * c["unit"]))
        tt = t_angle + c["eighth"]
        q = (tt >> c["quarter_shift"]) & 3
        y = o.cast(o.cast(tt & c["quarter_mask"], self.ikind) - c["eighth"], self.fkind) * c["angle_unit"]
        z = y * y
        s = y + o.keep(y * (z * self.horner(o, c["sin_poly"], z)))
        co = 1.0 + o.keep(z * self.horner(o, c["cos_poly"], z))
        swap = (q & 1) != 0
        cc = o.where(swap, s, co)
        ss = o.where(swap, co, s)
        cc = o.where(((q + 1) & 2) != 0, -cc, cc)
        ss = o.where((q & 2) != 0, -ss, ss)
        return r * cc, r * ss

    def symmetric_unit(self, o: Ops, t: Array) -> Array:
        return o.cast(o.cast(t + t + 1, self.ikind) - self.c["full"], self.fkind) * self.c["unit"]

    def truncated(self, o: Ops, negative: Array, t: Array) -> Array:
        c = self.c
        p = o.keep(c["p_lower"] + o.keep((self.to_float(o, t + t + 1) * c["unit"]) * c["p_span"]))
        q = p - 0.5
        rc = c["central_r"] - o.keep(q * q)
        central = q * self.horner(o, c["a_poly"], rc) / self.horner(o, c["b_poly"], rc)
        rt = o.sqrt(-self.log(o, p)) - c["tail_r"]
        tail = -(self.horner(o, c["c_poly"], rt) / self.horner(o, c["d_poly"], rt))
        z = o.where(q >= c["central_q"], central, tail)
        z = o.where(z < c["lo_bound"], c["lo_bound"], z)
        return o.where(negative, -z, z)


F32 = _Format(constants(np.float32, np.uint32, 23, 127, 24), "float32", "int32", 23)
F64 = _Format(constants(np.float64, np.uint64, 52, 1023, 53), "float64", "int64", 52)


def _bits53(o: Ops, hi: Array, lo: Array) -> Array:
    return (o.cast(hi, "int64") << 21) | (o.cast(lo, "int64") >> 11)


def _normal_f32(o: Ops, w0: Array, w1: Array) -> tuple[Array, ...]:
    return F32.box_muller(o, w0 >> 8, w1 >> 8)


def _normal_f64(o: Ops, w0: Array, w1: Array, w2: Array, w3: Array) -> tuple[Array, ...]:
    return F64.box_muller(o, _bits53(o, w0, w1), _bits53(o, w2, w3))


def _uniform_f32(o: Ops, w: Array) -> tuple[Array, ...]:
    return (F32.symmetric_unit(o, w >> 8),)


def _uniform_f64(o: Ops, hi: Array, lo: Array) -> tuple[Array, ...]:
    return (F64.symmetric_unit(o, _bits53(o, hi, lo)),)


def _truncated_f32(o: Ops, w: Array) -> tuple[Array, ...]:
    return (F32.truncated(o, (w >> 31) != 0, (w >> 8) & 0x7FFFFF),)


def _truncated_f64(o: Ops, hi: Array, lo: Array) -> tuple[Array, ...]:
    return (F64.truncated(o, (hi >> 31) != 0, _bits53(o, hi & 0x7FFFFFFF, lo)),)


GROUPS: dict[tuple[str, str], Callable[..., tuple[Array, ...]]] = {
    ("normal", "float32"): _normal_f32,
    ("normal", "float64"): _normal_f64,
    ("uniform", "float32"): _uniform_f32,
    ("uniform", "float64"): _uniform_f64,
    ("truncated_normal", "float32"): _truncated_f32,
    ("truncated_normal", "float64"): _truncated_f64,
}
"""(distribution, work dtype) -> the group function; words taken and values returned per
group are ``_transforms.GROUP_FUNCTIONS``' (one table of the block layout)."""


def block_values(o: Ops, dist_key: tuple[str, str], words: Sequence[Array]) -> list[Array]:
    """The ``values_per_block`` values of each block, in block order, from its four words."""
    fn = GROUPS[dist_key]
    _, n_words, _ = GROUP_FUNCTIONS[dist_key]
    values: list[Array] = []
    for g in range(4 // n_words):
        values.extend(fn(o, *words[g * n_words : (g + 1) * n_words]))
    return values


def lane_values(o: Ops, dist_key: tuple[str, str], words: Sequence[Array], lane: Array) -> Array:
    """Element-wise: the value at position ``lane`` of its block (each element has its own
    block's words); only the group the lane belongs to is transformed."""
    fn = GROUPS[dist_key]
    _, n_words, n_values = GROUP_FUNCTIONS[dist_key]
    n_groups = 4 // n_words
    group = lane // n_values if n_values > 1 else lane
    chosen = list(words[:n_words])
    for g in range(1, n_groups):
        here = group == g
        chosen = [o.where(here, words[g * n_words + k], chosen[k]) for k in range(n_words)]
    outs = fn(o, *chosen)
    value = outs[0]
    for j in range(1, n_values):
        value = o.where(lane % n_values == j, outs[j], value)
    return value
