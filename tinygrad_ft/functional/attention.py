"""Scaled dot-product attention as one op, its backward derived by hand through the softmax.

For each query row: S = q Kᵀ / √D scores every key, P = softmax(S) over the keys that may be
seen, and the output is O = P V, a weighted average of the value rows. While training, GPT-2
drops attention probabilities (``dropout_p``): O = (P ⊙ M / (1 - p)) V with a random 0/1 mask M.
"""

from __future__ import annotations

import math

from ..autograd import Function, Tensor, where
from ..autograd.ops import unbroadcast
from ..backend import asarray, get_backend
from .arguments import mask_array
from .dropout import keep_mask
from .softmax import softmax_composed

_causal_bias_cache: dict = {}


def causal_bias(xp, device: str, num_queries: int, num_keys: int, dtype):
    """(Tk, Tq), keys by queries like the scores below: 0 where query i may see key j
    (j ≤ i + Tk - Tq, so the last query sees every key), -inf where key j is in query i's
    future. Built once per (device, Tq, Tk, dtype) and cached."""
    key = (device, num_queries, num_keys, str(dtype))
    bias = _causal_bias_cache.get(key)
    if bias is None:
        future = xp.arange(num_keys)[:, None] > xp.arange(num_queries)[None, :] + (num_keys - num_queries)
        bias = xp.zeros((num_keys, num_queries), dtype=dtype)
        bias[future] = -math.inf
        if len(_causal_bias_cache) >= 64:  # a bounded cache: generation may see many lengths
            _causal_bias_cache.clear()
        _causal_bias_cache[key] = bias
    return bias


