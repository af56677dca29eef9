"""The reproducibility contract, pinned: known-answer values of every stream distribution x dtype.

The docs promise that a key gives the same weights across versions, platforms and backends.
These are the raw bytes (little-endian, as hex) of six values at the start of a tensor and six
values near flat position 2**42 of a (2**40, 8) tensor, for key stream.key(2026,
"known-answers") and scale 1, and the SHA-256 of the first 2**20 values' bytes (every
value's last bit, where a rare input takes another rounding). A change to any of them changes
users' weights: it is a breaking change and must fail here. (The Philox4x32-10 bit generator
itself is pinned by Random123's known-answer vectors in test_stream_generator.py.)
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from kaiming import stream

KEY = stream.key(2026, "known-answers")
FAR = (slice(2**39 + 5, 2**39 + 6), slice(0, 6))

KNOWN_ANSWERS: dict[tuple[str, str], tuple[str, str]] = {
    ("normal", "float16"): (
        "5faac93191312a3c32400930",
        "df3e043c09b7cb382aba9fbd",
    ),
    ("normal", "float32"): (
        "7fe64bbd1f24393ec01a323e3048853f943d0640062a013e",
        "c3dedb3f7f75803f3612e1be3a6f193f044745bf5ce9b3bf",
    ),
    ("normal", "float64"): (
        "336e3bbb7c89c5bf81af1d60aa32b5bf48adeb61fd5b00c0b3e5b79c98f1de3f6db2de586f01b8bf823705b44cc3a8bf",
        "dcfe9ec321eaf23f5d7556090424e9bffbde92bcc8d1ea3f646d3685470df5bf7e270cf312b9e6bfe26382781603fd3f",
    ),
    ("uniform", "float16"): (
        "b93ba2b6a9306cb83ebad9bb",
        "cab9a7ba2338c7b425b77235",
    ),
    ("uniform", "float32"): (
        "6913773f8236d4beec10153ea57c0dbf97b447bf031b7bbf",
        "133b39bfb7e954bff96b043fc2dd98be8aa1e4be5644ae3e",
    ),
    ("uniform", "float64"): (
        "97bc923a6de2ee3fac4139221da2c23f6163bfee92f6e8bfe8769c3554ebb2bf811b54a30ea5ef3f64cdff9bcd66c33f",
        "fe2780c8df41d1bfebf639417d06ea3f26d527a4e716dabf3d692121f4c6e53f79dec93ccb63e6bf9a9e08326865d8bf",
    ),
    ("truncated_normal", "float16"): (
        "572925b84f3dbfb98dbc6abf",
        "11bc0fbde938d8b580b82b3b",
    ),
    ("truncated_normal", "float32"): (
        "1edd2a3df3a204bf09e1a93f05ee37bf699491bf864dedbf",
        "861e82bff9d1a1bffb2c1d3fb1f1babe3c0010bfd150653f",
    ),
    ("truncated_normal", "float64"): (
        "94d967e7a15ba53f0e74038b213cf53fabe14f778d32f2bfd22748c395a9b6bfb7a5421d02338b3f11c1b1aff8f5f43f",
        "aea2e0653304d5bfbcbae7cde1d4cc3f42ee0afdff47e0bfc384e7d53816d93fa7dc12da7908efbf3eaf7fdcf846debf",
    ),
}

DIGESTS: dict[tuple[str, str], str] = {
    ("normal", "float16"): "b52b69fca7c7f583e3b0a197b480d9d3a3449e05420b1e79dc1b0471e46853ef",
    ("normal", "float32"): "320e0665024b49027cce9b81317708a670ee5c60a975c55a67b0a512f0d37ab0",
    ("normal", "float64"): "372928b7d278741ca9127d9b55a24fd2e4b6ad607633d0526a86175486a8d036",
    ("uniform", "float16"): "aba75908ba13dd05057c56909dce248a71a259aee7f5edcc8496e8bf9ec76eda",
    ("uniform", "float32"): "9c457622259eb5a6e425d3c26b4bcbb450e75d875521f4900ab51837d1340cb8",
    ("uniform", "float64"): "d815dbc4afa2a3c2a703897be9c6277642d732d69fadb59ef88d562cb8eec346",
    ("truncated_normal", "float16"): "9ef386fe35c013e4bcad937804bd55f993a6c1c4e593e4b540c287efdfb1fc4c",
    ("truncated_normal", "float32"): "b60829d6941808ebdfa78a92647a759534e849f29c29a6ece1204ba4c6f05120",
    ("truncated_normal", "float64"): "8635febdc071e1b17e9827b134e310f9dfe0347d07e980b709bd9dcfefe05cfc",
}

BACKENDS = ["numpy", "numba"] if stream.fast_path_available() else ["numpy"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("distribution", "dtype"), list(KNOWN_ANSWERS), ids=lambda v: str(v))
def test_stream_values_are_the_pinned_known_answers(distribution: str, dtype: str, backend: str) -> None:
    head_hex, far_hex = KNOWN_ANSWERS[(distribution, dtype)]
    head = stream.sample(distribution, (6,), KEY, scale=1.0, dtype=dtype, backend=backend)  # type: ignore[arg-type]
    far = stream.sample(distribution, (2**40, 8), KEY, scale=1.0, dtype=dtype, index=FAR, backend=backend)  # type: ignore[arg-type]
    assert head.dtype == np.dtype(dtype) and far.dtype == np.dtype(dtype)
    assert head.tobytes().hex() == head_hex
    assert far.tobytes().hex() == far_hex


def test_scale_multiplies_the_pinned_values_exactly() -> None:
    """Scaling by a power of two is exact in floating point, so the scaled stream is the pinned
    one times the scale, bit for bit."""
    head_hex, _ = KNOWN_ANSWERS[("normal", "float32")]
    pinned = np.frombuffer(bytes.fromhex(head_hex), dtype=np.float32)
    scaled = stream.sample("normal", (6,), KEY, scale=0.25, dtype=np.float32)
    assert np.array_equal(scaled, pinned * np.float32(0.25))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("distribution", "dtype"), list(DIGESTS), ids=lambda v: str(v))
def test_the_first_million_values_are_pinned_bit_for_bit(distribution: str, dtype: str, backend: str) -> None:
    values = stream.sample(distribution, (1 << 20,), KEY, dtype=dtype, backend=backend)  # type: ignore[arg-type]
    assert hashlib.sha256(values.tobytes()).hexdigest() == DIGESTS[(distribution, dtype)]
