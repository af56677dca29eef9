"""Record a model's own initialization at the dispatch level, while it is built on ``meta``.

``deferred_init(fn, *args, **kwargs)`` runs ``fn`` under ``torch.device("meta")`` and a
``TorchDispatchMode`` that appends every ATen op touching a meta tensor to a tape (the idea of
torchdistx's ``deferred_init``): the construction ops (``empty``, ``arange``, ``pow``...), each
module's ``reset_parameters()``, and for a Hugging Face ``PreTrainedModel`` its
``initialize_weights()`` (``_init_weights``, which transformers skips on ``meta``, so it is
called here, still on ``meta``). Constants made from Python data (``torch.tensor([...])``) keep
their real values. The tape, with a snapshot of where each parameter and buffer lives, is kept
beside the model (a weak map: nothing is added to the model) and replayed per tensor by
``kaiming.torch._replay``.

A tensor is identified by its *signature*: the storage it lives in, its offset, sizes, strides
and dtype. Views need no op of their own: at replay every tensor argument is rebuilt with
``as_strided`` on the real storage, so aliasing and in-place writes through views replay exactly.
"""

from __future__ import annotations

import contextlib
import inspect
import textwrap
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten, tree_map

__all__ = ["Const", "Op", "Record", "Sig", "deferred_init", "record_of"]

M = TypeVar("M", bound=nn.Module)
aten = torch.ops.aten

#: In-place ops whose result does not depend on the mutated tensor's previous content.
FULL_WRITE = frozenset(
    {
        aten.normal_,
        aten.uniform_,
        aten.bernoulli_,
        aten.random_,
        aten.exponential_,
        aten.cauchy_,
        aten.log_normal_,
        aten.geometric_,
        aten.fill_,
        aten.zero_,
        aten.copy_,
    }
)  # fmt: skip  (and ``kaiming::trunc_normal_``, added below)

#: Creation ops whose values are never read (the storage is only allocated).
EMPTY = frozenset({aten.empty, aten.empty_strided, aten.empty_like, aten.new_empty, aten.new_empty_strided})

_CONSTANT_FUNCTIONS = (torch.tensor, torch.as_tensor, torch.asarray, torch.Tensor.new_tensor)

#: ``torch.nn.init`` functions that return at once on a meta tensor (``if tensor.is_meta``):
#: while recording they run a copy without that test, so their ops are recorded like any other.
_GUARDED = ("dirac_", "orthogonal_", "sparse_")

# ``trunc_normal_`` samples by rejection (a data-dependent loop): it is recorded as one random op
# of its own, ``kaiming::trunc_normal_``, which the replay serves from the counter stream.
_torch_trunc_normal = torch.nn.init._no_grad_trunc_normal_


def _trunc_normal_kernel(tensor: torch.Tensor, mean: float, std: float, a: float, b: float) -> None:
    if not tensor.is_meta:
        _torch_trunc_normal(tensor, mean, std, a, b)


_LIBRARY = torch.library.Library("kaiming", "FRAGMENT")  # type: ignore[no-untyped-call]
if not hasattr(torch.ops.kaiming, "trunc_normal_"):  # once per process, however often imported
    _LIBRARY.define(  # type: ignore[no-untyped-call]
        "trunc_normal_(Tensor(a!) self, float mean, float std, float a, float b) -> ()",
        tags=(torch.Tag.nondeterministic_seeded,),
    )
    _LIBRARY.impl("trunc_normal_", _trunc_normal_kernel, "CompositeExplicitAutograd")  # type: ignore[no-untyped-call]
TRUNC_NORMAL = torch.ops.kaiming.trunc_normal_
FULL_WRITE = FULL_WRITE | {TRUNC_NORMAL}


def _recorded_trunc_normal(
    tensor: torch.Tensor, mean: float, std: float, a: float, b: float, generator: Any = None
) -> torch.Tensor:
    if not tensor.is_meta:
        return _torch_trunc_normal(tensor, mean, std, a, b, generator=generator)
    TRUNC_NORMAL(tensor, float(mean), float(std), float(a), float(b))
    return tensor


