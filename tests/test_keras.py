"""kaiming.keras: initializers equal the NumPy family bit for bit, serialize and reload, init_model
equals kaiming.torch's counter stream on a PyTorch twin, analyze gives the shared verdicts.

The module runs on the Keras backend of this process (the root conftest sets KERAS_BACKEND=jax
unless set); ``test_torch_backend`` reruns the tests marked ``core`` in a subprocess with
KERAS_BACKEND=torch (Keras reads its backend once per process).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

import kaiming  # noqa: E402
import kaiming.keras as kk  # noqa: E402
import kaiming.torch as kt  # noqa: E402
from kaiming._health import health_of  # noqa: E402
from kaiming.stream import key  # noqa: E402

BACKEND = keras.backend.backend()
core = pytest.mark.core_backend  # the tests rerun under the other backend


def kaiming_layout(torch_weight: np.ndarray) -> np.ndarray:
    """torch's (out, in, *kernel) weight in Keras' (*kernel, in, out) layout."""
    return torch_weight.transpose(*range(2, torch_weight.ndim), 1, 0)


def _np(x: object) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(x))


VS = {"scale": 3.0, "mode": "fan_avg", "distribution": "uniform"}
# (keras class, kwargs, NumPy function, its kwargs)
CASES = [
    (kk.HeNormal, {}, kaiming.he_normal, {}),
    (kk.HeUniform, {"a": 0.1, "mode": "fan_out"}, kaiming.he_uniform, {"a": 0.1, "mode": "fan_out"}),
    (kk.HeTruncatedNormal, {"nonlinearity": "selu"}, kaiming.he_truncated_normal, {"nonlinearity": "selu"}),
    (kk.XavierNormal, {"gain": 2.0}, kaiming.xavier_normal, {"gain": 2.0}),
    (kk.GlorotUniform, {}, kaiming.xavier_uniform, {}),
    (kk.XavierTruncatedNormal, {}, kaiming.xavier_truncated_normal, {}),
    (kk.LecunNormal, {}, kaiming.lecun_normal, {}),
    (kk.LecunUniform, {}, kaiming.lecun_uniform, {}),
    (kk.LecunTruncatedNormal, {}, kaiming.lecun_truncated_normal, {}),
    (kk.VarianceScaling, VS, kaiming.variance_scaling, VS),
    (kk.Orthogonal, {"gain": 1.5}, kaiming.orthogonal, {"gain": 1.5}),
    (kk.Normal, {"mean": 0.5, "std": 0.2}, kaiming.normal, {"mean": 0.5, "std": 0.2}),
    (kk.Uniform, {"low": -0.3, "high": 0.1}, kaiming.uniform, {"low": -0.3, "high": 0.1}),
]  # fmt: skip
# Under the torch backend (test_torch_backend) a few classes are enough: the backend only converts.
CORE = (kk.HeNormal, kk.VarianceScaling, kk.Orthogonal, kk.Uniform)
PARAMS = [pytest.param(*c, id=c[0].__name__, marks=[core] if c[0] in CORE else []) for c in CASES]


@pytest.mark.parametrize(("cls", "kwargs", "fn", "fn_kwargs"), PARAMS)
def test_initializer_equals_numpy_family(cls, kwargs, fn, fn_kwargs) -> None:  # type: ignore[no-untyped-def]
    shape = (3, 3, 8, 12)
    k = key(7, "conv.weight")
    expected = fn(shape, **fn_kwargs, key=k, dtype=np.float32)
    np.testing.assert_array_equal(_np(cls(**kwargs, key=k)(shape, "float32")), expected)
    np.testing.assert_array_equal(_np(cls(**kwargs, seed=7, name="conv.weight")(shape)), expected)
    seeded = fn(shape, **fn_kwargs, seed=3, dtype=np.float32)
    np.testing.assert_array_equal(_np(cls(**kwargs, seed=3)(shape, "float32")), seeded)
    # order="torch": the stream laid out over (out, in, *k), moved to (*k, in, out)
    torch_layout = {} if fn in (kaiming.normal, kaiming.uniform) else {"layout": "torch"}
    twin = fn((12, 8, 3, 3), **fn_kwargs, **torch_layout, key=k, dtype=np.float32)
    np.testing.assert_array_equal(_np(cls(**kwargs, key=k, order="torch")(shape)), twin.transpose(2, 3, 1, 0))
    # float64 (where the backend has it: JAX needs jax_enable_x64) and bfloat16 variables
    wide = cls(**kwargs, key=k)(shape, "float64")
    if keras.backend.standardize_dtype(wide.dtype) == "float64":
        np.testing.assert_array_equal(_np(wide), fn(shape, **fn_kwargs, key=k))
    bf16 = cls(**kwargs, key=k)(shape, "bfloat16")
    assert keras.backend.standardize_dtype(bf16.dtype) == "bfloat16"


@pytest.mark.parametrize(("cls", "kwargs", "fn", "fn_kwargs"), PARAMS)
def test_config_round_trip(cls, kwargs, fn, fn_kwargs) -> None:  # type: ignore[no-untyped-def]
    init = cls(**kwargs, key=key(1, "w"), order="torch")
    again = keras.initializers.deserialize(keras.initializers.serialize(init))
    assert type(again) is cls and again.get_config() == init.get_config()
    np.testing.assert_array_equal(_np(again((5, 4))), _np(init((5, 4))))
    clone = cls.from_config(cls(**kwargs, seed=2, name="b").get_config())
    np.testing.assert_array_equal(_np(clone((5, 4))), _np(cls(**kwargs, seed=2, name="b")((5, 4))))


def test_non_random_initializers() -> None:
    np.testing.assert_array_equal(_np(kk.Identity(3.0)((2, 4), "float64")), kaiming.identity((2, 4), 3.0))
    np.testing.assert_array_equal(_np(kk.Constant(0.25)((3,))), np.full(3, 0.25, np.float32))
    assert kk.Constant.from_config(kk.Constant(0.25).get_config()).get_config() == {"value": 0.25}


def test_seed_semantics() -> None:
    # seed: the same values on every call (Keras 3's rule); no seed: fresh values per call.
    init = kk.HeNormal(seed=5)
    np.testing.assert_array_equal(_np(init((4, 4))), _np(init((4, 4))))
    fresh = kk.HeNormal()
    assert not np.array_equal(_np(fresh((64, 64))), _np(fresh((64, 64))))


def test_kaiming_names_keep_their_meaning_against_keras() -> None:
    # Keras' HeNormal is truncated (|w| <= 2 s), kaiming's is not; HeTruncatedNormal matches Keras'.
    # n = 65,536 values: P(no |z| > 2.5 sigma) for the untruncated normal is (1 - 0.0124)^65536 ~ 0.
    # The std bands: s.e. <= 0.4% of the std, the 3% band is > 7 s.e. (false failure < 1e-12).
    shape = (256, 256)
    std = (2 / 256) ** 0.5
    keras_he = _np(keras.initializers.HeNormal(seed=0)(shape))
    ours_trunc = _np(kk.HeTruncatedNormal(seed=0)(shape))
    ours_plain = _np(kk.HeNormal(seed=0)(shape))
    assert np.abs(keras_he).max() <= 2 * std / kaiming.TRUNCATED_NORMAL_STD * (1 + 1e-6)
    assert np.abs(ours_trunc).max() <= 2 * std / kaiming.TRUNCATED_NORMAL_STD * (1 + 1e-6)
    assert np.abs(ours_plain).max() > 2.5 * std
    for w in (keras_he, ours_trunc, ours_plain):
        assert w.std() == pytest.approx(std, rel=0.03)
    keras_glorot = _np(keras.initializers.GlorotUniform(seed=0)(shape))
    ours_glorot = _np(kk.XavierUniform(seed=0)(shape))
    bound = (6 / 512) ** 0.5  # the max of 65,536 uniforms is within 0.1% of the bound: P(fail) < e^-65
    assert np.abs(keras_glorot).max() == pytest.approx(bound, rel=1e-3)
    assert np.abs(ours_glorot).max() == pytest.approx(bound, rel=1e-3)


def test_initializer_errors_name_the_argument() -> None:
    with pytest.raises(ValueError, match=r"Invalid mode 'fan_sideways'"):
        kk.HeNormal(mode="fan_sideways")
    with pytest.raises(ValueError, match=r"Invalid order 'keras'"):
        kk.HeNormal(order="keras")
    with pytest.raises(ValueError, match=r"name='w' selects a stream under a seed: pass seed="):
        kk.LecunNormal(name="w")
    with pytest.raises(ValueError, match=r"either key=.* or seed/name"):
        kk.LecunNormal(seed=1, key=key(0, "w"))
    with pytest.raises(TypeError, match=r"seed must be an int >= 0 or None, got 1.5"):
        kk.HeUniform(seed=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"seed must be an int >= 0 or None, got -1"):
        kk.HeUniform(seed=-1)
    assert kk.HeUniform(seed=np.int64(3)).get_config()["seed"] == 3
    with pytest.raises(ValueError, match=r"low must be below high"):
        kk.Uniform(1.0, 0.0)


def _mlp(kind: str) -> keras.Model:
    """fc1 (own relu) -> fc2 -> Dropout -> ReLU layer -> fc3 (tanh via Activation) -> out."""
    if kind == "sequential":
        return keras.Sequential(
            [
                keras.Input((12,)),
                keras.layers.Dense(16, activation="relu", name="fc1"),
                keras.layers.Dense(16, name="fc2"),
                keras.layers.Dropout(0.2),
                keras.layers.ReLU(),
                keras.layers.Dense(8, name="fc3"),
                keras.layers.Activation("tanh"),
                keras.layers.Dense(4, name="out"),
            ]
        )
    inp = keras.Input((12,))
    x = keras.layers.Dense(16, activation="relu", name="fc1")(inp)
    x = keras.layers.Dense(16, name="fc2")(x)
    x = keras.layers.ReLU()(keras.layers.Dropout(0.2)(x))
    x = keras.layers.Activation("tanh")(keras.layers.Dense(8, name="fc3")(x))
    return keras.Model(inp, keras.layers.Dense(4, name="out")(x))


def _torch_twin() -> torch.nn.Module:
    return torch.nn.Sequential(
        OrderedDict(
            fc1=torch.nn.Linear(12, 16), r1=torch.nn.ReLU(), fc2=torch.nn.Linear(16, 16),
            d=torch.nn.Dropout(0.2), r2=torch.nn.ReLU(), fc3=torch.nn.Linear(16, 8), t=torch.nn.Tanh(),
            out=torch.nn.Linear(8, 4),
        )
    )  # fmt: skip


@core
@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_init_model_equals_the_torch_twin(kind: str) -> None:
    model = _mlp(kind)
    plan = kk.init_model(model, seed=11)
    twin = _torch_twin()
    torch_plan = kt.init_model(twin, seed=11, stream="counter")
    assert [r.rule for r in plan] == [r.rule for r in torch_plan]
    assert [r.activation for r in plan] == ["relu", None, "relu", None, "tanh", None, None, None]
    assert plan["fc3.weight"].rule == "xavier_uniform" and plan["out.weight"].rule == "lecun_normal"
    state = {k: v.detach().numpy() for k, v in twin.state_dict().items()}
    for name in ("fc1", "fc2", "fc3", "out"):
        layer = model.get_layer(name)
        np.testing.assert_array_equal(_np(layer.kernel), state[f"{name}.weight"].T)
        np.testing.assert_array_equal(_np(layer.bias), state[f"{name}.bias"])
    text = str(plan)
    assert "graph=keras layers" in text and "fc3.weight" in text and "xavier_uniform" in text


def test_init_model_schemes_dry_run_and_errors() -> None:
    model = _mlp("functional")
    before = _np(model.get_layer("fc1").kernel)
    plan = kk.init_model(model, "orthogonal", seed=0, dry_run=True)
    np.testing.assert_array_equal(_np(model.get_layer("fc1").kernel), before)
    assert plan.dry_run and plan["fc1.weight"].distribution == "orthogonal"
    kk.init_model(model, "orthogonal", seed=0)
    w = _np(model.get_layer("fc2").kernel) / plan["fc2.weight"].gain
    np.testing.assert_allclose(w.T @ w, np.eye(16), atol=1e-5)
    plan = kk.init_model(model, "glorot_normal", seed=0)
    assert plan["fc1.weight"].std == pytest.approx((2 / 28) ** 0.5)
    model.get_layer("fc1").trainable = False  # frozen layers are initialized too
    frozen = kk.init_model(model, seed=1)
    expected = kaiming.he_normal((16, 12), layout="torch", key=key(1, "fc1.weight"), dtype=np.float32).T
    assert frozen["fc1.weight"].rule == "he_normal"
    np.testing.assert_array_equal(_np(model.get_layer("fc1").kernel), expected)
    with pytest.raises(ValueError, match=r"Invalid scheme 'fancy'"):
        kk.init_model(model, "fancy")
    with pytest.raises(TypeError, match=r"model must be a keras.Model"):
        kk.init_model(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match=r"is not built"):
        kk.init_model(keras.Sequential([keras.layers.Dense(2)]))


def test_init_model_conv_norm_embedding() -> None:
    inp = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(6, 3, name="conv")(inp)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.LeakyReLU(negative_slope=0.1)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inp, keras.layers.Dense(2, name="head")(x))
    plan = kk.init_model(model, seed=3)
    conv = plan["conv.weight"]
    assert conv.rule == "he_normal" and conv.activation == "leaky_relu(0.1)"
    assert conv.std == pytest.approx(kaiming.calculate_gain("leaky_relu", 0.1) / 27**0.5)
    assert plan["bn.weight"].rule == "ones" and plan["bn.bias"].rule == "zeros"
    twin = torch.nn.Sequential(
        OrderedDict(
            conv=torch.nn.Conv2d(3, 6, 3), bn=torch.nn.BatchNorm2d(6), act=torch.nn.LeakyReLU(0.1),
            pool=torch.nn.AdaptiveAvgPool2d(1), flat=torch.nn.Flatten(), head=torch.nn.Linear(6, 2),
        )
    )  # fmt: skip
    torch_plan = kt.init_model(twin, seed=3, stream="counter")
    assert [(r.name, r.rule) for r in torch_plan] == [(r.name, r.rule) for r in plan]
    for name, layer in (("conv", "conv"), ("head", "head")):
        weight = twin.get_submodule(name).weight.detach().numpy()
        np.testing.assert_array_equal(_np(model.get_layer(layer).kernel), kaiming_layout(weight))
    np.testing.assert_array_equal(_np(model.get_layer("bn").gamma), twin.bn.weight.detach().numpy())
    emb = keras.Sequential([keras.Input((5,), dtype="int32"), keras.layers.Embedding(50, 8, name="emb")])
    assert kk.init_model(emb, seed=0)["emb.weight"].rule == "embedding_normal"


def _conv_zoo(dims: int) -> tuple[keras.Model, torch.nn.Module]:
    """A Keras model with every convolution kind and its PyTorch twin (same names, same maths):
    conv -> depthwise (x2) -> separable -> transposed (stride 2) -> dense head."""
    nn, layers = torch.nn, keras.layers
    conv, tconv, pool = (getattr(nn, f"{n}{dims}d") for n in ("Conv", "ConvTranspose", "AdaptiveAvgPool"))
    names = ("Conv{}D", "DepthwiseConv{}D", "SeparableConv{}D", "Conv{}DTranspose", "GlobalAveragePooling{}D")
    cls = [getattr(layers, n.format(dims)) for n in names]
    model = keras.Sequential(
        [
            keras.Input((9,) * dims + (3,)),
            cls[0](4, 3, activation="relu", name="c1"),
            cls[1](3, depth_multiplier=2, name="dw"),
            layers.LeakyReLU(negative_slope=0.1),
            cls[2](5, 3, depth_multiplier=2, activation="tanh", name="sep"),
            cls[3](6, 3, strides=2, activation="relu", name="up"),
            cls[4](),
            layers.Dense(2, name="head"),
        ]
    )
    separable = OrderedDict(
        depthwise=conv(8, 16, 3, groups=8, bias=False), pointwise=conv(16, 5, 1)
    )  # fmt: skip
    twin = nn.Sequential(
        OrderedDict(
            c1=conv(3, 4, 3), r1=nn.ReLU(), dw=conv(4, 8, 3, groups=4), r2=nn.LeakyReLU(0.1),
            sep=nn.Sequential(separable), t=nn.Tanh(), up=tconv(5, 6, 3, stride=2), r3=nn.ReLU(),
            pool=pool(1), flat=nn.Flatten(), head=nn.Linear(6, 2),
        )
    )  # fmt: skip
    return model, twin


@pytest.mark.parametrize("scheme", ["auto", "xavier_uniform", "orthogonal"])
@pytest.mark.parametrize("dims", [1, 2])
def test_transposed_depthwise_and_separable_convs_equal_their_torch_twins(dims: int, scheme: str) -> None:
    """Every kernel is written (none left at Keras' default), with kaiming.torch's rule for the
    twin; and the two models then compute the same function (the layouts map weight to weight)."""
    model, twin = _conv_zoo(dims)
    plan = kk.init_model(model, scheme, seed=7)
    torch_plan = kt.init_model(twin, scheme, seed=7, stream="counter")
    assert "untouched" not in [r.rule for r in plan]
    rows = [(r.name, r.rule, r.fan, r.std, r.gain) for r in plan]
    assert rows == [(r.name, r.rule, r.fan, r.std, r.gain) for r in torch_plan]
    if scheme == "auto":
        rules = {r.name: (r.rule, r.activation) for r in plan}
        assert rules["dw.weight"] == ("he_normal", "leaky_relu(0.1)")
        assert rules["sep.depthwise.weight"] == ("lecun_normal", None)  # the pointwise conv comes next
        assert rules["sep.pointwise.weight"] == ("xavier_uniform", "tanh")
        assert rules["up.weight"] == ("he_normal", "relu")
        assert plan["up.weight"].fan == 5 * 3**dims / 2**dims  # in * prod(k) / prod(stride)
    x = np.random.default_rng(0).standard_normal((4,) + (9,) * dims + (3,)).astype(np.float32)
    with torch.no_grad():
        expected = twin(torch.from_numpy(np.moveaxis(x, -1, 1).copy())).numpy()
    np.testing.assert_allclose(_np(model(x)), expected, rtol=1e-4, atol=1e-5)


def test_mobilenet_v2_every_kernel_is_initialized_and_healthy() -> None:
    """A real model built of depthwise-separable blocks (keras.applications, no weights
    downloaded): every parameter gets a rule, each depthwise kernel He normal over its 3 x 3
    fan after the ReLU6 that follows it, and the network's signal stays healthy."""
    model = keras.applications.MobileNetV2(weights=None, input_shape=(64, 64, 3), alpha=0.35)
    plan = kk.init_model(model, seed=0)
    assert not [r.name for r in plan if r.rule == "untouched"]
    depthwise = [r for r in plan if r.module == "DepthwiseConv2D"]
    assert len(depthwise) == 17
    for row in depthwise:
        assert (row.rule, row.fan, row.activation) == ("he_normal", 9, "relu")
        kernel = _np(model.get_layer(row.name.removesuffix(".weight")).kernel)
        channels = kernel.shape[2]
        expected = kaiming.he_normal(
            (channels, 1, 3, 3), layout="torch", key=key(0, row.name), dtype=np.float32
        )
        np.testing.assert_array_equal(kernel, np.moveaxis(expected[:, 0], 0, -1)[..., None])
    x = np.random.default_rng(0).standard_normal((4, 64, 64, 3)).astype(np.float32)
    report = kk.analyze(model, x)
    assert {row.health for row in report} == {"healthy"}


@core
def test_saved_model_reloads_with_kaiming_initializers(tmp_path: Path) -> None:
    he = kk.HeNormal(seed=0, name="fc1.weight")
    vs = kk.VarianceScaling(1.0, "fan_avg", "truncated_normal", key=key(1, "fc2.weight"), order="torch")
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(5, activation="relu", kernel_initializer=he, name="fc1"),
            keras.layers.Dense(3, kernel_initializer=vs, name="fc2"),
        ]
    )
    path = tmp_path / "mlp.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    for name in ("fc1", "fc2"):
        np.testing.assert_array_equal(_np(loaded.get_layer(name).kernel), _np(model.get_layer(name).kernel))
        original, reloaded = (
            model.get_layer(name).kernel_initializer,
            loaded.get_layer(name).kernel_initializer,
        )
        assert type(reloaded) is type(original) and reloaded.get_config() == original.get_config()
    expected = kaiming.he_normal((6, 5), key=key(0, "fc1.weight"), dtype=np.float32)
    np.testing.assert_array_equal(_np(loaded.get_layer("fc1").kernel), expected)


