"""Sharded initialization on torch.distributed: every rank computes only its own shard.

Build the model on the ``meta`` device, shard it (``distribute_tensor`` /
``parallelize_module`` for DTensor placements on a ``DeviceMesh``, or FSDP2's
``fully_shard``), then call ``init_sharded`` (or ``init_model(..., stream="counter")``, the same
thing). Each parameter ``name`` draws from the counter-based stream
``kaiming.stream.key(seed, name)``, in which the value at a flat index of the **global**
tensor depends only on that index; each rank materializes its local shard and fills exactly the
global slice it holds. Hence the guarantees:

- the gathered weights are bit-identical to a single-process ``init_model(model,
  stream="counter", seed=seed)``, for every world size and every placement (``Shard(0)``,
  ``Shard(1)``, ``Replicate()``, FSDP2's dim-0 sharding, uneven shards);
- fans, gains and std come from the **global** shape, never from the shard, so Xavier on a
  4-way tensor-parallel shard has the same std as on one device;
- no rank ever holds more than its shard (plus a few MB of work buffers), except for
  ``orthogonal`` weights, which need the whole matrix for QR: every rank computes the full
  matrix and keeps its slice (same bits, full cost);
- a model built by ``kaiming.torch.deferred_init`` has its own initialization recorded: the
  tensors the scheme does not cover (or all of them, with ``scheme="own"``) are replayed on each
  shard with the counter stream keyed by their names, so the model's own distributions are
  sharding-invariant too; ties survive the materialization; the audit at the end raises
  ``InitializationError`` naming any tensor left unwritten or not finite.

Example (one process per rank, after ``torch.distributed.init_process_group``)::

    with torch.device("meta"):
        model = nn.Sequential(nn.Linear(8192, 8192), nn.ReLU(), nn.Linear(8192, 8192))
    mesh = init_device_mesh("cpu", (world_size,))
    for layer in (model[0], model[2]):
        fully_shard(layer, mesh=mesh)
    fully_shard(model, mesh=mesh)
    plan = init_sharded(model, seed=0)          # each rank fills its 1/world_size of each weight
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Iterator

import torch
from torch import nn

from ._dtensor import local_index
from ._materialize import materialize_
from ._plan import InitPlan
from ._tracer import split_inputs
from .model_init import SchemeArg, init_model

__all__ = ["init_sharded", "local_index"]


def init_sharded(
    model: nn.Module,
    scheme: SchemeArg = "auto",
    *,
    seed: int = 0,
    zero_init_residual: bool = False,
    device: torch.device | str = "cpu",
    example_inputs: object = None,
) -> InitPlan:
    """Initialize a (meta-device, sharded) model in place, each rank computing only its shard.

    Parameters on the ``meta`` device are first given storage on ``device`` with
    ``model.to_empty`` (so a DTensor/FSDP2 parameter gets only its local shard; tied tensors are
    re-tied); then every rule of ``init_model(model, scheme, stream="counter")`` is applied to
    the local part of each parameter, and every other tensor gets the model's own recorded
    initialization (``deferred_init``), or ``InitializationError`` is raised naming it.
    ``seed`` must be the same on every rank (it is the only shared input).
    While the plan is made, FSDP2 modules are shown to ``torch.fx`` as the plain modules they
    wrap, so ``"auto"`` finds the same activations as on the unsharded model. ``example_inputs``
    (a tensor, a tuple of positional inputs or a dict of keyword inputs) is passed to the same
    activation search as ``init_model``'s: only its shapes and dtypes are used, the model is run
    on meta tensors shaped like it. Returns the ``InitPlan`` (global shapes, fans and std).

    Example:
        >>> with torch.device("meta"):
        ...     net = nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 2))
        >>> plan = init_sharded(net, seed=0)      # no process group needed for plain tensors
        >>> net[0].weight.is_meta, plan["0.weight"].rule
        (False, 'he_normal')
        >>> with torch.device("meta"):
        ...     net = nn.Sequential(nn.Linear(16, 8), nn.GELU(), nn.Linear(8, 2))
        >>> init_sharded(net, seed=0, example_inputs=torch.randn(4, 16))["0.weight"].activation
        'gelu'
    """
    if example_inputs is not None:
        split_inputs(example_inputs, "example_inputs")  # a bad type fails before materializing
    materialize_(model, device)
    with _as_unsharded(model):
        return init_model(
            model,
            scheme,
            seed=seed,
            zero_init_residual=zero_init_residual,
            stream="counter",
            example_inputs=example_inputs,
        )


@contextlib.contextmanager
def _as_unsharded(model: nn.Module) -> Iterator[None]:
    """Make FSDP2-wrapped modules look unwrapped while the plan is made: no forward (pre-)hooks
    (they stop torch.fx) and their original classes (``FSDPLinear`` -> ``Linear``, so the
    tracer keeps them as layers), restored afterwards."""
    saved = [(m, m._forward_pre_hooks, m._forward_hooks, type(m)) for m in model.modules()]
    try:
        for module, _, _, cls in saved:
            module._forward_pre_hooks = OrderedDict()
            module._forward_hooks = OrderedDict()
            module.__class__ = _unwrapped_class(cls)
        yield
    finally:
        for module, pre, post, cls in saved:
            module._forward_pre_hooks = pre
            module._forward_hooks = post
            module.__class__ = cls


def _unwrapped_class(cls: type[nn.Module]) -> type[nn.Module]:
    """The class FSDP2's ``fully_shard`` derived ``cls`` from (``cls`` itself if it did not)."""
    if not torch.distributed.is_available():
        return cls
    from torch.distributed.fsdp import FSDPModule

    if not issubclass(cls, FSDPModule):
        return cls
    bases = [b for b in cls.__bases__ if issubclass(b, nn.Module) and not issubclass(b, FSDPModule)]
    return bases[0] if len(bases) == 1 else cls
