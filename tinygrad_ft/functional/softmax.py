"""Softmax and log-softmax along one axis, both stable for any logits.

softmax(x)ᵢ = e^{xᵢ} / Σⱼ e^{xⱼ}. Shifting every xᵢ by the same constant leaves it unchanged,
so we subtract the maximum first: the largest exponent is then e⁰ = 1 and nothing
overflows, even for logits of ±1000.
"""

from __future__ import annotations

from ..autograd import Function, Tensor
from ..backend.kernels import fused
from .arguments import floating_tensor


class Softmax(Function):
    """p = softmax(x) along ``axis``.

    dpᵢ/dxⱼ = pᵢ (δᵢⱼ - pⱼ), so with g = dL/dp:

        dL/dxⱼ = Σᵢ gᵢ pᵢ (δᵢⱼ - pⱼ) = pⱼ (gⱼ - Σᵢ gᵢ pᵢ)
    """

    def forward(self, x, axis=-1):
        self.axis = axis
        kernel = fused("softmax_forward", x) if axis in (-1, x.ndim - 1) else None  # rows on the last axis
        self.backward_kernel = fused("softmax_backward", x) if kernel is not None else None
        if kernel is not None:
            self.probs = kernel(x)
            return self.probs
        probs = x - x.max(axis=axis, keepdims=True)  # a new array: exp and divide in place
        self.xp.exp(probs, out=probs)
        probs /= probs.sum(axis=axis, keepdims=True)
        self.probs = probs
        return probs

    def backward(self, d_probs):
        probs = self.probs
        if self.backward_kernel is not None:  # the fused forward ran
            return self.backward_kernel(probs, d_probs)
        d_x = d_probs - (d_probs * probs).sum(axis=self.axis, keepdims=True)
        d_x *= probs
        return d_x


class LogSoftmax(Function):
    """y = log softmax(x) = x - m - log Σⱼ e^{xⱼ - m}  along ``axis`` (m = max x).

    dyᵢ/dxⱼ = δᵢⱼ - softmax(x)ⱼ, so with g = dL/dy:

        dL/dxⱼ = gⱼ - softmax(x)ⱼ Σᵢ gᵢ,     and softmax(x) = e^y.
    """

    def forward(self, x, axis=-1):
        self.axis = axis
        shifted = x - x.max(axis=axis, keepdims=True)
        log_sum_exp = self.xp.log(self.xp.exp(shifted).sum(axis=axis, keepdims=True))
        shifted -= log_sum_exp
        self.log_probs = shifted
        return shifted

    def backward(self, d_log_probs):
        d_x = self.xp.exp(self.log_probs)  # the probabilities, in a new array we may overwrite
        d_x *= d_log_probs.sum(axis=self.axis, keepdims=True)
        self.xp.subtract(d_log_probs, d_x, out=d_x)
        return d_x


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """The probabilities softmax(x) along ``axis`` (they are positive and sum to 1 there)."""
    x = floating_tensor(x, "softmax", "x")
    return Softmax.apply(x, axis=axis)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """log softmax(x) along ``axis``, computed without forming softmax(x) (no log of 0)."""
    x = floating_tensor(x, "log_softmax", "x")
    return LogSoftmax.apply(x, axis=axis)

# ---- composed from primitive ops: the reference the op above is checked against ----------------


def softmax_composed(x: Tensor, axis: int = -1) -> Tensor:
    e = (x - x.max(axis=axis, keepdims=True)).exp()
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax_composed(x: Tensor, axis: int = -1) -> Tensor:
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - shifted.exp().sum(axis=axis, keepdims=True).log()
