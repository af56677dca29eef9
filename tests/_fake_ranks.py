"""Run a check on every rank of a four-rank fake process group, in one child process.

torch's ``fake`` backend gives each rank its own view of a ``DeviceMesh`` without any
communication, so one process can play the four ranks one after another. The child gets
``PYTHONPATH`` pointing at this checkout's ``src``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

_PRELUDE = """
import numpy as np, torch, torch.distributed as dist
from torch.testing._internal.distributed.fake_pg import FakeStore
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.tensor import Replicate, Shard, distribute_tensor
from kaiming.torch._dtensor import local_index
"""

_LOOP = """
checked = 0
for rank in range(4):
    dist.init_process_group("fake", store=FakeStore(), rank=rank, world_size=4)
    mesh = init_device_mesh("cpu", (4,))
    for dtype in (torch.float32, torch.bfloat16):
        for placement in (Shard(0), Shard(1), Replicate()):
{check}
    dist.destroy_process_group()
print("checked", checked)
"""


def run_on_fake_ranks(setup: str, check: str) -> int:
    """Run ``setup`` once, then ``check`` for each rank, dtype (float32, bfloat16) and placement
    (``Shard(0)``, ``Shard(1)``, ``Replicate()``) with ``rank``, ``mesh``, ``dtype`` and
    ``placement`` bound; ``check`` counts its cases in ``checked``. Returns that count."""
    body = textwrap.indent(textwrap.dedent(check).strip("\n"), " " * 12)
    script = _PRELUDE + textwrap.dedent(setup) + _LOOP.format(check=body)
    src = Path(__file__).resolve().parents[1] / "src"
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(src)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return int(result.stdout.split("checked", 1)[1])
