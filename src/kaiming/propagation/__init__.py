"""Signal propagation through deep networks at initialization: simulation and theory.

``probe`` simulates a deep fully-connected network layer by layer (forward and backward);
``mean_field`` gives the mean-field theory's prediction for the same network. Both are
re-exported as ``kaiming.probe`` and ``kaiming.mean_field``.
"""

from __future__ import annotations

from ._inits import PROBE_ACTIVATIONS, PROBE_INITS
from ._records import LayerStats
from .simulate import ProbeResult, probe
from .theory import GaussianMoments, MeanFieldLayer, gaussian_moments, mean_field

__all__ = [
    "PROBE_ACTIVATIONS",
    "PROBE_INITS",
    "GaussianMoments",
    "LayerStats",
    "MeanFieldLayer",
    "ProbeResult",
    "gaussian_moments",
    "mean_field",
    "probe",
]
