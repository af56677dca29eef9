"""kaiming's initializer family as ``keras.initializers.Initializer`` subclasses.

Each class computes its values with the NumPy function of the same name (``HeNormal`` ->
``kaiming.he_normal``) and hands them to Keras (``keras.ops.convert_to_tensor``), so the values
are the NumPy family's bit for bit. Randomness:

- ``key=kaiming.stream.key(seed, name)``, or ``seed=`` and ``name=`` together: the counter
  stream of that key (the same values in every process, framework and backend);
- ``seed=`` alone: ``numpy.random.default_rng(seed)``, the same values on every call;
- neither: fresh OS entropy on each call.

``order="torch"`` lays the stream out over the torch-layout shape ``(out, in, *kernel)`` and
moves the result to Keras' ``(*kernel, in, out)``: the kernel is then the transposed weight
that ``kaiming.torch`` draws from the same key (a PyTorch twin); ``"jax"`` (default) draws over
Keras' own shape, equal to ``kaiming.he_normal(shape, key=...)``. Fans are the same either way.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any, ClassVar

import keras
import numpy as np
from numpy.typing import NDArray

from .. import initializers as vs
from .. import plain, structured
from .._checks import check_choice
from .._rules import to_jax_layout
from ..stream import StreamKey
from ..stream import key as stream_key

__all__ = [
    "Constant",
    "GlorotNormal",
    "GlorotTruncatedNormal",
    "GlorotUniform",
    "HeNormal",
    "HeTruncatedNormal",
    "HeUniform",
    "Identity",
    "KaimingInitializer",
    "LecunNormal",
    "LecunTruncatedNormal",
    "LecunUniform",
    "Normal",
    "Orthogonal",
    "Uniform",
    "VarianceScaling",
    "XavierNormal",
    "XavierTruncatedNormal",
    "XavierUniform",
]

ORDERS = ("jax", "torch")
_NUMPY_DTYPES = ("float16", "float32", "float64")
_register = keras.saving.register_keras_serializable(package="kaiming")


class KaimingInitializer(keras.initializers.Initializer):  # type: ignore[misc]
    """Base class: randomness (``seed``/``name``/``key``), ``order``, dtype and serialization.

    Subclasses set ``_function`` (the NumPy initializer) and pass their own parameters to
    ``__init__``; ``get_config`` returns those and the randomness, so ``from_config`` and a
    saved ``.keras`` model rebuild the same initializer.
    """

    _function: ClassVar[Callable[..., NDArray[np.floating]]]
    _random: ClassVar[bool] = True
    _layout: ClassVar[bool] = True

    def __init__(
        self,
        seed: int | None = None,
        *,
        name: str | None = None,
        key: StreamKey | tuple[int, int] | list[int] | None = None,
        order: str = "jax",
        **params: Any,
    ) -> None:
        self.seed = seed
        self.name = name
        self.order = check_choice("order", order, ORDERS)
        self.params = params
        self.key = _check_key(key)
        if self.key is not None and (seed is not None or name is not None):
            raise ValueError(f"pass either key={self.key!r} or seed/name, not both")
        if name is not None:
            if not isinstance(name, str):
                raise TypeError(f"name must be a str (a parameter name), got {name!r}")
            if seed is None:
                raise ValueError(f"name={name!r} selects a stream under a seed: pass seed= too")
        if seed is not None:
            if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
                raise TypeError(f"seed must be an int >= 0 or None, got {seed!r}")
            if seed < 0:
                raise ValueError(f"seed must be an int >= 0 or None, got {seed!r}")
            self.seed = seed = int(seed)
        self._draw((2, 2), np.dtype(np.float32))  # validates the parameters now, not at build time

    def _randomness(self) -> dict[str, Any]:
        if not self._random:
            return {}
        if self.key is not None:
            return {"key": self.key}
        if self.name is not None:
            return {"key": stream_key(int(self.seed or 0), self.name)}
        return {"seed": self.seed}

    def _draw(self, shape: tuple[int, ...], dtype: np.dtype[Any]) -> NDArray[np.floating]:
        torch_order = self.order == "torch" and len(shape) >= 2
        draw_shape = (shape[-1], shape[-2], *shape[:-2]) if torch_order else shape
        extra: dict[str, Any] = {"layout": "torch" if torch_order else "jax"} if self._layout else {}
        values = type(self)._function(draw_shape, **self.params, **extra, **self._randomness(), dtype=dtype)
        return to_jax_layout(values) if torch_order else values

    def __call__(self, shape: Any, dtype: Any = None) -> Any:
        """The values for a variable of ``shape`` and Keras ``dtype`` (default: floatx)."""
        dims = tuple(int(d) for d in shape)
        name = keras.backend.standardize_dtype(dtype or keras.config.floatx())
        work = np.dtype(name) if name in _NUMPY_DTYPES else np.dtype(np.float32)
        values = np.ascontiguousarray(self._draw(dims, work))
        return keras.ops.convert_to_tensor(values, dtype=name)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, JSON-safe (a key as its two words)."""
        config = dict(self.params)
        if self._random:
            key = None if self.key is None else [self.key.k0, self.key.k1]
            config.update(seed=self.seed, name=self.name, key=key, order=self.order)
        return config

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if v is not None)
        return f"{type(self).__name__}({args})"


