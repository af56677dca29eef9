"""Replay a model's recorded initialization per tensor, random ops served by the counter stream.

For each tensor to initialize, ``Record.slice_for`` keeps only the recorded ops its final value
depends on (a full overwrite such as ``normal_`` makes every earlier write to that tensor dead:
``reset_parameters``' draws under a Hugging Face ``_init_weights`` are skipped). The kept ops run
on the real device. Every random op (``normal_``, ``uniform_``, ``bernoulli_``, ``random_``,
``exponential_``, ``randn``, ``rand``, ``randint``, ``randperm``, ``normal``; ``trunc_normal_`` and
the other ``torch.nn.init`` functions decompose into these) is *not* run: its values come from
``kaiming.stream`` keyed by ``(seed, name)``, ``name`` being the tensor's fully-qualified name
(``name#k`` for its k-th random op, ``~i`` for a temporary made by recorded op ``i``). Each value
depends on its global flat index only, so a DTensor shard is computed alone and equals the slice
of the one-process tensor bit for bit; the model's own distributions are kept (same op, same
mean/std/bounds), the random numbers are different ones.

A sharded (DTensor/FSDP2) tensor is replayed on its local shard when every recorded op that
touches it is a random op, ``fill_``/``zero_``/``copy_`` or an elementwise op (on the whole tensor
or on a view of it, such as an Embedding's padding row); otherwise the whole tensor is computed
and the shard copied out of it (same bits, full cost).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch
from torch.utils._pytree import tree_flatten, tree_map

from .. import stream
from ._audit import InitializationError, names_text
from ._counter import draw
from ._dtensor import is_dtensor, local_part
from ._keyed import Keyed
from ._record import EMPTY, TRUNC_NORMAL, Const, Op, Record, Sig
from ._truncated import truncated_normal_from

__all__ = ["fill_random_", "random_values", "replay_"]

aten = torch.ops.aten


class _CannotReplay(Exception):  # noqa: N818 - internal signal, turned into InitializationError
    pass


# --------------------------------------------------------------------------------------------
# random ops -> counter stream


def _bind(func: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The op's arguments by schema name (defaults filled in)."""
    bound: dict[str, Any] = {}
    for i, arg in enumerate(func._schema.arguments):
        if i < len(args):
            bound[arg.name] = args[i]
        elif arg.name in kwargs:
            bound[arg.name] = kwargs[arg.name]
        elif arg.has_default_value():
            bound[arg.name] = arg.default_value
    return bound


