"""The ``kaiming`` command's entry point (``_kaiming_cli:main``): a Ctrl-C while the package is
still importing ends with one line on stderr and exit code 130, not a traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import _kaiming_cli
from _sigint import child_process

# The child delays the first import of NumPy (which ``import kaiming`` needs) and says so on stdout,
# so the SIGINT surely lands while ``kaiming`` is importing; ``{script}`` is what the console script runs.
_CHILD = """
import builtins, sys, time
real = builtins.__import__
def slow(name, *args, **kwargs):
    if name == "numpy" and "numpy" not in sys.modules:
        print("importing", flush=True)
        time.sleep(30)
    return real(name, *args, **kwargs)
builtins.__import__ = slow
{script}
sys.exit(main())
"""


def _interrupt_while_importing(script: str) -> subprocess.CompletedProcess[str]:
    src = str(Path(_kaiming_cli.__file__).resolve().parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    with child_process([sys.executable, "-c", _CHILD.format(script=script), "list"], env) as child:
        assert child.stdout is not None
        assert child.stdout.readline() == "importing\n"
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
    return subprocess.CompletedProcess(child.args, child.returncode, out, err)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")
def test_ctrl_c_while_importing_prints_one_line_and_exits_130() -> None:
    done = _interrupt_while_importing("from _kaiming_cli import main")
    assert (done.returncode, done.stderr) == (130, "kaiming: interrupted\n")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")
def test_an_entry_point_inside_the_package_could_not_catch_it() -> None:
    # why the entry point lives outside ``kaiming``: importing kaiming.cli runs kaiming/__init__.py first
    done = _interrupt_while_importing("from kaiming.cli import main")
    assert done.returncode != 130 and "Traceback" in done.stderr and "KeyboardInterrupt" in done.stderr


def test_main_returns_the_commands_exit_code(monkeypatch: pytest.MonkeyPatch) -> None:
    import kaiming.cli

    monkeypatch.setattr(kaiming.cli, "main", lambda: 7)
    assert _kaiming_cli.main() == 7


def test_ctrl_c_outside_a_command_handler_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import kaiming.cli

    def interrupted() -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(kaiming.cli, "main", interrupted)
    assert _kaiming_cli.main() == 130
    assert capsys.readouterr().err == "kaiming: interrupted\n"
