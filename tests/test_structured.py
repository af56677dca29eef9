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


@pytest.mark.parametrize(
    "make",
    [
        lambda dtype: kaiming.identity((3, 4), gain=1.5, dtype=dtype),
        lambda dtype: kaiming.constant((3, 4), 0.25, dtype=dtype),
        lambda dtype: kaiming.zeros((3, 4), dtype=dtype),
        lambda dtype: kaiming.ones((3, 4), dtype=dtype),
        lambda dtype: kaiming.sparse((30, 4), 0.5, seed=0, dtype=dtype),
        lambda dtype: kaiming.dirac((3, 2, 4), 2, 1.5, dtype=dtype),
    ],
    ids=["identity", "constant", "zeros", "ones", "sparse", "dirac"],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_non_random_and_sparse_initializers_return_the_requested_dtype(make, dtype) -> None:  # type: ignore[no-untyped-def]
    assert make(dtype).dtype == np.dtype(dtype)


def test_identity_zeros_ones_values_follow_their_definition() -> None:
    eye = kaiming.identity((3, 4), gain=1.5, dtype=np.float32)
    assert np.array_equal(eye, 1.5 * np.eye(3, 4, dtype=np.float32))
    assert np.array_equal(kaiming.zeros((2, 3), dtype=np.float16), np.zeros((2, 3), np.float16))
    assert np.array_equal(kaiming.ones((2, 3), dtype=np.float16), np.ones((2, 3), np.float16))


@pytest.mark.parametrize(
    ("make", "per_element"),
    [
        # identity: np.eye in the dtype and the product with the gain, 2 arrays of itemsize 4
        (lambda shape: kaiming.identity(shape, dtype=np.float32), 2 * 4),
        # sparse: float64 values (8), uniform keys (8), their int64 argsort (8), the float32 result (4)
        (lambda shape: kaiming.sparse(shape, 0.5, seed=0, dtype=np.float32), 24 + 4),
    ],
    ids=["identity", "sparse"],
)
def test_peak_memory_estimates_refuse_one_byte_short(
    monkeypatch: pytest.MonkeyPatch,
    make,  # type: ignore[no-untyped-def]
    per_element: int,
) -> None:
    """With exactly the documented peak available the call runs; one byte less, it is refused
    naming the shape and the dtype."""
    shape = (30, 20)
    monkeypatch.setenv("KAIMING_MEMORY_BYTES", str(per_element * 30 * 20))
    assert make(shape).shape == shape
    monkeypatch.setenv("KAIMING_MEMORY_BYTES", str(per_element * 30 * 20 - 1))
    with pytest.raises(ValueError, match=r"^shape=\(30, 20\) as float32 needs about"):
        make(shape)


def test_constant_value_checks_name_the_value_and_allow_subnormals() -> None:
    with pytest.raises(ValueError, match=r"^value=1e\+300 gives values of magnitude up to 1e\+300, beyond"):
        kaiming.constant((2,), 1e300, dtype=np.float32)
    with pytest.raises(ValueError, match=r"^value=1e-50 gives values of magnitude 1e-50, below"):
        kaiming.constant((2,), 1e-50, dtype=np.float32)
    # a constant (not a random draw) may be subnormal, as long as it does not round to 0
    tiny = kaiming.constant((2,), 1e-40, dtype=np.float32)
    assert np.array_equal(tiny, np.full(2, 1e-40, dtype=np.float32)) and tiny[0] != 0


def test_sparse_default_std_is_0_01() -> None:
    w = kaiming.sparse((4000, 50), 0.0, seed=0)
    assert w.std() == pytest.approx(0.01, rel=0.02)  # 200,000 draws: the std's sd is 0.16%


def test_sparse_randomness_comes_from_seed_or_rng() -> None:
    first = kaiming.sparse((40, 8), 0.25, seed=7)
    assert np.array_equal(first, kaiming.sparse((40, 8), 0.25, seed=7))
    assert np.array_equal(first, kaiming.sparse((40, 8), 0.25, rng=np.random.default_rng(7)))
    assert not np.array_equal(first, kaiming.sparse((40, 8), 0.25, seed=8))
    # the values are the generator's normals times std, before the zeroing
    normals = np.random.default_rng(7).standard_normal((40, 8)) * 0.01
    assert np.array_equal(first[first != 0], normals[first != 0])


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_keyed_sparse_is_the_keyed_normal_with_ceil_sparsity_zeros_per_column(dtype: type) -> None:
    k = kaiming.stream.key(5, "fc.weight")
    w = kaiming.sparse((40, 30), 0.3, 0.2, key=k, dtype=dtype)
    assert w.dtype == dtype and np.array_equal(w, kaiming.sparse((40, 30), 0.3, 0.2, key=k, dtype=dtype))
    assert ((w == 0).sum(axis=0) == 12).all()  # ceil(0.3 * 40)
    normal = kaiming.normal((40, 30), 0.0, 0.2, key=k, dtype=dtype)
    assert np.array_equal(w[w != 0], normal[w != 0])
    assert not np.array_equal(w == 0, kaiming.sparse((40, 30), 0.3, 0.2, key=kaiming.stream.key(6, "x")) == 0)
    part = (slice(3, 17, 2), slice(None, None, -4))
    assert np.array_equal(kaiming.sparse((40, 30), 0.3, 0.2, key=k, index=part, dtype=dtype), w[part])
    assert np.array_equal(kaiming.sparse((40, 30), 0.0, 0.2, key=k, dtype=dtype), normal)  # no zeros


def test_keyed_sparse_zeroes_every_row_equally_often() -> None:
    """Over 20,000 columns of 10 rows with 3 zeros each, every row is zero in 30% of them: a row
    count's sd is sqrt(20000 * 0.3 * 0.7) = 65, so 4% (240, 3.7 sd) fails only a biased mask."""
    w = kaiming.sparse((10, 20_000), 0.3, key=kaiming.stream.key(0, "mask"), dtype=np.float32)
    per_row = (w == 0).sum(axis=1)
    assert per_row.sum() == 60_000
    np.testing.assert_allclose(per_row, 6000, rtol=0.04)


def test_sparse_std_checks_name_std() -> None:
    with pytest.raises(ValueError, match=r"^std must be a finite number >= 0, got -1"):
        kaiming.sparse((4, 4), 0.5, std=-1.0)
    with pytest.raises(ValueError, match=r"^std=100000 gives values of magnitude up to 1e\+05, beyond the"):
        kaiming.sparse((4, 4), 0.5, std=1e5, dtype=np.float16)


def test_sparse_refuses_values_that_overflow_the_dtype() -> None:
    """std = 60000 fits float16 (largest 65504), but about a quarter of N(0, 60000**2) draws do
    not: the result is refused (no inf and no overflow warning escape)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"^std=60000 makes values overflow float16"):
            kaiming.sparse((100, 10), 0.0, std=60000.0, dtype=np.float16, seed=0)


def _haar_reference(seed: int, rows: int, cols: int) -> np.ndarray:
    """Mezzadri (2007): QR of a Gaussian matrix (transposed when wide), Q's columns multiplied by
    the signs of R's diagonal."""
    wide = rows < cols
    g = np.random.default_rng(seed).standard_normal((cols, rows) if wide else (rows, cols))
    q, r = np.linalg.qr(g)
    q = q * np.sign(np.diag(r))
    return q.T if wide else q


@pytest.mark.parametrize("shape", [(12, 5), (5, 12), (6, 6), (2, 3, 7)])
def test_orthogonal_is_the_sign_corrected_qr_of_the_generators_normals(shape: tuple[int, ...]) -> None:
    rows, cols = math.prod(shape[:-1]), shape[-1]
    want = (2.5 * _haar_reference(4, rows, cols)).reshape(shape)
    np.testing.assert_allclose(kaiming.orthogonal(shape, 2.5, seed=4), want, rtol=0, atol=1e-12)
    np.testing.assert_allclose(kaiming.orthogonal(shape, 2.5, rng=np.random.default_rng(4)), want, atol=1e-12)
    torch_layout = kaiming.orthogonal((7, 2, 3), 1.0, layout="torch", seed=4)  # rows = 7 outputs
    np.testing.assert_allclose(torch_layout.reshape(7, 6), _haar_reference(4, 7, 6), atol=1e-12)


def test_delta_orthogonal_centre_is_the_sign_corrected_qr() -> None:
    w = kaiming.delta_orthogonal((3, 3, 4, 6), 1.5, seed=2)
    np.testing.assert_allclose(w[1, 1], 1.5 * _haar_reference(2, 4, 6), atol=1e-12)
    same = kaiming.delta_orthogonal((3, 3, 4, 6), 1.5, rng=np.random.default_rng(2))
    np.testing.assert_array_equal(w, same)


@pytest.mark.parametrize("make", [kaiming.orthogonal, kaiming.delta_orthogonal], ids=["orthogonal", "delta"])
def test_orthogonal_gain_checks_name_gain(make) -> None:  # type: ignore[no-untyped-def]
    shape = (3, 4, 8)
    with pytest.raises(ValueError, match=r"^gain must be a finite number >= 0, got -1"):
        make(shape, -1.0, seed=0)
    with pytest.raises(TypeError, match=r"^gain must be a real number"):
        make(shape, "2", seed=0)
    with pytest.raises(
        ValueError, match=r"^gain=1e\+300 gives values of magnitude up to 1e\+300, beyond the largest"
    ):
        make(shape, 1e300, seed=0, dtype=np.float32)
    with pytest.raises(ValueError, match=r"^gain=1e-50 gives values of magnitude 1e-50, below"):
        make(shape, 1e-50, seed=0, dtype=np.float32)
    # random entries of subnormal size would lose their orthogonality: refused, as by
    # kaiming.torch.orthogonal_ (a constant's gain, as identity's, may be subnormal)
    with pytest.raises(ValueError, match=r"^gain=1e-40 .* below the smallest normal float32"):
        make(shape, 1e-40, seed=0, dtype=np.float32)
    with pytest.raises(ValueError, match=r"^gain=1e-05 .* below the smallest normal float16"):
        make(shape, 1e-5, seed=0, dtype=np.float16)
    smallest = float(np.finfo(np.float16).smallest_normal)
    assert np.abs(make(shape, smallest, seed=0, dtype=np.float16)).max() > 0


@pytest.mark.parametrize("make", [kaiming.orthogonal, kaiming.delta_orthogonal], ids=["orthogonal", "delta"])
def test_orthogonal_dtype_and_default_layout(make) -> None:  # type: ignore[no-untyped-def]
    w = make((3, 4, 8), seed=0, dtype=np.float32)
    assert w.dtype == np.float32
    assert np.array_equal(make((3, 4, 8), seed=0), make((3, 4, 8), layout="jax", seed=0))


def test_orthogonal_peak_memory_estimates(monkeypatch: pytest.MonkeyPatch) -> None:
    """orthogonal: 42 bytes per element for the float64 QR plus the float32 result; delta-orthogonal:
    two copies of the kernel plus the QR of its in x out centre."""
    monkeypatch.setenv("KAIMING_MEMORY_BYTES", str((42 + 4) * 30 * 20))
    assert kaiming.orthogonal((30, 20), seed=0, dtype=np.float32).shape == (30, 20)
    monkeypatch.setenv("KAIMING_MEMORY_BYTES", str((42 + 4) * 30 * 20 - 1))
    with pytest.raises(ValueError, match=r"^shape=\(30, 20\) as float32 needs about"):
        kaiming.orthogonal((30, 20), seed=0, dtype=np.float32)
    peak = 2 * 4 * (3 * 3 * 4 * 6) + 42 * 4 * 6
    monkeypatch.setenv("KAIMING_MEMORY_BYTES", str(peak + 1))  # + 1: the per-element share rounds
    assert kaiming.delta_orthogonal((3, 3, 4, 6), seed=0, dtype=np.float32).shape == (3, 3, 4, 6)
    monkeypatch.setenv("KAIMING_MEMORY_BYTES", str(peak - 1))
    with pytest.raises(ValueError, match=r"^shape=\(3, 3, 4, 6\) as float32 needs about"):
        kaiming.delta_orthogonal((3, 3, 4, 6), seed=0, dtype=np.float32)


def test_keyed_sparse_zero_rows_are_the_stable_order_of_the_mask_streams_uniforms() -> None:
    """The documented rule, from the stream's public functions: the zeros of column j are the rows
    of the ceil(sparsity * rows) smallest float64 uniforms of key.child("sparse mask")."""
    k = kaiming.stream.key(2, "emb.weight")
    w = kaiming.sparse((25, 7), 0.4, key=k, dtype=np.float32)
    uniforms = kaiming.stream.uniform((25, 7), k.child("sparse mask"), dtype=np.float64)
    expected = np.zeros((25, 7), dtype=bool)
    np.put_along_axis(expected, np.argsort(uniforms, axis=0, kind="stable")[:10], True, axis=0)
    assert np.array_equal(w == 0, expected)


def test_structured_arguments_are_checked_before_any_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad index, or an index without a key, is refused before the QR or the draws run."""
    import kaiming.structured as structured

    def must_not_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("computed before the arguments were checked")

    monkeypatch.setattr(structured, "_orthogonal_matrix", must_not_run)
    monkeypatch.setattr(structured, "sample", must_not_run)
    k = kaiming.stream.key(0, "w")
    for call in (
        lambda: kaiming.orthogonal((4, 6), key=k, index=(9,)),
        lambda: kaiming.delta_orthogonal((3, 3, 4, 6), key=k, index=(0, 0, 7)),
        lambda: kaiming.sparse((4, 6), 0.5, key=k, index=(slice(None), 6)),
    ):
        with pytest.raises(ValueError, match=r"^index .* is out of range"):
            call()
    for call in (
        lambda: kaiming.orthogonal((4, 6), index=(1,), seed=0),
        lambda: kaiming.delta_orthogonal((3, 3, 4, 6), index=(1,), seed=0),
        lambda: kaiming.sparse((4, 6), 0.5, index=(1,), seed=0),
    ):
        with pytest.raises(ValueError, match=r"^index= selects part of a keyed tensor: pass key= too"):
            call()


def test_identity_and_dirac_arguments() -> None:
    # a deterministic gain may be subnormal (orthogonal's random entries may not)
    tiny = kaiming.identity((2, 3), 1e-40, dtype=np.float32)
    assert tiny[0, 0] == np.float32(1e-40) and tiny[0, 0] != 0
    assert kaiming.dirac((3, 2, 2), gain=1e-40, dtype=np.float32)[1, 0, 0] == np.float32(1e-40)
    with pytest.raises(TypeError, match=r"^gain must be a real number"):
        kaiming.identity((2, 2), "2")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^gain must be a real number"):
        kaiming.dirac((2, 2, 3), gain="2")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^Invalid layout 'tf'"):
        kaiming.dirac((2, 2, 3), layout="tf")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^Invalid layout 'tf'"):
        kaiming.orthogonal((2, 2), layout="tf")  # type: ignore[arg-type]
    assert np.array_equal(kaiming.dirac((4, 2, 3)), kaiming.dirac((4, 2, 3), layout="jax"))
    with pytest.raises(ValueError, match=r"^shape must have 3 to 5 dims \(a 1-D to 3-D conv kernel\)"):
        kaiming.dirac((2, 2, 2, 2, 2, 2))
    with pytest.raises(ValueError, match=r"^groups must be a positive integer"):
        kaiming.dirac((4, 2, 3), groups=0)


def test_delta_orthogonal_takes_as_many_inputs_as_outputs() -> None:
    w = kaiming.delta_orthogonal((3, 3, 8, 8), seed=0)
    centre = w[1, 1]
    np.testing.assert_allclose(centre.T @ centre, np.eye(8), atol=1e-12)
