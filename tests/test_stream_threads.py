"""The compiled stream under every numba threading layer, called from several threads at once.

numba's ``workqueue`` layer (used where neither TBB nor an OpenMP runtime is found) aborts the
whole process when two threads launch parallel kernels at the same time. The probe draws the
next layer's weights in a second thread and the explorer runs simulations side by side, so the
stream must serialize its launches under that layer. Each case runs in a fresh process, because
numba picks its layer once per process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("numba")

from kaiming.stream import _numba_path

SRC = Path(__file__).resolve().parents[1] / "src"

_SCRIPT = textwrap.dedent(
    """
    import threading
    import numba
    import numpy as np
    from kaiming import probe, stream
    from kaiming.stream import _numba_path

    n = 1 << 19  # above the automatic switch to the compiled path
    expected = [stream.sample("normal", (n,), stream.key(7, f"w{i}"), backend="numpy") for i in range(8)]
    got = [None] * 8
    barrier = threading.Barrier(8)

    def draw(i):
        barrier.wait()  # all eight launch together
        for _ in range(5):
            got[i] = stream.sample("normal", (n,), stream.key(7, f"w{i}"), backend="numba")

    threads = [threading.Thread(target=draw, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.array_equal(g, e) for g, e in zip(got, expected, strict=True))
    # The probe draws the next layer in a second thread while this one multiplies.
    a = probe("he_normal", "relu", depth=6, width=256, batch=64, seed=1, stream="counter")
    b = probe("he_normal", "relu", depth=6, width=256, batch=64, seed=1, stream="counter")
    assert [r.post_std for r in a.layers] == [r.post_std for r in b.layers]
    print(numba.threading_layer(), _numba_path._launch_serial)
    """
)


@pytest.mark.parametrize(("layer", "serial"), [("workqueue", True), ("omp", False)])
def test_concurrent_draws_keep_the_numpy_paths_bits_under_each_layer(layer: str, serial: bool) -> None:
    if layer == "omp":
        try:
            import numba.np.ufunc.omppool  # noqa: F401
        except ImportError:
            pytest.skip("numba's OpenMP layer needs an OpenMP runtime (libgomp), not found here")
    env = {**os.environ, "PYTHONPATH": str(SRC), "NUMBA_THREADING_LAYER": layer, "NUMBA_NUM_THREADS": "2"}
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=600, env=env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == [layer, str(serial)]


def test_only_the_workqueue_layer_serializes_launches() -> None:
    assert _numba_path._layer_serializes("workqueue")
    assert not _numba_path._layer_serializes("omp")
    assert not _numba_path._layer_serializes("tbb")
