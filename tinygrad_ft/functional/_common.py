"""Small helpers shared by the functional ops: getting arguments onto the right device, and
the ``reduction`` of a loss ("mean", "sum" or "none") with its gradient."""

from __future__ import annotations

from .. import backend as B
from ..tensor import Tensor

REDUCTIONS = ("mean", "sum", "none")
CHUNK_ELEMENTS = 1 << 16  # 64K numbers: 256 KB of float32 per array, a few of them fit in L2


def chunks(xp, size: int) -> list:
    """Slices of at most CHUNK_ELEMENTS numbers each, covering a flat array of ``size``.

    A chain of element-wise passes (x², then ·k, then tanh, ...) over a big array reads and
    writes it from main memory once per pass. Run block by block on the CPU, each block stays
    in cache for the whole chain: measured 30% faster for GPT's GELU. On a GPU every extra
    pass is a kernel launch, so there it is one block (the same code path).
    """
    if xp is not B.get_backend("cpu").xp or size <= CHUNK_ELEMENTS:
        return [slice(0, size)]
    return [slice(i, min(i + CHUNK_ELEMENTS, size)) for i in range(0, size, CHUNK_ELEMENTS)]


def as_tensor(x, like: Tensor) -> Tensor:
    """A Tensor in ``like``'s device and dtype: tensors of another dtype are cast (the cast is
    differentiable), arrays and numbers are moved there explicitly (no gradient)."""
    if isinstance(x, Tensor):
        return x if x.dtype == like.dtype else x.to(dtype=like.dtype)
    return Tensor._wrap(B.asarray(x, like.device, like.dtype), like.device)


def checked_indices(ids, device: str, what: str, size: int, message, ignore=None):
    """Integer indices (token ids, class targets) as an array on ``device``, each in 0..size-1
    or equal to ``ignore``; the first one outside raises ValueError(message(that index)).

    The check runs where it costs nothing: indices that come from the host (a NumPy array, a
    list, a CPU tensor) are checked there, before their copy to the device. Indices already on
    a GPU are checked on it, and reading the answer makes the host wait for the GPU (a sync),
    so training loops hand the model their batches as host arrays.
    """
    ids = ids.data if isinstance(ids, Tensor) else ids
    on_host = not B.is_array(ids) or B.backend_of(ids) is B.get_backend("cpu")
    source = B.asarray(ids, "cpu") if on_host else ids
    if source.dtype.kind not in "iu":
        raise TypeError(f"{what} must be integers, got dtype {source.dtype}")
    outside = (source < 0) | (source >= size)
    if ignore is not None:
        outside &= source != ignore
    if bool(outside.any()):  # free for host indices; one sync for indices on a GPU
        raise ValueError(message(int(source[outside][0])))
    return B.asarray(source, device)


def mask_array(mask, device: str, what: str):
    """A boolean mask (bool, or integers 1/0) as a bool array on ``device``."""
    mask = mask.data if isinstance(mask, Tensor) else mask
    mask = B.asarray(mask, device)
    if mask.dtype.kind not in "biu":
        raise TypeError(f"{what} must be bool or integer (1 = keep, 0 = mask), got dtype {mask.dtype}")
    return mask if mask.dtype.kind == "b" else mask != 0


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
    return max(count, 1) if isinstance(count, int) else B.get_array_module(count).maximum(count, 1)


def loss_scale(g, reduction: str, count: int):
    """dL/d(loss element) for each element: g / count for "mean", g for "sum" and "none"
    (g is then a 0-d array, or the same shape as the losses for "none")."""
    return g / at_least_one(count) if reduction == "mean" else g
