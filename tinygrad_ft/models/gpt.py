"""A tiny GPT, in one file: token + position embeddings, pre-LayerNorm transformer blocks
(causal multi-head attention, then a GELU feed-forward, each on a residual path), a final
LayerNorm and a language-model head that scores every token of the vocabulary.

    ids (B, T) ─► wte(ids) + wpe(0..T-1) ─► [ x + attn(ln_1(x));  x + mlp(ln_2(x)) ] × n_layer
                                         ─► ln_f ─► lm_head ─► logits (B, T, vocab_size)

Built only from the library's layers; every gradient comes from their hand-derived backwards.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from .. import functional as F
from .. import nn
from ..autograd import Tensor
from ..backend import asarray, is_array
from ..nn.checkpoint import CheckpointError, load_checkpoint
from ..tokenizers import Tokenizer

DROPOUT_SITES = ("embd_pdrop", "attn_pdrop", "resid_pdrop")


@dataclass
class GPTConfig:
    vocab_size: int = 65
    block_size: int = 64  # the longest context the model sees
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0  # while training; the rate of the three sites below unless they are given
    bias: bool = True  # biases in the Linear and LayerNorm layers
    tie_weights: bool = False  # share the token embedding with the language-model head
    # GPT-2's three dropout sites (None: ``dropout``): the embeddings (token + position), the
    # attention probabilities, and each block's two outputs into the residual stream
    embd_pdrop: float | None = None
    attn_pdrop: float | None = None
    resid_pdrop: float | None = None

    def __post_init__(self):
        for name in DROPOUT_SITES:
            if getattr(self, name) is None:
                setattr(self, name, self.dropout)
        for name in ("dropout", *DROPOUT_SITES):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
                raise ValueError(f"GPTConfig: {name} is a probability of dropping and must be in [0, 1), got {value!r}")
        if self.n_embd % self.n_head:
            raise ValueError(f"GPTConfig: n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            if getattr(self, name) < 1:
                raise ValueError(f"GPTConfig: {name} must be at least 1, got {getattr(self, name)}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "GPTConfig":
        known = set(cls.__dataclass_fields__)
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"GPTConfig: unknown keys {sorted(unknown)}; known: {sorted(known)}")
        return cls(**d)


class Block(nn.Module):
    """One transformer block, pre-LayerNorm: x + attn(ln_1(x)), then x + mlp(ln_2(x))."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = nn.MultiHeadAttention(config.n_embd, config.n_head, causal=True, dropout=config.resid_pdrop, bias=config.bias,
                                          attn_dropout=config.attn_pdrop)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = nn.FeedForward(config.n_embd, 4 * config.n_embd, activation="gelu", dropout=config.resid_pdrop,
                                  bias=config.bias)

    def forward(self, x: Tensor, attention_mask=None, cache=None) -> Tensor:
        x = x + self.attn(self.ln_1(x), attention_mask=attention_mask, cache=cache)
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)  # token embeddings (V, C)
        self.wpe = nn.Embedding(config.block_size, config.n_embd)  # position embeddings (block, C)
        self.drop = nn.Dropout(config.embd_pdrop)
        self.blocks = nn.ModuleList([Block(config) for _ in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.lm_head = None if config.tie_weights else nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self._init_weights()

    @classmethod
    def from_checkpoint(cls, path, device: str = "cpu") -> "GPT":
        """The GPT saved in a checkpoint (pre-trained, or shipped in ``data/checkpoints/``), in
        eval mode on ``device``. ``load_pretrained`` gives its tokenizer too."""
        return load_pretrained(path, device)[0]

    def _init_weights(self) -> None:
        """GPT-2's initialisation: weights N(0, 0.02), biases 0, LayerNorm (1, 0), and the
        projections that write into the residual stream scaled down by 1/√(2·n_layer), so the
        residual's variance does not grow with depth."""
        residual_std = 0.02 / math.sqrt(2 * self.config.n_layer)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, std=residual_std)
            elif name.endswith(".weight") and p.ndim == 2:
                nn.init.normal_(p, std=0.02)
            elif name.endswith(".bias"):
                nn.init.zeros_(p)

    def kv_cache(self, capacity: int | None = None) -> nn.KVCache:
        """An empty cache of keys and values for generation (``hidden_states(..., cache=)``),
        room for ``capacity`` positions (default: block_size)."""
        return nn.KVCache(self.config.n_layer, capacity or self.config.block_size)

    def hidden_states(self, ids, attention_mask=None, position_ids=None, cache=None) -> Tensor:
        """The final-LayerNorm'd hidden state of every position: (B, T) ids → (B, T, C).

        ``position_ids`` (B, T): the position of each token (default 0..T-1, or after the cached
        positions); a left-padded batch gives each row's first real token position 0.
        ``cache`` (``kv_cache()``, under ``no_grad``): ids are only the new tokens, the keys and
        values of the earlier ones come from the cache, and ``attention_mask`` covers them all."""
        ids = ids.data if isinstance(ids, Tensor) else ids
        if not is_array(ids):  # nested lists of ids: a host array, checked and copied like any other
            ids = asarray(ids, "cpu")
        if ids.ndim != 2:
            raise ValueError(f"GPT: expected token ids of shape (batch, time), got shape {tuple(ids.shape)}")
        if 0 in ids.shape:
            raise ValueError(f"GPT: expected at least one sequence of at least one token, got ids of shape {tuple(ids.shape)}")
        T = ids.shape[1]
        if T > self.config.block_size:
            raise ValueError(f"GPT: a sequence of {T} tokens is longer than block_size {self.config.block_size}")
        past = 0 if cache is None else cache.length
        if position_ids is None:
            if past + T > self.config.block_size:
                raise ValueError(f"GPT: {past} cached + {T} new tokens are more than block_size {self.config.block_size}")
            # positions past..past+T-1 look up rows of wpe: a slice (no ids to check on the host)
            positions = self.wpe.weight[past : past + T]
        else:
            position_ids = position_ids.data if isinstance(position_ids, Tensor) else position_ids
            if not is_array(position_ids):  # nested lists: a host array, as ids
                position_ids = asarray(position_ids, "cpu")
            if tuple(position_ids.shape) != tuple(ids.shape):
                raise ValueError(f"GPT: position_ids of shape {tuple(position_ids.shape)} do not fit ids of shape "
                                 f"{tuple(ids.shape)}")
            positions = self.wpe(position_ids)
        x = self.drop(self.wte(ids) + positions)
        for i, block in enumerate(self.blocks):
            x = block(x, attention_mask=attention_mask, cache=None if cache is None else cache.layers[i])
        if cache is not None:
            cache.advance(T)
        return self.ln_f(x)

    def logits(self, hidden: Tensor) -> Tensor:
        if self.lm_head is None:
            if not self.config.tie_weights:  # a GPTClassifier took the head away: no silent stand-in
                raise RuntimeError("this GPT has no language-model head (a GPTClassifier removed it, as it never "
                                   "uses it): read hidden_states(ids), or load the GPT again to score tokens")
            return hidden @ self.wte.weight.T
        return self.lm_head(hidden)

    def forward(self, ids, targets=None, attention_mask=None, position_ids=None, cache=None):
        """Logits (B, T, vocab_size); with ``targets`` (B, T) also the mean cross-entropy loss
        (targets equal to -100 are ignored: that is how fine-tuning masks the prompt).
        ``position_ids`` and ``cache`` as in ``hidden_states``."""
        logits = self.logits(self.hidden_states(ids, attention_mask, position_ids, cache))
        if targets is None:
            return logits, None
        targets = targets.data if isinstance(targets, Tensor) else targets
        return logits, F.cross_entropy(logits, targets, ignore_index=-100)


def load_pretrained(path, device: str = "cpu") -> tuple[GPT, Tokenizer]:
    """A GPT (in eval mode, on ``device``) and its tokenizer, from a checkpoint written by
    pre-training or shipped in ``data/checkpoints/``; a classifier's checkpoint is refused."""
    state = load_checkpoint(path, device)
    if state.meta.get("kind") == "classifier":
        raise CheckpointError(f"{path} is a fine-tuned classifier (tinygrad-ft finetune), not a language model")
    if "model_config" not in state.meta or "tokenizer" not in state.meta:
        raise CheckpointError(f"{path} holds no model config or tokenizer; is it a GPT checkpoint?")
    model = GPT(GPTConfig.from_dict(state.meta["model_config"])).to(device)
    model.load_state_dict(state.model_state)
    model.eval()
    return model, Tokenizer.from_json(state.meta["tokenizer"])
