"""Plain stand-ins for the fused GPU kernels: the same signatures and the same semantics
(what they return, what they keep, NaN for an out-of-range target), in the array module of
their inputs, so they run on the CPU and on the strict device.

They let the test run, without a GPU, walk every op's fused path (``kernels.fused``): with
``kernels.use_stand_ins(STAND_INS)`` the ops call these where on a GPU they would call the
kernels. The kernels themselves are checked against the plain ops in ``tests/test_gpu.py``,
on a GPU. Each function's docstring is in ``tinygrad_ft.backend.kernels.cuda``, under the same name.
"""

from __future__ import annotations

import math

from ..registry import get_array_module

_C = math.sqrt(2 / math.pi)
_K = 0.044715


def _xp(x):
    return get_array_module(x)


def gelu_tanh_forward(x):
    return 0.5 * x * (1 + _xp(x).tanh(_C * (x + _K * x * x * x)))


def gelu_tanh_backward(x, d_y):
    t = _xp(x).tanh(_C * (x + _K * x * x * x))
    return d_y * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _C * (1 + 3 * _K * x * x))


def softmax_forward(x):
    e = _xp(x).exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_backward(probs, d_probs):
    return probs * (d_probs - (d_probs * probs).sum(axis=-1, keepdims=True))


def layer_norm_forward(x, weight=None, bias=None, eps=1e-5):
    xp = _xp(x)
    mean = x.mean(axis=-1)
    rstd = 1 / xp.sqrt(((x - mean[..., None]) ** 2).mean(axis=-1) + eps)
    y = (x - mean[..., None]) * rstd[..., None]
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y.astype(x.dtype), mean.astype(x.dtype), rstd.astype(x.dtype)


def layer_norm_backward(d_y, x, mean, rstd, weight=None, needs_input_grad=(True, True, True)):
    num_features = x.shape[-1]
    x_hat = (x - mean[..., None]) * rstd[..., None]
    g_hat = d_y * weight if weight is not None else d_y
    d_x = d_weight = d_bias = None
    if needs_input_grad[0]:
        mean_g_hat, mean_g_hat_x_hat = g_hat.mean(axis=-1, keepdims=True), (g_hat * x_hat).mean(axis=-1, keepdims=True)
        d_x = rstd[..., None] * (g_hat - mean_g_hat - x_hat * mean_g_hat_x_hat)
    if len(needs_input_grad) > 1 and needs_input_grad[1] and weight is not None:
        d_weight = (d_y * x_hat).reshape(-1, num_features).sum(axis=0)
    if len(needs_input_grad) > 2 and needs_input_grad[2]:
        d_bias = d_y.reshape(-1, num_features).sum(axis=0)
    return d_x, d_weight, d_bias


def _picked(xp, logits, targets, ignore_index):
    kept = targets != ignore_index
    safe = xp.where(kept & (targets >= 0) & (targets < logits.shape[-1]), targets, 0)
    outside = kept & ((targets < 0) | (targets >= logits.shape[-1]))
    return kept, safe, outside


def cross_entropy_forward(logits, targets, ignore_index=-100, label_smoothing=0.0):
    xp = _xp(logits)
    top = logits.max(axis=-1, keepdims=True)
    lse = (xp.log(xp.exp(logits - top).sum(axis=-1, keepdims=True)) + top)[..., 0]
    kept, safe, outside = _picked(xp, logits, targets, ignore_index)
    picked = xp.take_along_axis(logits, safe[..., None], axis=-1)[..., 0]
    losses = (1 - label_smoothing) * (lse - picked) + label_smoothing * (lse - logits.mean(axis=-1))
    losses = xp.where(kept, losses, 0)
    losses = xp.where(outside, xp.nan, losses)
    return losses.astype(logits.dtype), lse.astype(logits.dtype)


def cross_entropy_backward(logits, targets, lse, row_weights, ignore_index=-100, label_smoothing=0.0):
    xp = _xp(logits)
    num_classes = logits.shape[-1]
    kept, safe, _ = _picked(xp, logits, targets, ignore_index)
    probs = xp.exp(logits - lse[..., None])
    onehot = (xp.arange(num_classes) == safe[..., None]).astype(logits.dtype)
    weights = xp.where(kept, xp.broadcast_to(row_weights, targets.shape), 0)
    d_logits = weights[..., None] * (probs - (1 - label_smoothing) * onehot - label_smoothing / num_classes)
    return d_logits.astype(logits.dtype)


def adam_update(param, grad, exp_avg, exp_avg_sq, *, lr, beta1, beta2, eps, weight_decay, step, decoupled):
    xp = _xp(param)
    if decoupled and weight_decay != 0:
        param *= 1 - lr * weight_decay
    g = grad if decoupled or weight_decay == 0 else grad + weight_decay * param
    exp_avg *= beta1
    exp_avg += (1 - beta1) * g
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * g * g
    param -= (lr / (1 - beta1**step)) * exp_avg / (xp.sqrt(exp_avg_sq) / math.sqrt(1 - beta2**step) + eps)


STAND_INS = {
    name: globals()[name]
    for name in (
        "gelu_tanh_forward", "gelu_tanh_backward", "softmax_forward", "softmax_backward", "layer_norm_forward",
        "layer_norm_backward", "cross_entropy_forward", "cross_entropy_backward", "adam_update",
    )
}
