"""One seed, one set of parameter names, the same 3-layer MLP in NumPy, PyTorch, Keras (JAX and
torch backends) and Flax: every weight bit-identical (float32).

The MLP is 12 -> 16 -> ReLU -> 16 -> ReLU -> 4 with layers fc1, fc2, fc3: He normal after the
ReLUs, LeCun normal for the output layer, zero biases (``init_model``'s "auto" rules). Every
framework's kernel is compared in torch's ``(out, in)`` layout.
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
jax = pytest.importorskip("jax")
nn = pytest.importorskip("flax.linen")

import kaiming  # noqa: E402
import kaiming.jax as kj  # noqa: E402
import kaiming.keras as kk  # noqa: E402
import kaiming.torch as kt  # noqa: E402

SEED = 2026
SIZES = {"fc1": (12, 16), "fc2": (16, 16), "fc3": (16, 4)}  # (in, out)
Weights = dict[str, np.ndarray]


def numpy_mlp() -> Weights:
    out: Weights = {}
    for name, (n_in, n_out) in SIZES.items():
        init = kaiming.lecun_normal if name == "fc3" else kaiming.he_normal
        key = kaiming.stream.key(SEED, f"{name}.weight")
        out[f"{name}.weight"] = init((n_out, n_in), layout="torch", key=key, dtype=np.float32)
        out[f"{name}.bias"] = np.zeros(n_out, np.float32)
    return out


def torch_mlp() -> Weights:
    model = torch.nn.Sequential(
        OrderedDict(
            fc1=torch.nn.Linear(12, 16), relu1=torch.nn.ReLU(), fc2=torch.nn.Linear(16, 16),
            relu2=torch.nn.ReLU(), fc3=torch.nn.Linear(16, 4),
        )
    )  # fmt: skip
    kt.init_model(model, seed=SEED, stream="counter")
    return {k: v.detach().numpy() for k, v in model.state_dict().items()}


def keras_mlp(route: str) -> Weights:
    """``route="init_model"``: kaiming.keras.init_model; ``"initializers"``: kernel_initializer=."""

    def dense(units: int, name: str, relu: bool) -> keras.layers.Dense:
        if route == "init_model":
            return keras.layers.Dense(units, activation="relu" if relu else None, name=name)
        cls = kk.HeNormal if relu else kk.LecunNormal
        init = cls(seed=SEED, name=f"{name}.weight", order="torch")
        return keras.layers.Dense(
            units, activation="relu" if relu else None, kernel_initializer=init, name=name
        )

    model = keras.Sequential(
        [keras.Input((12,)), dense(16, "fc1", True), dense(16, "fc2", True), dense(4, "fc3", False)]
    )
    if route == "init_model":
        kk.init_model(model, seed=SEED)
    out: Weights = {}
    for name in SIZES:
        layer = model.get_layer(name)
        out[f"{name}.weight"] = np.asarray(keras.ops.convert_to_numpy(layer.kernel)).T
        out[f"{name}.bias"] = np.asarray(keras.ops.convert_to_numpy(layer.bias))
    return out


class FlaxMLP(nn.Module):
    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        def dense(units: int, name: str, init: object) -> nn.Dense:
            return nn.Dense(
                units, name=name, kernel_init=init(seed=SEED, name=f"{name}.weight", order="torch")
            )

        x = nn.relu(dense(16, "fc1", kj.initializers.he_normal)(x))
        x = nn.relu(dense(16, "fc2", kj.initializers.he_normal)(x))
        return dense(4, "fc3", kj.initializers.lecun_normal)(x)


def flax_mlp() -> Weights:
    params = FlaxMLP().init(jax.random.key(0), np.ones((1, 12), np.float32))["params"]
    out: Weights = {}
    for name in SIZES:
        out[f"{name}.weight"] = np.asarray(params[name]["kernel"]).T
        out[f"{name}.bias"] = np.asarray(params[name]["bias"])
    return out


def keras_torch_backend_mlp(tmp_path: Path) -> Weights:
    """keras_mlp in a fresh process whose Keras runs on the torch backend."""
    path = tmp_path / "keras_torch.npz"
    code = (
        "import sys, numpy as np; sys.path.insert(0, sys.argv[2]); import test_same_weights_everywhere as t; "
        "import keras; assert keras.backend.backend() == 'torch'; "
        "a = t.keras_mlp('init_model'); b = t.keras_mlp('initializers'); "
        "np.savez(sys.argv[1], **{'a:' + k: v for k, v in a.items()}, **{'b:' + k: v for k, v in b.items()})"
    )
    env = {**os.environ, "KERAS_BACKEND": "torch", "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [sys.executable, "-c", code, str(path), str(Path(__file__).parent)]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    data = np.load(path)
    return {k: data[k] for k in data.files}


def test_one_seed_the_same_mlp_in_every_framework(tmp_path: Path) -> None:
    assert keras.backend.backend() == "jax"
    reference = numpy_mlp()
    builds = {
        "pytorch": torch_mlp(),
        "keras[jax] init_model": keras_mlp("init_model"),
        "keras[jax] initializers": keras_mlp("initializers"),
        "flax": flax_mlp(),
    }
    other = keras_torch_backend_mlp(tmp_path)
    builds["keras[torch] init_model"] = {k[2:]: v for k, v in other.items() if k.startswith("a:")}
    builds["keras[torch] initializers"] = {k[2:]: v for k, v in other.items() if k.startswith("b:")}
    for framework, weights in builds.items():
        assert sorted(weights) == sorted(reference), framework
        for name, value in reference.items():
            assert weights[name].dtype == np.float32, (framework, name)
            assert np.array_equal(weights[name], value), f"{framework}: {name} differs from NumPy"
    assert np.abs(reference["fc1.weight"]).max() > 0  # not trivially equal
    assert reference["fc1.weight"].std() == pytest.approx((2 / 12) ** 0.5, rel=0.3)
