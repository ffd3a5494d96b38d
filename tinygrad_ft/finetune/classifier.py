"""A classifier on top of a GPT: pool the hidden states of a text, then one Linear layer.

    ids (B, T), mask (B, T) ─► GPT.hidden_states ─► (B, T, C) ─► pool ─► (B, C) ─► head ─► logits (B, K)

Pooling reads only real tokens, never padding:
- ``"last"``: the hidden state of the last real token. In a causal model it is the only one
  that has seen the whole text.
- ``"mean"``: the average over the real tokens.
So padding a text to a longer batch cannot change its prediction (tested).

What trains is chosen by ``set_trainable``: the head only (a linear probe), the last N blocks
with the final norm and the head, or everything; LoRA is in ``lora.py``.
"""

from __future__ import annotations

from .. import nn
from ..autograd import Tensor
from ..backend import asarray
from ..models.gpt import GPT

POOLINGS = ("last", "mean")
METHODS = ("head", "last-block", "full", "lora")


class GPTClassifier(nn.Module):
    def __init__(self, gpt: GPT, num_classes: int, pooling: str = "last"):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self.gpt = gpt
        self.pooling = pooling
        self.head = nn.Linear(gpt.config.n_embd, num_classes)

    def pool(self, hidden: Tensor, mask) -> Tensor:
        """(B, T, C) hidden states and a (B, T) mask of real tokens → (B, C)."""
        xp = hidden.xp
        if self.pooling == "last":
            last = mask.sum(axis=1) - 1  # index of the last real token of each row (right padding)
            return hidden[xp.arange(hidden.shape[0]), last]
        weights = mask.astype(hidden.dtype)  # a new array; divided in place, so it stays float32 (no int64 promotion)
        weights /= weights.sum(axis=1, keepdims=True)
        return (hidden * weights[:, :, None]).sum(axis=1)

    def forward(self, ids, attention_mask=None) -> Tensor:
        ids = ids.data if isinstance(ids, Tensor) else ids
        if attention_mask is None:
            attention_mask = ids >= 0
        mask = attention_mask.data if isinstance(attention_mask, Tensor) else attention_mask
        mask = asarray(mask, self.head.weight.device)  # a host mask is copied, explicitly, to the model's device
        hidden = self.gpt.hidden_states(ids, attention_mask=mask)
        return self.head(self.pool(hidden, mask))


def set_trainable(model: GPTClassifier, method: str, last_n: int = 1) -> dict:
    """Choose what trains, in one line; returns {"trainable": n, "total": n, "fraction": f}.

    - ``"head"``: only the classification head (a linear probe of frozen features);
    - ``"last-block"``: the last ``last_n`` transformer blocks, the final LayerNorm and the head;
    - ``"full"``: everything;
    - ``"lora"``: LoRA adapters on every block's attention and feed-forward Linears, plus the head.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    gpt = model.gpt
    if method == "full":
        model.unfreeze()
    elif method == "lora":
        from .lora import apply_lora

        apply_lora(gpt, targets=("*.attn.c_attn", "*.attn.c_proj", "*.mlp.c_fc", "*.mlp.c_proj"), rank=4, alpha=8.0)
        model.head.unfreeze()
    else:
        model.freeze()
        model.head.unfreeze()
        if method == "last-block":
            if not 1 <= last_n <= len(gpt.blocks):
                raise ValueError(f"last_n must be between 1 and {len(gpt.blocks)}, got {last_n}")
            for block in list(gpt.blocks)[-last_n:]:
                block.unfreeze()
            gpt.ln_f.unfreeze()
    trainable = model.num_parameters(trainable_only=True)
    total = model.num_parameters()
    return {"trainable": trainable, "total": total, "fraction": trainable / total}
