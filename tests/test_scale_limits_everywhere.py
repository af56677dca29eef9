"""Every path refuses the same scales a dtype cannot hold, naming the same argument.

A random draw whose spread is nonzero but below the dtype's smallest normal number (6.1e-5 for
float16) would be mostly zeros and subnormals with a few bits each; one whose values overflow
would hold infinities. Both are refused before anything is returned or written: by the NumPy
family (seeded and keyed), ``kaiming.torch`` (a torch generator and a key), ``kaiming.jax``
and ``kaiming.keras``. Spreads just above the limit are drawn by every path, and hold no
infinity and not only zeros.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")
keras = pytest.importorskip("keras")

import kaiming  # noqa: E402
import kaiming.jax as kj  # noqa: E402
import kaiming.keras as kk  # noqa: E402
import kaiming.torch as kt  # noqa: E402

SHAPE = (8, 8)  # square: the torch (out, in) and jax (in, out) layouts have the same fans
KEY = kaiming.stream.key(4, "w")
F16 = float(np.finfo(np.float16).smallest_normal)

Paths = dict[str, Callable[[], Any]]


def _half() -> Any:
    return torch.empty(SHAPE, dtype=torch.float16)


def he_paths(distribution: str, a: float) -> Paths:
    numpy = getattr(kaiming, f"he_{distribution}")
    torch_fn = {"normal": kt.kaiming_normal_, "uniform": kt.kaiming_uniform_}.get(
        distribution, kt.he_truncated_normal_
    )
    keras_cls = {"normal": kk.HeNormal, "uniform": kk.HeUniform}.get(distribution, kk.HeTruncatedNormal)
    return {
        "numpy seeded": lambda: numpy(SHAPE, a=a, seed=0, dtype=np.float16),
        "numpy keyed": lambda: numpy(SHAPE, a=a, key=KEY, dtype=np.float16),
        "torch generator": lambda: torch_fn(_half(), a=a, seed=0),
        "torch keyed": lambda: torch_fn(_half(), a=a, key=KEY),
        "jax": lambda: getattr(kj, f"he_{distribution}")(SHAPE, key=KEY, a=a, dtype="float16"),
        "keras": lambda: keras_cls(key=KEY, a=a)(SHAPE, dtype="float16"),
    }


def xavier_paths(gain: float) -> Paths:
    return {
        "numpy seeded": lambda: kaiming.xavier_normal(SHAPE, gain=gain, seed=0, dtype=np.float16),
        "numpy keyed": lambda: kaiming.xavier_normal(SHAPE, gain=gain, key=KEY, dtype=np.float16),
        "torch generator": lambda: kt.xavier_normal_(_half(), gain=gain, seed=0),
        "torch keyed": lambda: kt.xavier_normal_(_half(), gain=gain, key=KEY),
        "jax": lambda: kj.xavier_normal(SHAPE, key=KEY, gain=gain, dtype="float16"),
        "keras": lambda: kk.XavierNormal(key=KEY, gain=gain)(SHAPE, dtype="float16"),
    }


def plain_paths(kind: str, a: float, b: float) -> Paths:
    """``normal(mean=a, std=b)`` or ``uniform(low=a, high=b)`` on every path."""
    numpy, torch_fn, jax_fn = getattr(kaiming, kind), getattr(kt, f"{kind}_"), getattr(kj, kind)
    keras_cls = kk.Normal if kind == "normal" else kk.Uniform
    return {
        "numpy seeded": lambda: numpy(SHAPE, a, b, seed=0, dtype=np.float16),
        "numpy keyed": lambda: numpy(SHAPE, a, b, key=KEY, dtype=np.float16),
        "torch generator": lambda: torch_fn(_half(), a, b, seed=0),
        "torch keyed": lambda: torch_fn(_half(), a, b, key=KEY),
        "jax": lambda: jax_fn(SHAPE, a, b, key=KEY, dtype="float16"),
        "keras": lambda: keras_cls(a, b, key=KEY)(SHAPE, dtype="float16"),
    }


def orthogonal_paths(gain: float) -> Paths:
    return {
        "numpy seeded": lambda: kaiming.orthogonal(SHAPE, gain, seed=0, dtype=np.float16),
        "numpy keyed": lambda: kaiming.orthogonal(SHAPE, gain, key=KEY, dtype=np.float16),
        "torch generator": lambda: kt.orthogonal_(_half(), gain, seed=0),
        "torch keyed": lambda: kt.orthogonal_(_half(), gain, key=KEY),
        "keras": lambda: kk.Orthogonal(gain, key=KEY)(SHAPE, dtype="float16"),
    }


# (what, the paths, the start of every refusal: the argument and its value)
TOO_SMALL: list[tuple[str, Paths, str]] = [
    *[(f"he_{d} a=1e5", he_paths(d, 1e5), r"gain=1\.41421e-05 ") for d in ("normal", "uniform")],
    ("he_truncated_normal a=1e6", he_paths("truncated_normal", 1e6), r"gain=1\.41421e-06 "),
    ("xavier_normal gain=1e-5", xavier_paths(1e-5), r"gain=1e-05 "),
    ("normal std=1e-6", plain_paths("normal", 0.0, 1e-6), r"std=1e-06 "),
    ("normal mean=1 std=1e-6", plain_paths("normal", 1.0, 1e-6), r"std=1e-06 "),
    ("uniform width 1e-6", plain_paths("uniform", 0.0, 1e-6), r"(high - low|b - a)=1e-06 "),
    ("orthogonal gain=1e-6", orthogonal_paths(1e-6), r"gain=1e-06 "),
]

TOO_LARGE: list[tuple[str, Paths, str]] = [
    ("xavier_normal gain=1e6", xavier_paths(1e6), r"gain=1e\+06 "),
    ("normal std=1e6", plain_paths("normal", 0.0, 1e6), r"(mean=0\.0, )?std=1(e\+06|000000\.0) "),
    ("normal mean=1e5", plain_paths("normal", 1e5, 1.0), r"mean=(1e\+05|100000(\.0)?)"),
    ("uniform up to 1e6", plain_paths("uniform", -1e6, 1e6), r"(a|low)=-1(e\+06|000000\.0)"),
    ("orthogonal gain=1e6", orthogonal_paths(1e6), r"gain=1e\+06 "),
]

FITTING: list[tuple[str, Paths]] = [
    ("he_normal a=30", he_paths("normal", 30.0)),  # std 0.0167: well inside float16
    ("xavier_normal gain=2e-3", xavier_paths(2e-3)),  # std 2.5e-4, 4 x the smallest normal
    ("normal std=2 x smallest normal", plain_paths("normal", 0.0, 2 * F16)),
    ("uniform width 2 x smallest normal", plain_paths("uniform", 0.0, 2 * F16)),
    ("orthogonal gain=1e-3", orthogonal_paths(1e-3)),
    ("normal std=1000", plain_paths("normal", 0.0, 1000.0)),  # 64 std would overflow: checked after drawing
]


def _cases(table: list[tuple[str, Paths, str]]) -> list[Any]:
    return [
        pytest.param(call, match, id=f"{what}-{path}")
        for what, paths, match in table
        for path, call in paths.items()
    ]


@pytest.mark.parametrize(("call", "match"), _cases(TOO_SMALL))
def test_a_spread_below_the_smallest_normal_is_refused(call: Callable[[], Any], match: str) -> None:
    with pytest.raises(ValueError, match=f"^{match}.*below the smallest normal float16"):
        call()


@pytest.mark.parametrize(("call", "match"), _cases(TOO_LARGE))
def test_values_beyond_the_largest_float16_are_refused(call: Callable[[], Any], match: str) -> None:
    with pytest.raises(ValueError, match=f"^{match}.*(overflow|beyond the largest finite) float16"):
        call()


@pytest.mark.parametrize(
    "call",
    [pytest.param(call, id=f"{what}-{path}") for what, paths in FITTING for path, call in paths.items()],
)
def test_spreads_float16_holds_are_drawn(call: Callable[[], Any]) -> None:
    result = call()
    values = np.asarray(result.float() if isinstance(result, torch.Tensor) else result, dtype=np.float64)
    assert values.shape == SHAPE
    assert np.isfinite(values).all()
    assert np.count_nonzero(values) > SHAPE[0] * SHAPE[1] // 2


def test_under_jit_jax_refuses_a_normal_it_cannot_check() -> None:
    """Under a trace the values cannot be inspected: a normal whose 64-std reach passes the
    largest float16 is refused there, while eagerly it is drawn and checked (as NumPy does)."""
    key = jax.random.key(0)
    eager = kj.normal(SHAPE, 0.0, 2000.0, key=key, dtype="float16")
    assert bool(jax.numpy.isfinite(eager).all())
    traced = jax.jit(lambda k: kj.normal(SHAPE, 0.0, 2000.0, key=k, dtype="float16"))
    with pytest.raises(ValueError, match=r"^mean=0.0, std=2000.0 may give values that overflow float16"):
        traced(key)
    with pytest.raises(ValueError, match=r"^gain=10000 may give values that overflow float16, .* jax trace"):
        jax.jit(lambda k: kj.xavier_normal(SHAPE, key=k, gain=1e4, dtype="float16"))(key)
    he = jax.jit(lambda k: kj.he_normal(SHAPE, key=k, dtype="float16"))(key)  # far from the limit
    assert np.array_equal(np.asarray(he), np.asarray(kj.he_normal(SHAPE, key=key, dtype="float16")))


def test_jax_names_an_unknown_option() -> None:
    with pytest.raises(
        TypeError, match=r"^unexpected keyword argument 'bogus'; the options are layout, fans"
    ):
        kj.he_normal(SHAPE, key=KEY, bogus=1)
