"""Tests of kaiming.experiments on tiny settings (never on the numbers the studies report)."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from kaiming.experiments._data import load_digits_split
from kaiming.experiments._inits import CONVERGENCE_INITS, INIT_SPECS, apply_init
from kaiming.experiments._models import make_mlp
from kaiming.experiments._progress import Progress
from kaiming.experiments._train import Curves, TrainConfig, train
from kaiming.experiments.cli import main
from kaiming.experiments.convergence import ConvergenceConfig, run_convergence
from kaiming.experiments.depth import (
    DepthConfig,
    Profile,
    crossing_cell,
    first_crossing,
    run_depth_study,
)

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny matrices: one thread is fastest and does not fight other processes for the cores."""
    from kaiming.experiments._train import torch_threads

    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def data():
    return load_digits_split()


def _tiny(data, n_train=200):
    """The digits, cut to a small training set for fast runs."""
    from kaiming.experiments._data import Dataset

    return Dataset(
        "digits", data.x_train[:n_train], data.y_train[:n_train], data.x_test, data.y_test, data.n_classes
    )


# ----------------------------------------------------------------------------- data


def test_digits_split_is_fixed_stratified_and_standardized_on_train(data):
    again = load_digits_split()
    np.testing.assert_array_equal(data.x_test, again.x_test)
    np.testing.assert_array_equal(data.y_train, again.y_train)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert len(data.x_train) + len(data.x_test) == 1797 and data.n_features == 64
    # stratified: every class holds about a fifth of its samples in the test set
    counts_test = np.bincount(data.y_test, minlength=10)
    counts_all = counts_test + np.bincount(data.y_train, minlength=10)
    assert np.all(np.abs(counts_test / counts_all - 0.2) < 0.02)
    # standardized with train statistics: train columns have mean 0 and std 1 (or are constant)
    std = data.x_train.std(axis=0)
    assert np.allclose(data.x_train.mean(axis=0), 0.0, atol=1e-5)
    assert np.all(np.isclose(std, 1.0, atol=1e-4) | (std == 0.0))
    # the test set is not re-standardized with its own statistics
    assert not np.allclose(data.x_test.mean(axis=0), 0.0, atol=1e-3)


def test_different_split_seed_gives_a_different_split():
    a, b = load_digits_split(split_seed=0), load_digits_split(split_seed=1)
    assert not np.array_equal(a.y_test, b.y_test)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1])
def test_bad_test_fraction(fraction):
    with pytest.raises(ValueError, match="test_fraction"):
        load_digits_split(test_fraction=fraction)


# ----------------------------------------------------------------------------- model


def test_mlp_structure_and_global_rng_untouched():
    state = torch.get_rng_state()
    net = make_mlp(64, 10, depth=3, width=32, batch_norm=True, activation="tanh")
    assert torch.equal(state, torch.get_rng_state())
    kinds = [type(m).__name__ for m in net]
    assert kinds == ["Linear", "BatchNorm1d", "Tanh"] * 3 + ["Linear"]
    assert net[0].weight.shape == (32, 64) and net[-1].weight.shape == (10, 32)
    assert torch.equal(net[1].weight, torch.ones(32)) and torch.equal(net[1].running_var, torch.ones(32))


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"depth": 0}, ValueError, "depth"),
        ({"width": 2.5}, TypeError, "width"),
        ({"activation": "swish"}, ValueError, "activation"),
    ],
)
def test_mlp_bad_arguments(kwargs, error, name):
    args = {"in_features": 4, "out_features": 2, "depth": 2, "width": 8, **kwargs}
    with pytest.raises(error, match=name):
        make_mlp(**args)


# ----------------------------------------------------------------------------- inits

# The first layer of make_mlp(256, 10, 1, 512) has 512 * 256 = 131,072 weights; the sample std
# has relative standard error 1 / sqrt(2 n) = 0.2%, so a 3% tolerance is 15 standard errors
# (false-failure odds far below 1e-12) and still fails on any factor of sqrt(2) (41%) or
# the fan_in/fan_out confusion (factor sqrt(2) here too).
_FAN_IN, _FAN_OUT = 256, 512
EXPECTED_STD = {
    "random": 0.01,
    "xavier": math.sqrt(2.0 / (_FAN_IN + _FAN_OUT)),
    "he_fan_in": math.sqrt(2.0 / _FAN_IN),
    "he_fan_out": math.sqrt(2.0 / _FAN_OUT),
    "he_bn": math.sqrt(2.0 / _FAN_IN),
    "lecun": math.sqrt(1.0 / _FAN_IN),
    "torch_default": math.sqrt(1.0 / (3 * _FAN_IN)),  # U(-1/sqrt(fan_in), 1/sqrt(fan_in))
}


