"""Layer normalisation over the last axis, with one fused backward."""

from __future__ import annotations

from ..autograd import Function, Tensor
from ..backend.kernels import fused
from .arguments import floating_tensor


class LayerNorm(Function):
    """Over the last axis (C features) of each row x:

        μ = mean(x),  σ = √(var(x) + eps),  x̂ = (x - μ) / σ,  y = x̂ ⊙ w + b

    With g = dL/dy:  dL/db = Σ_rows g,  dL/dw = Σ_rows g ⊙ x̂,  and for dL/dx, with
    ĝ = g ⊙ w the gradient reaching x̂ (μ and σ depend on the whole row, hence the means):

        dL/dx = (1/σ) (ĝ - mean(ĝ) - x̂ ⊙ mean(ĝ ⊙ x̂))

    (mean over the row; the two means are the paths through μ and through σ.)

    Row sums and row dot products go through einsum ("...c,...c->..."): it reduces without
    the temporary (N, C) array that (a * b).sum(-1) would allocate, and faster.
    """

    def forward(self, x, weight=None, bias=None, eps=1e-5):
        kernel = fused("layer_norm_forward", x)  # on a GPU: one kernel; keeps x, μ and 1/σ, not x̂
        if kernel is not None:
            y, self.mean, self.inv_std = kernel(x, weight, bias, eps)
            self.x, self.weight = x, weight
            self.backward_kernel = fused("layer_norm_backward", x)
            return y
        self.backward_kernel = None
        xp, num_features = self.xp, x.shape[-1]
        mean = xp.einsum("...c->...", x)[..., None]
        mean /= num_features
        x_hat = x - mean  # centred; a new array, normalised in place below
        inv_std = xp.einsum("...c,...c->...", x_hat, x_hat)[..., None]  # (..., 1)
        inv_std /= num_features
        inv_std += eps
        xp.sqrt(inv_std, out=inv_std)
        xp.reciprocal(inv_std, out=inv_std)  # 1/σ
        x_hat *= inv_std
        self.x_hat, self.inv_std, self.weight = x_hat, inv_std, weight
        y = x_hat * weight if weight is not None else x_hat.copy()
        if bias is not None:
            y += bias
        return y

    def backward(self, d_y):
        if self.backward_kernel is not None:  # the fused forward ran
            return self.backward_kernel(d_y, self.x, self.mean, self.inv_std, self.weight, self.needs_input_grad)
        xp, x_hat, weight = self.xp, self.x_hat, self.weight
        num_features = x_hat.shape[-1]
        d_y_rows = d_y.reshape(-1, num_features)  # (N, C): every row, whatever the leading axes
        d_weight = xp.einsum("nc,nc->c", d_y_rows, x_hat.reshape(-1, num_features)) if self.needs_input_grad[1] else None
        d_bias = None
        if self.needs_input_grad[2]:
            d_bias = xp.ones(d_y_rows.shape[0], dtype=d_y.dtype) @ d_y_rows  # Σ rows, as 1ᵀ G (BLAS)
        if not self.needs_input_grad[0]:
            return None, d_weight, d_bias
        g_hat = d_y * weight if weight is not None else d_y  # ĝ, (..., C)
        mean_g_hat = xp.einsum("...c->...", g_hat)[..., None]
        mean_g_hat /= num_features
        mean_g_hat_x_hat = xp.einsum("...c,...c->...", g_hat, x_hat)[..., None]
        mean_g_hat_x_hat /= -num_features
        d_x = x_hat * mean_g_hat_x_hat  # - x̂ mean(ĝ x̂)
        d_x += g_hat
        d_x -= mean_g_hat
        d_x *= self.inv_std
        return d_x, d_weight, d_bias


def layer_norm(x: Tensor, weight: Tensor | None = None, bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise each row of ``x`` over its last axis to mean 0 and variance 1, then scale by
    ``weight`` (C,) and shift by ``bias`` (C,) (either may be None)."""
    x = floating_tensor(x, "layer_norm", "x")
    num_features = x.shape[-1]
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and p.shape != (num_features,):
            raise ValueError(f"layer_norm: {name} has shape {p.shape}, expected ({num_features},) for x of shape {x.shape}")
    return LayerNorm.apply(x, weight, bias, eps=float(eps))

# ---- composed from primitive ops: the reference the op above is checked against ----------------


def layer_norm_composed(x: Tensor, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    centered = x - x.mean(axis=-1, keepdims=True)
    y = centered / ((centered * centered).mean(axis=-1, keepdims=True) + eps).sqrt()
    if weight is not None:
        y = y * weight
    return y if bias is None else y + bias