@contextlib.contextmanager
def _init_functions_on_meta() -> Iterator[None]:
    """While recording: ``trunc_normal_`` becomes one recordable op, and the ``_GUARDED``
    functions run their ops on meta. Their code is swapped (so every reference to them, e.g.
    transformers' saved copies, sees it) for their own source with ``tensor.is_meta`` read as
    False; everything is restored on exit."""
    saved = []
    init = torch.nn.init
    try:
        init._no_grad_trunc_normal_ = _recorded_trunc_normal
        for name in _GUARDED:
            func = getattr(init, name)
            source = textwrap.dedent(inspect.getsource(func))
            if "tensor.is_meta" not in source:
                continue
            namespace: dict[str, Any] = {}
            code = compile(source.replace("tensor.is_meta", "False"), f"<kaiming: {name}>", "exec")
            exec(code, func.__globals__, namespace)  # torch's own source, one test removed
            saved.append((func, func.__code__))
            func.__code__ = namespace[name].__code__
        yield
    finally:
        init._no_grad_trunc_normal_ = _torch_trunc_normal
        for func, code in saved:
            func.__code__ = code


@dataclass(frozen=True)
class Sig:
    """Where a tensor lives: storage id, storage offset, sizes, strides, dtype."""

    storage: int
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]
    dtype: torch.dtype

    @staticmethod
    def of(tensor: torch.Tensor) -> Sig:
        return Sig(
            _storage_id(tensor),
            int(tensor.storage_offset()),
            tuple(tensor.shape),
            tuple(tensor.stride()),
            tensor.dtype,
        )


@dataclass(frozen=True)
class Const:
    """A real (non-meta) tensor argument, kept by value."""

    value: torch.Tensor


@dataclass
class Op:
    """One recorded ATen call: arguments as pytrees of ``Sig``/``Const``/plain values."""

    index: int
    func: Any  # torch._ops.OpOverload, or None for a constant
    args: Any
    kwargs: Any
    outs: list[Sig]
    writes: frozenset[int]
    reads: frozenset[int]
    kills: frozenset[int]
    random: bool
    mutated: list[Sig] = field(default_factory=list)
    constant: torch.Tensor | None = None


def _storage_id(tensor: torch.Tensor) -> int:
    return int(tensor.untyped_storage()._cdata)


def _covers(tensor: torch.Tensor) -> bool:
    """Whether ``tensor`` spans its whole storage densely (a write to it rewrites the storage)."""
    return (
        tensor.is_contiguous()
        and tensor.storage_offset() == 0
        and tensor.numel() * tensor.element_size() == tensor.untyped_storage().nbytes()
    )