def _check_key(key: object) -> StreamKey | None:
    if key is None or isinstance(key, StreamKey):
        return key
    if isinstance(key, (list, tuple)) and len(key) == 2:
        return StreamKey(*key)
    raise TypeError(f"key must be a kaiming.stream.StreamKey or its two words [k0, k1], got {key!r}")


class _He(KaimingInitializer):
    def __init__(
        self,
        seed: int | None = None,
        *,
        a: float = 0.0,
        nonlinearity: str | None = None,
        mode: str = "fan_in",
        name: str | None = None,
        key: StreamKey | tuple[int, int] | list[int] | None = None,
        order: str = "jax",
    ) -> None:
        super().__init__(seed, name=name, key=key, order=order, a=a, nonlinearity=nonlinearity, mode=mode)


class _Gain(KaimingInitializer):
    def __init__(
        self,
        seed: int | None = None,
        *,
        gain: float = 1.0,
        name: str | None = None,
        key: StreamKey | tuple[int, int] | list[int] | None = None,
        order: str = "jax",
    ) -> None:
        super().__init__(seed, name=name, key=key, order=order, gain=gain)


@_register
class HeNormal(_He):
    """He/Kaiming **untruncated** normal, ``std = gain / sqrt(fan)`` (``kaiming.he_normal``).

    Keras' own ``keras.initializers.HeNormal`` is the *truncated* one: ``HeTruncatedNormal``.

    Example:
        >>> import kaiming
        >>> init = HeNormal(seed=0, name="dense/kernel")
        >>> w = keras.ops.convert_to_numpy(init((64, 32)))
        >>> bool(np.array_equal(w, kaiming.he_normal((64, 32), key=kaiming.stream.key(0, "dense/kernel"),
        ...                                          dtype=np.float32)))
        True
    """

    _function = staticmethod(vs.he_normal)


@_register
class HeUniform(_He):
    """He uniform, ``U(-b, b)``, ``b = gain * sqrt(3 / fan)`` (``kaiming.he_uniform``).

    Example:
        >>> w = keras.ops.convert_to_numpy(HeUniform(seed=1)((6, 4)))
        >>> bool(abs(w).max() <= 1.0)
        True
    """

    _function = staticmethod(vs.he_uniform)


@_register
class HeTruncatedNormal(_He):
    """He normal truncated at ±2 sigma and rescaled to ``std = gain / sqrt(fan)``
    (``kaiming.he_truncated_normal``; what Keras calls ``HeNormal``).

    Example:
        >>> w = keras.ops.convert_to_numpy(HeTruncatedNormal(seed=0)((256, 64)))
        >>> bool(abs(w).max() <= 2 * (2 / 256) ** 0.5 / 0.8796)
        True
    """

    _function = staticmethod(vs.he_truncated_normal)


@_register
class XavierNormal(_Gain):
    """Xavier/Glorot untruncated normal, ``std = gain * sqrt(2 / (fan_in + fan_out))``.

    Example:
        >>> XavierNormal(seed=0)((300, 100)).shape
        (300, 100)
    """

    _function = staticmethod(vs.xavier_normal)


@_register
class XavierUniform(_Gain):
    """Xavier/Glorot uniform, ``b = gain * sqrt(6 / (fan_in + fan_out))`` (= Keras' ``GlorotUniform``).

    Example:
        >>> w = keras.ops.convert_to_numpy(XavierUniform(seed=0)((300, 100)))
        >>> bool(abs(w).max() <= (6 / 400) ** 0.5)
        True
    """

    _function = staticmethod(vs.xavier_uniform)


@_register
class XavierTruncatedNormal(_Gain):
    """Xavier normal truncated at ±2 sigma, rescaled to ``std = gain * sqrt(2 / (fan_in + fan_out))``.

    Example:
        >>> XavierTruncatedNormal(seed=0)((30, 10)).shape
        (30, 10)
    """

    _function = staticmethod(vs.xavier_truncated_normal)


@_register
class LecunNormal(_Gain):
    """LeCun untruncated normal, ``std = gain / sqrt(fan_in)``.

    Example:
        >>> LecunNormal(seed=0)((40, 10)).shape
        (40, 10)
    """

    _function = staticmethod(vs.lecun_normal)


