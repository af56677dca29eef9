"""Property-based fuzzing of the ``kaiming`` command line.

Whatever the arguments, ``kaiming probe|compare|sample`` exits 0 (output on stdout, nothing on
stderr) or 2 with exactly one line on stderr, never a traceback; and a refused run writes no
file. Small sizes keep each run fast.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kaiming import cli

_EXAMPLES = int(os.environ.get("KAIMING_FUZZ_EXAMPLES", "40"))
CLI_FUZZ = settings(
    max_examples=_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
"""capsys is read (and so emptied) after every example."""

numbers = st.sampled_from(
    ["1", "2", "3", "0", "-1", "1e9", "abc", "", "nan", "inf", "-0.5", "99999999999999999999"]
)
reals = st.sampled_from(["0.1", "1", "0", "-1", "nan", "inf", "-inf", "1e308", "1e-320", "x", "1e400"])
names = st.sampled_from(
    [
        "he",
        "xavier",
        "random",
        "orthogonal",
        "He",
        "RELU",
        "relu",
        "tanh",
        "leaky_relu",
        "softplus",
        "elu",
        "",
        "he,xavier",
        ",",
        "bogus",
    ]
)
paths = st.sampled_from(
    [
        "{tmp}/out.png",
        "{tmp}/out.svg",
        "{tmp}/x.gif",
        "{tmp}",
        "/",
        "{tmp}/no/such.png",
        "{tmp}/out.json",
        "{tmp}/w",
        "{tmp}/w.npy",
        "",
    ]
)

probe_options = st.lists(
    st.one_of(
        st.tuples(st.just("--init"), names),
        st.tuples(st.just("--act"), names),
        st.tuples(st.just("--act-param"), reals),
        st.tuples(st.just("--depth"), numbers),
        st.tuples(st.just("--width"), st.sampled_from(["4", "8,4", "4,4,4", "0", "-2", "x", "10000000000"])),
        st.tuples(st.just("--batch"), numbers),
        st.tuples(st.just("--seed"), numbers),
        st.tuples(st.just("--gain"), reals),
        st.tuples(st.just("--std"), reals),
        st.tuples(st.just("--bias-std"), reals),
        st.tuples(st.just("--mode"), st.sampled_from(["fan_in", "fan_avg", "x"])),
        st.tuples(st.just("--plot"), paths),
        st.tuples(st.just("--json"), paths),
        st.tuples(st.sampled_from(["--batch-norm", "--no-backward", "--no-theory", "--json"])),
        st.tuples(st.just("--bogus-option")),
    ),
    max_size=5,
)


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse's own exits
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _assert_contract(code: int, out: str, err: str, folder: Path, wrote: set[str]) -> None:
    assert "Traceback" not in err
    if code == 0:
        assert err == "" and out
    else:
        assert code == 2, (code, err)
        assert len(err.strip().splitlines()) == 1 and err.startswith("kaiming"), err
        assert {p.name for p in folder.iterdir()} <= wrote - {"out.png", "out.svg", "out.json", "w", "w.npy"}
    assert not [p for p in folder.iterdir() if p.name.startswith(".")], "a temporary file was left behind"


def _fill(options: list[tuple[str, ...]], tmp: str) -> list[str]:
    argv: list[str] = []
    for option in options:
        argv += [part.format(tmp=tmp) for part in option]
    return argv


@CLI_FUZZ
@given(command=st.sampled_from(["probe", "compare"]), options=probe_options)
def test_probe_and_compare(
    command: str, options: list[tuple[str, ...]], capsys: pytest.CaptureFixture[str]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        argv = [command, "--depth", "2", "--width", "4", "--batch", "4", *_fill(options, tmp)]
        if command == "compare":
            argv = [a if a != "--init" else "--inits" for a in argv]
        code, out, err = _run(argv, capsys)
        _assert_contract(code, out, err, folder, set())


@CLI_FUZZ
@given(
    name=st.sampled_from(["he_normal", "orthogonal", "xavier_uniform", "He_Normal", "sparse", ""]),
    shape=st.lists(
        st.sampled_from(["4", "3", "0", "-1", "x", "1.5", "99999999999", "9223372036854775808"]), max_size=4
    ),
    path=paths,
    extra=st.lists(
        st.sampled_from(
            [
                ("--layout", "torch"),
                ("--layout", "keras"),
                ("--dtype", "float16"),
                ("--dtype", "int8"),
                ("--seed", "-1"),
                ("--seed", "7"),
            ]
        ),
        max_size=2,
    ),
)
def test_sample(
    name: str, shape: list[str], path: str, extra: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        argv = ["sample", name, *shape, "--out", path.format(tmp=tmp), *_fill(extra, tmp)]
        code, out, err = _run(argv, capsys)
        _assert_contract(code, out, err, folder, set())
        if code == 0:
            written = out.split()[1]
            assert Path(written).is_file() and written == path.format(tmp=tmp)
