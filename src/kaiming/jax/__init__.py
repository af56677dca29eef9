"""JAX/Flax adapter: kaiming's initializers as jax arrays and as Flax initializers.

Requires JAX (the ``kaiming[jax]`` extra, with Flax); ``import kaiming`` alone never imports it.

- ``kaiming.jax.he_normal(shape, key=...)`` and the rest of the family (``variance_scaling``,
  ``xavier_*``/``glorot_*``, ``lecun_*``, ``normal``, ``uniform``): jax arrays from the counter
  stream, bit for bit the NumPy family's values for the same key, eager, jitted or sharded;
  ``orthogonal`` too (its QR runs on the host, eager or jitted);
- ``kaiming.jax.initializers.he_normal(...)`` etc.: ``init(key, shape, dtype)`` initializers for
  ``flax.linen``/``flax.nnx`` ``kernel_init``; a JAX PRNG key maps to stream key words by
  ``stream_words`` (its two threefry words).

Layouts as in JAX and Keras: ``(*kernel, in, out)``; ``layout="torch"`` or the axis arguments
name other layouts.
"""

from __future__ import annotations

from . import initializers
from ._arrays import (
    he_normal,
    he_truncated_normal,
    he_uniform,
    lecun_normal,
    lecun_truncated_normal,
    lecun_uniform,
    normal,
    stream_words,
    uniform,
    variance_scaling,
    xavier_normal,
    xavier_truncated_normal,
    xavier_uniform,
)
from ._orthogonal import orthogonal

kaiming_normal = he_normal
kaiming_uniform = he_uniform
glorot_normal = xavier_normal
glorot_uniform = xavier_uniform

__all__ = [
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_truncated_normal",
    "he_uniform",
    "initializers",
    "kaiming_normal",
    "kaiming_uniform",
    "lecun_normal",
    "lecun_truncated_normal",
    "lecun_uniform",
    "normal",
    "orthogonal",
    "stream_words",
    "uniform",
    "variance_scaling",
    "xavier_normal",
    "xavier_truncated_normal",
    "xavier_uniform",
]
