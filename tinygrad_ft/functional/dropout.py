"""Inverted dropout: zero each element with probability p while training, and scale the
survivors by 1/(1 - p) so the expected value is unchanged; at evaluation, do nothing."""

from __future__ import annotations

from ..autograd import Function, Tensor
from ..backend import asarray, backend_of


class Dropout(Function):
    """y = x ⊙ m / (1 - p), with m a fixed random 0/1 mask (each 1 with probability 1 - p).

    The mask is a constant once drawn, so dL/dx = g ⊙ m / (1 - p): the same mask, kept from
    the forward pass (drawing a new one would send gradients to elements that were dropped).
    """

    def forward(self, x, p=0.1):
        self.keep = keep_mask(x, x.shape, x.dtype, p)  # bool: 1 byte per element
        self.scale = 1 / (1 - p)
        y = x * self.keep
        y *= self.scale
        return y

    def backward(self, d_y):
        d_x = d_y * self.keep
        d_x *= self.scale
        return d_x


def keep_mask(like, shape, dtype, p: float):
    """A random bool mask of ``shape`` on the device of the array ``like``: each element True
    (kept) with probability 1 - p, drawn from that device's seeded generator. Dropout and the
    attention op's dropout draw their masks here, so a test can draw the same mask again after
    the same ``tinygrad_ft.manual_seed``."""
    return backend_of(like).random(shape, dtype) >= p


def dropout(x: Tensor, p: float = 0.1, training: bool = True) -> Tensor:
    """Inverted dropout with drop probability ``p`` in [0, 1). Returns ``x`` itself (the same
    tensor) when not ``training`` or when p is 0. The mask comes from the device's seeded
    generator (``tinygrad_ft.manual_seed``)."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout: p is the probability of dropping an element and must be in [0, 1), got {p}")
    if not training or p == 0:
        return x
    return Dropout.apply(x, p=float(p))

# ---- composed from primitive ops: the reference the op above is checked against ----------------


def dropout_composed(x: Tensor, keep, p: float) -> Tensor:
    """x ⊙ keep / (1 - p) with a given 0/1 ``keep`` mask (the fused op draws its own)."""
    return x * Tensor.wrap(asarray(keep, x.device, x.dtype), x.device) / (1 - p)
