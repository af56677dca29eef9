"""Every path that draws a distribution, checked against the formula — never against another path.

The same rule (a target std -> the sampler's scale) is used by the NumPy seeded path, the keyed
counter stream, ``kaiming.torch``'s tensors and ``init_model`` (torch generators and the counter
stream on a meta model). Each is checked here against numbers computed from the formula alone:

- std: ``sqrt(scale / fan)`` with He scale 2 over fan_in, Xavier 2 over fan_in + fan_out, LeCun 1
  over fan_in;
- uniform: every value in ``[-sqrt(3) std, sqrt(3) std]`` and the largest close to that bound;
- truncated normal: every value in ``±2 s`` with ``s = std / c`` where ``c`` is the std of a unit
  normal truncated to [-2, 2] (from SciPy, computed live), the largest close to ``2 s``;
- normal: 4.55% of the values beyond 2 std (a truncated normal has none, a uniform 0).

Sample size 200,000 per case. Relative standard error of the sample std: about 1.6e-3 (normal),
1.0e-3 (uniform), 1.3e-3 (truncated); the 2% tolerance is >= 12 standard errors (a chance
failure < 1e-30), while a 5% scale error fails. The tail fraction has s.e. 4.7e-4; its 0.5-point
band is 10 s.e. The extreme value of 200,000 draws lies within 0.1% (uniform) or 1% (truncated)
of the bound except with probability < e^-200.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import scipy.stats
import torch
from torch import nn

import kaiming
import kaiming.torch as kt
from _references import TRUNC_STD
from kaiming import stream

FAN_IN, FAN_OUT = 500, 400
SCALES = {"he": 2.0 / FAN_IN, "xavier": 2.0 / (FAN_IN + FAN_OUT), "lecun": 1.0 / FAN_IN}
DISTRIBUTIONS = ("normal", "uniform", "truncated_normal")


def expected_std(family: str) -> float:
    return math.sqrt(SCALES[family])


def check_distribution(values: np.ndarray, distribution: str, std: float) -> None:
    """Assert that ``values`` are a zero-mean ``distribution`` with standard deviation ``std``."""
    v = np.asarray(values, dtype=np.float64).ravel()
    n = v.size
    assert n >= 200_000
    assert np.isfinite(v).all()
    assert abs(v.mean()) < 5.0 * std / math.sqrt(n)
    assert v.std() == pytest.approx(std, rel=0.02)
    peak = float(np.abs(v).max())
    beyond_two_std = float(np.mean(np.abs(v) > 2.0 * std))
    if distribution == "uniform":
        bound = math.sqrt(3.0) * std
        assert peak <= bound * (1 + 1e-6)
        assert peak >= 0.999 * bound
        assert beyond_two_std == 0.0
    elif distribution == "truncated_normal":
        bound = 2.0 * std / TRUNC_STD
        assert peak <= bound * (1 + 1e-6)
        assert peak >= 0.99 * bound
    else:
        assert beyond_two_std == pytest.approx(2 * scipy.stats.norm.sf(2.0), abs=0.005)


CASES = [(f, d) for f in SCALES for d in DISTRIBUTIONS]
IDS = [f"{f}_{d}" for f, d in CASES]


def numpy_named(family: str, distribution: str) -> Callable[..., np.ndarray]:
    fn: Callable[..., np.ndarray] = getattr(kaiming, f"{family}_{distribution}")
    return fn


def torch_named(family: str, distribution: str) -> Callable[..., torch.Tensor]:
    fn: Callable[..., torch.Tensor] = getattr(kt, f"{family}_{distribution}_")
    return fn


@pytest.mark.parametrize(("family", "distribution"), CASES, ids=IDS)
def test_numpy_seeded_path_matches_the_formula(family: str, distribution: str) -> None:
    w = numpy_named(family, distribution)((FAN_IN, FAN_OUT), seed=0)
    check_distribution(w, distribution, expected_std(family))


@pytest.mark.parametrize(("family", "distribution"), CASES, ids=IDS)
def test_numpy_keyed_path_matches_the_formula(family: str, distribution: str) -> None:
    w = numpy_named(family, distribution)((FAN_IN, FAN_OUT), key=stream.key(0, f"{family}/{distribution}"))
    check_distribution(w, distribution, expected_std(family))


@pytest.mark.parametrize(("family", "distribution"), CASES, ids=IDS)
def test_numpy_keyed_shard_matches_the_formula_of_the_full_shape(family: str, distribution: str) -> None:
    shape = (FAN_IN, 4 * FAN_OUT)  # a quarter of the columns: fans (and std) from the full shape
    scale_full = {"he": 2.0 / FAN_IN, "xavier": 2.0 / (FAN_IN + 4 * FAN_OUT), "lecun": 1.0 / FAN_IN}
    shard = numpy_named(family, distribution)(
        shape, key=stream.key(1, "shard"), index=(slice(None), slice(FAN_OUT, 2 * FAN_OUT))
    )
    check_distribution(shard, distribution, math.sqrt(scale_full[family]))


@pytest.mark.parametrize(("family", "distribution"), CASES, ids=IDS)
def test_torch_tensor_path_matches_the_formula(family: str, distribution: str) -> None:
    w = torch_named(family, distribution)(torch.empty(FAN_OUT, FAN_IN), seed=0)  # torch layout (out, in)
    check_distribution(w.numpy(), distribution, expected_std(family))


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
@pytest.mark.parametrize("std", [0.5, 3.0])
def test_variance_scaling_with_an_explicit_scale_matches_the_formula(distribution: str, std: float) -> None:
    scale = std**2 * FAN_IN
    w = kaiming.variance_scaling((FAN_IN, FAN_OUT), scale, "fan_in", distribution, seed=3)  # type: ignore[arg-type]
    check_distribution(w, distribution, std)
    t = kt.variance_scaling_(torch.empty(FAN_OUT, FAN_IN), scale, "fan_in", distribution, seed=3)  # type: ignore[arg-type]
    check_distribution(t.numpy(), distribution, std)


def _model(device: str) -> nn.Module:
    with torch.device(device):
        return nn.Sequential(nn.Linear(FAN_IN, FAN_OUT), nn.ReLU(), nn.Linear(FAN_OUT, FAN_OUT))


@pytest.mark.parametrize("stream_name", ["torch", "counter"])
@pytest.mark.parametrize(("family", "distribution"), CASES, ids=IDS)
def test_init_model_path_matches_the_formula(stream_name: str, family: str, distribution: str) -> None:
    """init_model with an explicit scheme on both streams (the counter stream materializes a meta
    model). The first layer is followed by ReLU: He's gain is sqrt(2), Xavier's and LeCun's 1."""
    model = _model("meta" if stream_name == "counter" else "cpu")
    kt.init_model(model, {"0": f"{family}_{distribution}"}, seed=0, stream=stream_name)
    check_distribution(model[0].weight.detach().numpy(), distribution, expected_std(family))
    assert not model[0].bias.detach().any()


