"""The numba kernels come from numba's disk cache in a new process, instead of being compiled
again (seconds) and added to the cache anew on every start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kaiming import stream

SCRIPT = """
import numpy as np
from kaiming import stream
stream.sample("normal", (1000,), stream.key(0, "w"), dtype=np.float32, backend="numba")
"""


def _run(cache_dir: Path) -> str:
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {
        **os.environ,
        "NUMBA_CACHE_DIR": str(cache_dir),
        "NUMBA_DEBUG_CACHE": "1",
        "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def test_a_second_process_loads_the_kernel_from_the_disk_cache(tmp_path: Path) -> None:
    assert stream.fast_path_available()
    first = _run(tmp_path)
    assert "data saved" in first and "kernel" in first
    second = _run(tmp_path)
    kernel_lines = [line for line in second.splitlines() if "locals.kernel" in line]
    assert any("data loaded" in line for line in kernel_lines), second
    assert not any("saved" in line for line in second.splitlines()), second
