"""Multi-head self-attention: every position gathers information from the positions it may see.

    x (B, T, C) ─► c_attn ─► q, k, v (B, T, C) each ─► split into H heads of D = C / H:
                  (B, H, T, D) ─► softmax(q kᵀ / √D) v per head ─► (B, H, T, D)
                  ─► heads side by side (B, T, C) ─► c_proj ─► dropout ─► (B, T, C)

One fused projection ``c_attn`` (C → 3C) makes q, k and v in one matmul; the names follow
GPT-2, so a GPT-2 checkpoint's weights map onto these layers by name.
"""

from __future__ import annotations

from ..functional.attention import packed_self_attention
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
            raise ValueError(f"{self.describe()}: expected an input of shape (batch, time, {self.embed_dim}), got shape "
                             f"{tuple(x.shape)}")
        # c_attn makes q, k, v side by side (B, T, 3C); the fused op splits them into H heads of
        # D = C / H, attends per head, and puts the heads side by side again: (B, T, C)
        y = packed_self_attention(self.c_attn(x), self.num_heads, causal=self.causal, attention_mask=attention_mask)
        return self.dropout(self.c_proj(y))

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, causal={self.causal}"
