"""Stochastic gradient descent, with optional momentum, Nesterov momentum and L2 weight decay."""

from __future__ import annotations

from ..backend import as_array
from .optimizer import Optimizer


class SGD(Optimizer):
    """``SGD(params, lr, momentum=0.0, nesterov=False, weight_decay=0.0)``, as ``torch.optim.SGD``.

    ``weight_decay`` here is an L2 penalty: ``wd/2 · ‖θ‖²`` added to the loss, i.e. ``wd · θ``
    added to the gradient (for plain SGD that is the same as decaying the weights).
    PyTorch's ``dampening`` is not offered (it is 0 here).
    """

    def __init__(self, params, lr: float, momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0):
        super().__init__(params, {"lr": lr, "momentum": momentum, "nesterov": nesterov, "weight_decay": weight_decay})

    def _check_hyperparameters(self, group):
        super()._check_hyperparameters(group)
        if group["momentum"] < 0:
            raise ValueError(f"SGD: momentum must be >= 0, got {group['momentum']}")
        if group["nesterov"] and group["momentum"] <= 0:
            raise ValueError("SGD: nesterov=True needs a momentum > 0")

    def update(self, param, grad, state, group):
        """One step for one parameter θ with gradient g (μ = momentum, λ = weight_decay, η = lr):

            g ← g + λ θ                       (L2 weight decay, if λ ≠ 0)
            b ← g                  on the first step,  b ← μ b + g  after   (if μ ≠ 0)
            g ← g + μ b            with Nesterov,      g ← b        without (if μ ≠ 0)
            θ ← θ - η g
        """
        lr, momentum, weight_decay = group["lr"], group["momentum"], group["weight_decay"]
        if weight_decay != 0:
            grad = as_array(grad + weight_decay * param.data)  # new: grad itself is never written to
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.copy()
            else:
                buf *= momentum
                buf += grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        param.data -= lr * grad
