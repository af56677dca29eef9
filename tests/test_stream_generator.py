"""kaiming.stream: Philox4x32-10 known answers, key derivation, and the exact float transforms."""

from __future__ import annotations

import hashlib
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from scipy import special

from kaiming import stream
from kaiming.stream import _transforms

# Random123 known-answer vectors, as cut from the `kat_vectors` file of the Random123
# distribution into DEShawResearch/Random123-Boost, libs/random/test/test_philox.cpp
# (commit 916db91ae4c6fd8324ef054a518851321ab41f91), test_kat_philox4x32; the same three
# Philox4x32-10 vectors appear in TensorFlow's compiler/tests/stateful_random_ops_test.py.
# Each line: rounds, counter (4 words), key (2 words), expected output (4 words).
KAT = [
    (7, "00000000 00000000 00000000 00000000", "00000000 00000000", "5f6fb709 0d893f64 4f121f81 4f730a48"),
    (7, "ffffffff ffffffff ffffffff ffffffff", "ffffffff ffffffff", "5207ddc2 45165e59 4d8ee751 8c52f662"),
    (7, "243f6a88 85a308d3 13198a2e 03707344", "a4093822 299f31d0", "4dfccaba 190a87f0 c47362ba b6b5242a"),
    (10, "00000000 00000000 00000000 00000000", "00000000 00000000", "6627e8d5 e169c58d bc57ac4c 9b00dbd8"),
    (10, "ffffffff ffffffff ffffffff ffffffff", "ffffffff ffffffff", "408f276d 41c83b0e a20bc7c6 6d5451fd"),
    (10, "243f6a88 85a308d3 13198a2e 03707344", "a4093822 299f31d0", "d16cfe09 94fdcceb 5001e420 24126ea1"),
]


def _words(text: str) -> list[int]:
    return [int(w, 16) for w in text.split()]


@pytest.mark.parametrize(("rounds", "counter", "key", "expected"), KAT)
def test_philox_known_answers(rounds: int, counter: str, key: str, expected: str) -> None:
    out = stream.philox4x32(_words(counter), _words(key), rounds=rounds)
    assert out.tolist() == _words(expected)


def test_philox_is_vectorized_and_broadcasts() -> None:
    counters = np.array([_words(c) for _, c, _, _ in KAT[3:]])
    keys = np.array([_words(k) for _, _, k, _ in KAT[3:]])
    assert stream.philox4x32(counters, keys).tolist() == [_words(e) for *_, e in KAT[3:]]
    # one key broadcast over many counters equals one call per counter
    many = np.arange(40, dtype=np.uint32).reshape(10, 4)
    batch = stream.philox4x32(many, [1, 2])
    assert batch.tolist() == [stream.philox4x32(c, [1, 2]).tolist() for c in many]


def test_stream_words_are_philox_of_the_block_counter() -> None:
    """A float32 uniform element i is made from word i % 4 of Philox((i // 4, 0, 0, 0), key)."""
    k = stream.key(3, "w")
    u = stream.uniform(64, k, dtype=np.float32, backend="numpy")
    counters = np.stack([np.arange(16), np.zeros(16), np.zeros(16), np.zeros(16)], axis=1).astype(np.uint32)
    words = stream.philox4x32(counters, [k.k0, k.k1]).ravel().astype(np.int64)
    expected = ((2 * (words >> 8) + 1 - 2**24) / 2**24).astype(np.float32)
    assert np.array_equal(u, expected)


@pytest.mark.parametrize(
    "bad", [[0, 0, 0], [[0, 0, 0, 0, 0]], [-1, 0, 0, 0], [2**32, 0, 0, 0], [0.5, 0, 0, 0]]
)
def test_philox_rejects_bad_counters(bad: object) -> None:
    with pytest.raises(ValueError, match="counter"):
        stream.philox4x32(bad, [0, 0])  # type: ignore[arg-type]


def test_key_is_blake2b_of_seed_and_name() -> None:
    digest = hashlib.blake2b(
        (7).to_bytes(8, "little") + b"s" + b"layer1.weight", digest_size=8, person=b"kaiming.stream"
    ).digest()
    k = stream.key(7, "layer1.weight")
    assert (k.k0, k.k1) == (int.from_bytes(digest[:4], "little"), int.from_bytes(digest[4:], "little"))


