"""Fused CPU kernels, compiled by Numba: the CPU twins of the CuPy kernels in ``cuda.py``.

A plain op runs its formula as a chain of NumPy passes (``t = x * x``, ``t *= c``, ...), each
reading and writing the whole array from memory. A kernel here is one loop that does the whole
formula per element (or per row) while the numbers are in registers. Each function has the same
name, signature and semantics as its CUDA twin (``kernels.KERNELS`` says which plain op it must
equal, and ``tests/test_cpu_kernels.py``
checks that it does: float64 to 1e-12, float32 to the tolerance stated there).

Numba compiles each kernel on its first call with a new dtype, and keeps the machine code in
``__pycache__`` beside this file (``cache=True``), so a second run does not compile again.
This module imports Numba: ``kernels.get_cpu_kernel`` imports it only where Numba is installed
(the optional ``fast`` extra); without Numba the plain ops run, as before.
"""

from __future__ import annotations

import math

import numba
import numpy  # host arrays: these kernels run on the CPU only

_C = math.sqrt(2 / math.pi)  # GELU: c = √(2/π)
_K = 0.044715  # GELU: k

# One thread per kernel: measured here, spreading a kernel's rows over the cores (parallel=True)
# cost more than it saved on the baby GPT's arrays once BLAS threads or other processes shared
# the two cores (benchmarks/README.md); the loops keep prange, so parallel=True is one word away.
jit = numba.njit(cache=True, fastmath=False, parallel=False, error_model="numpy")  # x/0 is inf or NaN, as in NumPy


def contiguous(a):
    """``a`` as a C-contiguous array of the same shape (a copy only if it is not one already;
    unlike ``numpy.ascontiguousarray``, a 0-d array stays 0-d)."""
    a = numpy.asarray(a)
    return a if a.flags.c_contiguous else a.copy(order="C")


# ---- GELU (tanh form) ------------------------------------------------------------------------


@numba.njit(cache=True, inline="always", error_model="numpy")
def _tanh(u):
    """tanh(u) = 1 - 2 / (e^{2u} + 1): one exp, several times faster here than libm's tanh; for
    large u, e^{2u} is inf and the result exactly ±1 (its error near 0 is ~1e-16 absolute)."""
    return 1.0 - 2.0 / (math.exp(2.0 * u) + 1.0)


@jit
def _gelu_forward(x, y):
    """y = ½ x (1 + t),  t = tanh(c (x + k x³)), element by element."""
    for i in numba.prange(x.shape[0]):
        xi = x[i]
        t = _tanh(_C * (xi + _K * xi * xi * xi))
        y[i] = 0.5 * xi * (1.0 + t)


@jit
def _gelu_backward(x, d_y, d_x):
    """dy/dx = ½ (1 + t) + ½ x (1 - t²) c (1 + 3k x²);  d_x = d_y · dy/dx."""
    for i in numba.prange(x.shape[0]):
        xi = x[i]
        t = _tanh(_C * (xi + _K * xi * xi * xi))
        d_x[i] = d_y[i] * (0.5 * (1.0 + t) + 0.5 * xi * (1.0 - t * t) * _C * (1.0 + 3.0 * _K * xi * xi))


def gelu_tanh_forward(x):
    """GPT-2's gelu, y = ½ x (1 + tanh(c (x + k x³))), in one pass (any shape)."""
    x = contiguous(x)
    y = numpy.empty_like(x)
    _gelu_forward(x.reshape(-1), y.reshape(-1))
    return y


def gelu_tanh_backward(x, d_y):
    """d_x = d_y · dy/dx, with tanh recomputed from x (so the op keeps only x)."""
    x, d_y = contiguous(x), contiguous(d_y)
    d_x = numpy.empty_like(x)
    _gelu_backward(x.reshape(-1), d_y.reshape(-1), d_x.reshape(-1))
    return d_x


# ---- softmax over the last axis ---------------------------------------------------------------


@jit
def _softmax_rows(x, p):
    """p = e^{x - max x} / Σ e^{x - max x}, row by row."""
    for r in numba.prange(x.shape[0]):
        top = x[r, 0]
        for j in range(1, x.shape[1]):
            top = max(top, x[r, j])
        total = 0.0
        for j in range(x.shape[1]):
            e = math.exp(x[r, j] - top)
            p[r, j] = e
            total += e
        for j in range(x.shape[1]):
            p[r, j] /= total


@jit
def _softmax_rows_backward(p, d_p, d_x):
    """d_xⱼ = pⱼ (d_pⱼ - Σᵢ d_pᵢ pᵢ), row by row."""
    for r in numba.prange(p.shape[0]):
        dot = 0.0
        for j in range(p.shape[1]):
            dot += d_p[r, j] * p[r, j]
        for j in range(p.shape[1]):
            d_x[r, j] = p[r, j] * (d_p[r, j] - dot)


