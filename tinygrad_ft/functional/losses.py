"""Element-wise losses: binary cross-entropy (on probabilities or, stably, on logits) and the
mean squared error. Each takes ``reduction`` = "mean", "sum" or "none"; targets may be
Tensors (they get gradients too, as in PyTorch) or arrays and numbers (constants)."""

from __future__ import annotations

from ..autograd import Function, Tensor
from ..autograd.ops import unbroadcast
from .activations import sigmoid_composed
from .arguments import as_tensor, floating_tensor
from .reduction import check_reduction, loss_scale, reduce, reduce_composed


class BinaryCrossEntropy(Function):
    """loss = -(t log p + (1 - t) log(1 - p)), each log clamped at -100 as in PyTorch (so
    p = 0 or 1 gives a finite loss). Writing ℓ₁ = log p, ℓ₀ = log(1 - p):

        loss = -(ℓ₀ + t (ℓ₁ - ℓ₀))
        dloss/dp = -t/p + (1 - t)/(1 - p) = (p - t) / (p (1 - p)),  the denominator kept
                   ≥ 1e-12 as in PyTorch (a finite, if huge, gradient at p = 0 or 1)
        dloss/dt = -(ℓ₁ - ℓ₀)
    """

    def forward(self, probs, targets, reduction="mean"):
        xp = self.xp
        log_p = xp.log(probs)
        xp.maximum(log_p, -100, out=log_p)
        log_1mp = xp.log1p(-probs)
        xp.maximum(log_1mp, -100, out=log_1mp)
        log_odds = log_p - log_1mp  # ℓ₁ - ℓ₀
        losses = targets * log_odds
        losses += log_1mp
        xp.negative(losses, out=losses)
        self.probs, self.targets, self.log_odds, self.reduction = probs, targets, log_odds, reduction
        return reduce(losses, reduction)

    def backward(self, d_loss):
        xp, probs = self.xp, self.probs
        scale = loss_scale(d_loss, self.reduction, probs.size)
        d_probs = d_targets = None
        if self.needs_input_grad[0]:
            denominator = 1 - probs
            denominator *= probs
            xp.maximum(denominator, 1e-12, out=denominator)
            d_probs = probs - self.targets
            d_probs /= denominator
            d_probs *= scale
        if self.needs_input_grad[1]:
            d_targets = self.log_odds * scale
            xp.negative(d_targets, out=d_targets)
        return d_probs, d_targets


class BinaryCrossEntropyWithLogits(Function):
    """loss = BCE(σ(x), t) computed from the logit x without forming σ(x):

    -(t log σ(x) + (1 - t) log(1 - σ(x))) = softplus(x) - t x,
    softplus(x) = log(1 + eˣ) = max(x, 0) + log(1 + e^{-|x|})   (no overflow at any x)

    dloss/dx = σ(x) - t,    dloss/dt = -x
    """

    def forward(self, logits, targets, reduction="mean"):
        xp = self.xp
        exp_neg_abs = xp.abs(logits)
        xp.negative(exp_neg_abs, out=exp_neg_abs)
        xp.exp(exp_neg_abs, out=exp_neg_abs)  # e^{-|x|} in (0, 1]
        losses = xp.log1p(exp_neg_abs)
        losses += xp.maximum(logits, 0)
        losses -= targets * logits
        self.logits, self.targets, self.exp_neg_abs, self.reduction = logits, targets, exp_neg_abs, reduction
        return reduce(losses, reduction)

    def backward(self, d_loss):
        xp, logits = self.xp, self.logits
        scale = loss_scale(d_loss, self.reduction, logits.size)
        d_logits = d_targets = None
        if self.needs_input_grad[0]:
            e = self.exp_neg_abs
            d_logits = xp.where(logits >= 0, 1, e)  # σ(x) = 1/(1+e) for x ≥ 0, e/(1+e) below
            d_logits /= 1 + e
            d_logits -= self.targets
            d_logits *= scale
        if self.needs_input_grad[1]:
            d_targets = logits * scale
            xp.negative(d_targets, out=d_targets)
        return d_logits, d_targets