def test_key_is_the_same_in_another_process_with_another_hash_seed() -> None:
    code = "from kaiming import stream; k = stream.key(5, 'enc.0.weight'); print(k.k0, k.k1)"
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    k = stream.key(5, "enc.0.weight")
    assert out.stdout.split() == [str(k.k0), str(k.k1)]


def test_keys_differ_by_seed_name_and_kind() -> None:
    keys = {stream.key(0, "a"), stream.key(1, "a"), stream.key(0, "b"), stream.key(0, 1), stream.key(0, "1")}
    assert len(keys) == 5
    assert stream.key(0, "a") == stream.key(0, "a")
    parent = stream.key(0, "block")
    assert parent.child("q") == parent.child("q") != parent.child("k")
    assert parent.child("q") != stream.key(0, "q")


@pytest.mark.parametrize(
    ("seed", "name", "error"),
    [
        (-1, "a", ValueError),
        (2**64, "a", ValueError),
        (1.5, "a", TypeError),
        (True, "a", TypeError),
        (0, 1.5, TypeError),
    ],
)
def test_key_rejects_bad_input(seed: object, name: object, error: type[Exception]) -> None:
    with pytest.raises(error, match=r"seed|name"):
        stream.key(seed, name)  # type: ignore[arg-type]


def test_stream_key_validates_words() -> None:
    with pytest.raises(ValueError, match="k1"):
        stream.StreamKey(0, 2**32)


# --- the float transforms: accurate, and built from exact operations only -------------------


@pytest.mark.parametrize(
    ("fmt", "ftype", "tol"), [(_transforms.F32, np.float32, 2e-7), (_transforms.F64, np.float64, 5e-16)]
)
def test_log_matches_numpy(fmt: dict, ftype: type, tol: float) -> None:  # type: ignore[type-arg]
    x = np.geomspace(np.finfo(ftype).tiny, 4.0, 100_001).astype(ftype)
    got = fmt["log"](x).astype(np.float64)
    ref = np.log(x.astype(np.float64))
    assert np.all(np.abs(got - ref) <= tol * np.maximum(np.abs(ref), 1.0))
    assert fmt["log"](np.ones(1, ftype))[0] == 0.0


@pytest.mark.parametrize(
    ("fmt", "ftype", "tol"), [(_transforms.F32, np.float32, 1e-6), (_transforms.F64, np.float64, 4e-15)]
)
def test_normal_quantile_matches_scipy(fmt: dict, ftype: type, tol: float) -> None:  # type: ignore[type-arg]
    p = np.linspace(_transforms.P_LOWER, 0.5, 100_001).astype(ftype)
    got = fmt["ndtri_lower"](p).astype(np.float64)
    assert np.max(np.abs(got - special.ndtri(p.astype(np.float64)))) < tol


def test_truncation_point_is_phi_of_minus_two() -> None:
    assert special.ndtr(-2.0) == pytest.approx(_transforms.P_LOWER, rel=1e-15)


@pytest.mark.parametrize(("fmt", "bits", "tol"), [(_transforms.F32, 24, 2e-6), (_transforms.F64, 53, 4e-15)])
def test_box_muller_is_r_cos_r_sin(fmt: dict, bits: int, tol: float) -> None:  # type: ignore[type-arg]
    rng = np.random.default_rng(0)
    t_r = rng.integers(0, 2**bits, 50_000, dtype=np.uint64)
    t_a = rng.integers(0, 2**bits, 50_000, dtype=np.uint64)
    x, y = fmt["box_muller"](t_r, t_a)
    r = np.sqrt(-2.0 * np.log((t_r.astype(np.float64) + 1) / 2.0**bits))
    theta = 2 * math.pi * t_a.astype(np.float64) / 2.0**bits
    assert np.max(np.abs(x - r * np.cos(theta))) < tol * 6
    assert np.max(np.abs(y - r * np.sin(theta))) < tol * 6
