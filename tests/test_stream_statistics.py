"""kaiming.stream: statistical quality of the counter-based normal, uniform and truncated normal.

Every check is a z-test at |z| <= 6 against the estimator's exact standard error (or a KS
p-value >= 1e-6). Each fails by chance with probability <= 2e-9 (KS: 1e-6); over the ~150
checks here the false-failure odds are below 2e-4. A wrong scale (a factor of sqrt(2)),
a missing Box-Muller half, or correlated neighbours is off by hundreds of standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from kaiming import stream

N = 1 << 22  # values per sample
Z = 6.0

REFERENCE = {
    "normal": stats.norm(),
    "uniform": stats.uniform(-1.0, 2.0),
    "truncated_normal": stats.truncnorm(-2.0, 2.0),
}


def _draw(dist: str, dtype: type, seed: int = 0, name: str = "stats", n: int = N) -> np.ndarray:
    return stream.sample(dist, n, stream.key(seed, name), dtype=dtype).astype(np.float64)  # type: ignore[arg-type]


@pytest.fixture(
    scope="module", params=[(d, t) for d in stream.STREAM_DISTRIBUTIONS for t in (np.float32, np.float64)]
)
def sample(request: pytest.FixtureRequest) -> tuple[str, np.ndarray]:
    dist, dtype = request.param
    return dist, _draw(dist, dtype)


def test_raw_moments_one_to_four(sample: tuple[str, np.ndarray]) -> None:
    dist, x = sample
    ref = REFERENCE[dist]
    for k in (1, 2, 3, 4):
        # the mean of x**k has standard error sqrt((E x^2k - (E x^k)^2) / n)
        se = math.sqrt((ref.moment(2 * k) - ref.moment(k) ** 2) / x.size)
        assert abs(np.mean(x**k) - ref.moment(k)) < Z * se, (dist, k)


def test_kolmogorov_smirnov(sample: tuple[str, np.ndarray]) -> None:
    dist, x = sample
    assert stats.kstest(x[: 1 << 20], REFERENCE[dist].cdf).pvalue > 1e-6


def test_support(sample: tuple[str, np.ndarray]) -> None:
    dist, x = sample
    if dist == "uniform":
        assert x.min() > -1.0 and x.max() < 1.0 and not np.any(x == 0.0)
    elif dist == "truncated_normal":
        assert x.min() >= -2.0 and x.max() <= 2.0
    assert np.all(np.isfinite(x))


def test_no_correlation_between_neighbours(sample: tuple[str, np.ndarray]) -> None:
    """Lags 1-3 stay inside a Philox block, 4 and 8 cross blocks; values and squares."""
    dist, x = sample
    x = x[: 1 << 21]
    for lag in (1, 2, 3, 4, 8):
        for v in (x, x * x):
            r = np.corrcoef(v[:-lag], v[lag:])[0, 1]
            assert abs(r) < Z / math.sqrt(x.size), (dist, lag)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tails_beyond_four_sigma(dtype: type) -> None:
    n = 1 << 24
    x = _draw("normal", dtype, name="tails", n=n)
    p = stats.norm.sf(4.0)  # 3.2e-5 per side: about 531 expected of each sign
    for count in (np.count_nonzero(x > 4.0), np.count_nonzero(x < -4.0)):
        assert abs(count - n * p) < Z * math.sqrt(n * p * (1 - p))
    p5 = 2 * stats.norm.sf(5.0)  # still populated past 5 sigma (about 10 values)
    assert abs(np.count_nonzero(np.abs(x) > 5.0) - n * p5) < Z * math.sqrt(n * p5) + 1


@pytest.mark.parametrize("dist", stream.STREAM_DISTRIBUTIONS)
def test_no_correlation_between_keys(dist: str) -> None:
    base = _draw(dist, np.float32, seed=0, name="a")
    for other in (_draw(dist, np.float32, seed=0, name="b"), _draw(dist, np.float32, seed=1, name="a")):
        assert abs(np.corrcoef(base, other)[0, 1]) < Z / math.sqrt(N)
        assert abs(np.corrcoef(base * base, other * other)[0, 1]) < Z / math.sqrt(N)


def test_a_wrong_scale_would_fail_these_tests() -> None:
    """The moment test's band is far tighter than a factor-of-sqrt(2) error."""
    x = _draw("normal", np.float32) * math.sqrt(2.0)
    se = math.sqrt((stats.norm.moment(4) - 1.0) / x.size)
    assert abs(np.mean(x**2) - 1.0) > 100 * Z * se
