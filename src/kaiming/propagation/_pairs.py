"""Mean pairwise correlation between the examples of a batch (internal).

For pre-activations ``z`` of shape ``(batch, width)`` (one row per input), the correlation of
inputs ``a`` and ``b`` over the layer's units is the cosine ``<z_a, z_b> / (|z_a| |z_b|)``, the
finite-width counterpart of the mean-field ``c_l`` (uncentred, so a shared bias counts, as in
the theory). The mean over all ``batch * (batch - 1)`` ordered pairs ``a != b`` is
``(|sum_a u_a|**2 - batch) / (batch * (batch - 1))`` with ``u_a = z_a / |z_a|``: two passes over
``z``, no ``batch x batch`` matrix.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

__all__ = ["mean_pairwise_correlation"]


def mean_pairwise_correlation(z: NDArray[np.floating]) -> float | None:
    """Mean cosine between distinct rows of ``z``; ``None`` for one row, a zero row or overflow.

    Example:
        >>> import numpy as np
        >>> z = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
        >>> round(mean_pairwise_correlation(z), 6)     # pairs: 1/sqrt(2), 1/sqrt(2), 0
        0.471405
    """
    batch = z.shape[0]
    if batch < 2:
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        norms = np.sqrt(np.einsum("ij,ij->i", z, z, dtype=np.float64))
        if not np.all(np.isfinite(norms)) or not np.all(norms > 0):
            return None
        total = np.asarray(z.T @ (1.0 / norms).astype(z.dtype), dtype=np.float64)
        value = (float(total @ total) - batch) / (batch * (batch - 1))
    return value if math.isfinite(value) else None


def correlate_inputs(
    x: NDArray[np.floating], corr: float, shared: NDArray[np.floating]
) -> NDArray[np.floating]:
    """``sqrt(1 - corr) * x + sqrt(corr) * shared`` (``shared``: one row, broadcast over the batch).

    The shared row is first rescaled to mean square exactly 1 (its own norm would otherwise shift
    every pair's correlation the same way, by about ``sqrt(2 / width)``). Each feature keeps unit
    variance and any two rows have correlation ``corr`` up to ``O(1 / sqrt(width))`` per pair.
    """
    shared = shared / shared.dtype.type(math.sqrt(float(np.mean(shared.astype(np.float64) ** 2))))
    mixed: NDArray[np.floating] = x * x.dtype.type(math.sqrt(1.0 - corr)) + shared * x.dtype.type(
        math.sqrt(corr)
    )
    return mixed