@pytest.mark.parametrize("name", sorted(EXPECTED_STD))
def test_init_weight_std(name):
    net = make_mlp(_FAN_IN, 10, depth=1, width=_FAN_OUT, batch_norm=INIT_SPECS[name].batch_norm)
    apply_init(net, name, seed=0)
    weight = net[0].weight.detach()
    assert float(weight.std()) == pytest.approx(EXPECTED_STD[name], rel=0.03)
    bias = net[0].bias.detach()
    if name == "torch_default":
        bound = 1.0 / math.sqrt(_FAN_IN)
        assert float(bias.abs().max()) <= bound and float(bias.abs().max()) > 0.5 * bound
        assert float(weight.abs().max()) <= bound
    else:
        assert torch.count_nonzero(bias) == 0


def test_orthogonal_init_is_orthogonal():
    net = make_mlp(64, 10, depth=1, width=32)
    apply_init(net, "orthogonal", seed=3)
    w = net[0].weight  # (32, 64): orthonormal rows
    assert torch.allclose(w @ w.T, torch.eye(32), atol=1e-5)


def test_lsuv_gives_unit_variance_layer_outputs(data):
    x = torch.from_numpy(data.x_train[:256])
    net = make_mlp(64, 10, depth=3, width=64)
    apply_init(net, "lsuv", seed=0, data=x)
    with torch.no_grad():
        h = x
        for module in net:
            h = module(h)
            if isinstance(module, torch.nn.Linear):
                assert float(h.var()) == pytest.approx(1.0, abs=0.15)


def test_lsuv_needs_data():
    with pytest.raises(ValueError, match="lsuv"):
        apply_init(make_mlp(4, 2, 1, 4), "lsuv", seed=0)


@pytest.mark.parametrize("name", CONVERGENCE_INITS)
def test_init_is_reproducible_by_seed(name, data):
    x = torch.from_numpy(data.x_train[:64])

    def weights(seed):
        net = make_mlp(64, 10, depth=2, width=16, batch_norm=INIT_SPECS[name].batch_norm)
        apply_init(net, name, seed=seed, data=x)
        return torch.cat([p.detach().flatten() for p in net.parameters()])

    assert torch.equal(weights(1), weights(1))
    assert not torch.equal(weights(1), weights(2))


def test_unknown_init():
    with pytest.raises(ValueError, match="init"):
        apply_init(make_mlp(4, 2, 1, 4), "glorot", seed=0)


# ----------------------------------------------------------------------------- training


def test_curves_epochs_to():
    curves = Curves(test_accuracy=[0.1, 0.5, 0.95, 0.97])
    assert curves.epochs_to(0.9) == 2
    assert curves.epochs_to(0.99) is None
    assert curves.epochs_to(0.05) == 0


def test_training_learns_and_is_deterministic(data):
    small = _tiny(data)
    config = TrainConfig(epochs=5, lr=0.01, batch_size=32)

    def run():
        net = make_mlp(64, 10, depth=2, width=32)
        apply_init(net, "he_fan_in", seed=0)
        return train(net, small, config, seed=0)

    first, second = run(), run()
    assert first.test_accuracy == second.test_accuracy and first.train_loss == second.train_loss
    assert len(first.train_loss) == len(first.test_accuracy) == 6
    assert first.train_loss[-1] < 0.5 * first.train_loss[0]
    assert first.test_accuracy[-1] > 0.5  # chance is 0.1
    assert not first.diverged


def test_divergence_is_recorded(data):
    net = make_mlp(64, 10, depth=2, width=32)
    apply_init(net, "he_fan_in", seed=0)
    curves = train(net, _tiny(data), TrainConfig(epochs=3, lr=1e12, momentum=0.0), seed=0)
    assert curves.diverged
    assert math.isnan(curves.train_loss[-1])
    assert curves.test_accuracy[-1] < 0.2  # recorded as chance


def test_on_epoch_callback_sees_every_epoch(data):
    seen = []
    net = make_mlp(64, 10, depth=1, width=8)
    apply_init(net, "xavier", seed=0)
    train(net, _tiny(data, 50), TrainConfig(epochs=2), seed=0, on_epoch=lambda e, c: seen.append(e))
    assert seen == [1, 2]


# ----------------------------------------------------------------------------- convergence study


