"""A batch that does not fit the model: ``lsuv_``, ``repair_dead_relus_`` and ``analyze`` refuse it
with a one-line ``ValueError`` naming the argument and the shape, chained to torch's error; an error
the model raises itself passes through unchanged; ``lsuv_`` refuses non-finite batches/statistics."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import nn

import kaiming.torch as kt

FUNCTIONS: list[tuple[Callable[..., Any], str]] = [
    (kt.lsuv_, "batch"),
    (kt.repair_dead_relus_, "batch"),
    (kt.analyze, "inputs"),
]


def _mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))


def _x(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(0)).to(dtype)


@pytest.mark.parametrize(("fn", "name"), FUNCTIONS)
@pytest.mark.parametrize(
    ("batch", "shown", "torch_says"),
    [
        (_x(16, 5), "shape (16, 5) float32 on cpu", "cannot be multiplied"),
        (_x(16, 2, 3), "shape (16, 2, 3) float32 on cpu", "cannot be multiplied"),
        (_x(16, 6, dtype=torch.float64), "shape (16, 6) float64 on cpu", "same dtype"),
        (torch.zeros(16, 6, dtype=torch.int64), "shape (16, 6) int64 on cpu", "same dtype"),
    ],
)
def test_mismatched_batch_is_a_value_error(
    fn: Callable[..., Any], name: str, batch: torch.Tensor, shown: str, torch_says: str
) -> None:
    model = _mlp()
    before = [p.detach().clone() for p in model.parameters()]
    modes = [m.training for m in model.modules()]
    with pytest.raises(ValueError) as info:
        fn(model, batch)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{name} does not fit the model")
    assert shown in message and "parameters float32 on cpu" in message and torch_says in message
    assert isinstance(info.value.__cause__, RuntimeError)
    # nothing left behind: no hooks, modes and (for the failing first pass) weights unchanged
    assert all(not m._forward_hooks for m in model.modules())
    assert [m.training for m in model.modules()] == modes
    for p, p0 in zip(model.parameters(), before, strict=True):
        torch.testing.assert_close(p.detach(), p0)


def test_mismatched_keyword_inputs_are_listed_by_name() -> None:
    class Keyword(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(6, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(x)

    with pytest.raises(ValueError, match=r"inputs of \(x: shape \(4, 5\) float32 on cpu\)"):
        kt.analyze(Keyword(), {"x": _x(4, 5)})


class _Buggy(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("the model's own bug")


@pytest.mark.parametrize(("fn", "name"), FUNCTIONS)
def test_the_models_own_error_passes_through(fn: Callable[..., Any], name: str) -> None:
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), _Buggy())
    with pytest.raises(RuntimeError, match="the model's own bug") as info:
        fn(model, _x(16, 6))
    assert not isinstance(info.value, ValueError)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_lsuv_refuses_a_non_finite_batch_before_computing(value: float) -> None:
    model = _mlp()
    before = [p.detach().clone() for p in model.parameters()]
    batch = _x(16, 6)
    batch[3, 2] = value
    with pytest.raises(ValueError, match=r"^batch holds non-finite values"):
        kt.lsuv_(model, batch, seed=0)
    for p, p0 in zip(model.parameters(), before, strict=True):
        torch.testing.assert_close(p.detach(), p0)  # refused before the orthogonal pre-init


def test_lsuv_names_the_positional_input_that_is_not_finite() -> None:
    class Two(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(6, 3)

        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return self.fc(a + b)

    b = _x(16, 6)
    b[0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"^batch\[1\] holds non-finite values"):
        kt.lsuv_(Two(), (_x(16, 6), b), seed=0)


def test_lsuv_refuses_non_finite_statistics_and_names_the_layer() -> None:
    model = _mlp()
    with torch.no_grad():
        model[0].weight.fill_(1e38)  # float32 outputs overflow to inf on an ordinary batch
    with pytest.raises(ValueError, match=r"^batch gives layer '0' \(Linear\) a non-finite output variance"):
        kt.lsuv_(model, _x(16, 6), pre_init=False, seed=0)


@pytest.mark.parametrize(("fn", "name"), FUNCTIONS)
def test_wrong_number_of_inputs_is_a_type_error_naming_the_argument(
    fn: Callable[..., Any], name: str
) -> None:
    with pytest.raises(TypeError, match=rf"^{name} does not fit the model: .*takes 2 positional") as info:
        fn(_mlp(), (_x(16, 6), _x(16, 6)))
    assert isinstance(info.value.__cause__, TypeError)


class _TypeBug(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + None  # type: ignore[operator]  # the model's own TypeError


@pytest.mark.parametrize(("fn", "name"), FUNCTIONS)
def test_the_models_own_type_error_passes_through(fn: Callable[..., Any], name: str) -> None:
    with pytest.raises(TypeError, match="unsupported operand") as info:
        fn(nn.Sequential(nn.Linear(6, 8), nn.ReLU(), _TypeBug()), _x(16, 6))
    assert not str(info.value).startswith(name)


@pytest.mark.parametrize("fn", [kt.lsuv_, kt.repair_dead_relus_])
def test_a_meta_model_is_refused_naming_the_model(fn: Callable[..., Any]) -> None:
    model = nn.Sequential(nn.Linear(6, 8, device="meta"), nn.ReLU(), nn.Linear(8, 3, device="meta"))
    with pytest.raises(ValueError, match=r"^model has parameters on the meta device \(.*'0.weight'\)"):
        fn(model, _x(16, 6))


def test_analyze_names_the_meta_device_of_the_model() -> None:
    model = nn.Sequential(nn.Linear(6, 8, device="meta"), nn.ReLU(), nn.Linear(8, 3, device="meta"))
    with pytest.raises(
        ValueError, match=r"^inputs does not fit the model: .* on cpu \(model parameters float32 on meta\)"
    ):
        kt.analyze(model, _x(16, 6))
