"""The ``reduction`` of a loss ("mean", "sum" or "none"), with its gradient."""

from __future__ import annotations

from ..autograd import Tensor
from ..backend import get_array_module

REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def reduce(losses, reduction: str, count: int | None = None):
    """Reduce element-wise ``losses``: their mean (over ``count`` elements, all by default),
    their sum, or them as they are. A scalar comes back as a 0-d array."""
    if reduction == "none":
        return losses
    total = losses.sum(keepdims=True).reshape(())
    if reduction == "sum":
        return total
    total /= at_least_one(losses.size if count is None else count)
    return total


def at_least_one(count):
    """max(count, 1) for a Python int, or for a 0-d device array without bringing it to the host."""
    return max(count, 1) if isinstance(count, int) else get_array_module(count).maximum(count, 1)


def loss_scale(g, reduction: str, count: int):
    """dL/d(loss element) for each element: g / count for "mean", g for "sum" and "none"
    (g is then a 0-d array, or the same shape as the losses for "none")."""
    return g / at_least_one(count) if reduction == "mean" else g


def reduce_composed(losses: Tensor, reduction: str, count=None) -> Tensor:
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / max(losses.size if count is None else count, 1)
