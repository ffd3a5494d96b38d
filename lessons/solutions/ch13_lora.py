"""Worked solutions of chapter 13's exercises (``tinygrad_ft.exercises``): LoRA.

Check them with ``tinygrad_ft.exercises.check(lora_forward)``, ``check(lora_backward)`` and
``check(lora_merge)``.
"""


# y = x W + b + s (x A) B with s = alpha / r. (x A) first: an (N, r) matrix, cheap for small r.
def lora_forward(x, W, b, A, B, alpha):
    s = alpha / A.shape[1]
    return x @ W + b + s * ((x @ A) @ B)


# With h = x A and G = d_out: the update s h B is a dense layer on h, so dL/dB = s hᵀ G
# (r, out) and dL/dh = s G Bᵀ (N, r); then h = x A is a dense layer on x: dL/dA = xᵀ dL/dh.
def lora_backward(x, A, B, alpha, d_out):
    s = alpha / A.shape[1]
    d_h = s * (d_out @ B.T)
    return x.T @ d_h, s * ((x @ A).T @ d_out)


# x (A B) = (x A) B, so the update is the (in, out) matrix s A B, added to a new W.
def lora_merge(W, A, B, alpha):
    return W + (alpha / A.shape[1]) * (A @ B)
