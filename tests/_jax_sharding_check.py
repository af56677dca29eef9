"""Run by tests/test_jax.py in a process with XLA_FLAGS=--xla_force_host_platform_device_count=4.

For several shardings of a (2, 2) CPU mesh: the jitted, sharded ``kaiming.jax`` result equals the
single-device result and the NumPy result bit for bit, each device holds only its shard, and the
compiled (SPMD-partitioned) program has no array larger than one shard: each device computes only
its own part. Prints one "ok ..." line per case; any failure raises.
"""

from __future__ import annotations

import re

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

import kaiming
import kaiming.jax as kj

SHAPE = (128, 96)
KEY = kaiming.stream.key(0, "encoder.weight")
_ARRAY = re.compile(r"\b(?:u32|s32|f32|f16|bf16|pred)\[([\d,]*)\]")


def largest_array(hlo: str) -> int:
    """Elements of the largest array in a compiled HLO module's text."""
    return max(int(np.prod([int(d) for d in dims.split(",") if d])) for dims in _ARRAY.findall(hlo))


def check(mesh: Mesh, spec: P, draw: object, reference: np.ndarray, out_shardings: bool = False) -> None:
    """``draw(sharding)`` under jit, or with ``out_shardings``: ``draw(None)`` under
    ``jax.jit(..., out_shardings=sharding)``, left to XLA's partitioner."""
    sharding = NamedSharding(mesh, spec)
    if out_shardings:
        fn = jax.jit(lambda: draw(None), out_shardings=sharding)  # type: ignore[operator]
    else:
        fn = jax.jit(lambda: draw(sharding))  # type: ignore[operator]
    out = fn()
    single = np.asarray(jax.jit(lambda: draw(None))())  # type: ignore[operator]
    assert np.array_equal(single, reference), "single-device result differs from NumPy"
    assert np.array_equal(np.asarray(out), reference), f"{spec}: sharded result differs from NumPy"
    assert out.sharding.is_equivalent_to(sharding, len(SHAPE)), f"{spec}: output sharding {out.sharding}"
    shard = sharding.shard_shape(SHAPE)
    for piece in out.addressable_shards:
        assert piece.data.shape == shard, f"{spec}: device holds {piece.data.shape}, not its shard {shard}"
        assert np.array_equal(np.asarray(piece.data), reference[piece.index])
    biggest = largest_array(fn.lower().compile().as_text())
    assert biggest <= int(np.prod(shard)), f"{spec}: compiled program has an array of {biggest} > shard"
    how = "jit(out_shardings)" if out_shardings else "sharding="
    print(f"ok {how} {spec} shard={shard} largest compiled array={biggest}")


def main() -> None:
    assert jax.device_count() == 4, f"expected 4 CPU devices, got {jax.devices()}"
    mesh = Mesh(np.array(jax.devices()).reshape(2, 2), ("a", "b"))
    he = kaiming.he_normal(SHAPE, key=KEY, dtype=np.float32)
    for spec in (P("a", "b"), P(None, ("a", "b")), P(("b", "a"))):
        check(mesh, spec, lambda s: kj.he_normal(SHAPE, key=KEY, sharding=s), he)
    uni = kaiming.uniform(SHAPE, -0.5, 1.5, key=KEY, dtype=np.float32)
    check(mesh, P("b", "a"), lambda s: kj.uniform(SHAPE, -0.5, 1.5, key=KEY, sharding=s), uni)
    for spec in (P("a", "b"), P(None, ("a", "b"))):
        check(mesh, spec, lambda s: kj.he_normal(SHAPE, key=KEY, sharding=s), he, out_shardings=True)


if __name__ == "__main__":
    main()
