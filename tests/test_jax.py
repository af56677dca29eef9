"""kaiming.jax: the family as jax arrays equals the NumPy family bit for bit (eager, jitted,
sharded), Flax initializers map JAX keys to stream keys, and a Flax MLP equals its PyTorch twin."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
nn = pytest.importorskip("flax.linen")
torch = pytest.importorskip("torch")

import kaiming  # noqa: E402
import kaiming.jax as kj  # noqa: E402
import kaiming.torch as kt  # noqa: E402
from kaiming.stream import StreamKey, key  # noqa: E402

K = key(3, "layer.weight")
SHAPE = (3, 5, 12, 10)
NAMES = [
    "he_normal", "he_uniform", "he_truncated_normal", "xavier_normal", "xavier_uniform",
    "xavier_truncated_normal", "lecun_normal", "lecun_uniform", "lecun_truncated_normal",
]  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
def test_arrays_equal_the_numpy_family(name: str) -> None:
    ours, numpy_fn = getattr(kj, name), getattr(kaiming, name)
    extra = {"a": 0.2, "mode": "fan_out"} if name.startswith("he") else {"gain": 1.5}
    expected = numpy_fn(SHAPE, **extra, key=K, dtype=np.float32)
    np.testing.assert_array_equal(np.asarray(ours(SHAPE, **extra, key=K)), expected)
    part = (slice(1, 3), 2, slice(None, None, 3))
    np.testing.assert_array_equal(np.asarray(ours(SHAPE, **extra, key=K, index=part)), expected[part])
    torch_layout = numpy_fn((10, 12, 3, 5), **extra, layout="torch", key=K, dtype=np.float32)
    np.testing.assert_array_equal(
        np.asarray(ours((10, 12, 3, 5), **extra, layout="torch", key=K)), torch_layout
    )
    axes = numpy_fn((4, 12, 10), **extra, batch_axis=0, key=K, dtype=np.float32)
    np.testing.assert_array_equal(np.asarray(ours((4, 12, 10), **extra, batch_axis=0, key=K)), axes)


_jitted = jax.jit(
    lambda words: (
        kj.variance_scaling((64, 48), 2.0, "fan_avg", "truncated_normal", key=words),
        kj.normal((7, 9), -1.0, 0.5, key=words),
        kj.uniform((7, 9), 2.0, 3.0, key=words),
    )
)


def test_jitted_with_a_traced_key_and_offsets_keep_numpy_bits() -> None:
    # normal/uniform add an offset after the multiply: XLA must not fuse them into an FMA.
    vs, nrm, uni = _jitted(jnp.asarray([K.k0, K.k1], jnp.uint32))
    np.testing.assert_array_equal(
        np.asarray(vs),
        kaiming.variance_scaling((64, 48), 2.0, "fan_avg", "truncated_normal", key=K, dtype=np.float32),
    )
    np.testing.assert_array_equal(np.asarray(nrm), kaiming.normal((7, 9), -1.0, 0.5, key=K, dtype=np.float32))
    np.testing.assert_array_equal(np.asarray(uni), kaiming.uniform((7, 9), 2.0, 3.0, key=K, dtype=np.float32))
    np.testing.assert_array_equal(np.asarray(kj.normal((7, 9), -1.0, 0.5, key=K)), np.asarray(nrm))


def test_half_precision_is_the_rounded_float32_value() -> None:
    ref = kaiming.he_normal((16, 8), key=K, dtype=np.float32)
    for dtype in (jnp.float16, jnp.bfloat16):
        np.testing.assert_array_equal(
            np.asarray(kj.he_normal((16, 8), key=K, dtype=dtype)), ref.astype(dtype)
        )


def test_jax_keys_map_to_their_key_data() -> None:
    jax_key = jax.random.key(42)
    words = jax.random.key_data(jax_key)
    stream_key = StreamKey(int(words[0]), int(words[1]))
    init = kj.initializers.he_normal()
    expected = kaiming.he_normal((6, 4), key=stream_key, dtype=np.float32)
    np.testing.assert_array_equal(np.asarray(init(jax_key, (6, 4))), expected)
    np.testing.assert_array_equal(np.asarray(init(jax.random.PRNGKey(42), (6, 4))), expected)  # raw uint32[2]
    np.testing.assert_array_equal(np.asarray(jax.jit(init, static_argnums=1)(jax_key, (6, 4))), expected)
    assert not np.array_equal(np.asarray(init(jax.random.key(43), (6, 4))), expected)
    with pytest.raises(ValueError, match=r"2 uint32 words of key data"):
        kj.stream_words(jax.random.key(0, impl="rbg"))
    with pytest.raises(TypeError, match=r"key must be a kaiming.stream.StreamKey or a JAX PRNG key"):
        kj.he_normal((2, 2), key=7)


def test_flax_initializer_options_and_errors() -> None:
    fixed = kj.initializers.xavier_uniform(seed=1, name="w", order="torch")
    w = np.asarray(fixed(jax.random.key(0), (3, 3, 4, 8)))  # the JAX key is not used: the name is
    twin = kaiming.xavier_uniform((8, 4, 3, 3), layout="torch", key=key(1, "w"), dtype=np.float32)
    np.testing.assert_array_equal(w, twin.transpose(2, 3, 1, 0))
    np.testing.assert_array_equal(np.asarray(fixed(jax.random.key(5), (3, 3, 4, 8))), w)
    u = np.asarray(kj.initializers.uniform(-2.0, -1.0, key=key(0, "u"))(None, (50,)))
    np.testing.assert_array_equal(u, kaiming.uniform(50, -2.0, -1.0, key=key(0, "u"), dtype=np.float32))
    with pytest.raises(ValueError, match=r"name='w' selects a stream under a seed"):
        kj.initializers.he_normal(name="w")
    with pytest.raises(ValueError, match=r"seed=1 needs name="):
        kj.initializers.he_normal(seed=1)
    with pytest.raises(ValueError, match=r"order='torch' reads the torch layout; it takes no axes"):
        kj.initializers.lecun_normal(in_axis=0, order="torch")
    with pytest.raises(ValueError, match=r"Invalid order 'keras'"):
        kj.initializers.he_normal(order="keras")
    with pytest.raises(ValueError, match=r"low must be below high"):
        kj.uniform(3, 1.0, 0.0, key=K)


class _MLP(nn.Module):
    """fc1 -> relu -> fc2 -> relu -> fc3, kernels from kaiming's stream under the torch names."""

    seed: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        def dense(features: int, name: str, init: object) -> nn.Dense:
            return nn.Dense(
                features, name=name, kernel_init=init(seed=self.seed, name=f"{name}.weight", order="torch")
            )

        x = nn.relu(dense(16, "fc1", kj.initializers.he_normal)(x))
        x = nn.relu(dense(16, "fc2", kj.initializers.he_normal)(x))
        return dense(4, "fc3", kj.initializers.lecun_normal)(x)


