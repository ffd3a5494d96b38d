"""Multi-head self-attention: every position gathers information from the positions it may see.

    x (B, T, C) ─► c_attn ─► q, k, v (B, T, C) each ─► split into H heads of D = C / H:
                  (B, H, T, D) ─► softmax(q kᵀ / √D) v per head ─► (B, H, T, D)
                  ─► heads side by side (B, T, C) ─► c_proj ─► dropout ─► (B, T, C)

One fused projection ``c_attn`` (C → 3C) makes q, k and v in one matmul; the names follow
GPT-2, so a GPT-2 checkpoint's weights map onto these layers by name.

Generating text one token at a time, the keys and values of the positions already read do not
change (the model is causal): ``KVCache`` keeps them, so each new token computes only its own
q, k, v and attends to the cached keys, instead of recomputing the whole context.
"""

from __future__ import annotations

from ..autograd import Tensor, is_grad_enabled
from ..backend import get_array_module
from ..functional.attention import packed_self_attention, scaled_dot_product_attention
from .layers import Dropout, Linear
from .module import Module


class KVCache:
    """The keys and values of every position a model has read so far, one pair per layer.

    ``KVCache(num_layers, capacity)``: ``layers[i]`` is layer i's store (a ``LayerKV``), whose
    (B, H, capacity, D) arrays are allocated by the first call; ``length`` positions are
    filled. A forward pass extends every layer's store by its new positions, then the model
    calls ``advance(new)``. For inference only (under ``no_grad``): nothing here has a gradient.
    """

    def __init__(self, num_layers: int, capacity: int):
        if capacity < 1:
            raise ValueError(f"KVCache: capacity must be at least 1, got {capacity}")
        self.capacity, self.length = capacity, 0
        self.layers = [LayerKV(self) for _ in range(num_layers)]

    def advance(self, steps: int) -> None:
        """Count ``steps`` more positions as filled (after every layer has stored them)."""
        self.length += steps

    def __repr__(self) -> str:
        return f"KVCache({len(self.layers)} layers, {self.length}/{self.capacity} positions)"


class LayerKV:
    """One layer's cached keys and values: (B, H, capacity, D) arrays, the first
    ``cache.length`` positions filled."""

    def __init__(self, cache: KVCache):
        self.cache, self.keys, self.values = cache, None, None

    def extend(self, k, v):
        """Store the new positions' k, v (B, H, T, D arrays) after the cached ones; returns views
        of all the keys and values so far, (B, H, length + T, D)."""
        start = self.cache.length
        end = start + k.shape[-2]
        if end > self.cache.capacity:
            raise ValueError(f"KVCache: {end} positions do not fit its capacity of {self.cache.capacity}")
        if self.keys is None:
            xp = get_array_module(k)
            shape = (*k.shape[:-2], self.cache.capacity, k.shape[-1])
            self.keys, self.values = xp.empty(shape, dtype=k.dtype), xp.empty(shape, dtype=v.dtype)
        self.keys[..., start:end, :] = k
        self.values[..., start:end, :] = v
        return self.keys[..., :end, :], self.values[..., :end, :]


class MultiHeadAttention(Module):
    """``MultiHeadAttention(embed_dim, num_heads, causal=True, dropout=0.0, bias=True, attn_dropout=0.0)``.

    ``causal``: position t sees positions ≤ t only (a language model must not read the token
    it predicts). ``dropout`` applies to the output projection (GPT-2's ``resid_pdrop``),
    ``attn_dropout`` to the attention probabilities (GPT-2's ``attn_pdrop``); both only while
    training. ``forward(x, attention_mask=None, cache=None)``: x (B, T, embed_dim), and
    ``attention_mask`` (B, T) with True (or 1) on real tokens and False (0) on padding, which
    no position attends to. With ``cache`` (a ``LayerKV``, inference only), x holds only the new
    positions, and ``attention_mask`` covers the cached positions and the new ones.
    """

    def __init__(self, embed_dim: int, num_heads: int, causal: bool = True, dropout: float = 0.0, bias: bool = True,
                 device: str = "cpu", dtype=None, attn_dropout: float = 0.0):
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
        if not 0.0 <= attn_dropout < 1.0:
            raise ValueError(f"MultiHeadAttention: attn_dropout is the probability of dropping an attention weight and "
                             f"must be in [0, 1), got {attn_dropout}")
        self.attn_dropout = attn_dropout

    def forward(self, x, attention_mask=None, cache: LayerKV | None = None):
        if x.ndim != 3 or x.shape[-1] != self.embed_dim:
            raise ValueError(f"{self.describe()}: expected an input of shape (batch, time, {self.embed_dim}), got shape "
                             f"{tuple(x.shape)}")
        if cache is not None:
            return self.c_proj(self._attend_cached(x, attention_mask, cache))
        # c_attn makes q, k, v side by side (B, T, 3C); the fused op splits them into H heads of
        # D = C / H, attends per head, and puts the heads side by side again: (B, T, C)
        y = packed_self_attention(self.c_attn(x), self.num_heads, causal=self.causal, attention_mask=attention_mask,
                                  dropout_p=self.attn_dropout, training=self.training)
        return self.dropout(self.c_proj(y))

    def _attend_cached(self, x, attention_mask, cache: LayerKV) -> Tensor:
        """The new positions' queries against the cached keys and their own: (B, T, C).

        The same math as the packed op: the new q, k, v are views of c_attn's output; k and v
        join the cache, and the queries attend (causally: new position i sees every cached key
        and the new keys up to i) to all of them. No dropout: the cache is for inference."""
        if is_grad_enabled():
            raise RuntimeError(f"{self.describe()}: the KV cache is for inference; run it under tinygrad_ft.no_grad()")
        if not self.causal:
            raise ValueError(f"{self.describe()}: a KV cache needs causal attention (earlier positions must not see later ones)")
        batch, time, _ = x.shape
        qkv = self.c_attn(x).data.reshape(batch, time, 3, self.num_heads, self.head_dim)
        q, k, v = (qkv[:, :, i].transpose(0, 2, 1, 3) for i in range(3))  # (B, H, T, D) views
        keys, values = cache.extend(k, v)
        device = x.device
        y = scaled_dot_product_attention(Tensor.wrap(q, device), Tensor.wrap(keys, device), Tensor.wrap(values, device),
                                         causal=self.causal, attention_mask=attention_mask)  # (B, H, T, D)
        return y.transpose(0, 2, 1, 3).reshape(batch, time, self.embed_dim)

    def extra_repr(self) -> str:
        dropped = f", attn_dropout={self.attn_dropout}" if self.attn_dropout else ""
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, causal={self.causal}{dropped}"