def _rows(x):
    """A contiguous (rows, last axis) view of x."""
    x = contiguous(x)
    return x, x.reshape(-1, x.shape[-1]) if x.ndim else x.reshape(1, 1)


def softmax_forward(x):
    """softmax over the last axis, each row in one pass over its numbers."""
    x, rows = _rows(x)
    probs = numpy.empty_like(x)
    _softmax_rows(rows, probs.reshape(rows.shape))
    return probs


def softmax_backward(probs, d_probs):
    """d_x = p ⊙ (d_p - Σ d_p ⊙ p) over the last axis."""
    probs, rows = _rows(probs)
    d_probs = contiguous(d_probs)
    d_x = numpy.empty_like(probs)
    _softmax_rows_backward(rows, d_probs.reshape(rows.shape), d_x.reshape(rows.shape))
    return d_x


# ---- layer norm over the last axis ------------------------------------------------------------


@jit
def _layer_norm_rows(x, weight, bias, has_weight, has_bias, eps, y, mean, rstd):
    """μ = mean(x), 1/σ = 1/√(mean((x - μ)²) + eps), y = (x - μ)/σ ⊙ w + b, row by row."""
    num_features = x.shape[1]
    for r in numba.prange(x.shape[0]):
        total = 0.0
        for j in range(num_features):
            total += x[r, j]
        mu = total / num_features
        squares = 0.0
        for j in range(num_features):
            squares += (x[r, j] - mu) * (x[r, j] - mu)
        inv_std = 1.0 / math.sqrt(squares / num_features + eps)
        mean[r], rstd[r] = mu, inv_std
        for j in range(num_features):
            value = (x[r, j] - mu) * inv_std
            if has_weight:
                value *= weight[j]
            if has_bias:
                value += bias[j]
            y[r, j] = value


@jit
def _layer_norm_rows_backward(d_y, x, mean, rstd, weight, has_weight, d_x):
    """With ĝ = d_y ⊙ w and x̂ = (x - μ)/σ:  d_x = (1/σ)(ĝ - mean(ĝ) - x̂ ⊙ mean(ĝ ⊙ x̂)), row by row."""
    num_features = x.shape[1]
    for r in numba.prange(x.shape[0]):
        sum_g, sum_g_x_hat = 0.0, 0.0
        for j in range(num_features):
            g = d_y[r, j] * weight[j] if has_weight else d_y[r, j]
            sum_g += g
            sum_g_x_hat += g * (x[r, j] - mean[r]) * rstd[r]
        mean_g, mean_g_x_hat = sum_g / num_features, sum_g_x_hat / num_features
        for j in range(num_features):
            g = d_y[r, j] * weight[j] if has_weight else d_y[r, j]
            x_hat = (x[r, j] - mean[r]) * rstd[r]
            d_x[r, j] = rstd[r] * (g - mean_g - x_hat * mean_g_x_hat)


def layer_norm_forward(x, weight=None, bias=None, eps=1e-5):
    """Returns y, mean and 1/σ (one per row); the op keeps x, mean and 1/σ, not x̂."""
    x, rows = _rows(x)
    y = numpy.empty_like(x)
    mean = numpy.empty(rows.shape[0], dtype=x.dtype)
    rstd = numpy.empty(rows.shape[0], dtype=x.dtype)
    no_vector = numpy.empty(0, dtype=x.dtype)
    _layer_norm_rows(rows, no_vector if weight is None else weight, no_vector if bias is None else bias,
                     weight is not None, bias is not None, eps, y.reshape(rows.shape), mean, rstd)
    return y, mean.reshape(x.shape[:-1]), rstd.reshape(x.shape[:-1])


def layer_norm_backward(d_y, x, mean, rstd, weight=None, needs_input_grad=(True, True, True)):
    """d_x from the row loop; d_w = Σ_rows d_y ⊙ x̂ and d_b = Σ_rows d_y as BLAS column sums."""
    x, rows = _rows(x)
    d_y = contiguous(d_y)
    d_y_rows = d_y.reshape(rows.shape)
    mean, rstd = contiguous(mean).reshape(-1), contiguous(rstd).reshape(-1)
    d_x = d_weight = d_bias = None
    if needs_input_grad[0]:
        d_x = numpy.empty_like(x)
        no_vector = numpy.empty(0, dtype=x.dtype)
        _layer_norm_rows_backward(d_y_rows, rows, mean, rstd, no_vector if weight is None else weight,
                                  weight is not None, d_x.reshape(rows.shape))
    ones = numpy.ones(rows.shape[0], dtype=x.dtype)
    if len(needs_input_grad) > 1 and needs_input_grad[1] and weight is not None:
        d_weight = ones @ (d_y_rows * ((rows - mean[:, None]) * rstd[:, None]))
    if len(needs_input_grad) > 2 and needs_input_grad[2]:
        d_bias = ones @ d_y_rows
    return d_x, d_weight, d_bias