def test_convergence_study_end_to_end(data, tmp_path):
    from kaiming.experiments.plots import plot_convergence

    config = ConvergenceConfig(
        depth=2, width=16, seeds=2, inits=("he_fan_in", "random"), train=TrainConfig(epochs=2, lr=0.01)
    )
    result = run_convergence(config, data=_tiny(data), progress=False)
    assert [r.init for r in result.runs] == ["he_fan_in", "random"]
    assert all(len(r.curves) == 2 for r in result.runs)
    table = result.table()
    assert "He (fan_in)" in table and "N(0, 0.01²)" in table and "/2)" in table
    payload = json.loads(json.dumps(result.to_dict(), allow_nan=False, default=str).replace("NaN", "null"))
    assert payload["config"]["depth"] == 2 and len(payload["runs"][0]["curves"]) == 2
    mean, std = result.runs[0].curve_stats("train_loss")
    assert mean.shape == (3,) and np.all(std >= 0)
    png = plot_convergence(result, tmp_path / "c.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert "![learning curves](c.png)" in result.to_markdown("c.png")


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"depth": 0}, "depth"),
        ({"seeds": -1}, "seeds"),
        ({"inits": ("he",)}, "init"),
        ({"inits": ()}, "inits"),
        ({"target": 1.5}, "target"),
        ({"train": TrainConfig(lr=0.0)}, "lr"),
        ({"train": TrainConfig(momentum=1.0)}, "momentum"),
    ],
)
def test_convergence_config_validation(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ConvergenceConfig(**kwargs)


def test_quick_config_is_small():
    quick = ConvergenceConfig.quick(depth=30)
    assert quick.depth == 30 and quick.seeds < ConvergenceConfig().seeds
    assert quick.train.epochs < ConvergenceConfig().train.epochs


# ----------------------------------------------------------------------------- progress bar


def test_progress_bar_draws_and_disabled_is_silent():
    out = io.StringIO()
    bar = Progress(3, "x", stream=out)
    for _ in range(3):
        bar.update("step")
    bar.close()
    assert "3/3" in out.getvalue() and out.getvalue().endswith("\n")
    quiet = io.StringIO()
    off = Progress(3, "x", stream=quiet, enabled=False)
    off.update()
    off.close()
    assert quiet.getvalue() == "" and off.done == 1


def test_progress_estimate_comes_from_measured_steps_only():
    # A 10 s warm-up in the first step, then 0.5 s per step: no estimate until a step after the
    # warm-up is measured, and then 0.5 s x steps left (the warm-up is not extrapolated).
    ticks = iter([0.0, 10.0, 10.5, 11.0, 30.0])
    out = io.StringIO()
    bar = Progress(10, "x", stream=out, clock=lambda: next(ticks))
    bar.update()
    assert bar.eta() is None and "eta     ?" in out.getvalue()
    bar.update()
    assert bar.eta() == pytest.approx(0.5 * 8)
    bar.update()
    assert bar.eta() == pytest.approx(0.5 * 7)
    bar.close()
    assert bar.elapsed() == 30.0 and out.getvalue().endswith("x: 3/10 steps in 30.0 s\n")


def test_orthogonal_relu_gain_is_sqrt2():
    # Orthogonal (gain sqrt 2) is the gain-1 matrix times sqrt(2), drawn from the same stream.
    plain, relu = make_mlp(64, 10, depth=1, width=32), make_mlp(64, 10, depth=1, width=32)
    apply_init(plain, "orthogonal", seed=3)
    apply_init(relu, "orthogonal_relu", seed=3)
    assert torch.allclose(relu[0].weight, math.sqrt(2.0) * plain[0].weight, rtol=1e-6)
    w = relu[0].weight
    assert torch.allclose(w @ w.T, 2.0 * torch.eye(32), atol=1e-5)
    assert INIT_SPECS["orthogonal_relu"].probe_gain == pytest.approx(math.sqrt(2.0))
    assert "orthogonal_relu" in CONVERGENCE_INITS


# ----------------------------------------------------------------------------- CLI


def test_cli_module_imports_nothing_heavy():
    code = (
        "import sys, kaiming.experiments.cli; "
        "print([m for m in ('torch', 'sklearn', 'matplotlib') if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONPATH": str(SRC)}
    )
    assert out.stdout.strip() == "[]"


