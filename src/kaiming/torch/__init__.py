"""PyTorch adapter: in-place tensor initializers, whole-model init and model analysis.

Requires ``torch`` (the ``kaiming[torch]`` extra); ``import kaiming`` alone never imports it.
All functions use torch's weight layout ``(out, in, *kernel)`` and take their randomness
explicitly (``generator=`` or ``seed=``), never from torch's global RNG.
"""

from __future__ import annotations

from ..gains import calculate_gain
from ._graph import Activation, TracingFallbackWarning
from ._plan import InitPlan, ParamRule, TiedParameterWarning
from ._tensors import (
    constant_,
    delta_orthogonal_,
    dirac_,
    eye_,
    glorot_normal_,
    glorot_uniform_,
    he_normal_,
    he_truncated_normal_,
    he_uniform_,
    identity_,
    kaiming_normal_,
    kaiming_uniform_,
    lecun_normal_,
    lecun_truncated_normal_,
    lecun_uniform_,
    make_generator,
    normal_,
    ones_,
    orthogonal_,
    sparse_,
    trunc_normal_,
    uniform_,
    variance_scaling_,
    xavier_normal_,
    xavier_truncated_normal_,
    xavier_uniform_,
    zeros_,
)
from .analyze import Analysis, LayerReport, analyze
from .distributed import init_sharded, local_index
from .model_init import SCHEMES, STREAMS, apply_rule, init_model, param_seed

__all__ = [
    "SCHEMES",
    "STREAMS",
    "Activation",
    "Analysis",
    "InitPlan",
    "LayerReport",
    "ParamRule",
    "TracingFallbackWarning",
    "analyze",
    "apply_rule",
    "constant_",
    "delta_orthogonal_",
    "dirac_",
    "eye_",
    "glorot_normal_",
    "glorot_uniform_",
    "he_normal_",
    "he_truncated_normal_",
    "he_uniform_",
    "identity_",
    "init_model",
    "init_sharded",
    "kaiming_normal_",
    "kaiming_uniform_",
    "lecun_normal_",
    "lecun_truncated_normal_",
    "lecun_uniform_",
    "local_index",
    "make_generator",
    "normal_",
    "ones_",
    "orthogonal_",
    "param_seed",
    "sparse_",
    "trunc_normal_",
    "uniform_",
    "variance_scaling_",
    "xavier_normal_",
    "xavier_truncated_normal_",
    "xavier_uniform_",
    "zeros_",
]

# --- Data-dependent and deep-net schemes (helper `torch-schemes`, issue 3) -------------------
# LSUV, Fixup, dead-ReLU repair and lottery-ticket sparse init; kept in one block to ease merging.
from .fixup import (
    FixupBlock,
    FixupBranch,
    FixupConvBlock,
    FixupParam,
    FixupReport,
    FixupResidualCNN,
    FixupResidualMLP,
    fixup_init_,
)
from .lsuv import LSUVLayer, LSUVReport, LSUVWarning, lsuv_
from .masks import MaskedLayer, SparseMasks, apply_mask_, random_mask, sparse_init_
from .repair import DeadUnitWarning, RepairedLayer, RepairReport, repair_dead_relus_

__all__ += [
    "DeadUnitWarning",
    "FixupBlock",
    "FixupBranch",
    "FixupConvBlock",
    "FixupParam",
    "FixupReport",
    "FixupResidualCNN",
    "FixupResidualMLP",
    "LSUVLayer",
    "LSUVReport",
    "LSUVWarning",
    "MaskedLayer",
    "RepairReport",
    "RepairedLayer",
    "SparseMasks",
    "apply_mask_",
    "fixup_init_",
    "lsuv_",
    "random_mask",
    "repair_dead_relus_",
    "sparse_init_",
]

__all__ += ["TiedParameterWarning", "calculate_gain"]  # calculate_gain: where torch users look for it

# --- Materialization: the model's own init recorded and replayed; the audit ------
from ._audit import InitializationError  # noqa: E402
from ._record import deferred_init  # noqa: E402

__all__ += ["InitializationError", "deferred_init"]