@pytest.mark.parametrize("stream_name", ["torch", "counter"])
def test_torch_default_scheme_weight_and_bias_bounds_are_one_over_sqrt_fan_in(stream_name: str) -> None:
    """What nn.Linear.reset_parameters draws: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for both. The
    bias has only 400 values per layer, so several wide layers are pooled: with 40,000 values
    the largest is within 0.1% of the bound except with probability e^-40."""
    device = "meta" if stream_name == "counter" else "cpu"
    with torch.device(device):
        model = nn.Sequential(*[nn.Linear(FAN_IN, 4000) for _ in range(10)])
    kt.init_model(model, "torch_default", seed=0, stream=stream_name)
    bound = 1.0 / math.sqrt(FAN_IN)
    weights = model[0].weight.detach().numpy()
    check_distribution(weights, "uniform", bound / math.sqrt(3.0))
    biases = np.concatenate([layer.bias.detach().numpy() for layer in model])
    assert float(np.abs(biases).max()) <= bound * (1 + 1e-6)
    assert float(np.abs(biases).max()) >= 0.999 * bound
    assert biases.std() == pytest.approx(bound / math.sqrt(3.0), rel=0.03)  # 40k values: s.e. 0.2%


@pytest.mark.parametrize(
    ("sampler", "kwargs", "distribution", "std"),
    [
        (stream.normal, {"std": 0.7}, "normal", 0.7),
        (stream.uniform, {"limit": 0.7}, "uniform", 0.7 / math.sqrt(3.0)),
        (stream.truncated_normal, {"std": 0.7}, "truncated_normal", 0.7 * TRUNC_STD),
    ],
)
def test_stream_samplers_match_their_documented_parameters(
    sampler: Callable[..., np.ndarray], kwargs: dict[str, float], distribution: str, std: float
) -> None:
    for dtype in (np.float32, np.float64):
        values = sampler((400, 500), stream.key(5, "s"), dtype=dtype, **kwargs)
        assert values.dtype == dtype
        check_distribution(values, distribution, std)


@pytest.mark.parametrize("fan_in", [10, 25, 33, 34, 39, 40, 42])
@pytest.mark.parametrize(("scheme", "family"), [("he_normal", "he"), ("xavier_normal", "xavier")])
def test_init_model_float64_std_is_the_numpy_familys_float(fan_in: int, scheme: str, family: str) -> None:
    """One expression for the std on every path: for these fans ``gain / sqrt(fan)`` and
    ``sqrt(gain**2 / fan)`` differ in the last bit, so float64 weights from ``init_model`` equal
    the NumPy family's only if both use the same one (``kaiming._sampling.variance_std``)."""
    with torch.device("meta"):
        model = nn.Sequential(nn.Linear(fan_in, 3, dtype=torch.float64))
    kt.init_model(model, {"0": scheme}, seed=0, stream="counter")
    key = stream.key(0, "0.weight")
    expected = numpy_named(family, "normal")((3, fan_in), layout="torch", key=key, dtype=np.float64)
    assert model[0].weight.detach().numpy().tobytes() == expected.tobytes()
