"""kaiming.stream._index: the runs a selection is planned as, checked against NumPy's own indexing
of ``arange``, and the fewest runs (each run as long as the selection allows)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from _indices import shapes_and_indices
from kaiming.stream import _index


def _flat_indices(selection: _index.Selection) -> np.ndarray:
    """Every flat index a selection names, run after run."""
    if selection.starts.size == 0:
        return np.zeros(0, dtype=np.int64)
    return (selection.starts[:, None] + np.arange(selection.run)[None, :]).ravel()


def _numpy(index: object) -> object:
    """``index`` as NumPy reads it: the stream's ``None`` (the whole tensor) is ``()``, not a new axis."""
    return () if index is None else index


def _minimal_runs(shape: tuple[int, ...], index: object) -> int:
    """How many runs of consecutive flat indices ``arange(size).reshape(shape)[index]`` has."""
    flat = np.arange(math.prod(shape), dtype=np.int64).reshape(shape)[_numpy(index)].ravel()
    return 0 if flat.size == 0 else 1 + int(np.count_nonzero(np.diff(flat) != 1))


@given(shapes_and_indices())
def test_the_runs_are_the_selected_flat_indices_in_the_results_order(
    case: tuple[tuple[int, ...], tuple[object, ...]],
) -> None:
    shape, index = case
    selection = _index.plan(shape, index)
    expected = np.arange(math.prod(shape), dtype=np.int64).reshape(shape)[index]
    assert selection.shape == expected.shape
    assert selection.starts.dtype == np.int64
    assert selection.size == expected.size
    np.testing.assert_array_equal(_flat_indices(selection), expected.ravel())
    assert _index.check_index(shape, index) == expected.shape
    fewest = _minimal_runs(shape, index)
    assert selection.starts.size >= fewest
    if _unit_steps(index):  # then the runs are the fewest: no two of them touch
        assert selection.starts.size == fewest


def _unit_steps(index: tuple[object, ...]) -> bool:
    """Whether every slice of ``index`` has step 1 (or none). With other steps, runs of equal
    length can touch by chance (``[:, ::2]`` of a ``(2, 3)`` tensor takes flat 2 and 3) and are
    kept apart; and the step of a slice that takes one element is not simplified away."""
    return all(not isinstance(e, slice) or e.step in (None, 1) for e in index)


@pytest.mark.parametrize(
    ("shape", "index", "runs", "run"),
    [
        ((4, 5), None, 1, 20),  # the whole tensor
        ((4, 5), (slice(None), ...), 1, 20),
        ((4, 5), slice(1, 3), 1, 10),  # rows a:b are one run
        ((4, 5), (slice(None), slice(1, 3)), 4, 2),  # columns c:d are one run per row
        ((4, 5), 2, 1, 5),  # one row
        ((4, 5), (2, 3), 1, 1),  # one element
        ((4, 5), slice(0, 4, 2), 2, 5),  # every other row: a run per row
        ((4, 5), (slice(0, 4, 2), slice(None, None, -1)), 10, 1),  # reversed columns: single elements
        ((2, 3, 4), (1, slice(1, 3)), 1, 8),
        ((2, 3, 4), (slice(None), 1), 2, 4),
        ((2, 3, 4), (..., 1), 6, 1),
        ((1, 1, 7), (0, 0, slice(2, 5)), 1, 3),
        ((4, 1), (slice(None), 0), 1, 4),  # an int on an axis of size 1 takes all of it
    ],
)
def test_each_run_is_as_long_as_the_selection_allows(
    shape: tuple[int, ...], index: object, runs: int, run: int
) -> None:
    selection = _index.plan(shape, index)
    assert (selection.starts.size, selection.run) == (runs, run)
    assert runs == _minimal_runs(shape, index)