class MSELoss(Function):
    """loss = (p - t)²;  dloss/dp = 2 (p - t),  dloss/dt = -2 (p - t)  (summed back where
    p and t were broadcast to a common shape)."""

    def forward(self, pred, target, reduction="mean"):
        self.diff = pred - target
        self.shapes, self.reduction = (pred.shape, target.shape), reduction
        return reduce(self.diff * self.diff, reduction)

    def backward(self, d_loss):
        d_pred = self.diff * 2
        d_pred *= loss_scale(d_loss, self.reduction, self.diff.size)
        d_target = unbroadcast(-d_pred, self.shapes[1]) if self.needs_input_grad[1] else None
        d_pred = unbroadcast(d_pred, self.shapes[0]) if self.needs_input_grad[0] else None
        return d_pred, d_target


def _check_same_shape(name, a, b):
    if a.shape != b.shape:
        raise ValueError(f"{name}: targets of shape {b.shape} do not match the input of shape {a.shape}")


def binary_cross_entropy(probs: Tensor, targets, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities ``probs`` in [0, 1] against ``targets`` (same shape).

    Prefer ``binary_cross_entropy_with_logits`` on the logits: it is stable where σ saturates.
    """
    probs = floating_tensor(probs, "binary_cross_entropy", "probs")
    check_reduction(reduction)
    targets = as_tensor(targets, probs)
    _check_same_shape("binary_cross_entropy", probs, targets)
    outside = ~((probs.data >= 0) & (probs.data <= 1))  # NaN is outside too
    if bool(outside.any()):
        raise ValueError(
            f"binary_cross_entropy: probs must lie in [0, 1], but one is {float(probs.data[outside][0])}; "
            "if these are logits, use binary_cross_entropy_with_logits"
        )
    return BinaryCrossEntropy.apply(probs, targets, reduction=reduction)


def binary_cross_entropy_with_logits(logits: Tensor, targets, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of σ(logits) against ``targets`` (same shape), stable for any logits."""
    logits = floating_tensor(logits, "binary_cross_entropy_with_logits", "logits")
    check_reduction(reduction)
    targets = as_tensor(targets, logits)
    _check_same_shape("binary_cross_entropy_with_logits", logits, targets)
    return BinaryCrossEntropyWithLogits.apply(logits, targets, reduction=reduction)


def mse_loss(pred: Tensor, target, reduction: str = "mean") -> Tensor:
    """The squared error (pred - target)², averaged ("mean"), summed ("sum") or not ("none").

    ``pred`` and ``target`` must have the same shape: a (4, 1) prediction against (4,) targets
    would broadcast to (4, 4) and average the wrong 16 differences (PyTorch only warns)."""
    pred = floating_tensor(pred, "mse_loss", "pred")
    check_reduction(reduction)
    target = as_tensor(target, pred)
    _check_same_shape("mse_loss", pred, target)
    return MSELoss.apply(pred, target, reduction=reduction)

# ---- composed from primitive ops: the reference the op above is checked against ----------------


def binary_cross_entropy_composed(probs: Tensor, targets: Tensor, reduction="mean") -> Tensor:
    losses = -(targets * probs.log().maximum(-100.0) + (1 - targets) * (1 - probs).log().maximum(-100.0))
    return reduce_composed(losses, reduction)


def binary_cross_entropy_with_logits_composed(logits: Tensor, targets: Tensor, reduction="mean") -> Tensor:
    """-(t log σ(x) + (1 - t) log(1 - σ(x))), written out with σ composed from exp."""
    p = sigmoid_composed(logits)
    return reduce_composed(-(targets * p.log() + (1 - targets) * (1 - p).log()), reduction)


def mse_loss_composed(pred: Tensor, target: Tensor, reduction="mean") -> Tensor:
    diff = pred - target
    return reduce_composed(diff * diff, reduction)
