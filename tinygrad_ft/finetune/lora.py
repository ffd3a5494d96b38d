"""LoRA: fine-tune a Linear layer by learning a low-rank change to its weight.

A Linear layer computes y = x W + b with W of shape (in, out). LoRA freezes W and learns

    y = x W + b + (x A) B · s,        A: (in, r),  B: (r, out),  s = alpha / r

with rank r much smaller than in and out: r·(in + out) numbers instead of in·out. B starts
at zero, so at step 0 the adapted layer is exactly the pre-trained one. The gradients are
just those of two extra matmuls: dL/dB = s (x A)ᵀ G and dL/dA = s xᵀ (G Bᵀ) for G = dL/dy.

For inference the change can be merged into the weight, W' = W + s A B, so the adapted
model costs nothing extra; unmerging subtracts it again.
"""

from __future__ import annotations

import fnmatch
import math

from .. import nn
from ..autograd import Tensor, no_grad
from ..backend import asarray, get_backend


class LoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus a trainable low-rank update ``(x A) B · alpha/r``."""

    def __init__(self, base: nn.Linear, rank: int = 4, alpha: float = 8.0):
        super().__init__()
        if rank < 1:
            raise ValueError(f"LoRA rank must be at least 1, got {rank}")
        in_features, out_features = base.weight.shape
        self.base = base
        self.base.freeze()
        self.rank, self.alpha, self.scaling = rank, alpha, alpha / rank
        bound = 1 / math.sqrt(in_features)  # A as a Linear's default init; B zero: no change at the start
        backend = get_backend(base.weight.device)
        a = (backend.random((in_features, rank), base.weight.dtype) * 2 - 1) * bound
        self.lora_A = nn.Parameter(a, device=base.weight.device)
        self.lora_B = nn.Parameter(backend.xp.zeros((rank, out_features), dtype=base.weight.dtype), device=base.weight.device)
        self.merged = False

    def forward(self, x: Tensor) -> Tensor:
        y = self.base(x)
        if self.merged:
            return y
        return y + (x @ self.lora_A) @ self.lora_B * self.scaling

    def delta_weight(self):
        """s · A B, the (in, out) change LoRA has learned."""
        return (self.lora_A.data @ self.lora_B.data) * self.scaling

    def merge(self) -> None:
        """Fold the update into the base weight: W ← W + s A B (forward then skips the adapters)."""
        if not self.merged:
            with no_grad():
                self.base.weight.data = self.base.weight.data + self.delta_weight()
            self.merged = True

    def unmerge(self) -> None:
        """Undo ``merge``: W ← W − s A B."""
        if self.merged:
            with no_grad():
                self.base.weight.data = self.base.weight.data - self.delta_weight()
            self.merged = False

    def extra_repr(self) -> str:
        return f"rank={self.rank}, alpha={self.alpha}"


def apply_lora(model: nn.Module, targets=("*attn.c_attn", "*attn.c_proj"), rank: int = 4, alpha: float = 8.0) -> list[str]:
    """Replace every Linear whose dotted name matches a pattern in ``targets`` by a LoRALinear.

    Everything else in the model is frozen; only the adapters (and whatever the caller
    unfreezes afterwards, such as a classification head) train. Returns the wrapped names.
    """
    model.freeze()
    wrapped = []
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            full = f"{name}.{child_name}" if name else child_name
            if isinstance(child, nn.Linear) and any(fnmatch.fnmatch(full, t) for t in targets):
                setattr(module, child_name, LoRALinear(child, rank, alpha))
                wrapped.append(full)
    if not wrapped:
        raise ValueError(f"apply_lora: no Linear layer matches {list(targets)}")
    return wrapped


def lora_layers(model: nn.Module) -> list[LoRALinear]:
    return [m for m in model.modules() if isinstance(m, LoRALinear)]


def merge_lora(model: nn.Module) -> None:
    for layer in lora_layers(model):
        layer.merge()


def unmerge_lora(model: nn.Module) -> None:
    for layer in lora_layers(model):
        layer.unmerge()


def lora_state_dict(model: nn.Module) -> dict:
    """Only the adapter weights (``...lora_A``, ``...lora_B``): a few KB to save on their own."""
    return {name: p.data for name, p in model.named_parameters() if name.endswith(("lora_A", "lora_B"))}


def load_lora_state_dict(model: nn.Module, state: dict) -> None:
    """Load adapter weights saved by ``lora_state_dict`` into a model with the same adapters."""
    params = dict(model.named_parameters())
    own = {n for n in params if n.endswith(("lora_A", "lora_B"))}
    missing, unexpected = sorted(own - set(state)), sorted(set(state) - own)
    wrong = [f"{n}: saved {tuple(state[n].shape)}, model {params[n].shape}"
             for n in set(state) & own if tuple(state[n].shape) != params[n].shape]
    if missing or unexpected or wrong:
        raise ValueError(f"LoRA adapters do not fit this model: missing {missing}, unexpected {unexpected}, wrong shape "
                         f"{sorted(wrong)}")
    for name, array in state.items():
        params[name].data = asarray(array, params[name].device, params[name].dtype)
