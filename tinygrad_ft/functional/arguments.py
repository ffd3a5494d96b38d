"""Arguments at the ops' boundary: other tensors, arrays and numbers onto the right device and
dtype, integer indices checked against their range, and masks as booleans."""

from __future__ import annotations

from ..autograd import Tensor
from ..backend import asarray, backend_of, get_backend, is_array


def as_tensor(x, like: Tensor) -> Tensor:
    """A Tensor in ``like``'s device and dtype: tensors of another dtype are cast (the cast is
    differentiable), arrays and numbers are moved there explicitly (no gradient)."""
    if isinstance(x, Tensor):
        return x if x.dtype == like.dtype else x.to(dtype=like.dtype)
    return Tensor.wrap(asarray(x, like.device, like.dtype), like.device)


def checked_indices(ids, device: str, what: str, size: int, message, ignore=None):
    """Integer indices (token ids, class targets) as an array on ``device``, each in 0..size-1
    or equal to ``ignore``; the first one outside raises ValueError(message(that index)).

    The check runs where it costs nothing: indices that come from the host (a NumPy array, a
    list, a CPU tensor) are checked there, before their copy to the device. Indices already on
    a GPU are checked on it, and reading the answer makes the host wait for the GPU (a sync),
    so training loops hand the model their batches as host arrays.
    """
    ids = ids.data if isinstance(ids, Tensor) else ids
    on_host = not is_array(ids) or backend_of(ids) is get_backend("cpu")
    source = asarray(ids, "cpu") if on_host else ids
    if source.dtype.kind not in "iu":
        raise TypeError(f"{what} must be integers, got dtype {source.dtype}")
    outside = (source < 0) | (source >= size)
    if ignore is not None:
        outside &= source != ignore
    if bool(outside.any()):  # free for host indices; one sync for indices on a GPU
        raise ValueError(message(int(source[outside][0])))
    return asarray(source, device)


def mask_array(mask, device: str, what: str):
    """A boolean mask (bool, or integers 1/0) as a bool array on ``device``."""
    mask = mask.data if isinstance(mask, Tensor) else mask
    mask = asarray(mask, device)
    if mask.dtype.kind not in "biu":
        raise TypeError(f"{what} must be bool or integer (1 = keep, 0 = mask), got dtype {mask.dtype}")
    return mask if mask.dtype.kind == "b" else mask != 0


def floating_tensor(x, op: str, name: str = "x") -> Tensor:
    """``x`` itself if it is a floating-point Tensor; otherwise a TypeError that names the op, the
    argument and the fix (a list or an integer tensor fails here, not deep inside NumPy)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(x).__name__} (make one with tinygrad_ft.tensor(...))")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: {name} must be a floating-point tensor, got {x.dtype} "
                        f"(convert it first: {name}.to(dtype='float32'))")
    return x