class ScaledDotProductAttention(Function):
    """O = P V,  P = softmax(S) over keys,  S = Q Kᵀ / √D + bias  (bias 0 or -inf: the mask).

    Shapes: Q (..., Tq, D), K (..., Tk, D), V (..., Tk, Dv), S and P (..., Tq, Tk). With
    G = dL/dO and the softmax rule dL/dS = P ⊙ (dL/dP - rowsum(dL/dP ⊙ P)):

        dV = Pᵀ G          dP = G Vᵀ          dS = P ⊙ (dP - rowsum(dP ⊙ P))
        dQ = dS K / √D     dK = dSᵀ Q / √D

    and rowsum(dP ⊙ P)ᵢ = Σⱼ Σ_d Gᵢ_d Vⱼ_d Pᵢⱼ = Σ_d Gᵢ_d Oᵢ_d = rowsum(G ⊙ O): (Tq, Dv)
    numbers to multiply instead of (Tq, Tk).

    With dropout on the probabilities, O = P' V where P' = P ⊙ M / (1 - p) (M a fixed random
    0/1 mask, drawn in the forward pass and kept). Then dV = P'ᵀ G, dP' = G Vᵀ, and
    dP = dP' ⊙ M / (1 - p). The row sum above still costs (Tq, Dv) numbers: dP ⊙ P = dP' ⊙ P',
    so rowsum(dP ⊙ P) = rowsum(dP' ⊙ P') = rowsum(G ⊙ P' V) = rowsum(G ⊙ O). Hence

        dS = P ⊙ (dP' ⊙ M / (1 - p) - rowsum(G ⊙ O))

    A masked score is -inf, so its P is exactly 0 and no gradient flows through it. A query
    whose keys are all masked gets P = 0 for the whole row: output 0 and gradient 0 (the max
    used for stability is then -inf; it is replaced by a finite number, and the row sum 0 by 1,
    so no NaN appears).

    Layout: the arrays hold Sᵀ and Pᵀ, (..., Tk, Tq), keys down the rows. The softmax reduces
    over keys, and NumPy reduces over a non-last axis several times faster than along short
    last axes; the matmuls take the transposes as free views.
    """

    def forward(self, q, k, v, bias=None, dropout_p=0.0):
        return self._attend(q, k, v, bias, self.xp.empty((*q.shape[:-1], v.shape[-1]), dtype=q.dtype), dropout_p)

    def backward(self, d_out):
        xp, q, k, v = self.xp, self.q, self.k, self.v
        d_q, d_k, d_v = self._gradients(d_out, *(xp.empty(t.shape, dtype=d_out.dtype) if needs else None
                                                 for t, needs in zip((q, k, v), self.needs_input_grad)), broadcast=True)
        return d_q, d_k, d_v, None

    def _attend(self, q, k, v, bias, out, dropout_p=0.0):
        """O = softmax(Q Kᵀ/√D + bias) V written into ``out`` (any strides); saves what backward needs.
        With ``dropout_p`` > 0 the probabilities are dropped (and rescaled) before multiplying V."""
        xp = self.xp
        self.scale = 1 / math.sqrt(q.shape[-1])  # a Python float: keeps float32 float32
        scaled_q = q * self.scale  # (..., Tq, D): scaling q is fewer numbers than scaling S
        scores_t = xp.matmul(k, xp.swapaxes(scaled_q, -1, -2))  # Sᵀ (..., Tk, Tq), a new array
        if bias is not None:
            scores_t += bias
        key_max = scores_t.max(axis=-2, keepdims=True)  # (..., 1, Tq): one max per query
        if bias is not None:  # a query that sees no key has max -inf; make it finite (its exps are 0)
            xp.maximum(key_max, float(xp.finfo(scores_t.dtype).min), out=key_max)
        scores_t -= key_max
        probs_t = xp.exp(scores_t, out=scores_t)  # Pᵀ, in place
        key_sum = probs_t.sum(axis=-2, keepdims=True)
        if bias is not None:  # ≥ 1 for a query that sees a key (its max gives e⁰); 0 if none
            xp.maximum(key_sum, 1, out=key_sum)
        xp.reciprocal(key_sum, out=key_sum)
        probs_t *= key_sum
        self.keep_t = None
        if dropout_p:  # P' = P ⊙ M / (1 - p); P itself is kept for the backward
            self.keep_t, self.keep_scale = keep_mask(q, probs_t.shape, probs_t.dtype, dropout_p), 1 / (1 - dropout_p)
            xp.matmul(xp.swapaxes(self._dropped(probs_t), -1, -2), v, out=out)  # P' V, (..., Tq, Dv)
        else:
            xp.matmul(xp.swapaxes(probs_t, -1, -2), v, out=out)  # P V, (..., Tq, Dv)
        self.q, self.k, self.v, self.probs_t, self.out = q, k, v, probs_t, out
        return out

    def _dropped(self, probs_t):
        """P'ᵀ = Pᵀ ⊙ Mᵀ / (1 - p), a new array."""
        dropped_t = probs_t * self.keep_t
        dropped_t *= self.keep_scale
        return dropped_t

    def _gradients(self, d_out, d_q, d_k, d_v, broadcast=False):
        """dQ, dK, dV into the given arrays (None: not needed). With ``broadcast``, an input that
        was broadcast gets its gradient summed back (then a new array, not the one given)."""
        xp, q, k, v, probs_t = self.xp, self.q, self.k, self.v, self.probs_t
        fits = lambda t, shape: not broadcast or tuple(shape) == tuple(t.shape)  # noqa: E731
        if d_v is not None:  # Pᵀ G (P'ᵀ G with dropout)
            weights_t = probs_t if self.keep_t is None else self._dropped(probs_t)
            if fits(v, d_out.shape[:-2] + v.shape[-2:]):
                d_v = xp.matmul(weights_t, d_out, out=d_v)
            else:
                d_v = unbroadcast(xp.matmul(weights_t, d_out), v.shape)
        if d_q is None and d_k is None:
            return None, None, d_v
        scaled_d_out = d_out * self.scale  # the 1/√D of dQ and dK, applied to the smaller G
        row_dot = xp.einsum("...qd,...qd->...q", scaled_d_out, self.out)  # rowsum(G ⊙ O)/√D, (..., Tq)
        d_scores_t = xp.matmul(v, xp.swapaxes(scaled_d_out, -1, -2))  # dPᵀ/√D = V Gᵀ/√D, then dSᵀ/√D in place
        if self.keep_t is not None:  # that was dP'ᵀ/√D: dPᵀ = dP'ᵀ ⊙ Mᵀ / (1 - p)
            d_scores_t *= self.keep_t
            d_scores_t *= self.keep_scale
        d_scores_t -= row_dot[..., None, :]
        d_scores_t *= probs_t
        if d_q is not None:
            d_s = xp.swapaxes(d_scores_t, -1, -2)
            if fits(q, d_scores_t.shape[:-2] + q.shape[-2:]):
                d_q = xp.matmul(d_s, k, out=d_q)
            else:
                d_q = unbroadcast(xp.matmul(d_s, k), q.shape)
        if d_k is not None:
            if fits(k, d_scores_t.shape[:-2] + k.shape[-2:]):
                d_k = xp.matmul(d_scores_t, q, out=d_k)
            else:
                d_k = unbroadcast(xp.matmul(d_scores_t, q), k.shape)
        return d_q, d_k, d_v


