"""kaiming.stream: the memory check before a draw covers the draw's measured peak, for every
distribution and dtype and for selections from one long run to runs of a single value, and it
refuses a draw that does not fit before building anything proportional to it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from _peaks import peak_and_estimate
from kaiming import _checks, stream
from kaiming.stream import _index, _memory, _sample
from kaiming.stream._numpy_path import GROUP
from kaiming.stream._transforms import values_per_block

K = stream.key(0, "memory")

SELECTIONS: dict[str, tuple[tuple[int, ...], object]] = {
    "whole": ((256, 512), None),
    "large whole": ((1024, 2048), None),  # the result, not a group's temporaries, sets the peak
    "small whole": ((48, 48), None),
    "rows": ((512, 512), slice(100, 300)),
    "columns": ((256, 512), (slice(None), slice(0, 64))),
    "runs of 3": ((2**15, 8), (slice(None), slice(2, 5))),
    "single column": ((4096, 512), (slice(None), 3)),
    "every other value": ((512, 512), (slice(None), slice(None, None, 2))),
    "runs just over a piece": ((6, _index.PIECE + 1), None),
}


def _assert_covers(measured: int, estimate: float) -> None:
    # A few kB of Python objects are traced besides NumPy's buffers; the estimate takes the
    # largest group a selection can have, which most selections do not reach.
    assert measured <= estimate + 16_384, f"measured peak {measured} B above the estimate {estimate:.0f} B"
    assert estimate <= 2 * measured + 65_536, f"estimate {estimate:.0f} B over twice the peak {measured} B"


@pytest.mark.parametrize("selection", list(SELECTIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("distribution", stream.STREAM_DISTRIBUTIONS)
def test_the_estimate_covers_the_measured_peak(
    distribution: str, dtype: type, selection: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shape, index = SELECTIONS[selection]
    measured, estimate = peak_and_estimate(
        lambda: stream.sample(distribution, shape, K, index=index, dtype=dtype, backend="numpy"),  # type: ignore[arg-type]
        monkeypatch,
    )
    _assert_covers(measured, estimate)


@pytest.mark.parametrize("selection", ["whole", "columns", "single column"])
def test_a_cast_result_is_counted_and_an_out_array_is_not(
    selection: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shape, index = SELECTIONS[selection]
    size = math.prod(_index.check_index(shape, index))
    half = lambda: stream.normal(shape, K, index=index, dtype=np.float16, backend="numpy")  # noqa: E731
    measured, cast = peak_and_estimate(half, monkeypatch)
    _assert_covers(measured, cast)
    out = np.empty(_index.check_index(shape, index), np.float16)  # the caller's memory, made before
    into_out = lambda: stream.normal(shape, K, index=index, dtype=np.float16, out=out, backend="numpy")  # noqa: E731
    measured, in_out = peak_and_estimate(into_out, monkeypatch)
    _assert_covers(measured, in_out)
    assert cast - in_out == pytest.approx(2 * size)  # the float16 result: two bytes a value


def test_made_per_piece_is_the_most_whole_blocks_a_piece_can_span() -> None:
    for dist_key in _sample_keys():
        per_block = values_per_block(dist_key)
        for length in range(1, 4 * per_block):
            spans = {(first + length - 1) // per_block - first // per_block + 1 for first in range(per_block)}
            assert _memory.made_per_piece(dist_key, length) == per_block * max(spans)


def _sample_keys() -> list[tuple[str, str]]:
    return [(d, w) for d in stream.STREAM_DISTRIBUTIONS for w in ("float32", "float64")]


def test_an_empty_draw_needs_only_its_result() -> None:
    for dist_key in _sample_keys():
        assert _memory.peak_bytes_per_value(dist_key, 6, 0, 0) == 6.0


def test_a_draw_is_refused_when_its_peak_does_not_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    shape, index = SELECTIONS["every other value"]
    _, estimate = peak_and_estimate(
        lambda: stream.uniform(shape, K, index=index, backend="numpy"), monkeypatch
    )
    monkeypatch.setenv(_checks.MEMORY_ENV, str(math.ceil(estimate)))
    assert stream.uniform(shape, K, index=index).shape == (512, 256)
    monkeypatch.setenv(_checks.MEMORY_ENV, str(math.ceil(estimate) - 2))
    with pytest.raises(ValueError) as refused:
        stream.uniform(shape, K, index=index)
    assert str(refused.value).startswith(
        "index=(slice(None, None, None), slice(None, None, 2)) of shape=(512, 512) (a (512, 256) result)"
        " as float64 needs about 0.0"
    )


def test_an_absurd_selection_is_refused_before_its_run_table_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    planned: list[object] = []
    monkeypatch.setattr(_sample, "plan", lambda *args: planned.append(args))
    with pytest.raises(
        ValueError,
        match=r"^index=\(slice\(None, None, 2\), 0\) of shape=\(1099511627776, 2\) "
        r"\(a \(549755813888,\) result\) as float32 needs about 2.05e\+03 GiB",  # 2**39 float32
    ):
        stream.normal((2**40, 2), K, index=(slice(None, None, 2), 0), dtype=np.float32)
    assert planned == []


def test_the_model_single_values_and_a_small_draw() -> None:
    """Runs of one value: each value is a piece and makes a whole block, and a group holds GROUP
    of them. A draw of one run smaller than a group: one piece, all its made values at once."""
    for dist_key in _sample_keys():
        made, per_piece = _memory.MADE_BYTES[dist_key], _memory.PIECE_BYTES
        size = 4 * GROUP
        group = _memory.peak_bytes_per_value(dist_key, 4, size, 1) - 4 - _memory.RUN_BYTES
        assert group * size == pytest.approx(GROUP * (made * values_per_block(dist_key) + per_piece))
        small = _memory.peak_bytes_per_value(dist_key, 4, 1000, 1000) - 4 - _memory.RUN_BYTES / 1000
        assert small * 1000 == pytest.approx(made * _memory.made_per_piece(dist_key, 1000) + per_piece)
