"""Worked solutions of the gradient exercises (``tinygrad_ft.exercises``), in plain NumPy.

Each function has the stub's signature; the comment above it derives the gradient. Two habits
run through all of them:

- keep the inputs' dtype: constants are Python floats (``math.sqrt``, not ``np.sqrt``), new
  arrays come from the inputs (``x * ...``, ``np.zeros_like``), so float32 stays float32;
- never exponentiate something that can be large: shift by the maximum, or use e^{-|x|}.

Check one with ``tinygrad_ft.exercises.check(softmax_backward)``.
"""

import math

import numpy as np


# ---- chapter 2: softmax ------------------------------------------------------------------
# For one row, p = softmax(z) and dpᵢ/dzⱼ = pᵢ (δᵢⱼ - pⱼ). With g = dL/dp:
#   dL/dzⱼ = Σᵢ gᵢ pᵢ (δᵢⱼ - pⱼ) = pⱼ gⱼ - pⱼ Σᵢ gᵢ pᵢ = pⱼ (gⱼ - Σᵢ gᵢ pᵢ).
# The inner sum is one number per row: a sum over the last axis, kept as (N, 1) to broadcast.
def softmax_backward(probs, d_probs):
    return probs * (d_probs - (d_probs * probs).sum(axis=-1, keepdims=True))


# ---- chapters 2 and 6: cross-entropy -----------------------------------------------------
# One row: ℓ = log Σⱼ e^{zⱼ} - z_t, and d(log Σ e^z)/dz = softmax(z), so dℓ/dz = p - onehot(t).
# The loss is the mean over N rows, so every row's gradient is divided by N.
# p is computed from z - max z (same softmax, no overflow for logits of ±1000).
def cross_entropy_backward(logits, targets):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    probs = np.exp(shifted)
    probs /= probs.sum(axis=-1, keepdims=True)
    n = logits.shape[0]
    probs[np.arange(n), targets] -= 1
    return probs / n


# ---- chapter 3: activations (element-wise: d_x = d_out * dy/dx) --------------------------
# σ'(x) = σ(x) (1 - σ(x)). σ itself from e = e^{-|x|} ∈ (0, 1], which never overflows:
# σ(x) = 1/(1 + e) for x ≥ 0, and e/(1 + e) for x < 0 (multiply through by eˣ).
def sigmoid_backward(x, d_out):
    e = np.exp(-np.abs(x))
    s = np.where(x >= 0, 1, e) / (1 + e)
    return d_out * s * (1 - s)


# tanh'(x) = 1 - tanh(x)²; np.tanh is stable for any x (it saturates to ±1).
def tanh_backward(x, d_out):
    t = np.tanh(x)
    return d_out * (1 - t * t)


# relu'(x) = 1 where x > 0, else 0. (x > 0) is boolean; bool times float keeps the float dtype.
def relu_backward(x, d_out):
    return d_out * (x > 0)


# y = ½ x (1 + t), t = tanh(u), u = c (x + k x³):
#   dy/dx = ½ (1 + t) + ½ x dt/dx,   dt/dx = (1 - t²) du/dx,   du/dx = c (1 + 3 k x²).
def gelu_backward(x, d_out):
    c, k = math.sqrt(2 / math.pi), 0.044715
    t = np.tanh(c * (x + k * x**3))
    du_dx = c * (1 + 3 * k * x * x)
    return d_out * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du_dx)


# ---- chapter 5: the dense layer ----------------------------------------------------------
# y[n, o] = Σᵢ x[n, i] W[i, o] + b[o], G = d_out:
#   dL/dx[n, i] = Σₒ G[n, o] W[i, o]   → G @ Wᵀ    (N, out) @ (out, in) = (N, in)
#   dL/dW[i, o] = Σₙ x[n, i] G[n, o]   → xᵀ @ G    (in, N) @ (N, out) = (in, out)
#   dL/db[o]    = Σₙ G[n, o]           → b was broadcast to every row, so sum over the rows.
# No division by N: if the loss is a mean, d_out already carries the 1/N.
def linear_backward(x, W, b, d_out):
    return d_out @ W.T, x.T @ d_out, d_out.sum(axis=0)


# ---- chapter 6: losses -------------------------------------------------------------------
# L = (1/M) Σ (p - t)² over all M = N·D elements: dL/dp = 2 (p - t) / M.
def mse_backward(pred, target):
    return 2 * (pred - target) / pred.size


# ℓ = softplus(x) - t x, softplus'(x) = σ(x): dℓ/dx = σ(x) - t; the mean divides by M = N·D.
# σ computed as in sigmoid_backward, stable for logits of ±1000.
def binary_cross_entropy_with_logits_backward(logits, targets):
    e = np.exp(-np.abs(logits))
    s = np.where(logits >= 0, 1, e) / (1 + e)
    return (s - targets) / logits.size


# ---- chapter 8: attention ----------------------------------------------------------------
# Forward: S = q kᵀ / √D, masked S = -inf (causal: j > i), P = softmax(S) row-wise, O = P v.
# Backward, one step at a time, with G = dL/dO:
#   O = P v        → dV = Pᵀ G,  dP = G vᵀ                  (the dense layer's rule)
#   P = softmax(S) → dS = P ⊙ (dP - rowsum(dP ⊙ P))         (softmax_backward; masked P = 0)
#   S = q kᵀ / √D  → dq = dS k / √D,  dk = dSᵀ q / √D        (S[i, j] = q_i · k_j / √D)
def attention_backward(q, k, v, d_out, causal):
    scale = 1 / math.sqrt(q.shape[-1])
    scores = (q @ k.T) * scale
    if causal:
        t = scores.shape[0]
        scores = np.where(np.triu(np.ones((t, t), dtype=bool), k=1), -np.inf, scores)
    scores = scores - scores.max(axis=-1, keepdims=True)  # stable: the largest exponent is e⁰
    probs = np.exp(scores)
    probs /= probs.sum(axis=-1, keepdims=True)
    d_v = probs.T @ d_out
    d_scores = softmax_backward(probs, d_out @ v.T) * scale
    return d_scores @ k, d_scores.T @ q, d_v


# ---- chapter 9: layer norm ---------------------------------------------------------------
# Per row (C features): μ = mean(x), σ = √(mean((x - μ)²) + eps), x̂ = (x - μ)/σ, y = x̂ w + b.
# w and b act on every row: d_b = Σ_rows g, d_w = Σ_rows g ⊙ x̂ (g = d_out).
# Through x̂, with ĝ = g ⊙ w: x̂ᵢ depends on xᵢ directly (1/σ), through μ (dμ/dxᵢ = 1/C) and
# through σ (dσ/dxᵢ = x̂ᵢ / C). Adding the three paths:
#   dL/dxᵢ = (1/σ) (ĝᵢ - mean(ĝ) - x̂ᵢ mean(ĝ ⊙ x̂)).
# The variance is the mean of (x - μ)², computed after centring: mean(x²) - μ² would cancel
# catastrophically when |μ| ≫ σ.
def layer_norm_backward(x, w, b, d_out):
    eps = 1e-5
    centered = x - x.mean(axis=-1, keepdims=True)
    inv_std = 1 / np.sqrt((centered * centered).mean(axis=-1, keepdims=True) + eps)
    x_hat = centered * inv_std
    g_hat = d_out * w
    d_x = inv_std * (g_hat - g_hat.mean(axis=-1, keepdims=True) - x_hat * (g_hat * x_hat).mean(axis=-1, keepdims=True))
    return d_x, (d_out * x_hat).sum(axis=0), d_out.sum(axis=0)
