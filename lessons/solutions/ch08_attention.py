"""Worked solutions of chapter 8's forward exercises (``tinygrad_ft.exercises``): the causal mask
and causal attention. The backward of attention is in ``gradient_exercises.py``.

Check them with ``tinygrad_ft.exercises.check(causal_mask)`` and ``check(causal_attention)``.
"""

import math

import numpy as np


# Query i may see keys j ≤ i; the hidden ones are j > i: the strict upper triangle, which
# np.triu gives with k=1 (k=0 would include the diagonal, hiding each token from itself).
def causal_mask(T):
    return np.triu(np.ones((T, T), dtype=bool), k=1)


# S = q kᵀ / √D, hidden scores set to -inf (so e^{-inf} = 0: no weight at all), softmax over each
# row after shifting by the row's maximum (the diagonal is never hidden, so the maximum is finite),
# then the weighted sum of the values, O = P v.
def causal_attention(q, k, v):
    scores = q @ k.T / math.sqrt(q.shape[-1])
    scores = np.where(causal_mask(q.shape[0]), -np.inf, scores)
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights /= weights.sum(axis=-1, keepdims=True)
    return weights @ v
