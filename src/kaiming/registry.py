"""Look up initializers by name (for the probe, the CLI and the explorer)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from . import initializers as _vs
from . import structured as _st
from ._checks import check_choice

__all__ = ["INITIALIZER_NAMES", "get_initializer"]

_BY_NAME: dict[str, Callable[..., NDArray[np.floating]]] = {
    "he_normal": _vs.he_normal,
    "he_uniform": _vs.he_uniform,
    "he_truncated_normal": _vs.he_truncated_normal,
    "kaiming_normal": _vs.he_normal,
    "kaiming_uniform": _vs.he_uniform,
    "xavier_normal": _vs.xavier_normal,
    "xavier_uniform": _vs.xavier_uniform,
    "xavier_truncated_normal": _vs.xavier_truncated_normal,
    "glorot_normal": _vs.xavier_normal,
    "glorot_uniform": _vs.xavier_uniform,
    "lecun_normal": _vs.lecun_normal,
    "lecun_uniform": _vs.lecun_uniform,
    "lecun_truncated_normal": _vs.lecun_truncated_normal,
    "orthogonal": _st.orthogonal,
}

INITIALIZER_NAMES: tuple[str, ...] = tuple(_BY_NAME)


def get_initializer(name: str) -> Callable[..., NDArray[np.floating]]:
    """Return the random NumPy initializer called ``name`` (see ``INITIALIZER_NAMES``).

    Example:
        >>> get_initializer("glorot_uniform") is get_initializer("xavier_uniform")
        True
    """
    return _BY_NAME[check_choice("initializer name", name, INITIALIZER_NAMES)]
