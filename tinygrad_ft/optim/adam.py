"""Adam and AdamW: per-parameter step sizes from running averages of the gradient and its square.

The two differ only in weight decay, and the difference matters:

* ``Adam(weight_decay=λ)`` adds the L2 penalty's gradient ``λ θ`` to ``g`` *before* the
  moments. The decay is then divided by ``√v̂`` like the rest of the gradient, so weights with
  large gradients are hardly decayed at all: L2 and weight decay are not the same thing here.
* ``AdamW(weight_decay=λ)`` shrinks the weights directly, ``θ ← θ - η λ θ``, apart from the
  Adam step ("decoupled weight decay", Loshchilov & Hutter 2019): every weight decays at the
  same rate. This is what GPT training uses, with λ around 0.1.
"""

from __future__ import annotations

import math

from ..backend.kernels import fused
from .optimizer import Optimizer


class Adam(Optimizer):
    """``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)``, as ``torch.optim.Adam``.

    ``weight_decay`` is an L2 penalty added to the gradient (see the module's docstring);
    for decoupled weight decay use ``AdamW``.
    """

    decoupled_weight_decay = False

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay})

    def _check_hyperparameters(self, group):
        super()._check_hyperparameters(group)
        beta1, beta2 = group["betas"]
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
            raise ValueError(f"{type(self).__name__}: betas must each be in [0, 1), got {group['betas']}")
        if not group["eps"] >= 0:
            raise ValueError(f"{type(self).__name__}: eps must be >= 0, got {group['eps']}")

    def update(self, param, grad, state, group):
        """One step for one parameter θ with gradient g, at step t = 1, 2, ...:

            g ← g + λ θ                       (Adam: L2 penalty, if λ ≠ 0)
            θ ← θ - η λ θ                     (AdamW: decoupled weight decay, if λ ≠ 0)
            m ← β₁ m + (1 - β₁) g             running mean of g          (m₀ = 0)
            v ← β₂ v + (1 - β₂) g²            running mean of g²         (v₀ = 0)
            m̂ = m / (1 - β₁ᵗ),  v̂ = v / (1 - β₂ᵗ)    undo the pull towards the zero start
            θ ← θ - η m̂ / (√v̂ + ε)

        Written in place on m, v and θ with one temporary array (``tmp``), 13 passes over
        memory. The bias corrections are folded into two Python floats (the step count lives
        on the host, so nothing waits for the device): with b₂ = √(1 - β₂ᵗ),

            η m̂ / (√v̂ + ε) = (η b₂ / (1 - β₁ᵗ)) · m / (√v + ε b₂)

        the same number up to rounding, one pass fewer than dividing √v by b₂ first.
        """
        xp = param.xp
        lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(param.data)
            state["exp_avg_sq"] = xp.zeros_like(param.data)
        state["step"] += 1
        t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]

        kernel = fused("adam_update", param.data, grad)  # on a GPU: the whole update in one pass
        if kernel is not None:
            kernel(param.data, grad, m, v, lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay,
                   step=t, decoupled=self.decoupled_weight_decay)
            return

        if weight_decay != 0:
            if self.decoupled_weight_decay:
                param.data *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * param.data  # a new array: grad itself is never written to

        tmp = xp.multiply(grad, 1 - beta1, out=xp.empty_like(m))  # the one temporary (an array even if 0-d)
        m *= beta1
        m += tmp
        xp.multiply(grad, grad, out=tmp)
        tmp *= 1 - beta2
        v *= beta2
        v += tmp

        root_bias2 = math.sqrt(1 - beta2**t)
        xp.sqrt(v, out=tmp)
        tmp += eps * root_bias2
        xp.divide(m, tmp, out=tmp)
        tmp *= lr * root_bias2 / (1 - beta1**t)
        param.data -= tmp


class AdamW(Adam):
    """``AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)``, as ``torch.optim.AdamW``.

    Adam with decoupled weight decay: θ ← θ - η λ θ, then the Adam step (see ``Adam.update``).
    Usually no decay on biases and LayerNorm weights: build the groups with
    ``weight_decay_groups(model, 0.1)``.
    """

    decoupled_weight_decay = True

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.01):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