@core
def test_analyze_verdicts() -> None:
    x = np.random.default_rng(0).standard_normal((256, 64)).astype("float32")

    def deep(init: keras.initializers.Initializer, depth: int = 6) -> keras.Model:
        layers = [keras.layers.Dense(64, activation="relu", kernel_initializer=init, name=f"fc{i}")
                  for i in range(depth)]  # fmt: skip
        return keras.Sequential([keras.Input((64,)), *layers, keras.layers.Dense(3, name="out")])

    healthy = kk.analyze(deep(kk.HeNormal(seed=0)), x)
    assert healthy.summary() == "all 7 layers healthy"
    row = healthy["fc0"]
    model = deep(kk.HeNormal(seed=0))
    pre = x @ _np(model.get_layer("fc0").kernel)  # bias 0
    assert row.pre_std == pytest.approx(pre.std(), rel=1e-4)
    assert row.post_std == pytest.approx(np.maximum(pre, 0).std(), rel=1e-4)
    assert row.health == health_of(row.pre_std / healthy.input_std, row.post_std / healthy.input_std,
                                   row.dead_units_fraction)  # fmt: skip
    vanishing = kk.analyze(deep(kk.Normal(0.0, 1e-3, seed=0)), x)
    assert vanishing["fc5"].health == "vanishing"
    exploding = kk.analyze(deep(kk.Normal(0.0, 2.0, seed=0)), x)
    assert exploding["fc5"].health == "exploding"
    # 45 of 64 units get only negative weights: on non-negative inputs they are 0 for the whole batch
    dying_model = deep(kk.HeNormal(seed=0), depth=1)
    signs = np.where(np.arange(64) < 45, -1.0, 1.0).astype("float32")
    dying_model.get_layer("fc0").kernel.assign(np.abs(_np(dying_model.get_layer("fc0").kernel)) * signs)
    dying = kk.analyze(dying_model, np.abs(x))
    assert dying["fc0"].health == "dying" and dying["fc0"].dead_units_fraction == 45 / 64
    assert "dying" in str(dying) and dying.to_dict()["layers"][0]["name"] == "fc0"


def test_torch_backend() -> None:
    """The ``core`` tests again, with Keras on the torch backend (a fresh process)."""
    if BACKEND != "jax":
        pytest.skip("this process already runs the other backend")
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    cmd = [sys.executable, "-m", "pytest", __file__, "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
           "-m", "core_backend", "-W", "ignore::DeprecationWarning"]  # fmt: skip
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout
