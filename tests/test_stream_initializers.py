"""key= / index= on the core initializers: shards equal slices, fans from the full shape."""

from __future__ import annotations

import math

import numpy as np
import pytest

import kaiming
from kaiming import stream

KEYED = [
    kaiming.he_normal,
    kaiming.he_uniform,
    kaiming.he_truncated_normal,
    kaiming.xavier_normal,
    kaiming.xavier_uniform,
    kaiming.xavier_truncated_normal,
    kaiming.lecun_normal,
    kaiming.lecun_uniform,
    kaiming.lecun_truncated_normal,
]


@pytest.mark.parametrize("init", KEYED, ids=lambda f: f.__name__)
def test_row_and_column_shards_are_slices_of_the_full_tensor(init: kaiming.Initializer) -> None:
    shape = (96, 40)
    key = stream.key(0, init.__name__)
    full = init(shape, key=key, dtype=np.float32)
    rows = [init(shape, key=key, index=slice(a, a + 24), dtype=np.float32) for a in range(0, 96, 24)]
    cols = [
        init(shape, key=key, index=(slice(None), slice(a, a + 10)), dtype=np.float32)
        for a in range(0, 40, 10)
    ]
    assert np.concatenate(rows, axis=0).tobytes() == full.tobytes()
    assert np.concatenate(cols, axis=1).tobytes() == full.tobytes()


@pytest.mark.parametrize(
    ("init", "distribution", "scale", "mode"),
    [
        (kaiming.he_normal, "normal", kaiming.calculate_gain("relu") ** 2, "fan_in"),
        (kaiming.he_uniform, "uniform", kaiming.calculate_gain("relu") ** 2, "fan_in"),
        (kaiming.xavier_truncated_normal, "truncated_normal", 1.0, "fan_avg"),
    ],
)
def test_named_initializers_are_keyed_variance_scaling(
    init: kaiming.Initializer, distribution: str, scale: float, mode: str
) -> None:
    key = stream.key(4, "w")
    expected = kaiming.variance_scaling((30, 20), scale, mode, distribution, key=key)  # type: ignore[arg-type]
    assert init((30, 20), key=key).tobytes() == expected.tobytes()


def test_std_comes_from_the_full_shape_not_the_shard() -> None:
    """A quarter of the columns of a (4096, 1024) He-normal weight has std sqrt(2/4096), not
    one computed from the shard's own shape (the Xavier-on-a-shard bug). 1M values: relative
    s.e. of the std 7e-4; the 1.5% band is 20 s.e. (chance failure < 1e-80)."""
    shard = kaiming.he_normal((4096, 1024), key=stream.key(0, "big"), index=(slice(None), slice(0, 256)))
    assert shard.shape == (4096, 256)
    assert shard.std() == pytest.approx(math.sqrt(2 / 4096), rel=0.015)
    xavier = kaiming.xavier_normal((4096, 1024), key=stream.key(0, "big"), index=(slice(None), slice(0, 256)))
    assert xavier.std() == pytest.approx(math.sqrt(2 / (4096 + 1024)), rel=0.015)


def test_torch_layout_and_conv_kernels_shard_too() -> None:
    shape = (64, 32, 3, 3)  # torch layout: fan_in = 32 * 9
    key = stream.key(1, "conv")
    full = kaiming.he_normal(shape, layout="torch", key=key)
    part = kaiming.he_normal(shape, layout="torch", key=key, index=(slice(16, 32), Ellipsis))
    assert part.tobytes() == full[16:32].tobytes()
    assert full.std() == pytest.approx(math.sqrt(2 / (32 * 9)), rel=0.05)


def test_keyed_bias_with_explicit_fans() -> None:
    key = stream.key(0, "bias")
    b = kaiming.variance_scaling((10,), 1.0, "fan_in", "uniform", fans=(100, 10), key=key)
    assert b.shape == (10,) and np.all(np.abs(b) <= math.sqrt(3 / 100))


def test_orthogonal_with_key_is_deterministic_and_index_slices_it() -> None:
    key = stream.key(0, "orth")
    w = kaiming.orthogonal((64, 32), key=key)
    assert np.allclose(w.T @ w, np.eye(32), atol=1e-12)
    assert w.tobytes() == kaiming.orthogonal((64, 32), key=key).tobytes()
    assert kaiming.orthogonal((64, 32), key=key, index=slice(8, 16)).tobytes() == w[8:16].tobytes()
    d = kaiming.delta_orthogonal((3, 3, 8, 16), key=key)
    assert np.allclose(d[1, 1] @ d[1, 1].T, np.eye(8))
    assert kaiming.delta_orthogonal((3, 3, 8, 16), key=key, index=(1, 1)).tobytes() == d[1, 1].tobytes()


def test_seed_path_is_unchanged_by_the_new_arguments() -> None:
    """Without key, the NumPy Generator stream is used exactly as before."""
    gen = np.random.default_rng(3)
    expected = gen.standard_normal((50, 20)) * math.sqrt(2 / 50)
    assert kaiming.he_normal((50, 20), seed=3).tobytes() == expected.tobytes()
    assert kaiming.he_init(50, 20, seed=3).tobytes() == expected.tobytes()


def test_keyed_differs_by_key() -> None:
    a = kaiming.he_normal((8, 8), key=stream.key(0, "a"))
    assert not np.array_equal(a, kaiming.he_normal((8, 8), key=stream.key(0, "b")))
    assert not np.array_equal(a, kaiming.he_normal((8, 8), key=stream.key(1, "a")))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"key": stream.key(0, "x"), "seed": 0}, ValueError, "not both"),
        ({"key": stream.key(0, "x"), "rng": np.random.default_rng(0)}, ValueError, "not both"),
        ({"index": slice(0, 2), "seed": 0}, ValueError, "pass key="),
        ({"key": 12345}, TypeError, "StreamKey"),
        ({"key": stream.key(0, "x"), "index": (0, 0, 0)}, ValueError, "more entries"),
    ],
)
def test_bad_keyed_arguments(kwargs: dict[str, object], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        kaiming.he_normal((4, 4), **kwargs)  # type: ignore[arg-type]
    with pytest.raises(error, match=match):
        kaiming.orthogonal((4, 4), **kwargs)  # type: ignore[arg-type]
