"""Keras 3 adapter: kaiming's initializers as Keras initializers, model init and analysis.

Requires Keras 3 (the ``kaiming[keras]`` extra) with the JAX or the torch backend: set
``KERAS_BACKEND=jax`` (or ``torch``) before Keras is first imported. ``import kaiming`` alone never
imports Keras.

The classes keep kaiming's names and meanings: ``HeNormal`` is the *untruncated* normal
(Keras' ``HeNormal`` is truncated: that is ``HeTruncatedNormal`` here); see ``docs/keras.md``
for the name-by-name mapping.
"""

from __future__ import annotations

try:
    import keras as _keras
except ModuleNotFoundError as exc:  # Keras 3 picks TensorFlow when KERAS_BACKEND is unset
    if exc.name == "tensorflow":
        raise ImportError(
            "kaiming.keras: Keras chose the TensorFlow backend (KERAS_BACKEND is unset) and TensorFlow "
            "is not installed; set KERAS_BACKEND=jax or KERAS_BACKEND=torch before importing"
        ) from exc
    raise

from ._analyze import Analysis, LayerReport, analyze
from ._initializers import (
    Constant,
    GlorotNormal,
    GlorotTruncatedNormal,
    GlorotUniform,
    HeNormal,
    HeTruncatedNormal,
    HeUniform,
    Identity,
    KaimingInitializer,
    LecunNormal,
    LecunTruncatedNormal,
    LecunUniform,
    Normal,
    Orthogonal,
    Uniform,
    VarianceScaling,
    XavierNormal,
    XavierTruncatedNormal,
    XavierUniform,
)
from ._model import SCHEMES, init_model

__all__ = [
    "SCHEMES",
    "Analysis",
    "Constant",
    "GlorotNormal",
    "GlorotTruncatedNormal",
    "GlorotUniform",
    "HeNormal",
    "HeTruncatedNormal",
    "HeUniform",
    "Identity",
    "KaimingInitializer",
    "LayerReport",
    "LecunNormal",
    "LecunTruncatedNormal",
    "LecunUniform",
    "Normal",
    "Orthogonal",
    "Uniform",
    "VarianceScaling",
    "XavierNormal",
    "XavierTruncatedNormal",
    "XavierUniform",
    "analyze",
    "init_model",
]

del _keras
