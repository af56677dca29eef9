"""The data set of the convergence study: scikit-learn's bundled handwritten digits.

``load_digits`` ships inside scikit-learn (1,797 8x8 grey-level images, 10 classes), so nothing
is downloaded at run time. The split is fixed (stratified, ``split_seed``) and the inputs are
standardized with the *training* set's per-pixel mean and std (pixels constant on the training
set keep std 1), so the test set never leaks into the preprocessing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .._checks import check_fraction

__all__ = ["Dataset", "load_digits_split"]


@dataclass(frozen=True)
class Dataset:
    """A fixed train/test split with standardized float32 inputs and int64 labels."""

    name: str
    x_train: NDArray[np.float32]
    y_train: NDArray[np.int64]
    x_test: NDArray[np.float32]
    y_test: NDArray[np.int64]
    n_classes: int

    @property
    def n_features(self) -> int:
        """Number of input features (64 for the digits)."""
        return int(self.x_train.shape[1])


def load_digits_split(test_fraction: float = 0.2, split_seed: int = 0) -> Dataset:
    """Return the digits data set, split into train and test and standardized.

    Each input pixel is mapped to ``(x - mean_train) / std_train``.

    Example:
        >>> data = load_digits_split()
        >>> data.x_train.shape, data.x_test.shape, data.n_classes
        ((1437, 64), (360, 64), 10)
        >>> bool(abs(data.x_train.mean()) < 1e-6)
        True
    """
    fraction = check_fraction("test_fraction", test_fraction)
    if fraction == 0.0:
        raise ValueError("test_fraction must be in (0, 1), got 0.0")
    from sklearn.datasets import load_digits  # type: ignore[import-untyped]
    from sklearn.model_selection import train_test_split  # type: ignore[import-untyped]

    bunch = load_digits()
    x = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target, dtype=np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=fraction, random_state=split_seed, stratify=y
    )
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std[std == 0.0] = 1.0
    return Dataset(
        name="digits",
        x_train=((x_train - mean) / std).astype(np.float32),
        y_train=y_train,
        x_test=((x_test - mean) / std).astype(np.float32),
        y_test=y_test,
        n_classes=int(y.max()) + 1,
    )
