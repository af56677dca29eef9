"""The ``torch`` method of the depth study: a real ``nn.Sequential`` measured by ``analyze``."""

from __future__ import annotations

from ._inits import INIT_SPECS, apply_init
from ._models import make_mlp
from ._profiles import DepthConfig, Profile
from ._seeds import GRADIENT, INPUTS, WEIGHTS, derive_seed
from ._train import torch_threads

__all__ = ["torch_profile"]


def torch_profile(init: str, activation: str, config: DepthConfig) -> Profile:
    """Build ``depth`` blocks ``Linear -> [BatchNorm1d] -> activation`` of ``width`` units (no
    output head, as in the probe), initialize them with ``init`` (seed ``config.seed``), and
    measure one unit-Gaussian batch with ``kaiming.torch.analyze`` in train mode.

    ``analyze`` without targets backpropagates ``sum(output * g)``, ``g ~ N(0, 1)``: a
    unit-variance output gradient, as in the probe. Forward ratio: the std of each layer's
    pre-activation (the BatchNorm output when there is one, as the probe reports it) over the
    input std. Backward ratio: the std of ``dL/d(Linear output)`` (before the normalization).
    """
    import torch

    from ..torch import analyze

    spec = INIT_SPECS[init]
    model = make_mlp(
        config.width, None, config.depth, config.width, activation=activation, batch_norm=spec.batch_norm
    )
    apply_init(model, init, seed=derive_seed(config.seed, WEIGHTS))
    generator = torch.Generator().manual_seed(derive_seed(config.seed, INPUTS))
    inputs = torch.randn(config.batch, config.width, generator=generator)

    with torch_threads(config.threads):
        report = analyze(model, inputs, train=True, seed=derive_seed(config.seed, GRADIENT))
    linears = [row for row in report.layers if row.module == "Linear"]
    forward_rows = (
        [row for row in report.layers if row.module == "BatchNorm1d"] if spec.batch_norm else linears
    )
    scale = report.input_std
    return Profile(
        "torch",
        tuple(row.pre_std / scale for row in forward_rows),
        tuple(float("nan") if row.grad_std is None else row.grad_std for row in linears),
    )
