"""kaiming: neural-network weight initialization, built around He/Kaiming initialization.

``import kaiming`` needs NumPy alone; the PyTorch adapter lives in ``kaiming.torch``.
"""

from __future__ import annotations

from . import stream
from .fans import LAYOUTS, Layout, compute_fans, fans_by_axis
from .gains import NONLINEARITIES, calculate_gain
from .initializers import (
    DISTRIBUTIONS,
    MODES,
    TRUNCATED_NORMAL_STD,
    Distribution,
    Initializer,
    Mode,
    glorot_normal,
    glorot_uniform,
    he_init,
    he_normal,
    he_truncated_normal,
    he_uniform,
    kaiming_normal,
    kaiming_uniform,
    lecun_normal,
    lecun_truncated_normal,
    lecun_uniform,
    variance_scaling,
    xavier_normal,
    xavier_truncated_normal,
    xavier_uniform,
)
from .plain import normal, uniform
from .propagation import (
    PROBE_ACTIVATIONS,
    PROBE_INITS,
    GaussianMoments,
    LayerStats,
    MeanFieldLayer,
    ProbeResult,
    gaussian_moments,
    mean_field,
    probe,
)
from .registry import INITIALIZER_NAMES, get_initializer
from .structured import constant, delta_orthogonal, dirac, identity, ones, orthogonal, sparse, zeros

__version__ = "0.1.0"

__all__ = [
    "DISTRIBUTIONS",
    "INITIALIZER_NAMES",
    "LAYOUTS",
    "MODES",
    "NONLINEARITIES",
    "PROBE_ACTIVATIONS",
    "PROBE_INITS",
    "TRUNCATED_NORMAL_STD",
    "Distribution",
    "GaussianMoments",
    "Initializer",
    "LayerStats",
    "Layout",
    "MeanFieldLayer",
    "Mode",
    "ProbeResult",
    "__version__",
    "calculate_gain",
    "compute_fans",
    "constant",
    "delta_orthogonal",
    "dirac",
    "fans_by_axis",
    "gaussian_moments",
    "get_initializer",
    "glorot_normal",
    "glorot_uniform",
    "he_init",
    "he_normal",
    "he_truncated_normal",
    "he_uniform",
    "identity",
    "kaiming_normal",
    "kaiming_uniform",
    "lecun_normal",
    "lecun_truncated_normal",
    "lecun_uniform",
    "mean_field",
    "normal",
    "ones",
    "orthogonal",
    "probe",
    "sparse",
    "stream",
    "uniform",
    "variance_scaling",
    "xavier_normal",
    "xavier_truncated_normal",
    "xavier_uniform",
    "zeros",
]
