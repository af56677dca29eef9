"""A Hypothesis strategy for shapes and basic NumPy indices into them (ints, slices with any
step, one Ellipsis), shared by the stream's selection tests."""

from __future__ import annotations

from hypothesis import strategies as st


@st.composite
def shapes_and_indices(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[object, ...]]:
    shape = tuple(draw(st.lists(st.integers(1, 9), min_size=1, max_size=4)))
    index: list[object] = []
    for dim in shape[: draw(st.integers(0, len(shape)))]:
        if draw(st.booleans()):
            index.append(draw(st.integers(-dim, dim - 1)))
        else:
            bound = st.none() | st.integers(-dim - 2, dim + 2)
            step = st.none() | st.integers(-3, 3).filter(lambda s: s != 0)
            index.append(slice(draw(bound), draw(bound), draw(step)))
    if index and draw(st.booleans()):  # where the Ellipsis stands for zero axes, or at the end
        at = draw(st.integers(0, len(index))) if len(index) == len(shape) else len(index)
        index.insert(at, Ellipsis)
    return shape, tuple(index)