class Record:
    """The tape of one model's construction and the snapshot of its parameters and buffers."""

    def __init__(self) -> None:
        self.ops: list[Op] = []
        self.creator: dict[int, int] = {}  # storage -> index of the op that created it
        self.nbytes: dict[int, int] = {}
        self.tensors: dict[str, Sig] = {}  # every parameter/buffer name (ties included) -> Sig
        self.owner: dict[int, str] = {}  # storage -> first name of the model tensor living there
        self._keep: list[torch.Tensor] = []  # meta tensors stay alive: storage ids stay unique

    # ---- recording

    def _sig(self, tensor: torch.Tensor) -> Sig | Const:
        if not tensor.is_meta:
            return Const(tensor.detach().clone())
        self._keep.append(tensor)
        sig = Sig.of(tensor)
        self.nbytes.setdefault(sig.storage, tensor.untyped_storage().nbytes())
        return sig

    def add(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> None:
        inputs = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
        outputs = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
        if not any(t.is_meta for t in (*inputs, *outputs)):
            return
        if func.is_view:  # rebuilt from the signature at replay
            for t in outputs:
                self._sig(t)
            return
        mutated = _mutated_args(func, args, kwargs)
        in_storages = {_storage_id(t) for t in inputs if t.is_meta}
        mutated_storages = {_storage_id(t) for t in mutated}
        fresh = {_storage_id(t) for t in outputs if t.is_meta} - in_storages
        full = func.overloadpacket in FULL_WRITE and not (func is aten.copy_.default and _aliases(args))
        killed = {_storage_id(t) for t in mutated if full and _covers(t)}
        reads = (in_storages - mutated_storages) | (mutated_storages - killed)
        if func.overloadpacket is aten.copy_:
            reads |= {_storage_id(args[1])} if args[1].is_meta else set()
        op = Op(
            index=len(self.ops),
            func=func,
            args=tree_map(lambda a: self._sig(a) if isinstance(a, torch.Tensor) else a, args),
            kwargs=tree_map(lambda a: self._sig(a) if isinstance(a, torch.Tensor) else a, kwargs),
            outs=[Sig.of(t) for t in outputs if t.is_meta],
            writes=frozenset(mutated_storages | fresh),
            reads=frozenset(reads),
            kills=frozenset(killed | fresh),
            random=torch.Tag.nondeterministic_seeded in func.tags,
            mutated=[Sig.of(t) for t in mutated],
        )
        for t in outputs:
            if t.is_meta:
                self._sig(t)
        for storage in fresh:
            self.creator[storage] = op.index
        self.ops.append(op)

    def add_constant(self, meta: torch.Tensor, value: torch.Tensor) -> None:
        """``meta`` was made from Python data whose real value is ``value``."""
        sig = self._sig(meta)
        assert isinstance(sig, Sig)
        made = frozenset({sig.storage})
        op = Op(
            len(self.ops),
            None,
            (),
            {},
            [sig],
            made,
            frozenset(),
            made,
            False,
            constant=value.detach().clone(),
        )  # a tensor made from Python data
        self.creator[sig.storage] = op.index
        self.ops.append(op)

    def snapshot(self, model: nn.Module) -> None:
        """Remember where every parameter and buffer of the built ``model`` lives."""
        named = [
            *model.named_parameters(remove_duplicate=False),
            *model.named_buffers(remove_duplicate=False),
        ]
        for name, tensor in named:
            if tensor.is_meta:
                sig = self._sig(tensor)
                assert isinstance(sig, Sig)
                self.tensors[name] = sig
                self.owner.setdefault(sig.storage, name)

    # ---- queries used by the replay

    def random_name(self, op: Op, storage: int) -> str:
        """The stream name of random op ``op`` writing ``storage``: the owning tensor's name, or
        ``name#k`` when it is the k-th random op since the last op that overwrote the whole
        tensor (earlier, dead draws such as ``reset_parameters``' do not count); ``~<op index>``
        for a temporary."""
        name = self.owner.get(storage)
        if name is None:
            return f"~{op.index}"
        rank = 0
        for previous in reversed(self.ops[: op.index] if storage not in op.kills else []):
            if storage in previous.kills:
                break
            rank += previous.random and storage in previous.writes
        return name if rank == 0 else f"{name}#{rank}"

    def slice_for(self, storage: int, seeded: bool) -> list[Op]:
        """The ops needed to compute ``storage``'s final content, in tape order (backward liveness:
        an op is kept if it writes a live storage; a full overwrite ends the storage's liveness).
        Creators of every storage the kept ops touch are kept too (allocation), except the
        target's when ``seeded`` (its memory is provided)."""
        live = {storage}
        kept: set[int] = set()
        for op in reversed(self.ops):
            if op.writes & live:
                kept.add(op.index)
                if (
                    storage in op.kills
                    and storage in live
                    and op.func is not None
                    and op.func.overloadpacket in EMPTY
                ):
                    raise ValueError("its recorded initialization leaves (part of) it unwritten")
                live = (live - op.kills) | set(op.reads)
        touched: set[int] = set()
        for index in kept:
            op = self.ops[index]
            touched |= op.writes | op.reads
        for s in touched:
            if s == storage and seeded:
                continue
            if s in self.creator:
                kept.add(self.creator[s])
        return [self.ops[i] for i in sorted(kept)]


def _aliases(args: tuple[Any, ...]) -> bool:
    """``copy_(a, b)`` where b shares a's storage (not a full overwrite: it reads a)."""
    return (
        len(args) > 1
        and isinstance(args[1], torch.Tensor)
        and args[1].is_meta
        and _storage_id(args[1]) == _storage_id(args[0])
    )


def _mutated_args(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[torch.Tensor]:
    """The tensor arguments ``func``'s schema marks as written (``Tensor(a!)``)."""
    out: list[torch.Tensor] = []
    for i, arg in enumerate(func._schema.arguments):
        if arg.alias_info is None or not arg.alias_info.is_write:
            continue
        value = args[i] if i < len(args) else kwargs.get(arg.name)
        values = value if isinstance(value, (list, tuple)) else [value]
        out += [v for v in values if isinstance(v, torch.Tensor) and v.is_meta]
    return out


class _Recorder(TorchDispatchMode):  # type: ignore[no-untyped-call]
    def __init__(self, record: Record) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.record = record

    def __torch_dispatch__(
        self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
    ) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        self.record.add(func, args, kwargs, out)
        return out


class _Constants(TorchFunctionMode):
    """Keeps the real value of tensors made from Python data on ``meta`` (``torch.tensor``)."""

    def __init__(self, record: Record) -> None:
        super().__init__()
        self.record = record

    def __torch_function__(
        self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
    ) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if func in _CONSTANT_FUNCTIONS and isinstance(out, torch.Tensor) and out.is_meta:
            with torch.device("cpu"):
                value = func(*args, **{**kwargs, "device": "cpu"})
            self.record.add_constant(out, value)
        return out


_RECORDS: weakref.WeakKeyDictionary[nn.Module, Record] = weakref.WeakKeyDictionary()


def _is_transformers_model(model: nn.Module) -> bool:
    return any(
        c.__name__ == "PreTrainedModel" and c.__module__.startswith("transformers.")
        for c in type(model).__mro__
    )


def deferred_init(fn: Callable[..., M], *args: Any, **kwargs: Any) -> M:
    """Build ``fn(*args, **kwargs)`` on the ``meta`` device and record its own initialization.

    Every ATen op of the construction is recorded (module constructors, their
    ``reset_parameters()``, buffers computed in ``__init__`` such as rotary ``inv_freq``, and for
    a Hugging Face ``PreTrainedModel`` its ``initialize_weights()``, which transformers skips on
    ``meta`` and which is therefore run here, still on ``meta``). Nothing is allocated.
    ``init_model(model, "own", stream="counter")`` then materializes the model and replays that
    record per tensor, every random op drawn from the counter stream keyed by the tensor's name;
    with any other scheme, the tensors the scheme does not cover are replayed the same way.

    The record is only as good as what ``fn`` does: tensors created before ``fn`` runs, or
    attached to the model afterwards, are not in it (``init_model`` then raises naming them).
    While ``fn`` runs, ``torch.nn.init``'s ``trunc_normal_``, ``orthogonal_``, ``sparse_`` and
    ``dirac_`` (which skip meta tensors) are patched process-wide and restored on return: do not
    build other models in other threads meanwhile.

    Example:
        >>> from torch import nn
        >>> from kaiming.torch import deferred_init, init_model
        >>> net = deferred_init(lambda: nn.Sequential(nn.PReLU(), nn.Linear(4, 8), nn.LSTM(8, 8)))
        >>> net[0].weight.is_meta
        True
        >>> plan = init_model(net, "own", stream="counter", seed=0)
        >>> float(net[0].weight[0])          # PReLU's own init: 0.25
        0.25
    """
    if not callable(fn) or isinstance(fn, nn.Module):
        raise TypeError(
            f"fn must be a callable that builds an nn.Module (a class or a function), got {type(fn).__name__}"
        )
    record = Record()
    with _init_functions_on_meta(), torch.device("meta"), _Constants(record), _Recorder(record):
        model = fn(*args, **kwargs)
        if not isinstance(model, nn.Module):
            raise TypeError(f"fn must return a torch.nn.Module, got {type(model).__name__}")
        if _is_transformers_model(model):
            model.initialize_weights()  # type: ignore[operator]
    record.snapshot(model)
    _RECORDS[model] = record
    return model


def record_of(model: nn.Module) -> Record | None:
    """The construction record of a model built by ``deferred_init`` (None otherwise)."""
    return _RECORDS.get(model)
