"""Orthogonal, delta-orthogonal, identity/Dirac, constant and sparse initializers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import kaiming


def _as_matrix(w: np.ndarray, layout: str) -> np.ndarray:
    return w.reshape(-1, w.shape[-1]) if layout == "jax" else w.reshape(w.shape[0], -1)


@pytest.mark.parametrize("layout", kaiming.LAYOUTS)
@pytest.mark.parametrize("shape", [(64, 64), (64, 16), (16, 64), (3, 3, 8, 4), (4, 8, 3, 3), (2, 3, 4, 5, 6)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_orthogonal_rows_or_columns(layout: kaiming.Layout, shape: tuple[int, ...], gain: float) -> None:
    w = kaiming.orthogonal(shape, gain, layout=layout, seed=0)
    assert w.shape == shape
    m = _as_matrix(w, layout)
    rows, cols = m.shape
    gram = m @ m.T if rows <= cols else m.T @ m
    assert np.allclose(gram, gain**2 * np.eye(min(rows, cols)), atol=1e-12)
    # Every column (or row) individually has norm gain.
    norms = np.linalg.norm(m, axis=1 if rows <= cols else 0)
    assert np.allclose(norms, gain)


def test_orthogonal_is_haar_no_sign_bias() -> None:
    # Without the sign fix, QR's R diagonal convention biases Q's diagonal. Averaged over
    # 400 draws of an 8x8 matrix, each diagonal entry's mean is ~N(0, 1/(8*400)); the band
    # 0.1 is 5.7 s.e. (false failure < 1e-7 per entry).
    diag = np.mean([np.diag(kaiming.orthogonal((8, 8), seed=s)) for s in range(400)], axis=0)
    assert np.abs(diag).max() < 0.1


def test_orthogonal_matches_torch_statistics() -> None:
    ref = torch.nn.init.orthogonal_(torch.empty(50, 200, dtype=torch.float64)).numpy()
    w = kaiming.orthogonal((50, 200), layout="torch", seed=0)
    assert np.allclose(w @ w.T, ref @ ref.T, atol=1e-12)


@pytest.mark.parametrize("layout", kaiming.LAYOUTS)
@pytest.mark.parametrize("kernel", [(3,), (3, 3), (3, 5, 3)])
def test_delta_orthogonal(layout: kaiming.Layout, kernel: tuple[int, ...]) -> None:
    n_in, n_out = 8, 16
    shape = (*kernel, n_in, n_out) if layout == "jax" else (n_out, n_in, *kernel)
    w = kaiming.delta_orthogonal(shape, 1.5, layout=layout, seed=0)
    centre = tuple(k // 2 for k in kernel)
    m = w[centre] if layout == "jax" else w[(slice(None), slice(None), *centre)].T  # (in, out)
    assert np.allclose(m @ m.T, 1.5**2 * np.eye(n_in), atol=1e-12)
    assert np.count_nonzero(w) == np.count_nonzero(m)


def test_delta_orthogonal_conv_preserves_norm() -> None:
    # A delta-orthogonal 1-D convolution maps an input's norm to gain * norm (in <= out).
    w = kaiming.delta_orthogonal((16, 8, 3), layout="torch", seed=1)
    x = torch.randn(2, 8, 50, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    y = torch.nn.functional.conv1d(x, torch.from_numpy(w), padding=1)
    assert torch.allclose(y.norm(dim=1), x.norm(dim=1), atol=1e-10)


@pytest.mark.parametrize(
    ("shape", "match"),
    [
        ((4, 8, 3), "in_channels <= out_channels"),
        ((3, 3), "at least 3 dimensions"),
        ((1, 1, 1, 1, 2, 2), "3 to 5"),
    ],
)
def test_delta_orthogonal_bad_shapes(shape: tuple[int, ...], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        kaiming.delta_orthogonal(shape, layout="torch")


@pytest.mark.parametrize("shape", [(4, 4, 3), (6, 4, 3, 3), (4, 6, 3, 3), (8, 2, 3, 3, 3)])
@pytest.mark.parametrize("groups", [1, 2])
def test_dirac_matches_torch_exactly(shape: tuple[int, ...], groups: int) -> None:
    ref = torch.nn.init.dirac_(torch.empty(shape, dtype=torch.float64), groups=groups).numpy()
    assert np.array_equal(kaiming.dirac(shape, groups, layout="torch"), ref)
    out, inp, *kernel = shape
    jax_w = kaiming.dirac((*kernel, inp, out), groups, layout="jax")
    assert np.array_equal(np.moveaxis(jax_w, (-1, -2), (0, 1)), ref)


def test_dirac_conv_is_identity() -> None:
    w = torch.from_numpy(kaiming.dirac((5, 5, 3, 3), layout="torch", gain=2.0))
    x = torch.randn(1, 5, 7, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(torch.nn.functional.conv2d(x, w, padding=1), 2 * x)


def test_dirac_groups_must_divide() -> None:
    with pytest.raises(ValueError, match="divisible by groups"):
        kaiming.dirac((5, 5, 3), groups=2, layout="torch")


def test_identity_matches_torch_eye() -> None:
    for shape in [(3, 3), (3, 5), (5, 3)]:
        assert np.array_equal(
            kaiming.identity(shape), torch.nn.init.eye_(torch.empty(shape, dtype=torch.float64)).numpy()
        )
    assert np.array_equal(kaiming.identity((2, 2), gain=3.0), 3 * np.eye(2))
    with pytest.raises(ValueError, match="2-D"):
        kaiming.identity((2, 2, 2))


def test_constant_zeros_ones() -> None:
    assert np.array_equal(kaiming.constant((2, 3), 0.25, dtype=np.float32), np.full((2, 3), 0.25, np.float32))
    assert kaiming.zeros(4).sum() == 0 and kaiming.ones((2, 2)).sum() == 4
    with pytest.raises(ValueError, match="value must be a finite number"):
        kaiming.constant((2,), float("inf"))


@pytest.mark.parametrize("layout", kaiming.LAYOUTS)
@given(sparsity=st.floats(0.0, 0.99), n_in=st.integers(1, 40), n_out=st.integers(1, 10))
def test_sparse_zero_count_per_unit(layout: kaiming.Layout, sparsity: float, n_in: int, n_out: int) -> None:
    shape = (n_in, n_out) if layout == "jax" else (n_out, n_in)
    w = kaiming.sparse(shape, sparsity, std=1.0, layout=layout, seed=0)
    per_column_zeros = (w == 0).sum(axis=0)  # jax: per output unit; torch: per input (torch's rule)
    assert (per_column_zeros == math.ceil(sparsity * shape[0])).all()


def test_sparse_std_and_torch_zero_pattern_rule() -> None:
    w = kaiming.sparse((1000, 1000), 0.5, std=0.02, seed=0)
    assert w[w != 0].std() == pytest.approx(0.02, rel=0.015)
    ref = torch.nn.init.sparse_(torch.empty(30, 20), 0.3, std=0.02)
    ours = kaiming.sparse((30, 20), 0.3, std=0.02, layout="torch", seed=0)
    # torch zeroes ceil(0.3 * rows) entries of every column; so does the torch layout
    assert ((ref == 0).sum(dim=0) == math.ceil(0.3 * 30)).all()
    assert ((ours == 0).sum(axis=0) == (ref == 0).sum(dim=0).numpy()).all()


@pytest.mark.parametrize("sparsity", [-0.1, 1.0, float("nan")])
def test_sparse_rejects_bad_sparsity(sparsity: float) -> None:
    with pytest.raises(ValueError, match="sparsity must be"):
        kaiming.sparse((4, 4), sparsity)


def test_sparse_needs_2d() -> None:
    with pytest.raises(ValueError, match="2-D"):
        kaiming.sparse((4, 4, 4), 0.5)


def test_registry_names_resolve() -> None:
    for name in kaiming.INITIALIZER_NAMES:
        assert kaiming.get_initializer(name)((6, 4), seed=0).shape == (6, 4)
    with pytest.raises(ValueError, match="Invalid initializer name 'kaiming'"):
        kaiming.get_initializer("kaiming")


def test_import_kaiming_needs_numpy_only() -> None:
    import subprocess
    import sys

    heavy = "('torch', 'scipy', 'matplotlib', 'starlette')"
    code = f"import sys, kaiming; print([m for m in {heavy} if m in sys.modules])"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(__import__("pathlib").Path(kaiming.__file__).parents[1])},
    )
    assert out.stdout.strip() == "[]"
