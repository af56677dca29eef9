"""Reference numbers computed independently of kaiming, shared by tests (tests/ is on sys.path)."""

from __future__ import annotations

from scipy import stats

TRUNC_STD = float(stats.truncnorm(-2.0, 2.0).std())
"""The std of N(0, 1) cut at +-2 (0.8796...), from SciPy: independent of kaiming's constant."""