class PackedSelfAttention(ScaledDotProductAttention):
    """Self-attention straight from the packed projection: qkv (B, T, 3C) → out (B, T, C).

    The same math as ``ScaledDotProductAttention`` (its derivation above), with the head
    split and merge fused in: q, k, v are the (B, H, T, D) views

        qkv.reshape(B, T, 3, H, D)[:, :, i].transpose(0, 2, 1, 3),   i = 0, 1, 2,

    and the output is written head by head into a (B, T, H, D) array, which is (B, T, C)
    with the heads side by side. Those are relabelings of the same numbers, so their
    gradients are the same relabelings: dQ, dK and dV are written into the matching views of
    one (B, T, 3C) gradient, and dL/dO (B, T, C) is read through the (B, H, T, D) view. No
    copies, no zero-filled arrays per head, no sum of three gradients.
    """

    def forward(self, qkv, bias=None, num_heads=1, dropout_p=0.0):
        batch, time, width = qkv.shape
        self.num_heads, self.head_dim = num_heads, width // (3 * num_heads)
        q, k, v = self._heads(qkv)
        out = self.xp.empty((batch, time, num_heads, self.head_dim), dtype=qkv.dtype)
        self._attend(q, k, v, bias, out.transpose(0, 2, 1, 3), dropout_p)
        return out.reshape(batch, time, width // 3)

    def backward(self, d_out):
        batch, time, _ = d_out.shape
        d_qkv = self.xp.empty((batch, time, 3 * d_out.shape[-1]), dtype=d_out.dtype)
        d_heads = d_out.reshape(batch, time, self.num_heads, self.head_dim).transpose(0, 2, 1, 3)
        self._gradients(d_heads, *self._heads(d_qkv))
        return d_qkv, None

    def _heads(self, packed):
        """The q, k, v views (B, H, T, D) of a packed (B, T, 3C) array."""
        batch, time, _ = packed.shape
        split = packed.reshape(batch, time, 3, self.num_heads, self.head_dim)
        return tuple(split[:, :, i].transpose(0, 2, 1, 3) for i in range(3))


def scaled_dot_product_attention(q: Tensor, k: Tensor, v: Tensor, causal: bool = False, attention_mask=None,
                                 dropout_p: float = 0.0, training: bool = True) -> Tensor:
    """softmax(q kᵀ / √D) v over the keys each query may see.

    q (B, H, Tq, D), k (B, H, Tk, D), v (B, H, Tk, Dv) → (B, H, Tq, Dv); any number of leading
    axes works (they broadcast, as in matmul).

    - ``causal``: query i sees keys j ≤ i + (Tk - Tq), never the future (with Tq = Tk: j ≤ i).
    - ``attention_mask`` (B, Tk), bool or 0/1, array or Tensor: True/1 is a real token to
      attend to, False/0 is padding that no query sees.
    - ``dropout_p``: while ``training``, each attention probability is dropped with this
      probability and the rest scaled by 1/(1 - p) (GPT-2's ``attn_pdrop``); the mask comes
      from the device's seeded generator (``tinygrad_ft.manual_seed``).

    A query that can see no key at all (every key padding) gets output 0 and gradient 0.
    """
    dropout_p = attention_dropout(dropout_p, training, "scaled_dot_product_attention")
    num_queries, num_keys = q.shape[-2], k.shape[-2]
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"scaled_dot_product_attention: q {q.shape}, k {k.shape}, v {v.shape} do not fit: "
            "q and k need the same last axis (D), k and v the same number of keys (Tk)"
        )
    xp = get_backend(q.device).xp
    bias = causal_bias(xp, q.device, num_queries, num_keys, q.dtype) if causal and num_queries > 1 else None
    if attention_mask is not None:
        mask = mask_array(attention_mask, q.device, "scaled_dot_product_attention: attention_mask")
        if q.ndim < 3 or mask.shape != (q.shape[0], num_keys):
            raise ValueError(
                f"scaled_dot_product_attention: attention_mask of shape {mask.shape} does not fit q of shape {q.shape}; "
                f"expected (batch, keys) = ({q.shape[0] if q.ndim >= 3 else '?'}, {num_keys})"
            )
        padding = xp.zeros(mask.shape, dtype=q.dtype)
        padding[~mask] = -math.inf
        padding = padding.reshape(mask.shape[0], *(1,) * (q.ndim - 3), num_keys, 1)  # (B, 1.., Tk, 1)
        bias = padding if bias is None else padding + bias  # (B, 1.., Tk, Tq): small, added once
    return ScaledDotProductAttention.apply(q, k, v, bias, dropout_p=dropout_p)