@_register
class LecunUniform(_Gain):
    """LeCun uniform, ``b = gain * sqrt(3 / fan_in)`` (= Keras' ``LecunUniform``).

    Example:
        >>> w = keras.ops.convert_to_numpy(LecunUniform(seed=0)((300, 100)))
        >>> bool(abs(w).max() <= 0.1)
        True
    """

    _function = staticmethod(vs.lecun_uniform)


@_register
class LecunTruncatedNormal(_Gain):
    """LeCun normal truncated at ±2 sigma, rescaled to ``std = gain / sqrt(fan_in)``.

    Example:
        >>> LecunTruncatedNormal(seed=0)((40, 10)).shape
        (40, 10)
    """

    _function = staticmethod(vs.lecun_truncated_normal)


@_register
class VarianceScaling(KaimingInitializer):
    """Variance ``scale / fan`` (``kaiming.variance_scaling``): ``distribution="normal"`` is the
    **untruncated** normal; truncation is ``"truncated_normal"`` (Keras' ``"normal"`` is truncated).

    Example:
        >>> VarianceScaling(2.0, "fan_avg", "uniform", seed=0)((8, 4)).shape
        (8, 4)
    """

    _function = staticmethod(vs.variance_scaling)

    def __init__(
        self,
        scale: float = 1.0,
        mode: str = "fan_in",
        distribution: str = "normal",
        seed: int | None = None,
        *,
        name: str | None = None,
        key: StreamKey | tuple[int, int] | list[int] | None = None,
        order: str = "jax",
    ) -> None:
        super().__init__(
            seed, name=name, key=key, order=order, scale=scale, mode=mode, distribution=distribution
        )


@_register
class Orthogonal(KaimingInitializer):
    """A (semi-)orthogonal matrix times ``gain`` (``kaiming.orthogonal``, rows = inputs).

    Example:
        >>> w = keras.ops.convert_to_numpy(Orthogonal(seed=0)((64, 32)))
        >>> bool(np.allclose(w.T @ w, np.eye(32), atol=1e-5))
        True
    """

    _function = staticmethod(structured.orthogonal)

    def __init__(
        self,
        gain: float = 1.0,
        seed: int | None = None,
        *,
        name: str | None = None,
        key: StreamKey | tuple[int, int] | list[int] | None = None,
        order: str = "jax",
    ) -> None:
        super().__init__(seed, name=name, key=key, order=order, gain=gain)


@_register
class Normal(KaimingInitializer):
    """``N(mean, std**2)`` (``kaiming.normal``; Keras' ``RandomNormal(mean, stddev)``).

    Example:
        >>> Normal(0.0, 0.02, seed=0)((4, 4)).shape
        (4, 4)
    """

    _function = staticmethod(plain.normal)
    _layout = False

    def __init__(
        self,
        mean: float = 0.0,
        std: float = 0.05,
        seed: int | None = None,
        *,
        name: str | None = None,
        key: StreamKey | tuple[int, int] | list[int] | None = None,
        order: str = "jax",
    ) -> None:
        super().__init__(seed, name=name, key=key, order=order, mean=mean, std=std)


@_register
class Uniform(KaimingInitializer):
    """``U(low, high)`` (``kaiming.uniform``; Keras' ``RandomUniform(minval, maxval)``).

    Example:
        >>> u = keras.ops.convert_to_numpy(Uniform(-0.05, 0.05, seed=0)((100,)))
        >>> bool(abs(u).max() <= 0.05)
        True
    """

    _function = staticmethod(plain.uniform)
    _layout = False

    def __init__(
        self,
        low: float = -0.05,
        high: float = 0.05,
        seed: int | None = None,
        *,
        name: str | None = None,
        key: StreamKey | tuple[int, int] | list[int] | None = None,
        order: str = "jax",
    ) -> None:
        super().__init__(seed, name=name, key=key, order=order, low=low, high=high)


@_register
class Identity(KaimingInitializer):
    """``gain`` times the identity matrix (``kaiming.identity``; 2-D shapes).

    Example:
        >>> keras.ops.convert_to_numpy(Identity(2.0)((2, 3)))[1]
        array([0., 2., 0.], dtype=float32)
    """

    _function = staticmethod(structured.identity)
    _random = False
    _layout = False

    def __init__(self, gain: float = 1.0) -> None:
        super().__init__(gain=gain)


@_register
class Constant(KaimingInitializer):
    """Every value ``value`` (``kaiming.constant``).

    Example:
        >>> keras.ops.convert_to_numpy(Constant(0.5)((2,)))
        array([0.5, 0.5], dtype=float32)
    """

    _function = staticmethod(structured.constant)
    _random = False
    _layout = False

    def __init__(self, value: float = 0.0) -> None:
        super().__init__(value=value)


GlorotNormal = XavierNormal
GlorotUniform = XavierUniform
GlorotTruncatedNormal = XavierTruncatedNormal
