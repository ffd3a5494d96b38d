"""Worked solutions of chapter 7's exercises (``tinygrad_ft.exercises``): AdamW and its schedule.

Check them with ``tinygrad_ft.exercises.check(adamw_step)`` and ``check(warmup_cosine_schedule)``.
"""

import math


# Decoupled weight decay first (θ ← θ - η λ θ: every weight shrinks at the same rate, whatever
# its gradient), then the moments: m and v start at 0, so after t steps they are pulled towards
# 0 by a factor (1 - βᵗ), which the bias correction divides out. ε outside the square root.
# New arrays throughout (param * ..., not param *= ...): the caller's arrays stay unchanged.
def adamw_step(param, grad, m, v, step, lr, betas, eps, weight_decay):
    beta1, beta2 = betas
    param = param * (1 - lr * weight_decay)
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1**step)
    v_hat = v / (1 - beta2**step)
    param = param - lr * m_hat / (v_hat**0.5 + eps)
    return param, m, v


# Three phases. Warmup: a straight line from 0 (step 0) towards base_lr. Decay: the progress p
# runs from 0 (the first step after the warmup) to 1 (total_steps), and (1 + cos π p)/2 runs
# from 1 to 0, so lr runs from base_lr to min_lr. After total_steps: min_lr, for good.
def warmup_cosine_schedule(step, base_lr, warmup_steps, total_steps, min_lr):
    if step < warmup_steps:
        return base_lr * step / warmup_steps
    if step >= total_steps:
        return min_lr
    p = (step - warmup_steps) / (total_steps - warmup_steps)
    return min_lr + (base_lr - min_lr) * (1 + math.cos(math.pi * p)) / 2
