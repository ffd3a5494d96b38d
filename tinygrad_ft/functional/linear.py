"""The linear (fully connected) layer: y = x W + b."""

from __future__ import annotations

from ..autograd import Function, Tensor
from .arguments import floating_tensor


class Linear(Function):
    """Y = X W + b with X (N, in), W (in, out), b (out,); leading batch axes are folded into N.

    Each output Y[n, o] = Σᵢ X[n, i] W[i, o] + b[o], so with G = dL/dY (N, out):

        dL/dX = G Wᵀ          (N, out) @ (out, in)
        dL/dW = Xᵀ G          (in, N) @ (N, out): one matmul sums over every batch position
        dL/db = Σₙ G[n, :]    b is added to every row
    """

    def forward(self, x, weight, bias=None):
        if weight.ndim != 2 or x.shape[-1] != weight.shape[0]:
            raise ValueError(
                f"linear: x of shape {tuple(x.shape)} does not fit weight of shape {tuple(weight.shape)}; "
                "the weight is (in_features, out_features) and x's last axis must be in_features"
            )
        if bias is not None and tuple(bias.shape) != (weight.shape[1],):
            raise ValueError(f"linear: bias has shape {tuple(bias.shape)}, expected ({weight.shape[1]},)")
        self.x_shape = x.shape
        self.x2 = x.reshape(-1, x.shape[-1])  # (N, in)
        self.weight = weight
        y = self.x2 @ weight  # a new array: adding the bias in place saves a temporary
        if bias is not None:
            y += bias
        return y.reshape(*x.shape[:-1], weight.shape[1])

    def backward(self, d_y):
        d_y2 = d_y.reshape(-1, d_y.shape[-1])  # (N, out)
        d_x = (d_y2 @ self.weight.T).reshape(self.x_shape) if self.needs_input_grad[0] else None
        d_weight = self.x2.T @ d_y2 if self.needs_input_grad[1] else None
        d_bias = None
        if len(self.needs_input_grad) > 2 and self.needs_input_grad[2]:  # Σₙ G[n, :], as 1ᵀ G: a BLAS product
            d_bias = self.xp.ones(d_y2.shape[0], dtype=d_y2.dtype) @ d_y2
        return d_x, d_weight, d_bias


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x (..., in) @ weight (in, out) + bias (out,) → (..., out).

    Note the weight is (in, out), the transpose of PyTorch's ``nn.Linear.weight``.
    """
    x = floating_tensor(x, "linear", "x")
    weight = floating_tensor(weight, "linear", "weight")
    if bias is None:
        return Linear.apply(x, weight)
    return Linear.apply(x, weight, bias)

# ---- composed from primitive ops: the reference the op above is checked against ----------------


def linear_composed(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    y = x @ weight
    return y if bias is None else y + bias
