"""Cross-entropy of logits against integer class targets, fused with the log-softmax.

For one row of logits z (C classes) and its target class t:

    loss = -log softmax(z)ₜ = log Σⱼ e^{zⱼ} - zₜ

Fusing the two steps matters twice: the log of a probability that underflowed to 0 never
happens (we never form the probability before taking the log), and the gradient is the
famously simple softmax(z) - onehot(t), with no division by a tiny probability.
"""

from __future__ import annotations

from ..autograd import Function, Tensor, where
from ..backend import asarray
from ..backend.kernels import fused
from .arguments import checked_indices, floating_tensor
from .reduction import check_reduction, loss_scale, reduce, reduce_composed
from .softmax import log_softmax_composed


class CrossEntropy(Function):
    """Row-wise loss over logits (N, C), targets (N,), with label smoothing ε:

        loss = (1 - ε) (lse - z[t]) + ε (lse - (1/C) Σⱼ zⱼ),   lse = log Σⱼ e^{zⱼ}

    (the cross-entropy against the target distribution (1 - ε) onehot(t) + ε/C). With
    p = softmax(z) = d lse / dz, the gradient of one row is

        dloss/dz = p - (1 - ε) onehot(t) - ε/C

    times that row's weight w: 0 for an ignored target, else g (the incoming gradient) for
    "sum" and "none", or g / (number of targets not ignored) for "mean".
    """

    def forward(self, logits, targets, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        xp = self.xp
        num_classes = logits.shape[-1]
        if tuple(targets.shape) != tuple(logits.shape[:-1]):
            raise ValueError(
                f"cross_entropy: targets of shape {tuple(targets.shape)} do not match logits of shape "
                f"{tuple(logits.shape)}; the class axis must be last, and targets have the shape of the rest"
            )
        self.shape = targets.shape
        logits = logits.reshape(-1, num_classes)  # (N, C)
        targets = targets.reshape(-1)  # (N,)
        kept = targets != ignore_index  # (the range of the targets was checked by cross_entropy)
        # what "mean" divides by (0 if every target is ignored): a 0-d array that stays on the device
        self.count = kept.sum().astype(logits.dtype)
        self.rows = xp.arange(targets.shape[0])
        self.safe_targets = xp.where(kept, targets, 0)  # ignored rows look up class 0, then get weight 0
        self.kept = kept.astype(logits.dtype)
        self.reduction, self.smoothing = reduction, label_smoothing

        kernel = fused("cross_entropy_forward", logits)  # on a GPU: one kernel; keeps lse, not probs
        if kernel is not None:
            losses, self.lse = kernel(logits, targets, ignore_index, label_smoothing)
            self.logits, self.targets, self.ignore_index = logits, targets, ignore_index
            self.backward_kernel = fused("cross_entropy_backward", logits)
            return reduce(losses.reshape(self.shape), reduction, self.count)
        self.backward_kernel = None
        shifted = logits - logits.max(axis=1, keepdims=True)  # (N, C); z - max z, for stability
        losses = -shifted[self.rows, self.safe_targets]  # -(z[t] - max z)
        if label_smoothing:
            losses *= 1 - label_smoothing
            losses -= (label_smoothing / num_classes) * shifted.sum(axis=1)
        probs = xp.exp(shifted, out=shifted)  # reuse the buffer: e^{z - max}, then softmax
        sum_exp = probs.sum(axis=1, keepdims=True)
        probs /= sum_exp
        self.probs = probs
        losses += xp.log(sum_exp).reshape(-1)  # + lse - max z; the max z cancels
        losses *= self.kept
        return reduce(losses.reshape(self.shape), reduction, self.count)

    def backward(self, d_loss):
        weights = loss_scale(d_loss, self.reduction, self.count)  # 0-d, or (...) for "none"
        if self.backward_kernel is not None:  # the fused forward ran
            row_weights = weights.reshape(-1) if self.reduction == "none" else weights
            d_logits = self.backward_kernel(self.logits, self.targets, self.lse, row_weights, self.ignore_index, self.smoothing)
            return d_logits.reshape(*self.shape, self.logits.shape[1]), None
        num_classes = self.probs.shape[1]
        weights = self.kept * (weights.reshape(-1) if self.reduction == "none" else weights)  # (N,)
        d_logits = self.probs * weights[:, None]
        d_logits[self.rows, self.safe_targets] -= (1 - self.smoothing) * weights
        if self.smoothing:
            d_logits -= (self.smoothing / num_classes) * weights[:, None]
        return d_logits.reshape(*self.shape, num_classes), None


def cross_entropy(
    logits: Tensor, targets, ignore_index: int = -100, reduction: str = "mean", label_smoothing: float = 0.0
) -> Tensor:
    """The cross-entropy loss of ``logits`` (..., C), the CLASS AXIS LAST (as (N, C) or
    (B, T, C)), against integer ``targets`` of shape (...) (an array or a Tensor).

    - Targets equal to ``ignore_index`` add nothing, and "mean" averages over the others only.
      If every target is ignored, "mean" is 0 and every gradient 0 (PyTorch gives NaN).
    - ``reduction``: "mean" (a scalar), "sum" (a scalar) or "none" (the loss at each position,
      shape (...), 0 where ignored).
    - ``label_smoothing`` ε in [0, 1] trains against (1 - ε) onehot(target) + ε/C, as PyTorch.

    A target outside 0..C-1 (other than ``ignore_index``) raises ValueError naming it (checked
    on the host when the targets come from there: see ``checked_indices``).
    """
    logits = floating_tensor(logits, "cross_entropy", "logits")
    check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    if logits.ndim < 1:
        raise ValueError("cross_entropy: logits need at least one axis, the class axis (last)")
    num_classes = logits.shape[-1]
    targets = checked_indices(targets, logits.device, "cross_entropy: targets", num_classes, lambda bad: (
        f"cross_entropy: target {bad} is out of range for {num_classes} classes "
        f"(targets must be in 0..{num_classes - 1}, or ignore_index={ignore_index} to skip a position)"), ignore=ignore_index)
    return CrossEntropy.apply(
        logits, targets, ignore_index=ignore_index, reduction=reduction, label_smoothing=float(label_smoothing)
    )

# ---- composed from primitive ops: the reference the op above is checked against ----------------


def cross_entropy_composed(logits: Tensor, targets, ignore_index=-100, reduction="mean", label_smoothing=0.0) -> Tensor:
    """-(1-ε) log softmax_composed(z)[t] - (ε/C) Σⱼ log softmax_composed(z)ⱼ, 0 where t is ignored."""
    targets = targets.data if isinstance(targets, Tensor) else asarray(targets, logits.device)
    num_classes = logits.shape[-1]
    log_probs = log_softmax_composed(logits.reshape(-1, num_classes), axis=-1)  # (N, C)
    flat = targets.reshape(-1)
    kept = flat != ignore_index
    xp = logits.xp
    picked = log_probs[xp.arange(flat.shape[0]), xp.where(kept, flat, 0)]  # (N,)
    losses = -(1 - label_smoothing) * picked
    if label_smoothing:
        losses = losses - (label_smoothing / num_classes) * log_probs.sum(axis=-1)
    losses = where(kept, losses, 0.0).reshape(targets.shape)
    return reduce_composed(losses, reduction, int(kept.sum()))
