"""Docs that run: every code block of README.md and docs/*.md is executed.

- A ```` ```python ```` block runs on its own (a fresh namespace: its own imports), in a
  temporary folder.
- A ```` ```bash ```` block runs each of its commands, which must be ``kaiming ...`` (also
  written ``python -m kaiming ...``, with ``VAR=value`` prefixes and ``# comments`` allowed),
  through ``kaiming.cli.main`` in a temporary folder; each must exit 0.
- When a python or bash block is followed directly (blank lines aside) by an untagged block,
  that block is its output: what the block prints must equal it, line for line (runs of spaces
  count as one; trailing spaces ignored), except that a decimal number (one with a point or an
  exponent) may differ by one unit in its last printed digit: float32 matrix products round
  differently with each CPU's BLAS kernel (OpenBLAS picks it by CPU: SkylakeX, Haswell, Zen...).
  Integers, words and the digits before the last must match.
- A block that cannot run here (a GPU, a long benchmark, an installation, a server that keeps
  running) has ``<!-- docs-test: skip (the reason) -->`` on the line before its fence; an
  output block that is only an illustration has ``<!-- docs-test: output differs (the
  reason) -->``. The reason is required.

Failures name the file and line of the block.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKER = re.compile(r"<!--\s*docs-test:\s*(skip|output differs)\s*(?:\((?P<reason>[^)]*)\))?\s*-->")
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<lang>[\w+-]*)")
RUN_LANGS = {"python", "py", "bash", "sh", "shell", "console"}
TIME_LIMIT = 120
"""Seconds a block may run (a docs block should take a few)."""


@dataclass
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    marker: str | None  # "skip" / "output differs"
    reason: str | None
    output: Block | None = None

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def _marker(lines: list[str], fence_index: int) -> tuple[str | None, str | None]:
    j = fence_index - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    if j >= 0 and (found := MARKER.search(lines[j])):
        return found.group(1), (found.group("reason") or "").strip()
    return None, None


def parse(page: Path) -> list[Block]:
    """The fenced blocks of ``page``, each run block linked to the output block right after it."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    previous_end = -1
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence, start = opening.group("fence"), i
        i += 1
        body: list[str] = []
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i])
            i += 1
        if i >= len(lines):
            raise AssertionError(f"{page.relative_to(ROOT)}:{start + 1}: code block never closed")
        marker, reason = _marker(lines, start)
        block = Block(page, start + 1, opening.group("lang").lower(), "\n".join(body) + "\n", marker, reason)
        previous = blocks[-1] if blocks else None
        between = lines[previous_end + 1 : start]
        if (
            previous is not None
            and not block.lang
            and previous.lang in RUN_LANGS
            and all(not line.strip() or MARKER.search(line) for line in between)
        ):
            previous.output = block
        blocks.append(block)
        previous_end = i
        i += 1
    return blocks


BLOCKS = [block for page in PAGES for block in parse(page)]
RUNNABLE = [block for block in BLOCKS if block.lang in RUN_LANGS and block.marker != "skip"]
"""The blocks that run here; a skipped block is not a test (``test_markers_give_a_reason`` checks it
says why)."""


def test_markers_give_a_reason() -> None:
    for page in PAGES:
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            if "docs-test" in line:
                found = MARKER.search(line)
                assert found and (found.group("reason") or "").strip(), (
                    f"{page.relative_to(ROOT)}:{number}: write '<!-- docs-test: skip (the reason) -->' "
                    f"or '<!-- docs-test: output differs (the reason) -->', got {line.strip()!r}"
                )


WHO = re.compile(r"\b(agents?|the lead|lead's|helper's|the helper|this session)\b", re.IGNORECASE)


def test_docs_speak_of_the_project_only() -> None:
    # the docs describe the code, its commands, measurements and machine, never who made them
    for page in PAGES:
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            found = WHO.search(line)
            assert not found, f"{page.relative_to(ROOT)}:{number}: {found.group(0)!r} in {line.strip()!r}"


def test_the_harness_finds_blocks_and_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert len(RUNNABLE) >= 10
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    sample = tmp_path / "sample.md"
    sample.write_text(
        "x\n\n```python\nprint(1)\n```\n\n```\n1\n```\n\n"
        "<!-- docs-test: skip (a GPU) -->\n```bash\nnvidia-smi\n```\n"
    )
    first, output, second = parse(sample)
    assert (first.lang, first.line, first.output) == ("python", 3, output) and output.code == "1\n"
    assert (second.marker, second.reason, second.output) == ("skip", "a GPU", None)


DECIMAL = re.compile(r"-?\d+\.\d*(?:[eE][-+]?\d+)?|-?\d+[eE][-+]?\d+")


