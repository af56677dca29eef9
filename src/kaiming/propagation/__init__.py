"""Signal propagation through deep networks at initialization: simulation and theory.

``probe`` simulates a deep fully-connected network layer by layer (forward and backward);
``mean_field`` gives the mean-field theory's prediction for the same network. Both are
re-exported as ``kaiming.probe`` and ``kaiming.mean_field``.
"""

from __future__ import annotations

from ._inits import PROBE_ACTIVATIONS, PROBE_INITS
from ._records import LayerStats
from .correlation import DepthScales, correlation_map, depth_scales, fixed_point_q
from .jacobian import JacobianSpectrum, jacobian_spectrum
from .phase import PhaseDiagram, critical_sigma_w2, phase_diagram, phase_point
from .simulate import STREAMS, ProbeResult, probe
from .theory import GaussianMoments, MeanFieldLayer, gaussian_moments, mean_field

__all__ = [
    "PROBE_ACTIVATIONS",
    "PROBE_INITS",
    "STREAMS",
    "DepthScales",
    "GaussianMoments",
    "JacobianSpectrum",
    "LayerStats",
    "MeanFieldLayer",
    "PhaseDiagram",
    "ProbeResult",
    "correlation_map",
    "critical_sigma_w2",
    "depth_scales",
    "fixed_point_q",
    "gaussian_moments",
    "jacobian_spectrum",
    "mean_field",
    "phase_diagram",
    "phase_point",
    "probe",
]
