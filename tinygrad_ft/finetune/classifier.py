"""A classifier on top of a GPT: pool the hidden states of a text, then one Linear layer.

    ids (B, T), mask (B, T) ─► GPT.hidden_states ─► (B, T, C) ─► pool ─► (B, C) ─► head ─► logits (B, K)

Pooling reads only real tokens, never padding:
- ``"last"``: the hidden state of the last real token. In a causal model it is the only one
  that has seen the whole text.
- ``"mean"``: the average over the real tokens.
So padding a text to a longer batch cannot change its prediction (tested).

The GPT's language-model head is dropped: a classifier reads hidden states, never next-token
scores. What trains is chosen by ``set_trainable``: the head only (a linear probe), the last N blocks
with the final norm and the head, or everything; LoRA is in ``lora.py``.
"""

from __future__ import annotations

from .. import nn
from ..autograd import Tensor
from ..backend import asarray, backend_of, get_backend, is_array
from ..models.gpt import GPT

POOLINGS = ("last", "mean")
METHODS = ("head", "last-block", "full", "lora")
LORA_TARGETS = ("*.attn.c_attn", "*.attn.c_proj", "*.mlp.c_fc", "*.mlp.c_proj")  # every block's Linears


class GPTClassifier(nn.Module):
    def __init__(self, gpt: GPT, num_classes: int, pooling: str = "last"):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        gpt.lm_head = None  # never used here: kept, it would count as trainable and never get a gradient
        self.gpt = gpt
        self.pooling = pooling
        self.head = nn.Linear(gpt.config.n_embd, num_classes)

    def pool(self, hidden: Tensor, mask) -> Tensor:
        """(B, T, C) hidden states and a (B, T) mask of real tokens → (B, C)."""
        xp = hidden.xp
        if self.pooling == "last":  # the position of each row's last real token, wherever the padding is
            last = mask.shape[1] - 1 - xp.argmax(mask[:, ::-1], axis=1)
            return hidden[xp.arange(hidden.shape[0]), last]
        weights = mask.astype(hidden.dtype)  # a new array; divided in place, so it stays float32 (no int64 promotion)
        weights /= xp.maximum(weights.sum(axis=1, keepdims=True), 1)  # a row without tokens pools to 0, not NaN
        return (hidden * weights[:, :, None]).sum(axis=1)

    def forward(self, ids, attention_mask=None) -> Tensor:
        ids = ids.data if isinstance(ids, Tensor) else ids
        if attention_mask is None:
            attention_mask = ids >= 0
        mask = attention_mask.data if isinstance(attention_mask, Tensor) else attention_mask
        on_host = not is_array(mask) or backend_of(mask) is get_backend("cpu")
        mask = asarray(mask, "cpu" if on_host else backend_of(mask).name) != 0
        if mask.ndim != 2 or mask.shape != tuple(ids.shape):
            raise ValueError(f"GPTClassifier: attention_mask of shape {tuple(mask.shape)} does not fit ids of shape "
                             f"{tuple(ids.shape)}; expected (batch, time)")
        if on_host and not mask.any(axis=1).all():  # checked where it is free: a device mask is not read back
            row = int((~mask.any(axis=1)).argmax())
            raise ValueError(f"GPTClassifier: row {row} of attention_mask has no real token (every position is "
                             "padding); each text needs at least one token")
        mask = asarray(mask, self.head.weight.device)  # a host mask is copied, explicitly, to the model's device
        hidden = self.gpt.hidden_states(ids, attention_mask=mask)
        return self.head(self.pool(hidden, mask))


def set_trainable(model: GPTClassifier, method: str, last_n: int = 1, lora_rank: int = 4, lora_alpha: float = 8.0,
                  lora_targets=LORA_TARGETS) -> dict:
    """Choose what trains, in one line; returns {"trainable": n, "total": n, "fraction": f}.

    - ``"head"``: only the classification head (a linear probe of frozen features);
    - ``"last-block"``: the last ``last_n`` transformer blocks, the final LayerNorm and the head;
    - ``"full"``: everything;
    - ``"lora"``: LoRA adapters of rank ``lora_rank`` (scaled by ``lora_alpha / lora_rank``) on the
      Linears whose names match ``lora_targets`` (by default every block's attention and
      feed-forward Linears), plus the head.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    gpt = model.gpt
    if method == "full":
        model.unfreeze()
    elif method == "lora":
        from .lora import apply_lora

        apply_lora(gpt, targets=tuple(lora_targets), rank=lora_rank, alpha=lora_alpha)
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
