"""The ``kaiming`` command end to end: output, JSON schema, plot files, .npy, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import kaiming
from _sigint import child_process
from kaiming import cli

SRC = str(Path(kaiming.__file__).resolve().parents[1])


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:  # argparse's own exits (--help, usage errors)
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_probe_table_and_summary(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "probe", "--init", "he", "--act", "relu", "--depth", "6", "--width", "64")
    assert code == 0 and err == ""
    header = out.splitlines()[0]
    for column in (
        "Layer",
        "Pre-Act Mean",
        "Pre-Act Std",
        "Post-Act Mean",
        "Post-Act Std",
        "Dead Units %",
        "Zero Values %",
        "Health",
    ):
        assert column in header
    assert header.index("Dead Units %") < header.index("Zero Values %")
    assert "Theory Std" in header and len(out.splitlines()) == 2 + 6 + 1
    assert out.splitlines()[-1].startswith("healthy through 6 layers")


def test_probe_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "probe", "--init", "random", "--std", "0.05", "--act", "tanh", "--depth", "4",
        "--width", "32,32,16,8", "--batch", "16", "--json", "--histogram-layer", "2",
    )  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"config", "layers", "histogram", "summary"}
    assert data["config"]["std"] == 0.05 and data["config"]["widths"] == [32, 32, 16, 8]
    assert len(data["layers"]) == 4 and data["histogram"]["layer"] == 2
    keys = {
        "layer", "fan_in", "fan_out", "pre_mean", "pre_std", "post_mean", "post_std", "dead_fraction",
        "dead_units_fraction", "health", "grad_std", "weight_grad_std", "theory_pre_std", "theory_post_std",
        "theory_grad_std",
    }  # fmt: skip
    assert keys <= set(data["layers"][0])
    assert data["layers"][0]["health"] in {"healthy", "vanishing", "exploding", "dying"}


def test_probe_and_compare_stream_option(capsys: pytest.CaptureFixture[str]) -> None:
    net = ("--act", "tanh", "--depth", "4", "--width", "32", "--batch", "16", "--seed", "3")
    code, out, err = run(capsys, "probe", "--init", "xavier", *net, "--stream", "counter", "--json")
    assert code == 0, err
    want = kaiming.probe("xavier", "tanh", 4, 32, batch=16, seed=3, stream="counter").to_dict()
    assert json.loads(out) == json.loads(json.dumps(want))
    code, out, err = run(capsys, "compare", "--inits", "he,orthogonal", *net, "--stream", "counter", "--json")
    assert code == 0, err
    runs = json.loads(out)["runs"]
    assert [r["config"]["stream"] for r in runs] == ["counter", "counter"]
    want = kaiming.probe("orthogonal", "tanh", 4, 32, batch=16, seed=3, stream="counter").to_dict()
    assert runs[1]["layers"] == json.loads(json.dumps(want["layers"]))
    code, out, _ = run(capsys, "probe", *net, "--json")
    assert code == 0 and json.loads(out)["config"]["stream"] == "generator"
    code, _, err = run(capsys, "probe", *net, "--stream", "philox")
    assert code == 2 and "--stream" in err and "'philox'" in err and "counter" in err


def test_compare_prints_table_and_writes_png(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    plot = tmp_path / "compare.png"
    code, out, err = run(
        capsys, "compare", "--inits", "he,xavier,random", "--act", "relu", "--depth", "20", "--width", "64",
        "--batch", "32", "--plot", str(plot),
    )  # fmt: skip
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["Init", "Last", "Std"]
    assert [line.split()[0] for line in lines[2:5]] == ["he", "xavier", "random"]
    assert "signal vanishes" in lines[3] and "healthy" in lines[2]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from matplotlib import image

    pixels = image.imread(plot)
    assert pixels.shape[0] > 200 and pixels.shape[1] > 2 * pixels.shape[0] - 400  # two panels side by side
    assert float(pixels[..., :3].std()) > 0.05  # not blank


def test_probe_svg_plot(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    plot = tmp_path / "p.svg"
    code, _, _ = run(capsys, "probe", "--depth", "3", "--width", "16", "--batch", "8", "--plot", str(plot))
    assert code == 0
    text = plot.read_text()
    assert (
        text.lstrip().startswith("<?xml") and "<svg" in text and "stroke-dasharray" in text
    )  # theory dashed


def test_sample_writes_npy(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_file = tmp_path / "w.npy"
    code, out, _ = run(capsys, "sample", "he_normal", "64", "32", "--seed", "3", "--out", str(out_file))
    assert code == 0 and "wrote" in out
    np.testing.assert_array_equal(np.load(out_file), kaiming.he_normal((64, 32), seed=3, dtype=np.float32))
    conv = tmp_path / "c.npy"
    code, _, _ = run(
        capsys, "sample", "xavier_uniform", "8", "4", "3", "3", "--layout", "torch", "--dtype", "float64",
        "--seed", "1", "--out", str(conv),
    )  # fmt: skip
    assert code == 0
    want = kaiming.xavier_uniform((8, 4, 3, 3), layout="torch", seed=1, dtype=np.float64)
    np.testing.assert_array_equal(np.load(conv), want)


@pytest.mark.parametrize(
    ("argv", "text"),
    [
        (["probe", "--init", "kaiming_magic"], "init"),
        (["probe", "--depth", "0"], "depth"),
        (["probe", "--width", "-3"], "width"),
        (["probe", "--width", "abc"], "width"),
        (["probe", "--init", "he", "--std", "0.1"], "std"),
        (["probe", "--plot", "out.gif", "--depth", "2", "--width", "4"], ".png"),
        (["compare", "--inits", "he,bogus"], "bogus"),
        (["compare", "--inits", ","], "inits"),
        (["sample", "he_normal", "0", "3", "--out", "x.npy"], "shape"),
        (["sample", "he_normal", "5", "--out", "x.npy"], "at least 2"),
        (["sample", "nonsense", "5", "5", "--out", "x.npy"], "unknown initializer"),
        (["sample", "he_normal", "5", "5"], "--out"),
        (["frobnicate"], "invalid choice"),
        ([], "required"),
    ],
)
def test_errors_are_one_line_exit_2(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    text: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and text in err and "Traceback" not in err


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("probe", "compare", "sample"):
        code, out, _ = run(capsys, command, "--help")
        assert code == 0 and "examples:" in out and f"kaiming {command}" in out
    code, out, _ = run(capsys, "--help")
    assert code == 0 and all(c in out for c in ("probe", "compare", "sample"))


def test_plugins_are_listed_only_when_present() -> None:
    assert cli._PLUGINS["explore"] == "kaiming.explorer.cli"
    assert cli._PLUGINS["experiment"] == "kaiming.experiments.cli"
    assert cli._PLUGINS["phase"] == "kaiming._cli_phase"
    parser = cli.build_parser()
    choices = next(a for a in parser._actions if a.dest == "command").choices
    assert choices is not None
    for command, module in cli._PLUGINS.items():
        try:
            __import__(module)
            present = True
        except ImportError:
            present = False
        assert (command in choices) == present


def test_python_dash_m_and_import_needs_numpy_only(tmp_path: Path) -> None:
    env = {"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "kaiming", "probe", "--depth", "0"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "depth" in done.stderr
    code = (
        "import sys, kaiming; bad = {'matplotlib', 'torch', 'scipy'} & set(sys.modules); print(sorted(bad))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.strip() == "[]"


def test_compare_verdict_judges_the_backward_pass(capsys: pytest.CaptureFixture[str]) -> None:
    # BN + ReLU: every forward std stays near 1 while the gradient grows ~1.2x per layer going back.
    code, out, err = run(
        capsys, "compare", "--inits", "he", "--act", "relu", "--depth", "40", "--width", "128",
        "--batch", "64", "--batch-norm",
    )  # fmt: skip
    assert code == 0, err
    header, row = out.splitlines()[0], out.splitlines()[2]
    assert "Dead Units %" in header and "Zero Values %" in header and "Dead %" not in header
    assert "healthy" not in row and "gradient explodes by layer" in row


# --- hardening: output paths, atomic writes, Ctrl-C, missing extras, hints ------------------------


def test_sample_writes_exactly_the_path_given(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "W"  # no .npy suffix: numpy.save would have written W.npy
    code, out, err = run(capsys, "sample", "he_normal", "8", "4", "--seed", "1", "--out", str(target))
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["W"]
    assert f"wrote {target} (.npy format, {target.stat().st_size} bytes)" in out
    np.testing.assert_array_equal(np.load(target), kaiming.he_normal((8, 4), seed=1, dtype=np.float32))


@pytest.mark.parametrize("kind", ["root", "folder", "missing-folder", "trailing-slash"])
def test_sample_refuses_paths_that_are_not_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str
) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    path = {"root": "/", "folder": str(folder), "missing-folder": str(tmp_path / "no" / "w.npy"),
            "trailing-slash": str(tmp_path / "e") + "/"}[kind]  # fmt: skip
    code, out, err = run(capsys, "sample", "he_normal", "4", "4", "--out", path)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "--out" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"] and not any(folder.iterdir())


@pytest.mark.parametrize(
    "argv",
    [
        ["probe", "--plot", "{missing}/p.png"],
        ["probe", "--json", "{missing}/p.json"],
        ["compare", "--inits", "he,xavier", "--plot", "{missing}/c.png"],
        ["compare", "--inits", "he", "--json", "{folder}"],
        ["probe", "--plot", "{folder}/p.gif"],
    ],
)
def test_output_paths_are_checked_before_computing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    def no_probe(*args: object, **kwargs: object) -> None:
        raise AssertionError("probe ran before the output path was checked")

    monkeypatch.setattr(cli, "probe", no_probe)
    filled = [a.format(missing=tmp_path / "none", folder=tmp_path) for a in argv]
    code, out, err = run(capsys, *filled, "--depth", "2", "--width", "4")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert ("--plot" in err or "--json" in err) and "Traceback" not in err


def test_json_file_is_written_and_table_printed(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "run.json"
    code, out, err = run(
        capsys, "probe", "--depth", "3", "--width", "8", "--batch", "8", "--json", str(target)
    )
    assert code == 0, err
    assert out.splitlines()[0].startswith("Layer") and f"JSON written to {target}" in out
    assert len(json.loads(target.read_text())["layers"]) == 3


def test_file_errors_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device", str(tmp_path / "w.npy"))

    monkeypatch.setattr(np, "save", disk_full)
    code, out, err = run(capsys, "sample", "he_normal", "4", "4", "--out", str(tmp_path / "w.npy"))
    assert code == 2 and out == ""
    assert err.strip().endswith("No space left on device") and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []  # the temporary file is gone too


@pytest.mark.parametrize("command", ["sample", "probe"])
def test_ctrl_c_exits_130_and_leaves_no_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    def interrupted_write(file: object, *args: object, **kwargs: object) -> None:
        target = file if isinstance(file, str) else file.name  # type: ignore[attr-defined]
        Path(target).write_bytes(b"half")  # a partial file, then Ctrl-C
        raise KeyboardInterrupt

    if command == "sample":
        monkeypatch.setattr(np, "save", interrupted_write)
        argv = ["sample", "he_normal", "4", "4", "--out", str(tmp_path / "w.npy")]
    else:
        import kaiming.propagation.plots as plots

        monkeypatch.setattr(plots, "plot_results", lambda r, labels, path, t: interrupted_write(path))
        argv = ["probe", "--depth", "2", "--width", "4", "--plot", str(tmp_path / "p.png")]
    code, _, err = run(capsys, *argv)
    assert code == 130 and err == f"kaiming {command}: interrupted\n"
    assert list(tmp_path.iterdir()) == []


def test_sigint_during_a_long_probe(tmp_path: Path) -> None:
    import signal
    import time

    env = {"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"}
    argv = ["probe", "--depth", "10000", "--width", "256", "--plot", str(tmp_path / "p.png")]
    code = f"import sys, kaiming.cli as c; print('ready', flush=True); sys.exit(c.main({argv!r}))"
    with child_process([sys.executable, "-c", code], env) as proc:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"  # imports done
        time.sleep(1.0)  # inside the simulation (it runs for over 10 s)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err == "kaiming probe: interrupted\n" and out == ""
    assert list(tmp_path.iterdir()) == []


def test_experiment_without_extras_is_one_line(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['torch'] = None; sys.modules['sklearn'] = None\n"
        "from kaiming.cli import main\n"
        f"sys.exit(main(['experiment', 'convergence', '--quick', '--out', {str(tmp_path)!r}]))"
    )
    env = {"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "pip install 'kaiming[experiments]'" in done.stderr


@pytest.mark.parametrize(
    ("argv", "text"),
    [
        (["probe", "--act", "leaky_relu", "--act-param", "-0.2"], "--act-param"),
        (["probe", "--act", "elu", "--act-param", "-1"], "--act-param"),
        (["compare", "--act", "softplus", "--act-param", "0"], "--act-param"),
        (["probe", "--init", "He"], "did you mean 'he'?"),
        (["probe", "--act", "ReLU"], "did you mean 'relu'?"),
        (["compare", "--inits", "he,Xavier"], "did you mean 'xavier'?"),
        (["sample", "He_Normal", "4", "4", "--out", "w.npy"], "did you mean 'he_normal'?"),
        (["probe", "--depth", "100000", "--width", "4096"], "depth must be at most"),
        (["probe", "--batch", "1000000000"], "batch must be at most"),
        (["probe", "--depth", "10000", "--width", "4096"], "GiB"),
    ],
)
def test_bad_values_are_refused_at_once(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    text: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and text in err, err
    assert list(tmp_path.iterdir()) == []


def test_help_texts_are_clean_and_have_examples(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "compare", "--help")
    assert code == 0 and "dead units %" in out and "%%" not in out
    parser = cli.build_parser()
    choices = next(a for a in parser._actions if a.dest == "command").choices
    assert choices is not None
    for command in ("explore", "experiment"):
        if command in choices:
            code, out, _ = run(capsys, command, "--help")
            assert code == 0 and "examples:" in out and f"kaiming {command} " in out