# ---- cross-entropy against integer targets -----------------------------------------------------


@jit
def _cross_entropy_rows(z, targets, ignore_index, smoothing, losses, lse):
    """lse = log Σ e^z;  loss = (1 - ε)(lse - z[t]) + ε (lse - mean z);  0 where t is ignored,
    NaN where t is out of range; row by row."""
    num_classes = z.shape[1]
    for r in numba.prange(z.shape[0]):
        top = z[r, 0]
        for j in range(1, num_classes):
            top = max(top, z[r, j])
        total, shifted_sum = 0.0, 0.0
        for j in range(num_classes):
            total += math.exp(z[r, j] - top)
            shifted_sum += z[r, j] - top
        log_total = math.log(total)  # lse - max z: the max cancels in every loss term
        lse[r] = log_total + top
        t = targets[r]
        if t == ignore_index:
            losses[r] = 0.0
        elif t < 0 or t >= num_classes:
            losses[r] = math.nan
        else:
            losses[r] = ((1.0 - smoothing) * (log_total - (z[r, t] - top))
                         + smoothing * (log_total - shifted_sum / num_classes))


@jit
def _cross_entropy_rows_backward(z, targets, lse, row_weights, ignore_index, smoothing, d_z):
    """d_z = w · (softmax(z) - (1 - ε) onehot(t) - ε/C), 0 where t is ignored; row by row."""
    num_classes = z.shape[1]
    for r in numba.prange(z.shape[0]):
        t = targets[r]
        w = 0.0 if t == ignore_index else row_weights[r]
        for j in range(num_classes):
            d_z[r, j] = w * (math.exp(z[r, j] - lse[r]) - smoothing / num_classes)
        if t != ignore_index and 0 <= t < num_classes:
            d_z[r, t] -= w * (1.0 - smoothing)


def cross_entropy_forward(logits, targets, ignore_index=-100, label_smoothing=0.0):
    """Per-row losses and log-sum-exp of (N, C) logits against (N,) integer targets."""
    logits = contiguous(logits)
    losses = numpy.empty(logits.shape[0], dtype=logits.dtype)
    lse = numpy.empty(logits.shape[0], dtype=logits.dtype)
    _cross_entropy_rows(logits, contiguous(targets).astype(numpy.int64), ignore_index, label_smoothing,
                        losses, lse)
    return losses, lse


def cross_entropy_backward(logits, targets, lse, row_weights, ignore_index=-100, label_smoothing=0.0):
    """d_logits, with ``row_weights`` dL/d(loss of each row): one number for all rows, or one per row."""
    logits = contiguous(logits)
    weights = numpy.broadcast_to(numpy.asarray(row_weights, dtype=logits.dtype).reshape(-1), (logits.shape[0],))
    weights = weights.copy()  # one weight per row
    d_logits = numpy.empty_like(logits)
    _cross_entropy_rows_backward(logits, contiguous(targets).astype(numpy.int64),
                                 contiguous(lse), weights, ignore_index, label_smoothing, d_logits)
    return d_logits


# ---- Adam and AdamW, in place ------------------------------------------------------------------


@jit
def _adam(param, grad, m, v, lr, beta1, beta2, eps, weight_decay, decoupled, bias1, bias2_sqrt):
    """θ ← θ (1 - η λ) (AdamW) or g ← g + λ θ (Adam's L2); m ← β₁ m + (1 - β₁) g;
    v ← β₂ v + (1 - β₂) g²;  θ ← θ - (η / (1 - β₁ᵗ)) m / (√v / √(1 - β₂ᵗ) + ε)."""
    for i in numba.prange(param.shape[0]):
        g = grad[i]
        if decoupled:
            param[i] *= 1.0 - lr * weight_decay
        else:
            g += weight_decay * param[i]
        m[i] = beta1 * m[i] + (1.0 - beta1) * g
        v[i] = beta2 * v[i] + (1.0 - beta2) * g * g
        param[i] -= (lr / bias1) * m[i] / (math.sqrt(v[i]) / bias2_sqrt + eps)


def adam_update(param, grad, exp_avg, exp_avg_sq, *, lr, beta1, beta2, eps, weight_decay, step, decoupled):
    """One Adam/AdamW update of ``param`` and its moments, in place, in one pass over them."""
    if not (param.flags.c_contiguous and exp_avg.flags.c_contiguous and exp_avg_sq.flags.c_contiguous):
        raise ValueError("adam_update: the parameter and its moments must be contiguous arrays")
    _adam(param.reshape(-1), contiguous(grad).reshape(-1), exp_avg.reshape(-1), exp_avg_sq.reshape(-1),
          lr, beta1, beta2, eps, weight_decay, decoupled, 1 - beta1**step, math.sqrt(1 - beta2**step))
