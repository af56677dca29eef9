"""Mean-field theory: closed forms, quadrature against scipy, the recursion, per-init variances."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from kaiming import gaussian_moments, mean_field
from kaiming._activations import get_activation
from kaiming.propagation.theory import _numeric_moments

SMOOTH_AND_KINKED = ["elu", "selu", "gelu", "silu", "swish", "tanh", "sigmoid", "softplus"]


def scipy_moments(name: str, q: float, param: float) -> tuple[float, float, float]:
    act = get_activation(name)
    s = math.sqrt(q)

    def expect(f: object) -> float:
        def integrand(t: float) -> float:
            z = np.array([s * t])
            return float(f(z)[0]) * math.exp(-t * t / 2) / math.sqrt(2 * math.pi)  # type: ignore[operator]

        return sum(integrate.quad(integrand, a, b, limit=200)[0] for a, b in ((-40, 0), (0, 40)))

    return (
        expect(lambda z: act(z, param)),
        expect(lambda z: act(z, param) ** 2),
        expect(lambda z: act.grad(z, param) ** 2),
    )


@pytest.mark.parametrize("name", SMOOTH_AND_KINKED)
@pytest.mark.parametrize("q", [0.01, 1.0, 7.5])
def test_quadrature_matches_scipy(name: str, q: float) -> None:
    param = get_activation(name).default_param
    m = gaussian_moments(name, q)
    want = scipy_moments(name, q, param)
    assert (m.mean, m.second, m.deriv_second) == pytest.approx(want, rel=1e-7, abs=1e-12)


@pytest.mark.parametrize(
    ("name", "slope"), [("relu", 0.0), ("leaky_relu", 0.01), ("prelu", 0.25), ("linear", None)]
)
@pytest.mark.parametrize("q", [0.3, 2.0])
def test_closed_forms_and_quadrature_agree(name: str, slope: float | None, q: float) -> None:
    closed = gaussian_moments(name, q)
    a = 0.0 if slope is None else slope
    if name == "linear":
        assert (closed.mean, closed.second, closed.deriv_second) == (0.0, q, 1.0)
    else:
        assert closed.second == pytest.approx((1 + a * a) * q / 2, rel=1e-15)
        assert closed.mean == pytest.approx((1 - a) * math.sqrt(q / (2 * math.pi)), rel=1e-15)
    numeric = _numeric_moments(name, q, get_activation(name).default_param)
    assert numeric.mean == pytest.approx(closed.mean, rel=1e-10, abs=1e-15)
    assert numeric.second == pytest.approx(closed.second, rel=1e-10)
    assert numeric.deriv_second == pytest.approx(closed.deriv_second, rel=1e-10)
    assert numeric.z2_deriv_second == pytest.approx(closed.z2_deriv_second, rel=1e-10)


def test_recursion_relu_he_xavier_random() -> None:
    # He: sigma_w^2 = 2, q_1 = 2 and q_{l+1} = 2 * q_l / 2: constant; post std sqrt(q/2 - q/2pi).
    he = mean_field("he", "relu", 5, 64)
    assert all(layer.pre_std == pytest.approx(math.sqrt(2), rel=1e-12) for layer in he)
    assert he[-1].post_std == pytest.approx(math.sqrt(1 - 1 / math.pi), rel=1e-12)
    assert he[0].grad_std == pytest.approx(math.sqrt(0.5), rel=1e-12)  # chi = 2 * 1/2 = 1
    # Xavier (fan_avg = fan_in for square layers): sigma_w^2 = 1, q halves per layer.
    xavier = mean_field("xavier", "relu", 5, 64)
    assert [layer.pre_std**2 for layer in xavier] == pytest.approx([1, 0.5, 0.25, 0.125, 0.0625], rel=1e-12)
    # random std 0.01 at width 512: sigma_w^2 = 0.0512, q multiplies by 0.0256 per layer.
    rnd = mean_field("random", "relu", 3, 512)
    assert rnd[2].pre_std ** 2 == pytest.approx(0.0512 * 0.0256**2, rel=1e-12)
    # Weight gradient: E[h_{l-1}^2] Var[dL/dz_l] / batch.
    assert he[1].weight_grad_std == pytest.approx(math.sqrt(1.0 * 0.5 / 256), rel=1e-12)
    assert he[0].weight_grad_std == pytest.approx(math.sqrt(1.0 * 0.5 / 256), rel=1e-12)


def test_bias_and_varying_widths_and_modes() -> None:
    layers = mean_field("he", "linear", 3, [100, 50, 25], bias_std=0.5)
    # q_1 = 2 + 0.25; q_2 = (2/100) * 100 * q_1 + 0.25; q_3 = (2/50) * 50 * q_2 + 0.25
    q1 = 2.25
    q2 = 2 * q1 + 0.25
    assert [layer.pre_std**2 for layer in layers] == pytest.approx([q1, q2, 2 * q2 + 0.25], rel=1e-12)
    assert [(layer.fan_in, layer.fan_out) for layer in layers] == [(100, 100), (100, 50), (50, 25)]
    # Backward through a linear net: Var[dL/dh_{l-1}] = (2 / fan_in) * fan_out * Var[dL/dz_l].
    assert layers[1].grad_std ** 2 == pytest.approx(2 / 50 * 25, rel=1e-12)
    out = mean_field("he", "linear", 3, [100, 50, 25], mode="fan_out")
    # fan_out: each layer multiplies the gradient variance by (2 / fan_out) * fan_out = 2.
    assert out[1].weight_variance == pytest.approx(2 / 50) and out[1].grad_std ** 2 == pytest.approx(2.0)
    orth = mean_field("orthogonal", "linear", 2, [64, 32])
    # 64 -> 32 with orthonormal columns: entries have variance 1/64, each output unit variance 1,
    # and the gradient variance halves going back (W.T keeps 32 of 64 dimensions).
    assert orth[1].weight_variance == pytest.approx(1 / 64) and orth[1].pre_std == pytest.approx(1.0)
    assert orth[0].grad_std ** 2 == pytest.approx(0.5)


def test_batch_norm_and_selu_fixed_point() -> None:
    bn = mean_field("xavier", "tanh", 4, 128, batch_norm=True, bias_std=3.0)
    assert all(layer.pre_std == pytest.approx(1.0, abs=1e-4) for layer in bn)  # bias is removed by BN
    selu = mean_field("lecun", "selu", 20, 256)
    assert all(layer.post_std == pytest.approx(1.0, abs=1e-6) for layer in selu)
    assert all(abs(layer.post_mean) < 1e-6 for layer in selu)


@pytest.mark.parametrize("batch", [8, 16, 128, 1024])
def test_batch_norm_gradient_rate_closed_forms(batch: int) -> None:
    # Linear + BN: the batch-norm Jacobian keeps B - 2 of the B - 1 centered directions and
    # E[1 / s2] = (B - 1) / (B - 3) / E[s2]: rate (B - 2) / (B - 3) per layer (eps negligible).
    lin = mean_field("he", "linear", 6, 64, batch=batch, batch_norm=True, gain=1.0)
    assert (lin[2].grad_std / lin[3].grad_std) ** 2 == pytest.approx((batch - 2) / (batch - 3), rel=1e-4)
    # ReLU + BN, written out: D = E[phi'^2] = 1/2, Q = E[z^2 phi'^2] = 1/2, m = E[phi'] = 1/2,
    # a = E[z phi'] = 1/sqrt(2 pi), c = E[z^2 phi'] = 1/2, e = E[z phi] = 1/2.
    n = float(batch)
    a2 = 1 / (2 * math.pi)
    pairs = 0.25 - a2 / (n - 1) + a2 - 0.25 / (n - 1)
    kept = (n * 0.5 - 1 + 0.5 / n - 0.5 * (n - 1) / n + (n - 1) * pairs / n) / ((n - 1) * 0.5)
    batch_var = ((n - 1) * (0.5 - a2) + 0.25) / n
    rate = 0.5 * kept * (n - 1) / (n - 3) / batch_var
    relu = mean_field("he", "relu", 6, 64, batch=batch, batch_norm=True)
    assert (relu[2].grad_std / relu[3].grad_std) ** 2 == pytest.approx(rate, rel=1e-4)
    if batch == 1024:  # Yang et al.'s large-batch rate pi / (pi - 1)
        assert rate == pytest.approx(math.pi / (math.pi - 1), rel=3e-3)


def test_he_gain_follows_leaky_slope() -> None:
    layers = mean_field("he", "leaky_relu", 4, 64, activation_param=0.3)
    # sigma_w^2 = 2 / (1 + a^2) and E[phi^2] = (1 + a^2) q / 2: q stays at sigma_w^2.
    assert all(layer.pre_std**2 == pytest.approx(2 / 1.09, rel=1e-12) for layer in layers)


@pytest.mark.parametrize(
    ("args", "kwargs", "text"),
    [
        (("he", "relu", 0, 8), {}, "depth"),
        (("he", "nope", 3, 8), {}, "activation"),
        (("nope", "relu", 3, 8), {}, "init"),
        (("he", "relu", 3, [8, 8]), {}, "width"),
        (("he", "relu", 3, 8), {"bias_std": -1.0}, "bias_std"),
    ],
)
def test_bad_input(args: tuple[object, ...], kwargs: dict[str, object], text: str) -> None:
    with pytest.raises(ValueError, match=text):
        mean_field(*args, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="variance"):
        gaussian_moments("relu", -1.0)


@pytest.mark.parametrize(("name", "slope"), [("relu", 0.0), ("leaky_relu", 0.3), ("prelu", 0.2)])
@pytest.mark.parametrize("q", [0.37, 2.0, 5.5])
def test_piecewise_linear_moments_are_the_closed_forms_exactly(name: str, slope: float, q: float) -> None:
    """ReLU and leaky ReLU use the closed forms (not the quadrature, which is only within ~1e-16 of
    them): E[phi] = (1 - a) sqrt(q / 2 pi), E[phi^2] = (1 + a^2) q / 2, E[phi'^2] = (1 + a^2) / 2,
    E[z^2 phi'^2] = (1 + a^2) q / 2 — the slope a given as activation_param."""
    m = gaussian_moments(name, q, None if name == "relu" else slope)
    half = (1.0 + slope * slope) / 2.0
    assert (m.mean, m.second, m.deriv_second, m.z2_deriv_second) == (
        (1.0 - slope) * math.sqrt(q / (2.0 * math.pi)),
        half * q,
        half,
        half * q,
    )


@pytest.mark.parametrize("alpha", [0.5, 2.0])
def test_numeric_moments_use_the_activation_param(alpha: float) -> None:
    """ELU with alpha != 1, against scipy quadrature of the formula written out here."""

    def expect(f: object, q: float) -> float:
        s = math.sqrt(q)

        def integrand(t: float) -> float:
            return f(s * t) * math.exp(-t * t / 2) / math.sqrt(2 * math.pi)  # type: ignore[operator,no-any-return]

        return sum(integrate.quad(integrand, a, b, limit=200)[0] for a, b in ((-40, 0), (0, 40)))

    def elu(z: float) -> float:
        return z if z > 0 else alpha * math.expm1(z)

    def elu_d(z: float) -> float:
        return 1.0 if z > 0 else alpha * math.exp(z)

    q = 1.7
    m = gaussian_moments("elu", q, alpha)
    want = (
        expect(elu, q),
        expect(lambda z: elu(z) ** 2, q),
        expect(lambda z: elu_d(z) ** 2, q),
        expect(lambda z: z * z * elu_d(z) ** 2, q),
    )
    assert (m.mean, m.second, m.deriv_second, m.z2_deriv_second) == pytest.approx(want, rel=1e-7)


def test_zero_variance_moments() -> None:
    """z = 0 surely: E[z^2 phi'^2] = 0, E[phi'^2] = phi'(0)^2 (tanh'(0) = 1)."""
    m = gaussian_moments("tanh", 0.0)
    assert (m.mean, m.second, m.z2_deriv_second) == (0.0, 0.0, 0.0)
    assert m.deriv_second == pytest.approx(1.0, rel=1e-12)


def test_moments_that_overflow_are_refused_naming_the_arguments() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning escapes either
        with pytest.raises(
            ValueError,
            match=r"^variance=1e\+308 with activation_param=1 makes the moments of 'elu' overflow "
            r"float64; use a smaller variance or activation_param$",
        ):
            gaussian_moments("elu", 1e308)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"depth": 0}, r"^depth must be a positive integer, got 0"),
        ({"depth": 2, "width": [8, 0]}, r"^width\[1\] must be a positive integer, got 0"),
        ({"width": 0}, r"^width must be a positive integer, got 0"),
        ({"batch": 0}, r"^batch must be a positive integer, got 0"),
        ({"bias_std": -1.0}, r"^bias_std must be a finite number >= 0, got -1"),
        ({"batch_norm": "yes"}, r"^batch_norm must be a bool, got 'yes'"),
        ({"gain": 1e200}, r"gain"),
        ({"init": "random", "std": 1e200}, r"std"),
        ({"bias_std": 1e200}, r"bias_std"),
    ],
)
def test_mean_field_errors_name_the_argument(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        mean_field(**{"depth": 3, "width": 8, **kwargs})  # type: ignore[arg-type]
    if "variance" not in kwargs:
        with pytest.raises(ValueError, match=r"^variance must be a finite number >= 0, got -1"):
            gaussian_moments("relu", -1.0)


def test_mean_field_defaults_are_he_normal_relu_50_layers_of_512() -> None:
    layers = mean_field()
    assert len(layers) == 50 and all(layer.fan_out == 512 for layer in layers)
    assert layers[0].fan_in == 512 and [layer.layer for layer in layers] == list(range(1, 51))
    # He normal for ReLU
    assert all(layer.weight_variance == pytest.approx(2 / 512, rel=1e-15) for layer in layers)


def test_gain_and_std_reach_the_network() -> None:
    # sigma_w^2 = gain^2 (linear): q_1 = gain^2 * E[x^2] = gain^2
    assert mean_field("he", "linear", 2, 16, gain=1.5)[0].pre_std == pytest.approx(1.5, rel=1e-12)
    # random init: v = std^2, so q_1 = std^2 * fan_in
    assert mean_field("random", "linear", 2, 16, std=0.25)[0].pre_std == pytest.approx(0.25 * 4, rel=1e-12)


@pytest.mark.parametrize("batch", [8, 32])
def test_batch_norm_first_middle_and_top_layers_written_out(batch: int) -> None:
    """Linear network, He with gain 1 (v * fan_in = 1), batch norm, eps = 1e-5.

    Layer 1 sees the raw input, whose biased batch variance is (B - 1) / B; later layers see
    normalized units (batch variance raw / (raw + eps)). E[1 / (s2 + eps)] = 1 / (s2 (B - 3) /
    (B - 1) + eps). The projection keeps (B - 2) / (B - 1) of an already centered gradient, and
    (B - 2) / B of the top layer's i.i.d. output gradient. The weight gradient is the batch mean
    Var[x] * Var[dL/dz_raw] / B.
    """
    b, eps, depth = float(batch), 1e-5, 4
    layers = mean_field("he", "linear", depth, 32, batch=batch, batch_norm=True, gain=1.0)
    assert [layer.layer for layer in layers] == list(range(1, depth + 1))
    raw = [(b - 1) / b]
    for _ in range(depth - 1):
        q = raw[-1] / (raw[-1] + eps)
        raw.append(q)  # linear: the normalized unit's batch variance is q (its mean is 0)
    inv = [1 / (r * (b - 3) / (b - 1) + eps) for r in raw]
    in_var = [1.0] + [r / (r + eps) for r in raw[:-1]]
    for i, layer in enumerate(layers):
        assert layer.pre_std == pytest.approx(math.sqrt(raw[i] / (raw[i] + eps)), rel=1e-9)
        kept = (b - 2) / b if i == depth - 1 else (b - 2) / (b - 1)
        want = in_var[i] * layer.grad_std**2 * kept * inv[i] / b
        # rel 1e-5: the code also carries the O(eps) difference of a normalized unit's batch variance
        assert layer.weight_grad_std**2 == pytest.approx(want, rel=1e-5)


def test_mean_field_uses_the_relu_closed_form_and_the_activation_param() -> None:
    # ReLU: q_{l+1} = v * fan_in * E[relu(z)^2] with E[relu(z)^2] = q_l / 2 exactly (the closed
    # form, not the quadrature, which is off by a few ulps); replayed here in floating point.
    layers = mean_field("he", "relu", 12, 512)
    second = 1.0
    for layer in layers:
        q = layer.weight_variance * 512 * second
        assert layer.pre_std == math.sqrt(q)
        second = q / 2
    # ELU with alpha = 0.5: the second layer's q is sigma_w^2 * E[elu_0.5(z)^2], z ~ N(0, q_1)
    layers = mean_field("lecun", "elu", 2, 64, activation_param=0.5)
    q1 = layers[0].pre_std ** 2
    assert layers[1].pre_std ** 2 == pytest.approx(gaussian_moments("elu", q1, 0.5).second, rel=1e-12)
    default_alpha = gaussian_moments("elu", q1).second
    assert gaussian_moments("elu", q1, 0.5).second != pytest.approx(default_alpha, rel=1e-3)


def test_network_resolution_names_its_arguments() -> None:
    """``resolve_widths``/``resolve_network`` (shared with the probe) check depth and batch
    themselves, not only through ``mean_field``'s size limits."""
    from kaiming.propagation.theory import resolve_network, resolve_widths

    with pytest.raises(ValueError, match=r"^depth must be a positive integer, got 0"):
        resolve_widths(0, 8)
    with pytest.raises(ValueError, match=r"^batch must be a positive integer, got 0"):
        resolve_network("he", "relu", 2, 8, 0, None, None, None, None, 0.0, False)
    assert resolve_widths(3, 8) == (3, [8, 8, 8])