@pytest.mark.parametrize(
    ("shape", "index"),
    [
        ((4, 0), None),
        ((4, 5), slice(2, 2)),
        ((4, 5), (slice(None), slice(3, 1))),
        ((3, 0), slice(0, 2)),  # the empty axis is the last, full one
        ((0, 5), (slice(None), 1)),
    ],
)
def test_an_empty_selection_has_no_runs(shape: tuple[int, ...], index: object) -> None:
    selection = _index.plan(shape, index)
    assert selection.shape == np.empty(shape)[_numpy(index)].shape
    assert (selection.starts.size, selection.run, selection.size) == (0, 0, 0)
    assert selection.starts.dtype == np.int64
    for part in selection.pieces():
        assert part.size == 0


@given(st.integers(1, 3), st.integers(0, 3 * _index.PIECE), st.integers(0, 5))
def test_pieces_cut_each_run_into_consecutive_pieces_of_at_most_piece_elements(
    n_runs: int, run: int, first: int
) -> None:
    starts = first + 7 * _index.PIECE * np.arange(n_runs, dtype=np.int64)
    selection = _index.Selection((n_runs, run), starts, run)
    piece_starts, lengths, offsets = selection.pieces()
    assert all(a.dtype == np.int64 for a in (piece_starts, lengths, offsets))
    assert lengths.flags.c_contiguous
    assert np.all((lengths > 0) & (lengths <= _index.PIECE))
    # the pieces, in order, give every selected flat index once, at its place in the result
    assert int(lengths.sum()) == selection.size
    np.testing.assert_array_equal(offsets, np.cumsum(lengths) - lengths)
    flat = np.concatenate([s + np.arange(n) for s, n in zip(piece_starts, lengths, strict=True)] or [[]])
    np.testing.assert_array_equal(flat, _flat_indices(selection))


@pytest.mark.parametrize(
    ("index", "error", "message"),
    [
        (
            (0, 0, 0),
            ValueError,
            "index (0, 0, 0) has more entries than the shape has dimensions (2)",
        ),
        (
            (Ellipsis, 0, Ellipsis),
            ValueError,
            "index may contain at most one Ellipsis (...), got (Ellipsis, 0, Ellipsis)",
        ),
        (3, ValueError, "index 3: 3 is out of range for axis 0 of size 3"),
        (-4, ValueError, "index -4: -4 is out of range for axis 0 of size 3"),
        (
            (slice(None), 3),
            ValueError,
            "index (slice(None, None, None), 3): 3 is out of range for axis 1 of size 3",
        ),
        (
            (0, 1.5),
            TypeError,
            "index entries must be ints, slices or one Ellipsis, got 1.5 in index (0, 1.5)",
        ),
        (
            (True, 0),
            TypeError,
            "index entries must be ints, slices or one Ellipsis, got True in index (True, 0)",
        ),
        (
            (0, slice(0, 3, 0)),
            ValueError,
            "index (0, slice(0, 3, 0)): bad slice slice(0, 3, 0) for axis 1: slice step cannot be zero",
        ),
    ],
)
def test_a_bad_index_is_refused_naming_the_index_the_entry_and_the_axis(
    index: object, error: type[Exception], message: str
) -> None:
    full = np.zeros((3, 3))
    for refuse in (
        lambda: _index.plan((3, 3), index),
        lambda: _index.check_index((3, 3), index),
        lambda: _index.select(full, index),
    ):
        with pytest.raises(error) as caught:
            refuse()
        assert str(caught.value) == message


@given(shapes_and_indices())
def test_select_is_numpys_selection_as_a_new_array(case: tuple[tuple[int, ...], tuple[object, ...]]) -> None:
    shape, index = case
    full = np.arange(math.prod(shape), dtype=np.float64).reshape(shape)
    expected = full[index].copy()
    chosen = _index.select(full, index)
    assert chosen.shape == np.shape(expected)
    np.testing.assert_array_equal(chosen, expected)
    chosen[...] = -1.0  # a copy: the full tensor is untouched
    np.testing.assert_array_equal(full, np.arange(math.prod(shape), dtype=np.float64).reshape(shape))
