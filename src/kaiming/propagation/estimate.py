"""``chi_1`` and ``xi_c`` measured on a simulated network, beside the theory's values.

From one ``kaiming.probe`` result (square layers, no batch norm, backward pass on):

- ``chi_1``: the per-layer growth of the backpropagated gradient variance,
  ``Var[dL/dz_l] / Var[dL/dz_{l+1}] = sigma_w2 * E[phi'(z_l)**2]``, as the geometric mean of
  ``(grad_std_l / grad_std_{l+1})**2`` over layers ``first..depth-1`` (after the variance has
  settled near ``q*``).
- ``xi_c``: correlations approach their fixed point as ``|c_l - c*| ~ exp(-l / xi_c)``; the
  least-squares slope of ``log|pre_corr_l - c*|`` over layers ``l >= first`` where the gap is
  above ``floor`` gives ``xi_c = -1 / slope``. ``c*`` is the theory's (1 in the ordered phase,
  where it is also exactly fixed at finite width: identical inputs stay identical), so the
  estimate is cleanest in the ordered phase; in the chaotic phase the finite-width ``c*`` differs
  from the wide-limit one by ``O(1/sqrt(width))``, which bends the fit where the gap gets small.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .._checks import check_positive_int, check_real
from .._json import jsonable
from .correlation import depth_scales
from .phase import phase_point

if TYPE_CHECKING:
    from .simulate import ProbeResult

__all__ = ["MeasuredScales", "measure_depth_scales"]


@dataclass(frozen=True)
class MeasuredScales:
    """Measured ``chi_1``/``xi_c`` of one probe run, the theory's values and the layers used.

    ``theory_xi_c`` is the asymptotic ``-1/ln chi_c``; ``theory_fit_xi_c`` is the same fit as the
    measurement applied to the theory's own ``c_l`` over the same layers (what an infinitely wide
    network would give for this depth range and starting correlation).
    """

    chi_1: float
    xi_c: float
    theory_chi_1: float
    theory_xi_c: float
    theory_fit_xi_c: float
    c_star: float
    chi_layers: tuple[int, int]
    corr_layers: tuple[int, int]

    @property
    def chi_1_error(self) -> float:
        """``|measured / theory - 1|`` for ``chi_1``."""
        return abs(self.chi_1 / self.theory_chi_1 - 1.0)

    @property
    def xi_c_error(self) -> float:
        """``|measured / theory - 1|`` for ``xi_c``."""
        return abs(self.xi_c / self.theory_xi_c - 1.0)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        result = jsonable(asdict(self))
        assert isinstance(result, dict)
        return result


def measure_depth_scales(result: ProbeResult, *, first: int = 5, floor: float = 1e-5) -> MeasuredScales:
    """Estimate ``chi_1`` and ``xi_c`` from a probe run and put the theory's values beside them.

    ``chi_1 = geomean_l (grad_std_l / grad_std_{l+1})**2`` for ``l = first..depth-1``;
    ``xi_c = -1 / slope`` of ``log|pre_corr_l - c*|`` against ``l`` (``l >= first``, gap > ``floor``).

    Example:
        >>> from kaiming import probe
        >>> res = probe("random", "tanh", depth=30, width=512, batch=32, std=(1.3 / 512) ** 0.5,
        ...             bias_std=0.05 ** 0.5, input_corr=0.9)
        >>> m = measure_depth_scales(res, first=8)
        >>> round(m.theory_chi_1, 3), round(m.theory_xi_c, 2), m.chi_1_error < 0.05, m.xi_c_error < 0.25
        (0.88, 7.83, True, True)

    Raises:
        ValueError: a run with batch norm, unequal widths, no backward pass or no theory; too few
            layers above ``floor`` to fit.
    """
    first = check_positive_int("first", first)
    floor = check_real("floor", floor)
    config = result.config
    widths = config["widths"]
    if config["batch_norm"] or len(set(widths)) != 1:
        raise ValueError("measure_depth_scales needs square layers without batch norm")
    layers = result.layers
    depth = len(layers)
    if depth < first + 3:
        raise ValueError(f"first={first} leaves fewer than 3 layers of depth={depth} to fit")
    grads = [s.grad_std for s in layers]
    if any(g is None for g in grads):
        raise ValueError("measure_depth_scales needs the backward pass (probe(..., backward=True))")
    sw, sb = phase_point(
        config["init"],
        config["activation"],
        width=widths[0],
        bias_std=config["bias_std"],
        activation_param=config["activation_param"] if config["activation"] in _PARAM_ACTS else None,
        mode=config["mode"],
        std=config["std"],
        gain=config["gain"] if config["init"] != "random" else None,
    )
    theory = depth_scales(
        config["activation"],
        sw,
        sb,
        activation_param=config["activation_param"] if config["activation"] in _PARAM_ACTS else None,
    )
    ratios = [math.log((grads[i] / grads[i + 1]) ** 2) for i in range(first - 1, depth - 1)]  # type: ignore[operator]
    chi_1 = math.exp(float(np.mean(ratios)))
    points = [
        (s.layer, math.log(abs(s.pre_corr - theory.c_star)))
        for s in layers[first - 1 :]
        if s.pre_corr is not None and abs(s.pre_corr - theory.c_star) > floor
    ]
    if len(points) < 3:
        raise ValueError(
            f"only {len(points)} layers from layer {first} have |pre_corr - c*| > floor={floor}; "
            "start from a lower input_corr or lower first"
        )
    x = np.array([p[0] for p in points], dtype=np.float64)
    used = set(x.astype(int).tolist())
    xi_c = _fit(points)
    theory_points = [
        (s.layer, math.log(abs(s.theory_pre_corr - theory.c_star)))
        for s in layers
        if s.layer in used and s.theory_pre_corr is not None and abs(s.theory_pre_corr - theory.c_star) > 0
    ]
    theory_fit = _fit(theory_points) if len(theory_points) >= 3 else math.nan
    return MeasuredScales(
        chi_1,
        xi_c,
        theory.chi_1,
        theory.xi_c,
        theory_fit,
        theory.c_star,
        (first, depth - 1),
        (int(x[0]), int(x[-1])),
    )


def _fit(points: list[tuple[int, float]]) -> float:
    x = np.array([p[0] for p in points], dtype=np.float64)
    y = np.array([p[1] for p in points], dtype=np.float64)
    slope = float(np.polyfit(x, y, 1)[0])
    return -1.0 / slope if slope < 0 else math.inf


_PARAM_ACTS = ("leaky_relu", "prelu", "elu", "softplus")
