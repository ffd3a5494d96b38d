"""Gradient clipping by global norm: one bad batch should not throw the weights far away."""

from __future__ import annotations

import math

from ..autograd import Tensor
from ..backend import get_backend, get_default_dtype


def clip_grad_norm_(params, max_norm: float, norm_type: float = 2.0):
    """Scale all gradients together so that their global norm is at most ``max_norm``.

    The global norm treats every gradient as one long vector:

        ‖g‖ = √(Σ over parameters Σ over elements g²)        (norm_type=2, the default)
        ‖g‖ = max over parameters max over elements |g|     (norm_type=inf)
        c   = min(1, max_norm / (‖g‖ + 1e-6))
        g  ← c · g      for every gradient

    as ``torch.nn.utils.clip_grad_norm_``. Each ``p.grad`` is *replaced* by a new array
    (gradients may share arrays, so none is written to). The direction of the update is kept;
    only its length shrinks.

    Returns the norm before clipping as a 0-d array on the gradients' device: reading it
    (``float(norm)``) waits for the device, so do that only when you log it. For the same
    reason c is applied even when it is 1: deciding "is the norm too big?" on the host
    would cost a sync every step.
    """
    if not max_norm >= 0:  # NaN fails this too
        raise ValueError(f"clip_grad_norm_: max_norm must be a number >= 0, got {max_norm}")
    params = [params] if isinstance(params, Tensor) else list(params)
    grads = [p for p in params if p.grad is not None]
    if not grads:
        backend = get_backend(params[0].device if params else "cpu")
        return backend.xp.zeros((), dtype=params[0].dtype if params else get_default_dtype())
    devices = {p.device for p in grads}
    if len(devices) > 1:
        raise ValueError(f"clip_grad_norm_: the gradients are on different devices {sorted(devices)}; move the model to one")
    xp = grads[0].xp
    if norm_type == 2:
        squares = [xp.vdot(p.grad.ravel(), p.grad.ravel()) for p in grads]  # Σ g², no g² array
        total = xp.sqrt(xp.stack([xp.asarray(s) for s in squares]).sum())
    elif norm_type == math.inf:
        total = xp.stack([xp.asarray(xp.abs(p.grad).max()) for p in grads]).max()
    else:
        raise ValueError(f"clip_grad_norm_: norm_type must be 2.0 or math.inf, got {norm_type}")
    coef = xp.minimum(max_norm / (total + 1e-6), 1.0)
    for p in grads:
        p.grad = p.grad * coef.astype(p.grad.dtype)  # a 0-d float64 array would promote float32 grads
    return total
