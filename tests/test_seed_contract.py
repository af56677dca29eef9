"""The seed contract: he_init is bit-identical to the documented NumPy expression."""

from __future__ import annotations

import numpy as np
import pytest

import kaiming


@pytest.mark.parametrize(
    ("fan_in", "fan_out", "seed"), [(1, 1, 0), (3, 7, 42), (512, 256, 42), (784, 10, 2**31)]
)
def test_he_init_is_bit_identical_to_the_contract(fan_in: int, fan_out: int, seed: int) -> None:
    expected = np.random.default_rng(seed).standard_normal((fan_in, fan_out)) * np.sqrt(2 / fan_in)
    got = kaiming.he_init(fan_in, fan_out, seed=seed)
    assert got.shape == (fan_in, fan_out)
    assert got.dtype == np.float64
    assert np.array_equal(got, expected)


def test_default_seed_is_42() -> None:
    assert np.array_equal(kaiming.he_init(20, 30), kaiming.he_init(20, 30, seed=42))


def test_same_seed_same_array_other_seed_other_array() -> None:
    assert np.array_equal(kaiming.he_init(64, 32, seed=7), kaiming.he_init(64, 32, seed=7))
    assert not np.array_equal(kaiming.he_init(64, 32, seed=7), kaiming.he_init(64, 32, seed=8))


def test_he_init_statistics() -> None:
    # 1000 x 1000 samples: the std estimate has relative s.e. 1/sqrt(2e6) = 7e-4, so a 1% band
    # is 14 s.e. (false-failure odds < 1e-40) while a factor sqrt(2) error is far outside it.
    w = kaiming.he_init(1000, 1000, seed=3)
    assert w.std() == pytest.approx(np.sqrt(2 / 1000), rel=0.01)
    assert abs(w.mean()) < 10 * np.sqrt(2 / 1000) / 1000  # 10 s.e. of the mean


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((0, 5), ValueError, "fan_in must be a positive integer, got 0"),
        ((5, -1), ValueError, "fan_out must be a positive integer, got -1"),
        ((2.5, 5), TypeError, "fan_in must be a positive integer"),
        ((True, 5), TypeError, "fan_in"),
        (("8", 5), TypeError, "fan_in"),
        ((10**7, 10**7), ValueError, "GiB"),
    ],
)
def test_he_init_rejects_bad_fans(args: tuple[object, object], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        kaiming.he_init(*args)  # type: ignore[arg-type]


def test_he_init_accepts_numpy_integers() -> None:
    assert np.array_equal(kaiming.he_init(np.int64(8), np.uint16(4)), kaiming.he_init(8, 4))


@pytest.mark.parametrize("seed", [-1, 1.5, "42"])
def test_he_init_rejects_bad_seeds(seed: object) -> None:
    with pytest.raises((TypeError, ValueError), match="seed"):
        kaiming.he_init(4, 4, seed=seed)  # type: ignore[arg-type]


def test_he_init_refuses_requests_beyond_memory_naming_its_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    """The peak of ``he_init`` is 16 bytes per value (the float64 draw and the scaled result):
    with exactly that much memory it runs, with one byte less it is refused, naming the shape."""
    monkeypatch.setenv("KAIMING_MEMORY_BYTES", str(16 * 300 * 200))
    assert kaiming.he_init(300, 200, seed=0).shape == (300, 200)
    monkeypatch.setenv("KAIMING_MEMORY_BYTES", str(16 * 300 * 200 - 1))
    with pytest.raises(ValueError, match=r"^\(fan_in, fan_out\)=\(300, 200\) as float64 needs about"):
        kaiming.he_init(300, 200, seed=0)
    with pytest.raises(ValueError, match=r"^\(fan_in, fan_out\)=\(1099511627776, 1099511627776\) has more"):
        kaiming.he_init(2**40, 2**40)
