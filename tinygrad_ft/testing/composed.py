"""The functional ops again, composed from primitive Tensor ops only (+, *, exp, log, max,
sum, matmul, indexing, where, ...), so autograd derives their gradients op by op.

They are slower and keep more in memory than the fused ops of ``tinygrad_ft.functional``,
but each line is the textbook formula: the tests (and the lessons) check that the fused,
hand-derived gradients agree with these to ~1e-10 in float64.
"""

from __future__ import annotations

import math

from .. import backend as B
from ..tensor import Function, Tensor, where

# ---- activations -------------------------------------------------------------------------


def relu(x: Tensor) -> Tensor:
    return where(x.data > 0, x, 0.0)


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    return where(x.data > 0, x, x * negative_slope)


def tanh(x: Tensor) -> Tensor:
    return (x.exp() - (-x).exp()) / (x.exp() + (-x).exp())


def sigmoid(x: Tensor) -> Tensor:
    return 1 / (1 + (-x).exp())


class Erf(Function):
    """erf(x), the one primitive the exact gelu needs;  d erf(x)/dx = (2/√π) e^{-x²}."""

    def forward(self, x):
        self.x = x
        return B.backend_of(x).erf(x)

    def backward(self, g):
        return g * (2 / math.sqrt(math.pi)) * self.xp.exp(-self.x * self.x)


def gelu(x: Tensor, approximate: str = "tanh") -> Tensor:
    if approximate == "tanh":
        return 0.5 * x * (1 + (math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)).tanh())
    return x * 0.5 * (1 + Erf.apply(x / math.sqrt(2)))


# ---- softmax -----------------------------------------------------------------------------


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    e = (x - x.max(axis=axis, keepdims=True)).exp()
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - shifted.exp().sum(axis=axis, keepdims=True).log()


# ---- losses ------------------------------------------------------------------------------


def _reduce(losses: Tensor, reduction: str, count=None) -> Tensor:
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / max(losses.size if count is None else count, 1)


def cross_entropy(logits: Tensor, targets, ignore_index=-100, reduction="mean", label_smoothing=0.0) -> Tensor:
    """-(1-ε) log softmax(z)[t] - (ε/C) Σⱼ log softmax(z)ⱼ, 0 where t is ignored."""
    targets = targets.data if isinstance(targets, Tensor) else B.asarray(targets, logits.device)
    num_classes = logits.shape[-1]
    log_probs = log_softmax(logits.reshape(-1, num_classes), axis=-1)  # (N, C)
    flat = targets.reshape(-1)
    kept = flat != ignore_index
    xp = logits.xp
    picked = log_probs[xp.arange(flat.shape[0]), xp.where(kept, flat, 0)]  # (N,)
    losses = -(1 - label_smoothing) * picked
    if label_smoothing:
        losses = losses - (label_smoothing / num_classes) * log_probs.sum(axis=-1)
    losses = where(kept, losses, 0.0).reshape(targets.shape)
    return _reduce(losses, reduction, int(kept.sum()))


def binary_cross_entropy(probs: Tensor, targets: Tensor, reduction="mean") -> Tensor:
    losses = -(targets * probs.log().maximum(-100.0) + (1 - targets) * (1 - probs).log().maximum(-100.0))
    return _reduce(losses, reduction)


def binary_cross_entropy_with_logits(logits: Tensor, targets: Tensor, reduction="mean") -> Tensor:
    """-(t log σ(x) + (1 - t) log(1 - σ(x))), written out with σ composed from exp."""
    p = sigmoid(logits)
    return _reduce(-(targets * p.log() + (1 - targets) * (1 - p).log()), reduction)


def mse_loss(pred: Tensor, target: Tensor, reduction="mean") -> Tensor:
    diff = pred - target
    return _reduce(diff * diff, reduction)


# ---- layers ------------------------------------------------------------------------------


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    y = x @ weight
    return y if bias is None else y + bias


def layer_norm(x: Tensor, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    centered = x - x.mean(axis=-1, keepdims=True)
    y = centered / ((centered * centered).mean(axis=-1, keepdims=True) + eps).sqrt()
    if weight is not None:
        y = y * weight
    return y if bias is None else y + bias


def embedding(ids, weight: Tensor) -> Tensor:
    return weight[ids]


def dropout(x: Tensor, keep, p: float) -> Tensor:
    """x ⊙ keep / (1 - p) with a given 0/1 ``keep`` mask (the fused op draws its own)."""
    return x * Tensor._wrap(B.asarray(keep, x.device, x.dtype), x.device) / (1 - p)


def scaled_dot_product_attention(q: Tensor, k: Tensor, v: Tensor, causal=False, attention_mask=None) -> Tensor:
    """softmax(q kᵀ/√D) v, masked scores set to -1e9 (e^{-1e9} is exactly 0 in float64, so
    this agrees with the fused op wherever a query sees at least one key)."""
    xp = q.xp
    num_queries, num_keys = q.shape[-2], k.shape[-2]
    scores = q @ k.swapaxes(-1, -2) / math.sqrt(q.shape[-1])
    visible = xp.ones((num_queries, num_keys), dtype=bool)
    if causal:
        visible = xp.arange(num_keys)[None, :] <= xp.arange(num_queries)[:, None] + (num_keys - num_queries)
    if attention_mask is not None:
        mask = attention_mask.data if isinstance(attention_mask, Tensor) else B.asarray(attention_mask, q.device)
        visible = visible & (mask != 0).reshape(mask.shape[0], *(1,) * (q.ndim - 3), 1, num_keys)
    scores = where(visible, scores, -1e9)
    return softmax(scores, axis=-1) @ v


# ---- comparing a fused op with its composition --------------------------------------------


def max_difference(fused, composed, *inputs, seed: int = 0) -> tuple[float, float]:
    """The largest |difference| between ``fused(*inputs)`` and ``composed(*inputs)``, in their
    values and in the gradients of every floating-point input, both in float64.

    Floating-point inputs (arrays) become float64 tensors that need gradients; others
    (indices, masks) are passed as they are. Both outputs are contracted with the same random
    cotangent c (L = Σ out ⊙ c), never a plain sum: Σ softmax(x) is 1 whatever x, so its
    gradient is 0 and would hide any softmax error.
    """
    results = []
    for fn in (fused, composed):
        xs = [_as_leaf(x) for x in inputs]
        out = fn(*xs)
        rng = B.get_backend("cpu").xp.random.default_rng(seed)
        cotangent = B.asarray(rng.standard_normal(out.shape), out.device, "float64")
        out.backward(cotangent)
        grads = [B.to_numpy(x.grad) for x in xs if isinstance(x, Tensor)]
        results.append((out.numpy(), grads))
    (value_a, grads_a), (value_b, grads_b) = results
    value_diff = float(abs(value_a - value_b).max()) if value_a.size else 0.0
    grad_diff = max((float(abs(a - b).max()) for a, b in zip(grads_a, grads_b) if a.size), default=0.0)
    return value_diff, grad_diff


def _as_leaf(x):
    data = x.data if isinstance(x, Tensor) else x
    if B.is_array(data) and B.is_floating(data.dtype):
        return Tensor(B.asarray(data, B.backend_of(data).name, "float64").copy(), requires_grad=True)
    return x
