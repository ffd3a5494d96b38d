"""Multi-head self-attention: every position gathers information from the positions it may see.

    x (B, T, C) ─► c_attn ─► q, k, v (B, T, C) each ─► split into H heads of D = C / H:
                  (B, H, T, D) ─► softmax(q kᵀ / √D) v per head ─► (B, H, T, D)
                  ─► heads side by side (B, T, C) ─► c_proj ─► dropout ─► (B, T, C)

One fused projection ``c_attn`` (C → 3C) makes q, k and v in one matmul; the names follow
GPT-2, so a GPT-2 checkpoint's weights map onto these layers by name.
"""

from __future__ import annotations

from .. import functional as F
from .layers import Dropout, Linear
from .module import Module


class MultiHeadAttention(Module):
    """``MultiHeadAttention(embed_dim, num_heads, causal=True, dropout=0.0, bias=True)``.

    ``causal``: position t sees positions ≤ t only (a language model must not read the token
    it predicts). ``dropout`` applies to the output projection (there is no dropout on the
    attention probabilities). ``forward(x, attention_mask=None)``: x (B, T, embed_dim), and
    ``attention_mask`` (B, T) with True (or 1) on real tokens and False (0) on padding, which
    no position attends to.
    """

    def __init__(self, embed_dim: int, num_heads: int, causal: bool = True, dropout: float = 0.0, bias: bool = True,
                 device: str = "cpu", dtype=None):
        super().__init__()
        if num_heads < 1 or embed_dim % num_heads:
            divisors = [h for h in range(1, embed_dim + 1) if embed_dim % h == 0]
            raise ValueError(f"MultiHeadAttention: embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads}), "
                             f"as each head gets embed_dim / num_heads features; num_heads could be one of {divisors}")
        self.embed_dim, self.num_heads, self.causal = embed_dim, num_heads, causal
        self.head_dim = embed_dim // num_heads
        self.c_attn = Linear(embed_dim, 3 * embed_dim, bias=bias, device=device, dtype=dtype)
        self.c_proj = Linear(embed_dim, embed_dim, bias=bias, device=device, dtype=dtype)
        self.dropout = Dropout(dropout)

    def forward(self, x, attention_mask=None):
        if x.ndim != 3 or x.shape[-1] != self.embed_dim:
            raise ValueError(f"{self.describe()}: expected an input of shape (batch, time, {self.embed_dim}), got shape {tuple(x.shape)}")
        batch, time, C = x.shape
        H, D = self.num_heads, self.head_dim
        # (B, T, 3C) → (B, T, 3, H, D) → (3, B, H, T, D): q, k, v with the heads as a batch axis
        qkv = self.c_attn(x).reshape(batch, time, 3, H, D).transpose(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], causal=self.causal, attention_mask=attention_mask)
        y = y.transpose(0, 2, 1, 3).reshape(batch, time, C)  # heads side by side again
        return self.dropout(self.c_proj(y))

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, causal={self.causal}"