def test_cli_convergence_writes_outputs(tmp_path, capsys):
    argv = ["convergence", "--quick", "--depth", "1", "--width", "8", "--seeds", "1", "--epochs", "1"]
    argv += ["--inits", "he_fan_in,xavier", "--out", str(tmp_path), "--no-progress"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "He (fan_in)" in printed and "Xavier" in printed
    for suffix in (".json", ".md", ".png"):
        assert (tmp_path / f"convergence_d1{suffix}").stat().st_size > 0
    record = json.loads((tmp_path / "convergence_d1.json").read_text())
    assert record["config"]["width"] == 8 and record["config"]["train"]["epochs"] == 1
    # The wall time the user waited includes the imports and the data, so it is not below the study's.
    assert record["wall_seconds"] >= record["seconds"] > 0
    assert "wall time" in printed and "since the command started" in printed


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["convergence", "--depth", "0", "--no-progress"], "depth"),
        (["convergence", "--inits", "nope", "--no-progress"], "init"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(argv, message, tmp_path, capsys):
    assert main([*argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


# ----------------------------------------------------------------------------- depth study


def test_first_crossing_directions_and_edge_values():
    assert first_crossing([1.0, 2e3], 1e3) == (2, "explodes")
    assert first_crossing([1.0, float("nan")], 1e3) == (2, "explodes")
    assert first_crossing([0.0], 1e3) == (1, "vanishes")
    assert first_crossing([1e-3, 1e3], 1e3) is None  # the band is closed
    assert crossing_cell((7, "explodes")) == "↑7"


def test_profile_backward_counts_from_the_output_and_variance_ratio():
    profile = Profile("x", forward=tuple(0.5 ** (k / 2) for k in range(12)), backward=(1e-5, 1e-2, 0.9))
    assert profile.backward_crossing(1e3) == (3, "vanishes")  # layer 1 is the 3rd from the output
    assert profile.forward_crossing(1e3) is None
    assert profile.variance_ratio_per_layer() == pytest.approx(0.5)


@pytest.fixture(scope="module")
def depth_result():
    config = DepthConfig.quick(inits=("random", "xavier", "he_fan_in", "he_bn"), activations=("relu", "tanh"))
    return run_depth_study(config, progress=False)


def test_depth_study_methods_agree_where_theory_is_exact(depth_result):
    # Guaranteed by the maths, not a reported number: N(0, 0.01^2) at width 64 scales the std by
    # about 0.06 per ReLU layer, so the signal leaves the band within 5 layers; He keeps ReLU's
    # std for 20 layers (finite-width drift is a few % per layer at most).
    for method in ("probe", "torch", "theory"):
        crossing = depth_result.cell("random", "relu").profiles[method].forward_crossing(1e3)
        assert crossing is not None and crossing[1] == "vanishes" and crossing[0] <= 5
        assert depth_result.cell("he_fan_in", "relu").profiles[method].forward_crossing(1e3) is None
    # The torch model and the probe measure the same network as the theory predicts: first-layer
    # std within 15% (width 64 x batch 64 gives a few % of sampling error; a factor sqrt(2),
    # e.g. from correlated weights and inputs or a fan mix-up, is 41%).
    for cell in depth_result.cells:
        theory = cell.profiles["theory"].forward
        for method in ("probe", "torch"):
            measured = cell.profiles[method].forward
            assert abs(math.log(measured[0] / theory[0])) < 0.15, (cell.init, cell.activation, method)
    # BatchNorm: every pre-activation is normalized to std 1
    for method in ("probe", "torch"):
        forward = depth_result.cell("he_bn", "relu").profiles[method].forward
        assert np.allclose(forward, 1.0, atol=0.01)


def test_depth_result_outputs(depth_result, tmp_path):
    from kaiming.experiments.plots import plot_depth_heatmap, plot_depth_profiles

    table = depth_result.table()
    assert "He + BatchNorm" in table and "probe / torch / theory" in table
    record = depth_result.to_dict()
    assert json.loads(json.dumps(record, default=str))["config"] == json.loads(
        json.dumps(record["config"], default=str)
    )  # the whole record serializes, and its config survives the round trip
    assert len(record["cells"]) == 8 and record["config"]["depth"] == 20
    assert len(record["cells"][0]["profiles"]["torch"]["forward"]) == 20
    for draw in (plot_depth_heatmap, plot_depth_profiles):
        png = draw(depth_result, tmp_path / f"{draw.__name__}.png")
        assert png.read_bytes()[:4] == b"\x89PNG"
    assert "![a.png](a.png)" in depth_result.to_markdown(["a.png"])


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"factor": 1.0}, "factor"),
        ({"activations": ("leaky_relu",)}, "activation"),
        ({"inits": ("lsuv",)}, "init"),
        ({"methods": ("numpy",)}, "method"),
        ({"depth": 0}, "depth"),
        ({"seed": -1}, "seed"),
    ],
)
def test_depth_config_validation(kwargs, name):
    with pytest.raises(ValueError, match=name):
        DepthConfig(**kwargs)


def test_cli_depth_writes_outputs(tmp_path, capsys):
    argv = [
        "depth",
        "--quick",
        "--depth",
        "6",
        "--width",
        "16",
        "--batch",
        "16",
        "--inits",
        "random,he_fan_in",
    ]
    argv += ["--activations", "relu", "--out", str(tmp_path), "--no-progress"]
    assert main(argv) == 0
    assert "He (fan_in)" in capsys.readouterr().out
    for name in ("depth_L6.json", "depth_L6.md", "depth_L6_heatmap.png", "depth_L6_profile.png"):
        assert (tmp_path / name).stat().st_size > 0


def test_kaiming_cli_lists_the_experiment_plugin(capsys):
    from kaiming.cli import main as kaiming_main

    with pytest.raises(SystemExit):
        kaiming_main(["experiment", "--help"])
    assert "convergence" in capsys.readouterr().out