def random_values(
    func: Any,
    bound: Mapping[str, Any],
    shape: tuple[int, ...],
    dtype: torch.dtype,
    key: stream.StreamKey,
    index: tuple[slice, ...] | None = None,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """The values random op ``func`` (arguments ``bound``) gives ``full[index]`` of a ``shape``
    tensor, from the counter stream ``key`` (float32 working precision, float64 for float64).

    ``u`` is the stream's uniform on (-1, 1), ``z`` its standard normal; ``u01 = (u + 1) / 2``
    (at most the largest float below 1, which the rounding of ``u + 1`` would otherwise reach):
    ``normal_(mean, std)``: ``mean + std z``; ``uniform_(a, b)``: ``(a+b)/2 + (b-a)/2 u``;
    ``rand``: ``u01``; ``bernoulli(p)``: ``u01 < p``; ``random_(a, b)``/``randint``:
    ``a + floor(u01 (b - a))``; ``exponential_(l)``: ``-log(u01) / l``; ``randperm(n)``: the
    argsort of ``n`` uniforms.
    """
    packet = func.overloadpacket
    work = np.float64 if dtype == torch.float64 else np.float32

    def sample(distribution: str, scale: float = 1.0) -> torch.Tensor:
        return torch.from_numpy(draw(distribution, shape, key, scale=scale, index=index, dtype=work))

    def u01() -> torch.Tensor:  # on [0, 1) like torch.rand: (u + 1) / 2 rounds to 1 at u = 1 - 2**-24
        below_one = float(np.nextafter(work(1.0), work(0.0)))
        return ((sample("uniform") + 1.0) * 0.5).clamp_(max=below_one)

    if packet in (aten.normal_, aten.normal, aten.randn, aten.randn_like):
        mean, std = bound.get("mean", 0.0), bound.get("std", 1.0)
        if isinstance(mean, torch.Tensor) or isinstance(std, torch.Tensor):
            if index is not None:
                raise _CannotReplay(f"{func} with tensor mean/std on a shard")
            values = (
                sample("normal") * std.cpu()
                if isinstance(std, torch.Tensor)
                else sample("normal", float(std))
            )
            values = values + (mean.cpu() if isinstance(mean, torch.Tensor) else float(mean))
        else:
            values = sample("normal", float(std))
            if float(mean) != 0.0:
                values = values + float(mean)
    elif packet is aten.uniform_:
        low, high = float(bound["from"]), float(bound["to"])
        values = sample("uniform", (high - low) / 2.0) + (low + high) / 2.0
    elif packet in (aten.rand, aten.rand_like):
        values = u01()
    elif packet in (aten.bernoulli_, aten.bernoulli):
        p = bound.get("p", bound.get("self")) if packet is aten.bernoulli else bound.get("p", 0.5)
        if isinstance(p, torch.Tensor):
            if index is not None:
                raise _CannotReplay(f"{func} with tensor probabilities on a shard")
            p = p.cpu()
        values = (u01() < p).to(work_dtype(work))
    elif packet in (aten.random_, aten.randint, aten.randint_like):
        low = int(bound.get("from", bound.get("low", 0)) or 0)
        high = bound.get("to", bound.get("high"))
        if high is None:
            raise _CannotReplay(f"{func} without an upper bound")
        values = torch.floor(u01().double() * (int(high) - low)) + low
    elif packet is aten.exponential_:
        values = -torch.log(u01()) / float(bound.get("lambd", 1.0))
    elif packet is TRUNC_NORMAL:
        values = _truncated(bound, Keyed(key, shape, index), dtype, torch.device(device))
    elif packet is aten.randperm:
        if index is not None:
            raise _CannotReplay(f"{func} on a shard")
        values = torch.from_numpy(np.argsort(draw("uniform", shape, key, dtype=np.float64), kind="stable"))
    else:
        raise _CannotReplay(f"random op {func} has no counter-stream replay")
    return values.to(device=device, dtype=dtype)


def fill_random_(
    func: Any,
    bound: Mapping[str, Any],
    target: torch.Tensor,
    key: stream.StreamKey,
    index: tuple[slice, ...] | None = None,
    shape: tuple[int, ...] | None = None,
) -> None:
    """Write ``random_values`` into ``target`` (the part ``index`` of a ``shape`` tensor; the
    whole of ``target`` by default). ``normal_``/``uniform_`` are drawn straight into the
    tensor on its own device (``kaiming.torch.normal_``/``uniform_`` with the key: torch ops off
    the CPU, a NumPy view of its memory on it) with no host copy."""
    shape = tuple(target.shape) if shape is None else shape
    packet = func.overloadpacket
    if packet is aten.normal_:
        mean, std = float(bound.get("mean", 0.0)), float(bound.get("std", 1.0))
        Keyed(key, shape, index).affine_(target, "normal", std, mean)
    elif packet is aten.uniform_:
        low, high = float(bound["from"]), float(bound["to"])
        Keyed(key, shape, index).affine_(target, "uniform", (high - low) / 2.0, (low + high) / 2.0)
    else:
        target.copy_(random_values(func, bound, shape, target.dtype, key, index, target.device))


def _truncated(
    bound: Mapping[str, Any], keyed: Keyed, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    """``trunc_normal_(mean, std, a, b)`` of the part ``keyed.index`` of the keyed tensor: the
    tail-exact inverse CDF of ``kaiming.torch._truncated`` on the stream's uniforms, so every value
    lies strictly inside ``(a, b)`` and equals ``kaiming.torch.trunc_normal_(..., key=key)``."""
    mean, std, a, b = (float(bound[k]) for k in ("mean", "std", "a", "b"))
    whole = tuple(slice(0, n) for n in keyed.shape)
    part = tuple(len(range(n)[i]) for n, i in zip(keyed.shape, keyed.index or whole, strict=True))
    return truncated_normal_from(part, mean, std, a, b, keyed.uniforms(part, device), dtype, device)


def work_dtype(work: type[np.floating[Any]]) -> torch.dtype:
    return torch.float64 if work is np.float64 else torch.float32


# --------------------------------------------------------------------------------------------
# running recorded ops


def _view(env: Mapping[int, torch.Tensor], sig: Sig) -> torch.Tensor:
    base = env.get(sig.storage)
    if base is None:
        raise _CannotReplay("a tensor it depends on was created outside the record")
    if base.dtype != sig.dtype:
        raise _CannotReplay(f"a {sig.dtype} view of {base.dtype} storage")
    return torch.as_strided(base, sig.size, sig.stride, sig.offset)


def _real(tree: Any, env: Mapping[int, torch.Tensor], device: torch.device) -> Any:
    def convert(leaf: Any) -> Any:
        if isinstance(leaf, Sig):
            return _view(env, leaf)
        if isinstance(leaf, Const):
            return leaf.value.to(device)
        if isinstance(leaf, torch.device) and leaf.type == "meta":
            return device
        return leaf

    return tree_map(convert, tree)


def _key(record: Record, op: Op, storage: int, seed: int) -> stream.StreamKey:
    return stream.key(seed, record.random_name(op, storage))


def _run_op(record: Record, op: Op, env: dict[int, torch.Tensor], device: torch.device, seed: int) -> None:
    """Run one recorded op on real tensors; its new storages go into ``env`` (or are copied into
    the memory ``env`` already provides for them)."""
    fresh = [s for s in op.outs if record.creator.get(s.storage) == op.index]
    if op.constant is not None:
        result: Any = op.constant.to(device)
    elif op.func.overloadpacket in EMPTY and all(s.storage in env for s in fresh):
        return
    else:
        args, kwargs = _real(op.args, env, device), _real(op.kwargs, env, device)
        random = op.random
        result = _random_op(record, op, args, kwargs, device, seed) if random else op.func(*args, **kwargs)
    outs = [t for t in tree_flatten(result)[0] if isinstance(t, torch.Tensor)]
    for sig, tensor in zip(op.outs, outs, strict=False):
        if sig not in fresh:
            continue
        if sig.storage in env:
            _view(env, sig).copy_(tensor)
        else:
            env[sig.storage] = tensor


def _random_op(
    record: Record, op: Op, args: tuple[Any, ...], kwargs: dict[str, Any], device: torch.device, seed: int
) -> torch.Tensor:
    bound = _bind(op.func, args, kwargs)
    if op.mutated:
        target: torch.Tensor = bound["self"]
        fill_random_(op.func, bound, target, _key(record, op, op.mutated[0].storage, seed))
        return target
    out = op.outs[0]
    key = _key(record, op, out.storage, seed)
    return random_values(op.func, bound, out.size, out.dtype, key, device=device).as_strided(
        out.size, out.stride
    )


def _seedable(real: torch.Tensor, sig: Sig, nbytes: int) -> bool:
    """Whether ``real``'s memory has the recorded storage's layout (the replay writes into it)."""
    return (
        tuple(real.shape) == sig.size
        and tuple(real.stride()) == sig.stride
        and sig.offset == 0
        and real.storage_offset() == 0
        and real.dtype == sig.dtype
        and real.untyped_storage().nbytes() == nbytes
    )


def _replay_whole(record: Record, sig: Sig, real: torch.Tensor, seed: int) -> torch.Tensor | None:
    """Replay ``sig``'s tensor on ``real``'s device: into ``real`` when its layout allows (returns
    None), else into new memory (returns the tensor, ``sig``'s view of it)."""
    seeded = _seedable(real, sig, record.nbytes[sig.storage])
    env: dict[int, torch.Tensor] = {sig.storage: real} if seeded else {}
    for op in record.slice_for(sig.storage, seeded):
        _run_op(record, op, env, real.device, seed)
    return None if seeded else _view(env, sig)


# --------------------------------------------------------------------------------------------
# shards


def _contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= size
    return tuple(reversed(strides))


def _local_ok(record: Record, ops: list[Op], storage: int) -> bool:
    """Whether every op touching ``storage`` can run on a shard of it alone."""
    for op in ops:
        if storage not in op.writes | op.reads:
            continue
        if op.func is None:
            return False
        if record.creator.get(storage) == op.index:
            if op.func.overloadpacket in EMPTY:
                continue
            return False
        others = [a for a in tree_flatten((op.args[1:], op.kwargs))[0] if isinstance(a, Sig)]
        first = op.args[0] if op.args else None
        elementwise = (
            op.random
            or op.func.overloadpacket in (aten.copy_, aten.fill_, aten.zero_)
            or torch.Tag.pointwise in op.func.tags
        )
        if not (
            elementwise
            and len(op.mutated) == 1
            and isinstance(first, Sig)
            and first.storage == storage
            and all(a.storage != storage for a in others)
        ):
            return False
    return True


def _positions(
    view: Sig, shape: tuple[int, ...], index: tuple[slice, ...]
) -> tuple[torch.Tensor, torch.Tensor]:
    """For a view of the global tensor: a mask of its elements (flat) that this shard holds, and
    their flat positions in the (contiguous) local tensor."""
    flat = torch.arange(math.prod(shape)).as_strided(view.size, view.stride, view.offset).reshape(-1)
    strides = _contiguous_strides(shape)
    coords = [(flat // st) % n for st, n in zip(strides, shape, strict=True)]
    mask = torch.ones_like(flat, dtype=torch.bool)
    for c, s in zip(coords, index, strict=True):
        mask &= (c >= s.start) & (c < s.stop)
    local = _contiguous_strides(tuple(s.stop - s.start for s in index))
    pos = torch.zeros(int(mask.sum()), dtype=torch.long)
    for c, s, st in zip(coords, index, local, strict=True):
        pos += (c[mask] - s.start) * st
    return mask, pos


def _run_local(
    record: Record, op: Op, env: dict[int, torch.Tensor], local: torch.Tensor, shape: tuple[int, ...],
    index: tuple[slice, ...], seed: int,
) -> None:  # fmt: skip
    """Apply an elementwise/random op on a view of the sharded tensor to its local part."""
    if op.func.overloadpacket in EMPTY:
        return
    view = op.mutated[0]
    device = local.device
    args = _real(op.args[1:], env, device)
    kwargs = _real(op.kwargs, env, device)
    whole = view.size == shape and view.stride == _contiguous_strides(shape) and view.offset == 0
    if whole:
        if op.random:
            bound = _bind(op.func, (local, *args), kwargs)
            fill_random_(op.func, bound, local, _key(record, op, view.storage, seed), index, shape)
        else:
            part = [a.expand(shape)[index] if isinstance(a, torch.Tensor) else a for a in args]
            op.func(local, *part, **kwargs)
        return
    mask, pos = _positions(view, shape, index)
    if pos.numel() == 0:
        return
    flat = local.view(-1)
    gathered = flat[pos]
    if op.random:
        bound = _bind(op.func, (gathered, *args), kwargs)
        key = _key(record, op, view.storage, seed)
        gathered.copy_(
            random_values(op.func, bound, view.size, local.dtype, key, None, device).reshape(-1)[mask]
        )
    else:
        part = [a.expand(view.size).reshape(-1)[mask] if isinstance(a, torch.Tensor) else a for a in args]
        op.func(gathered, *part, **kwargs)
    flat[pos] = gathered


def _replay_shard(record: Record, sig: Sig, param: torch.Tensor, seed: int) -> None:
    local, index = local_part(param)
    assert index is not None  # a DTensor: replay_ sends only those here
    shape = tuple(param.shape)
    ops = record.slice_for(sig.storage, seeded=True)
    simple = sig.size == shape and sig.stride == _contiguous_strides(shape) and sig.offset == 0
    if not (simple and local.is_contiguous() and _local_ok(record, ops, sig.storage)):
        full = torch.empty(shape, dtype=local.dtype, device=local.device)
        whole = _replay_whole(record, sig, full, seed)
        local.copy_((full if whole is None else whole)[index])
        return
    env: dict[int, torch.Tensor] = {}
    for op in ops:
        if sig.storage in op.writes | op.reads:
            _run_local(record, op, env, local, shape, index, seed)
        else:
            _run_op(record, op, env, local.device, seed)


# --------------------------------------------------------------------------------------------
# the entry point


def replay_(record: Record, tensors: Mapping[str, torch.Tensor], names: Iterable[str], seed: int) -> set[str]:
    """Write each named tensor (``tensors[name]``, real memory) with its recorded initialization.

    Returns the names written; raises ``InitializationError`` naming every tensor that cannot be
    replayed (not in the record, or made by something the record cannot reproduce)."""
    done: set[str] = set()
    failed: list[str] = []
    with torch.no_grad():
        for name in names:
            sig = record.tensors.get(name)
            real = tensors[name]
            if sig is None:
                failed.append(f"{name} (not in the record: attached after construction)")
                continue
            try:
                if is_dtensor(real):
                    _replay_shard(record, sig, real, seed)
                else:
                    whole = _replay_whole(record, sig, real.detach(), seed)
                    if whole is not None:
                        real.detach().copy_(whole)
            except (_CannotReplay, RuntimeError, ValueError) as error:
                failed.append(f"{name} ({error})")
                continue
            done.add(name)
    if failed:
        raise InitializationError(
            f"the model's own initialization cannot be replayed for: {names_text(failed)}",
            [f.split(" ", 1)[0] for f in failed],
        )
    return done