def _last_digit_unit(number: str) -> float:
    """The value of one unit in the last printed digit of ``number`` ("0.6685" -> 1e-4)."""
    mantissa, _, exponent = number.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (int(exponent or 0) - decimals)


def _lines_match(got: str, want: str) -> bool:
    """Equal up to runs of spaces and one unit in the last digit of each decimal number."""
    if DECIMAL.sub("#", " ".join(got.split())) != DECIMAL.sub("#", " ".join(want.split())):
        return False
    return all(
        abs(float(g) - float(w)) <= 1.001 * _last_digit_unit(w) and len(g) == len(w)
        for g, w in zip(DECIMAL.findall(got), DECIMAL.findall(want), strict=True)
    )


def test_outputs_match_to_one_unit_in_the_last_digit_of_decimals() -> None:
    assert _lines_match("  he   0.6684  2.964e-08  layer 20", "  he 0.6685  2.963e-08  layer 20")
    assert not _lines_match("he 0.6683", "he 0.6685")  # two units
    assert not _lines_match("he 0.6685 layer 21", "he 0.6685 layer 20")  # integers exactly
    assert not _lines_match("xavier 2.963e-07", "xavier 2.963e-08")  # the exponent exactly
    assert not _lines_match("he 0.6685", "xavier 0.6685")
    assert not _lines_match("he 0.66851", "he 0.6685")


def _compare(block: Block, printed: str) -> None:
    expected = block.output
    if expected is None or expected.marker == "output differs":
        return
    got = [line.rstrip() for line in printed.strip("\n").splitlines()]
    want = [line.rstrip() for line in expected.code.strip("\n").splitlines()]
    same = len(got) == len(want) and all(_lines_match(g, w) for g, w in zip(got, want, strict=True))
    assert same, (
        f"{block.where}: the block printed something else than the output shown at {expected.where}:\n"
        + "\n".join(
            f"  shown: {w!r}\n  got:   {g!r}"
            for w, g in zip(want, got, strict=False)
            if not _lines_match(g, w)
        )
        + (f"\n  ({len(want)} lines shown, {len(got)} printed)" if len(want) != len(got) else "")
    )


def _run_python(block: Block) -> str:
    """Run the block in a fresh interpreter (as a reader would paste it), in the current folder."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    try:
        done = subprocess.run(
            [sys.executable, "-c", block.code], capture_output=True, text=True, env=env, timeout=TIME_LIMIT
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{block.where}: the block ran for more than {TIME_LIMIT} s")
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-12:])
        pytest.fail(f"{block.where}: the python block raised (exit {done.returncode}):\n{tail}")
    return done.stdout


def _commands(block: Block) -> list[list[str]]:
    commands = []
    for number, raw in enumerate(block.code.replace("\\\n", " ").splitlines(), block.line + 1):
        words = shlex.split(raw, comments=True)
        while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
            words = words[1:]  # VAR=value prefixes
        if words[:3] in (["python", "-m", "kaiming"], ["python3", "-m", "kaiming"]):
            words = ["kaiming", *words[3:]]
        if not words:
            continue
        if words[0] != "kaiming" or any(w in ("|", ">", "&&", ";", "&") for w in words):
            pytest.fail(
                f"{block.page.relative_to(ROOT)}:{number}: a bash block may only hold 'kaiming ...' "
                "commands; mark the block '<!-- docs-test: skip (the reason) -->' if it cannot run "
                f"here: {raw.strip()!r}"
            )
        if words[1:2] == ["explore"] and "--help" not in words:
            pytest.fail(
                f"{block.page.relative_to(ROOT)}:{number}: 'kaiming explore' serves until stopped: "
                "mark the block skip"
            )
        commands.append(words[1:])
    return commands


def _run_bash(block: Block, capsys: pytest.CaptureFixture[str]) -> str:
    from kaiming import cli

    printed = []
    for argv in _commands(block):
        try:
            code = cli.main(argv)
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        assert code == 0, f"{block.where}: 'kaiming {shlex.join(argv)}' exited {code}: {err.strip()}"
        printed.append(out)
    return "".join(printed)


@pytest.mark.parametrize("block", RUNNABLE, ids=[block.where for block in RUNNABLE])
def test_block_runs(
    block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("KERAS_BACKEND", os.environ.get("KERAS_BACKEND", "jax"))
    if block.lang in ("python", "py"):
        printed = _run_python(block)
    else:
        with _time_limit(block):
            printed = _run_bash(block, capsys)
    _compare(block, printed)


@contextlib.contextmanager
def _time_limit(block: Block) -> Iterator[None]:
    """Interrupt a block that runs past ``TIME_LIMIT`` seconds (SIGALRM; main thread on POSIX)."""
    if not hasattr(signal, "setitimer"):  # pragma: no cover - not POSIX
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise TimeoutError(f"{block.where}: the block ran for more than {TIME_LIMIT} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