def test_flax_mlp_equals_the_pytorch_twin() -> None:
    params = jax.jit(_MLP(seed=9).init)(jax.random.key(0), jnp.ones((1, 12)))["params"]
    twin = torch.nn.Sequential(
        OrderedDict(
            fc1=torch.nn.Linear(12, 16), r1=torch.nn.ReLU(), fc2=torch.nn.Linear(16, 16), r2=torch.nn.ReLU(),
            fc3=torch.nn.Linear(16, 4),
        )
    )  # fmt: skip
    kt.init_model(twin, seed=9, stream="counter")
    state = {k: v.detach().numpy() for k, v in twin.state_dict().items()}
    for name in ("fc1", "fc2", "fc3"):
        np.testing.assert_array_equal(np.asarray(params[name]["kernel"]), state[f"{name}.weight"].T)
        np.testing.assert_array_equal(np.asarray(params[name]["bias"]), state[f"{name}.bias"])


SHARDING_SCRIPT = Path(__file__).with_name("_jax_sharding_check.py")


def test_sharded_equals_single_device_and_numpy_on_a_4_device_mesh() -> None:
    # XLA_FLAGS must be set before jax starts: a fresh process.
    env = {
        **os.environ,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=4",
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    result = subprocess.run(
        [sys.executable, str(SHARDING_SCRIPT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.count("ok ") == 6, result.stdout


def test_truncated_normals_match_jax_he_normal() -> None:
    # jax.nn.initializers.he_normal is truncated: kaiming's he_truncated_normal. n = 65,536 values:
    # both stds within 3% of sqrt(2 / 256) (> 7 standard errors: false failure < 1e-12), both
    # within the truncation bound, which the untruncated he_normal exceeds (P(not) ~ 0).
    std = (2 / 256) ** 0.5
    jax_w = np.asarray(jax.nn.initializers.he_normal()(jax.random.key(0), (256, 256)))
    ours = np.asarray(kj.he_truncated_normal((256, 256), key=jax.random.key(0)))
    plain = np.asarray(kj.he_normal((256, 256), key=jax.random.key(0)))
    bound = 2 * std / kaiming.TRUNCATED_NORMAL_STD * (1 + 1e-6)
    for w in (jax_w, ours, plain):
        assert w.std() == pytest.approx(std, rel=0.03)
    assert np.abs(jax_w).max() <= bound and np.abs(ours).max() <= bound < np.abs(plain).max()


def test_import_kaiming_needs_numpy_alone() -> None:
    code = (
        "import sys, kaiming; print(sorted(m for m in ('jax', 'flax', 'keras', 'torch') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_flax_nnx_linear_takes_the_initializers() -> None:
    nnx = pytest.importorskip("flax.nnx")
    init = kj.initializers.he_normal(seed=0, name="fc.weight", order="torch")
    layer = nnx.Linear(8, 4, kernel_init=init, rngs=nnx.Rngs(0))
    expected = kaiming.he_normal((4, 8), layout="torch", key=key(0, "fc.weight"), dtype=np.float32).T
    np.testing.assert_array_equal(np.asarray(layer.kernel[...]), expected)
    keyed = nnx.Linear(8, 4, kernel_init=kj.initializers.lecun_uniform(), rngs=nnx.Rngs(0))
    assert np.abs(np.asarray(keyed.kernel[...])).max() <= (3 / 8) ** 0.5


# ------------------------------------------------------------------------------------------------
# orthogonal: the host QR of kaiming.orthogonal, eager, jitted and vmapped
# ------------------------------------------------------------------------------------------------


def _words(jax_key: object) -> StreamKey:
    return StreamKey(*(int(w) for w in np.asarray(jax.random.key_data(jax_key))))


@pytest.mark.parametrize("layout", ["jax", "torch"])
def test_orthogonal_equals_the_numpy_function(layout: str) -> None:
    expected = kaiming.orthogonal(SHAPE, 1.5, layout=layout, key=K, dtype=np.float32)
    np.testing.assert_array_equal(np.asarray(kj.orthogonal(SHAPE, 1.5, layout=layout, key=K)), expected)
    part = (slice(1, 3), 2, slice(None, None, 3))
    got = kj.orthogonal(SHAPE, 1.5, layout=layout, key=K, index=part)
    np.testing.assert_array_equal(np.asarray(got), expected[part])
    half = kaiming.orthogonal(SHAPE, layout=layout, key=K, dtype=np.float16)
    np.testing.assert_array_equal(
        np.asarray(kj.orthogonal(SHAPE, layout=layout, key=K, dtype="float16")), half
    )
    bf16 = kj.orthogonal(SHAPE, layout=layout, key=K, dtype=jnp.bfloat16)
    rounded = jnp.asarray(kaiming.orthogonal(SHAPE, layout=layout, key=K, dtype=np.float32)).astype(
        jnp.bfloat16
    )
    assert bf16.dtype == jnp.bfloat16 and bool((bf16 == rounded).all())


def test_orthogonal_jitted_and_vmapped_with_traced_keys_keep_numpy_bits() -> None:
    keys = jax.random.split(jax.random.key(4), 3)
    jitted = jax.jit(lambda k: kj.orthogonal((6, 9), 2.0, key=k))
    batched = jax.vmap(lambda k: kj.orthogonal((6, 9), 2.0, key=k))(keys)
    for i in range(3):
        expected = kaiming.orthogonal((6, 9), 2.0, key=_words(keys[i]), dtype=np.float32)
        np.testing.assert_array_equal(np.asarray(jitted(keys[i])), expected)
        np.testing.assert_array_equal(np.asarray(batched[i]), expected)


def _gram(w: np.ndarray, column_axis: int) -> np.ndarray:
    """``jax.nn.initializers.orthogonal``'s matrix: ``column_axis`` as columns, the rest as rows;
    the Gram matrix of its shorter side."""
    matrix = np.moveaxis(np.asarray(w, dtype=np.float64), column_axis, -1)
    matrix = matrix.reshape(-1, matrix.shape[-1])
    return matrix @ matrix.T if matrix.shape[0] <= matrix.shape[1] else matrix.T @ matrix


@pytest.mark.parametrize(
    ("shape", "column_axis"), [((3, 8), -1), ((8, 3), -1), ((3, 8), 0), ((3, 3, 4, 5), -1), ((3, 3, 4, 5), 2)]
)
def test_flax_orthogonal_has_jax_nn_orthogonals_structure(shape: tuple[int, ...], column_axis: int) -> None:
    """The same matrix as jax.nn.initializers.orthogonal, computed live: which side is
    orthonormal, scaled by ``scale``, for every ``column_axis``."""
    jax_key = jax.random.key(0)
    ours = kj.initializers.orthogonal(1.5, column_axis)(jax_key, shape)
    theirs = jax.nn.initializers.orthogonal(1.5, column_axis)(jax_key, shape)
    assert ours.shape == theirs.shape == shape and ours.dtype == theirs.dtype
    side = min(int(np.prod(shape)) // shape[column_axis], shape[column_axis])
    np.testing.assert_allclose(_gram(theirs, column_axis), 2.25 * np.eye(side), atol=1e-5)
    np.testing.assert_allclose(_gram(ours, column_axis), 2.25 * np.eye(side), atol=1e-5)


def test_flax_orthogonal_keys_orders_and_errors() -> None:
    shape = (3, 3, 4, 8)
    fixed = kj.initializers.orthogonal(seed=1, name="conv.weight", order="torch")(jax.random.key(0), shape)
    twin = kt.orthogonal_(torch.empty(8, 4, 3, 3), key=key(1, "conv.weight")).numpy()
    np.testing.assert_array_equal(np.asarray(fixed), twin.transpose(2, 3, 1, 0))
    by_key = kj.initializers.orthogonal()(jax.random.key(7), shape)
    np.testing.assert_array_equal(
        np.asarray(by_key), kaiming.orthogonal(shape, key=_words(jax.random.key(7)), dtype=np.float32)
    )
    model = nn.Dense(16, kernel_init=kj.initializers.orthogonal())
    params = jax.jit(model.init)(jax.random.key(2), jnp.ones((1, 32)))
    kernel = np.asarray(params["params"]["kernel"], dtype=np.float64)
    np.testing.assert_allclose(kernel.T @ kernel, np.eye(16), atol=1e-5)
    with pytest.raises(ValueError, match=r"^order='torch' reads the torch layout; it needs column_axis=-1"):
        kj.initializers.orthogonal(column_axis=0, order="torch")
    with pytest.raises(TypeError, match=r"^column_axis must be an int, got 1.0"):
        kj.initializers.orthogonal(column_axis=1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^column_axis=2 is out of range for shape \(3, 4\)"):
        kj.initializers.orthogonal(column_axis=2)(jax.random.key(0), (3, 4))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: kj.orthogonal(4, key=K), ValueError, r"^shape must have at least 2 dimensions"),
        (lambda: kj.orthogonal((4, 4), -1.0, key=K), ValueError, r"^gain must be a finite number >= 0"),
        (lambda: kj.orthogonal((4, 4), key=K, layout="tf"), ValueError, r"^Invalid layout 'tf'"),
        (lambda: kj.orthogonal((4, 4), key=K, index=(9,)), ValueError, r"^index \(9,\): 9 is out of range"),
        (lambda: kj.orthogonal((4, 4), key=K, dtype="int32"), ValueError, r"^dtype must be one of"),
        (lambda: kj.orthogonal((4, 4), key="k"), TypeError, r"^key must be a kaiming.stream.StreamKey"),
        (
            lambda: jax.jit(lambda k: kj.orthogonal((4, 4), 1e-6, key=k, dtype="float16"))(jax.random.key(0)),
            ValueError,
            r"^gain=1e-06 gives values of magnitude 1e-06, below the smallest normal float16",
        ),
    ],
)
def test_orthogonal_errors_are_raised_where_the_call_is_written(
    call: object, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        call()  # type: ignore[operator]