def packed_self_attention(qkv: Tensor, num_heads: int, causal: bool = False, attention_mask=None, dropout_p: float = 0.0,
                          training: bool = True) -> Tensor:
    """Multi-head self-attention from a packed projection: qkv (B, T, 3C), the queries, keys
    and values side by side (each C = num_heads · D wide, head h at columns h·D..(h+1)·D) →
    (B, T, C), the heads' outputs side by side. The same as splitting qkv into heads of
    shape (B, H, T, D), ``scaled_dot_product_attention`` on them, and merging the heads back,
    as one op (no copies between the steps). ``causal``, ``attention_mask`` (B, T), ``dropout_p``
    and ``training`` as there.
    """
    dropout_p = attention_dropout(dropout_p, training, "packed_self_attention")
    if qkv.ndim != 3 or qkv.shape[-1] % (3 * num_heads):
        raise ValueError("packed_self_attention: expected qkv of shape (batch, time, 3 * C) with C divisible by "
                         f"num_heads={num_heads}, got {qkv.shape}")
    time = qkv.shape[1]
    xp = get_backend(qkv.device).xp
    bias = causal_bias(xp, qkv.device, time, time, qkv.dtype) if causal and time > 1 else None
    if attention_mask is not None:
        mask = mask_array(attention_mask, qkv.device, "packed_self_attention: attention_mask")
        if mask.shape != (qkv.shape[0], time):
            raise ValueError(f"packed_self_attention: attention_mask of shape {mask.shape} does not fit qkv of shape "
                             f"{qkv.shape}; expected (batch, keys) = ({qkv.shape[0]}, {time})")
        padding = xp.zeros(mask.shape, dtype=qkv.dtype)
        padding[~mask] = -math.inf
        padding = padding.reshape(mask.shape[0], 1, time, 1)  # (B, 1, Tk, 1)
        bias = padding if bias is None else padding + bias
    return PackedSelfAttention.apply(qkv, bias, num_heads=num_heads, dropout_p=dropout_p)


def attention_dropout(p, training: bool, op: str) -> float:
    """The drop probability the op applies: ``p`` while training, 0 otherwise (checked to be in [0, 1))."""
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:
        raise ValueError(f"{op}: dropout_p is the probability of dropping an attention weight and must be in [0, 1), "
                         f"got {p!r}")
    return float(p) if training else 0.0

# ---- composed from primitive ops: the reference the op above is checked against ----------------


def scaled_dot_product_attention_composed(q: Tensor, k: Tensor, v: Tensor, causal=False, attention_mask=None, keep=None,
                                          dropout_p: float = 0.0) -> Tensor:
    """softmax_composed(q kᵀ/√D) v, masked scores set to -1e9 (e^{-1e9} is exactly 0 in float64, so
    this agrees with the fused op wherever a query sees at least one key). With a 0/1 ``keep``
    mask (..., Tq, Tk), the probabilities are dropped as the fused op's ``dropout_p`` does."""
    xp = q.xp
    num_queries, num_keys = q.shape[-2], k.shape[-2]
    scores = q @ k.swapaxes(-1, -2) / math.sqrt(q.shape[-1])
    visible = xp.ones((num_queries, num_keys), dtype=bool)
    if causal:
        visible = xp.arange(num_keys)[None, :] <= xp.arange(num_queries)[:, None] + (num_keys - num_queries)
    if attention_mask is not None:
        mask = attention_mask.data if isinstance(attention_mask, Tensor) else asarray(attention_mask, q.device)
        visible = visible & (mask != 0).reshape(mask.shape[0], *(1,) * (q.ndim - 3), 1, num_keys)
    scores = where(visible, scores, -1e9)
    probs = softmax_composed(scores, axis=-1)
    if keep is not None:
        probs = probs * Tensor.wrap(asarray(keep, q.device, q.dtype), q.device) / (1 - dropout_p)
    return probs @ v
