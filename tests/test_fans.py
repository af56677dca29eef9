"""compute_fans: parity with torch for the torch layout, and the jax layout as its transpose."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import kaiming

dims = st.integers(min_value=1, max_value=9)
shapes = st.lists(dims, min_size=2, max_size=5).map(tuple)


@given(shapes)
def test_torch_layout_matches_torch(shape: tuple[int, ...]) -> None:
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert kaiming.compute_fans(shape, layout="torch") == expected


@given(shapes)
def test_jax_layout_is_torch_layout_with_axes_moved(shape: tuple[int, ...]) -> None:
    # torch (out, in, *k) -> jax (*k, in, out) describes the same layer.
    out, inp, *kernel = shape
    assert kaiming.compute_fans((*kernel, inp, out), layout="jax") == kaiming.compute_fans(
        shape, layout="torch"
    )


@pytest.mark.parametrize(
    ("shape", "layout", "fans"),
    [
        ((784, 10), "jax", (784, 10)),
        ((10, 784), "torch", (784, 10)),
        ((3, 3, 16, 32), "jax", (144, 288)),
        ((32, 16, 3, 3), "torch", (144, 288)),
        ((5, 2, 3, 4, 6), "torch", (2 * 72, 5 * 72)),
        ((np.int32(4), np.int64(6)), "jax", (4, 6)),
    ],
)
def test_examples(shape: tuple[int, ...], layout: kaiming.Layout, fans: tuple[int, int]) -> None:
    assert kaiming.compute_fans(shape, layout=layout) == fans


@pytest.mark.parametrize("shape", [(), (5,), 5])
def test_rank_below_two_has_no_fans(shape: object) -> None:
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        kaiming.compute_fans(shape)


def test_torch_agrees_that_rank_one_has_no_fans() -> None:
    with pytest.raises(ValueError):
        torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(5))


@pytest.mark.parametrize(
    ("shape", "layout", "error", "match"),
    [
        ((3, 0), "jax", ValueError, r"shape\[1\] must be a positive integer, got 0"),
        ((3, -2), "torch", ValueError, "got -2"),
        ((3, 2.0), "jax", TypeError, r"shape\[1\]"),
        ("ab", "jax", TypeError, "shape must be a sequence"),
        ((3, 3), "keras", ValueError, "Invalid layout 'keras'; allowed: 'jax', 'torch'"),
        ((3, 3), None, TypeError, "layout must be a string"),
    ],
)
def test_bad_input(shape: object, layout: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        kaiming.compute_fans(shape, layout=layout)  # type: ignore[arg-type]
